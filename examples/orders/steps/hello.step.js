// The smallest api step: GET /hello/:name answers at once.
exports.config = {
  type: 'api',
  name: 'hello',
  description: 'Says hello',
  path: '/hello/:name',
  method: 'GET',
  emits: [],
  flows: ['orders'],
}

exports.handler = async (req, { logger }) => {
  const name = req.pathParams.name
  logger.debug('saying hello', { name })
  return { status: 200, body: { message: `hello ${name}`, lang: req.queryParams.lang ?? 'en' } }
}
