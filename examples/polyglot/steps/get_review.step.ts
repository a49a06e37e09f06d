// GET /reviews/:id (TypeScript): what the Python scorer stored, and the
// counters the JS cron keeps.
import type { ApiRouteConfig, Handlers } from 'motia'

export const config: ApiRouteConfig = {
  type: 'api',
  name: 'get-review',
  path: '/reviews/:id',
  method: 'GET',
  emits: [],
  flows: ['reviews'],
}

export const handler: Handlers['get-review'] = async (req, { state }) => {
  const review = await state.get('reviews', req.pathParams.id)
  if (!review) return { status: 404, body: { error: 'no such review' } }
  const stats = await state.get('review-stats', 'totals')
  return { status: 200, body: { review, stats } }
}
