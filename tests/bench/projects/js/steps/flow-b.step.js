// The flow's last event step: writes state, then appends `id t0 t1\n` (epoch
// ms) to $BENCH_DONE_FILE, one write(2) per line on an O_APPEND descriptor, so
// the harness counts completed flows the same way for every system.
import { openSync, writeSync } from 'node:fs'

export const config = {
  type: 'event',
  name: 'flow-b',
  description: 'Benchmark: last event step, writes state and reports completion',
  subscribes: ['bench.flow.b'],
  emits: [],
  flows: ['bench'],
}

let doneFd

export const handler = async (input, { state }) => {
  await state.set('bench-flow-b', input.id, { id: input.id, t0: input.t0, stage: 'b' })
  const file = process.env.BENCH_DONE_FILE
  if (!file) return
  doneFd ??= openSync(file, 'a')
  const t1 = performance.timeOrigin + performance.now()
  writeSync(doneFd, `${input.id} ${input.t0} ${t1.toFixed(3)}\n`)
}
