// The flow's first event step: records the flow in state, passes it on.
export const config = {
  type: 'event',
  name: 'flow-a',
  description: 'Benchmark: first event step, writes state and emits',
  subscribes: ['bench.flow.a'],
  emits: ['bench.flow.b'],
  flows: ['bench'],
}

export const handler = async (input, { emit, state }) => {
  await state.set('bench-flow-a', input.id, { id: input.id, t0: input.t0, stage: 'a' })
  await emit({ topic: 'bench.flow.b', data: input })
}
