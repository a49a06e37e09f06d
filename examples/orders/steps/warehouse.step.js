// A noop step documents an outside actor in the flow graph; it never runs.
exports.config = {
  type: 'noop',
  name: 'warehouse',
  description: 'The warehouse system that picks up notifications',
  virtualSubscribes: ['order.created'],
  virtualEmits: [],
  flows: ['orders'],
}
