// GET /hello answers at once (no logging, no state), so a request measures only
// the runtime's own path to a handler and back. Also run unchanged by Motia 0.17.
export const config = {
  type: 'api',
  name: 'hello',
  description: 'Benchmark: a trivial GET',
  path: '/hello',
  method: 'GET',
  emits: [],
}

export const handler = async () => {
  return { status: 200, body: { message: 'hello' } }
}
