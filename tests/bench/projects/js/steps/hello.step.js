// The benchmark's JS step: GET /hello answers at once (no logging, no state),
// so a request measures only the runtime's own path to a Node handler and back.
exports.config = {
  type: 'api',
  name: 'hello',
  description: 'Benchmark: a trivial GET',
  path: '/hello',
  method: 'GET',
  emits: [],
}

exports.handler = async () => {
  return { status: 200, body: { message: 'hello' } }
}
