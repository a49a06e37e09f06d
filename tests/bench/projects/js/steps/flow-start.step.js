// The flow benchmark's entry: POST /flow {id, t0} emits bench.flow.a and
// answers 200 (tests/bench/README.md, "Flow").
export const config = {
  type: 'api',
  name: 'flow-start',
  description: 'Benchmark: a POST that emits',
  path: '/flow',
  method: 'POST',
  emits: ['bench.flow.a'],
  flows: ['bench'],
}

export const handler = async (req, { emit }) => {
  const { id, t0 } = req.body ?? {}
  if (typeof id !== 'string' || typeof t0 !== 'number') {
    return { status: 400, body: { error: 'id (string) and t0 (number) are required' } }
  }
  await emit({ topic: 'bench.flow.a', data: { id, t0 } })
  return { status: 200, body: { id } }
}
