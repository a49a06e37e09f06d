// POST /orders: validates a little, stores nothing itself, emits order.created.
exports.config = {
  type: 'api',
  name: 'create-order',
  path: '/orders',
  method: 'POST',
  emits: ['order.created'],
  flows: ['orders'],
}

exports.handler = async (req, { emit, logger, traceId }) => {
  const { id, item, quantity } = req.body ?? {}
  if (typeof id !== 'string' || typeof item !== 'string') {
    return { status: 400, body: { error: 'id and item must be strings' } }
  }
  await emit({ topic: 'order.created', data: { id, item, quantity: quantity ?? 1 } })
  logger.info('order accepted', { id })
  return { status: 202, body: { id, traceId } }
}
