// Keeps every order in state, keyed by its id, and pushes its status to the
// `orderStatus` stream's subscribers.
exports.config = {
  type: 'event',
  name: 'record-order',
  subscribes: ['order.created'],
  emits: [],
  flows: ['orders'],
}

exports.handler = async (order, { state, streams, traceId }) => {
  await state.set('orders', order.id, { ...order, status: 'recorded', traceId })
  await streams.orderStatus.set('orders', order.id, { status: 'recorded', item: order.item })
}
