// POST /todo/:group/send  {id?, type, data} -> ctx.streams.todo.send to the group or one item.
exports.config = { type: 'api', name: 'todo-send', path: '/todo/:group/send', method: 'POST', emits: [] }
exports.handler = async (req, { streams }) => {
  const { id, type, data } = req.body || {}
  const channel = id ? { groupId: req.pathParams.group, id } : { groupId: req.pathParams.group }
  await streams.todo.send(channel, { type, data })
  return { status: 202, body: { sent: type } }
}
