'use strict';
// Invocations per second through one worker, with this process as runtime.
// Usage: node bench/throughput.js [count=50000] [window=256] [api|event]
//   api:   HelloApi, a handler that returns at once;
//   event: StoreOrder, a handler making three calls (state.get, state.set,
//          emit) that this process answers at once.
// Keeps `window` invocations in flight, as the runtime does (workers.window).

const path = require('node:path');
const { startWorker, PROJECT } = require('../test/helpers');
const { decode, encodeFrame } = require('../lib/codec');

const KINDS = {
  api: {
    file: 'hello-api.step.js',
    invoke: { step: 'HelloApi', kind: 'api', input: { pathParams: { name: 'bench' }, queryParams: {}, body: null, headers: {}, rawBody: '' } },
  },
  event: {
    file: 'order-event.step.js',
    invoke: { step: 'StoreOrder', kind: 'event', input: { id: 'o1', customer: 'c1' } },
  },
};

/** Runs `count` invocations of `kind` and returns invocations/s. */
async function measure({ count, window, rt, kind = 'api' }) {
  const base = { t: 'invoke', traceId: 't', attempt: 1, messageId: '', flows: [], deadlineMs: 0, ...KINDS[kind].invoke };
  let sent = 0;
  let done = 0;
  let failed = 0;
  const started = process.hrtime.bigint();
  await new Promise((resolve) => {
    const pump = (out) => {
      while (sent < count && sent - done < window) out.push(encodeFrame({ ...base, id: ++sent }));
      if (out.length > 0) rt.sock.write(Buffer.concat(out));
    };
    rt.sock.removeAllListeners('data');
    rt.sock.on('data', (chunk) => {
      rt.decoder.push(chunk);
      const out = [];
      let p;
      while ((p = rt.decoder.next()) !== null) {
        const msg = decode(p);
        if (msg.t === 'call') out.push(encodeFrame({ t: 'reply', id: msg.id, ok: true, value: null }));
        if (msg.t !== 'result') continue;
        if (!msg.ok) failed++;
        if (++done === count) return resolve();
      }
      pump(out);
    });
    pump([]);
  });
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  if (failed > 0) throw new Error(`${failed} invocations failed`);
  return count / secs;
}

async function main() {
  const count = Number(process.argv[2] || 50000);
  const window = Number(process.argv[3] || 256);
  const kind = process.argv[4] || 'api';
  if (!KINDS[kind]) throw new Error(`kind must be one of ${Object.keys(KINDS).join(', ')}`);
  const rt = startWorker();
  try {
    await rt.init([path.join(PROJECT, 'steps', KINDS[kind].file)]);
    await measure({ count: Math.min(count, 5000), window, rt, kind }); // warm-up
    const rate = await measure({ count, window, rt, kind });
    console.log(`${kind}: ${count} invocations, window ${window}: ${Math.round(rate)} invocations/s`);
  } finally {
    await rt.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { measure };
