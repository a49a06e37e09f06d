// Live order status for browsers and apps: subscribe with Motia's stream
// client to ws://localhost:3000, stream `orderStatus`, group `orders`.
exports.config = {
  name: 'orderStatus',
  schema: {
    type: 'object',
    properties: { status: { type: 'string' }, item: { type: 'string' } },
    required: ['status'],
  },
  baseConfig: { storageType: 'default' },
}
