// Every minute (JavaScript): writes a digest of the counters the Python step keeps.
exports.config = {
  type: 'cron',
  name: 'review-digest',
  cron: '* * * * *',
  emits: [],
  flows: ['reviews'],
}

exports.handler = async ({ state, logger }) => {
  const totals = (await state.get('review-stats', 'totals')) ?? { scored: 0, points: 0 }
  const average = totals.scored ? totals.points / totals.scored : null
  await state.set('review-stats', 'digest', { ...totals, average, at: new Date().toISOString() })
  logger.info('review digest', { scored: totals.scored, average })
}
