// A second subscriber of the same topic: every subscribing step gets its own copy.
exports.config = {
  type: 'event',
  name: 'notify-order',
  subscribes: ['order.created'],
  emits: [],
  flows: ['orders'],
}

exports.handler = async (order, { state, logger }) => {
  await state.set('notifications', order.id, { to: 'warehouse', item: order.item })
  logger.info('warehouse notified', { id: order.id })
}
