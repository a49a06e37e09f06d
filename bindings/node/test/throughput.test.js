'use strict';
// A smoke test of throughput: 1,000 pipelined invocations through one worker.
// The figure is printed, not asserted (the machine's speed varies); the test
// fails only if invocations fail or it takes absurdly long.

const { it } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startWorker, PROJECT } = require('./helpers');
const { measure } = require('../bench/throughput');

it('runs 1,000 invocations through one worker and prints invocations/s', async (t) => {
  const rt = startWorker();
  try {
    await rt.init([path.join(PROJECT, 'steps', 'hello-api.step.js')]);
    // The first round includes JIT warm-up in both processes; the second
    // shows the steady state.
    const cold = await measure({ count: 1000, window: 1000, rt });
    const warm = await measure({ count: 1000, window: 1000, rt });
    t.diagnostic(`throughput: ${Math.round(cold)} invocations/s cold, ${Math.round(warm)} warm (1,000 invocations, all in flight)`);
    assert.ok(warm > 100, `only ${Math.round(warm)} invocations/s`);
  } finally {
    await rt.close();
  }
});
