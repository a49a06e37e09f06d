// DELETE /todo/:group/:id -> ctx.streams.todo.delete; answers the removed item (404 when none).
exports.config = { type: 'api', name: 'todo-delete', path: '/todo/:group/:id', method: 'DELETE', emits: [] }
exports.handler = async (req, { streams }) => {
  const item = await streams.todo.delete(req.pathParams.group, req.pathParams.id)
  return item == null ? { status: 404, body: { error: 'no such item' } } : { status: 200, body: item }
}
