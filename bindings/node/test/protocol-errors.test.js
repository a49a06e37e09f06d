'use strict';
// Bytes that break docs/protocol.md end the worker with exit code 2 and a
// reason on stderr.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { startWorker } = require('./helpers');
const { encode, encodeFrame, frame } = require('../lib/codec');

const lengthOnly = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
};

const cases = [
  { name: 'a frame of length 0', bytes: lengthOnly(0), reason: /length is 0/ },
  { name: 'a frame over 16 MiB', bytes: lengthOnly(16 * 1024 * 1024 + 1), reason: /over the maximum/ },
  { name: 'a payload that is not msgpack', bytes: frame(Buffer.from([0x82, 0xa1])), reason: /not valid msgpack/ },
  { name: 'the reserved byte 0xc1', bytes: frame(Buffer.from([0xc1])), reason: /not a msgpack map/ },
  { name: 'a payload with trailing bytes', bytes: frame(Buffer.from([0x80, 0x01])), reason: /not valid msgpack/ },
  { name: 'a payload that is not a map', bytes: frame(encode([1, 2])), reason: /not a msgpack map/ },
  { name: 'a map without t', bytes: encodeFrame({ id: 1 }), reason: /no string field "t"/ },
  { name: 'a map whose t is not a string', bytes: encodeFrame({ t: 7 }), reason: /no string field "t"/ },
  { name: 'an unknown message type', bytes: encodeFrame({ t: 'teleport' }), reason: /unknown message type "teleport"/ },
  { name: 'an invoke without an id', bytes: encodeFrame({ t: 'invoke', step: 'X' }), reason: /invoke has no unsigned integer id/ },
];

describe('a worker given a broken frame', () => {
  for (const c of cases) {
    it(`exits 2 on ${c.name}`, async () => {
      const rt = startWorker();
      try {
        await rt.init([]);
        rt.writeRaw(c.bytes);
        assert.deepEqual(await rt.exited, { code: 2, signal: null });
        assert.match(rt.stderr, /protocol error/);
        assert.match(rt.stderr, c.reason);
      } finally {
        await rt.close();
      }
    });
  }

  it('exits 2 on an invoke before init', async () => {
    const rt = startWorker();
    try {
      await rt.recv('hello');
      rt.invoke(1, 'X', 'api', {});
      assert.equal((await rt.exited).code, 2);
      assert.match(rt.stderr, /invoke before register/);
    } finally {
      await rt.close();
    }
  });

  it('exits 2 on an init whose streamFiles are not an array of paths', async () => {
    const rt = startWorker();
    try {
      await rt.recv('hello');
      rt.send({ t: 'init', root: '/', files: [], streamFiles: 'todos.stream.ts' });
      assert.equal((await rt.exited).code, 2);
      assert.match(rt.stderr, /init: streamFiles and streams must be arrays of strings, auth a string/);
    } finally {
      await rt.close();
    }
  });

  it('exits 2 when started without a runtime connection', async () => {
    const rt = startWorker({ MOTIA_WORKER_FD: '' });
    try {
      assert.equal((await rt.exited).code, 2);
      assert.match(rt.stderr, /MOTIA_WORKER_FD/);
    } finally {
      await rt.close();
    }
  });
});
