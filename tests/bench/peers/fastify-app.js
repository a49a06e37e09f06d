'use strict';
// The stack people assemble instead of Motia: fastify for HTTP, and for the
// flow BullMQ queues on a Redis the harness starts. GET /hello is the same
// handler as projects/js/steps/hello.step.js. With a Redis port, POST /flow
// adds a job to queue A; fastify-worker.js (a child process, as workers usually
// run apart from the API) runs A -> B and reports completion like the steps do.
// Usage: node fastify-app.js PORT [REDIS_PORT]   (modules from NODE_PATH)
const path = require('node:path');
const { fork } = require('node:child_process');
const Fastify = require('fastify');

const port = Number(process.argv[2]);
const redisPort = process.argv[3] ? Number(process.argv[3]) : 0;
if (!Number.isInteger(port) || !Number.isInteger(redisPort)) {
  console.error('usage: node fastify-app.js PORT [REDIS_PORT]');
  process.exit(2);
}

const app = Fastify({ logger: false });
app.get('/hello', async () => ({ message: 'hello' }));

let worker = null;
let queueA = null;

async function startFlow() {
  const { Queue } = require('bullmq');
  queueA = new Queue('bench-flow-a', { connection: { host: '127.0.0.1', port: redisPort } });
  app.post('/flow', async (req, reply) => {
    const { id, t0 } = req.body ?? {};
    if (typeof id !== 'string' || typeof t0 !== 'number') {
      return reply.code(400).send({ error: 'id (string) and t0 (number) are required' });
    }
    await queueA.add('flow', { id, t0 }, { removeOnComplete: true, removeOnFail: 1000 });
    return { id };
  });
  worker = fork(path.join(__dirname, 'fastify-worker.js'), [String(redisPort)], { stdio: 'inherit' });
  // Serve only once the workers listen, so "ready" means the whole flow is.
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

async function main() {
  if (redisPort) await startFlow();
  await app.listen({ port, host: '127.0.0.1' });
  console.log(`listening ${port}`);
}

process.on('SIGTERM', async () => {
  if (worker) worker.kill('SIGTERM');
  await app.close();
  if (queueA) await queueA.close();
  process.exit(0);
});

main().catch((err) => {
  console.error(err);
  if (worker) worker.kill('SIGKILL');
  process.exit(1);
});
