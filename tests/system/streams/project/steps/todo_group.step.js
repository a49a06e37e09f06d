// GET /todo/:group -> ctx.streams.todo.getGroup.
exports.config = { type: 'api', name: 'todo-group', path: '/todo/:group', method: 'GET', emits: [] }
exports.handler = async (req, { streams }) => ({ status: 200, body: await streams.todo.getGroup(req.pathParams.group) })
