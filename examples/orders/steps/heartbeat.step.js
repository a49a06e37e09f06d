// Runs every minute and records when it last ran.
exports.config = {
  type: 'cron',
  name: 'heartbeat',
  cron: '* * * * *',
  emits: [],
  flows: ['orders'],
}

exports.handler = async ({ state, logger }) => {
  await state.set('heartbeat', 'last', { at: new Date().toISOString() })
  logger.info('heartbeat')
}
