// GET /todo/:group/:id -> ctx.streams.todo.get (404 when missing).
exports.config = { type: 'api', name: 'todo-get', path: '/todo/:group/:id', method: 'GET', emits: [] }
exports.handler = async (req, { streams }) => {
  const item = await streams.todo.get(req.pathParams.group, req.pathParams.id)
  return item == null ? { status: 404, body: { error: 'no such item' } } : { status: 200, body: item }
}
