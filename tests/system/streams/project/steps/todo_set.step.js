// POST /todo/:group/:id  body -> ctx.streams.todo.set; answers the stored item.
exports.config = { type: 'api', name: 'todo-set', path: '/todo/:group/:id', method: 'POST', emits: [] }
exports.handler = async (req, { streams }) => {
  const item = await streams.todo.set(req.pathParams.group, req.pathParams.id, req.body)
  return { status: 200, body: item }
}
