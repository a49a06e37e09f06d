'use strict';
// BullMQ workers of the fastify peer: job A writes state to Redis and adds job
// B; job B writes state and appends `id t0 t1\n` to $BENCH_DONE_FILE (one
// write per line, O_APPEND), like projects/js/steps/flow-b.step.js.
// Concurrency 16 per queue, as motia-actors runs an event step by default.
const fs = require('node:fs');
const { Queue, Worker } = require('bullmq');
const IORedis = require('ioredis');

const connection = { host: '127.0.0.1', port: Number(process.argv[2]) };
const CONCURRENCY = 16;
const state = new IORedis({ ...connection, maxRetriesPerRequest: null });
const queueB = new Queue('bench-flow-b', { connection });
const file = process.env.BENCH_DONE_FILE;
const doneFd = file ? fs.openSync(file, 'a') : null;

const stepA = new Worker('bench-flow-a', async (job) => {
  const { id, t0 } = job.data;
  await state.hset('bench-flow-a', id, JSON.stringify({ id, t0, stage: 'a' }));
  await queueB.add('flow', { id, t0 }, { removeOnComplete: true, removeOnFail: 1000 });
}, { connection, concurrency: CONCURRENCY });

const stepB = new Worker('bench-flow-b', async (job) => {
  const { id, t0 } = job.data;
  await state.hset('bench-flow-b', id, JSON.stringify({ id, t0, stage: 'b' }));
  if (doneFd === null) return;
  const t1 = performance.timeOrigin + performance.now();
  fs.writeSync(doneFd, `${id} ${t0} ${t1.toFixed(3)}\n`);
}, { connection, concurrency: CONCURRENCY });

Promise.all([stepA.waitUntilReady(), stepB.waitUntilReady(), state.ping()])
  .then(() => process.send && process.send('ready'))
  .catch((err) => { console.error(err); process.exit(1); });

async function stop() {
  await Promise.allSettled([stepA.close(), stepB.close(), queueB.close()]);
  state.disconnect();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('disconnect', stop); // the API process is gone
