// POST /reviews (TypeScript): checks the body against bodySchema (enforced by
// the runtime: 400 with details), then hands the review to the Python scorer.
import type { ApiRouteConfig, Handlers } from 'motia'

export const config: ApiRouteConfig = {
  type: 'api',
  name: 'submit-review',
  path: '/reviews',
  method: 'POST',
  emits: ['review.submitted'],
  flows: ['reviews'],
  bodySchema: {
    type: 'object',
    required: ['id', 'text', 'stars'],
    properties: {
      id: { type: 'string', minLength: 1 },
      text: { type: 'string' },
      stars: { type: 'integer', minimum: 1, maximum: 5 },
    },
  },
}

interface Review {
  id: string
  text: string
  stars: number
}

export const handler: Handlers['submit-review'] = async (req, { emit, state, traceId }) => {
  const review = req.body as Review
  await state.set('reviews', review.id, { ...review, status: 'submitted' })
  await emit({ topic: 'review.submitted', data: review })
  return { status: 202, body: { id: review.id, traceId } }
}
