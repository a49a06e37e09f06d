'use strict';
// The frame splitter and the envelope checks, without a process.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { FrameDecoder, ProtocolError, encodeFrame, decode, encode } = require('../lib/codec');

const drain = (dec) => {
  const out = [];
  let p;
  while ((p = dec.next()) !== null) out.push(decode(p));
  return out;
};

describe('FrameDecoder', () => {
  const msgs = [{ t: 'a', n: 1 }, { t: 'b', s: 'x'.repeat(300) }, { t: 'c', bin: Buffer.from([1, 2, 3]) }];
  const stream = Buffer.concat(msgs.map(encodeFrame));

  it('splits several frames that arrive in one chunk', () => {
    const dec = new FrameDecoder();
    dec.push(stream);
    assert.deepEqual(drain(dec), msgs);
  });

  it('reassembles frames fed one byte at a time', () => {
    const dec = new FrameDecoder();
    const out = [];
    for (let i = 0; i < stream.length; i++) {
      dec.push(stream.subarray(i, i + 1));
      out.push(...drain(dec));
    }
    assert.deepEqual(out, msgs);
    assert.equal(dec.avail, 0);
  });

  it('reassembles frames split at every possible point', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const dec = new FrameDecoder();
      dec.push(stream.subarray(0, cut));
      const out = drain(dec);
      dec.push(stream.subarray(cut));
      out.push(...drain(dec));
      assert.deepEqual(out, msgs, `cut at ${cut}`);
    }
  });

  it('reads a large frame that arrives in many chunks in linear time', () => {
    const big = encodeFrame({ t: 'big', data: Buffer.alloc(8 * 1024 * 1024, 7) });
    const dec = new FrameDecoder();
    const started = process.hrtime.bigint();
    for (let i = 0; i < big.length; i += 1024) dec.push(big.subarray(i, i + 1024));
    const [msg] = drain(dec);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(msg.data.length, 8 * 1024 * 1024);
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  it('refuses a length of 0 and one over the maximum', () => {
    const zero = new FrameDecoder();
    zero.push(Buffer.alloc(4));
    assert.throws(() => zero.next(), ProtocolError);
    const over = new FrameDecoder(10);
    over.push(encodeFrame({ t: 'x', s: 'more than ten bytes' }));
    assert.throws(() => over.next(), /over the maximum of 10 bytes/);
  });
});

describe('decode', () => {
  it('reads integers of every width as numbers', () => {
    const msg = decode(Buffer.from([0x82, 0xa1, 0x74, 0xa1, 0x78, 0xa2, 0x69, 0x64, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0]));
    assert.deepEqual(msg, { t: 'x', id: 2 ** 32 });
  });

  it('writes plain msgpack maps, without msgpackr records or undefined extensions', () => {
    const bytes = encode({ t: 'x', u: undefined, n: null });
    assert.deepEqual([...bytes], [0x82, 0xa1, 0x74, 0xa1, 0x78, 0xa1, 0x6e, 0xc0]);
  });
});
