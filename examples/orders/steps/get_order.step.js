// GET /orders/:id reads what record-order stored.
exports.config = {
  type: 'api',
  name: 'get-order',
  path: '/orders/:id',
  method: 'GET',
  emits: [],
  flows: ['orders'],
}

exports.handler = async (req, { state }) => {
  const order = await state.get('orders', req.pathParams.id)
  if (!order) return { status: 404, body: { error: 'no such order' } }
  const notification = await state.get('notifications', req.pathParams.id)
  return { status: 200, body: { order, notified: notification !== null } }
}
