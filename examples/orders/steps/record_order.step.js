// Keeps every order in state, keyed by its id.
exports.config = {
  type: 'event',
  name: 'record-order',
  subscribes: ['order.created'],
  emits: [],
  flows: ['orders'],
}

exports.handler = async (order, { state, traceId }) => {
  await state.set('orders', order.id, { ...order, status: 'recorded', traceId })
}
