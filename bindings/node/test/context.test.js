'use strict';
// The handler context against a recording runner, without a process.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { createContext, logFrame } = require('../lib/context');

function recorder() {
  const calls = [];
  const logs = [];
  return {
    calls,
    logs,
    call: (inv, op, args) => {
      calls.push({ inv, op, args });
      return Promise.resolve('ok');
    },
    log: (inv, level, msg, fields) => logs.push({ inv, level, msg, fields }),
  };
}

const invoke = { id: 5, traceId: 'tr', flows: ['f'], attempt: 2, messageId: 'm' };

describe('createContext', () => {
  it('works when destructured, as Motia handlers use it', async () => {
    const runner = recorder();
    const { emit, enqueue, state, logger, traceId, flows, attempt, messageId, streams } = createContext(runner, invoke);
    assert.deepEqual([traceId, flows, attempt, messageId, streams], ['tr', ['f'], 2, 'm', {}]);
    await emit({ topic: 'a', data: 1 });
    await enqueue({ topic: 'b', data: 2, messageGroupId: 'g' });
    const { get, set, getGroup } = state;
    await get('g', 'k');
    await set('g', 'k', { v: 1 });
    await state.delete('g', 'k');
    await getGroup('g');
    await state.clear('g');
    logger.info('hi', { a: 1 });
    assert.deepEqual(runner.calls.map((c) => [c.inv, c.op, c.args]), [
      [5, 'emit', { topic: 'a', data: 1 }],
      [5, 'emit', { topic: 'b', data: 2, messageGroupId: 'g' }],
      [5, 'state.get', { group: 'g', key: 'k' }],
      [5, 'state.set', { group: 'g', key: 'k', value: { v: 1 } }],
      [5, 'state.delete', { group: 'g', key: 'k' }],
      [5, 'state.getGroup', { group: 'g' }],
      [5, 'state.clear', { group: 'g' }],
    ]);
    assert.deepEqual(runner.logs, [{ inv: 5, level: 'info', msg: 'hi', fields: { a: 1 } }]);
  });

  const refusals = [
    { name: 'emit without a topic', run: (ctx) => ctx.emit({ data: 1 }), error: /topic/ },
    { name: 'emit with a numeric messageGroupId', run: (ctx) => ctx.emit({ topic: 't', messageGroupId: 7 }), error: /messageGroupId/ },
    { name: 'state.get with a numeric group', run: (ctx) => ctx.state.get(1, 'k'), error: /group must be a string/ },
    { name: 'state.set without a key', run: (ctx) => ctx.state.set('g'), error: /key must be a string/ },
  ];
  for (const r of refusals) {
    it(`rejects ${r.name} without sending a call`, async () => {
      const runner = recorder();
      await assert.rejects(r.run(createContext(runner, invoke)), r.error);
      assert.equal(runner.calls.length, 0);
    });
  }
});

describe('logFrame', () => {
  it('keeps an Error given as the message, with its stack in fields', () => {
    const frame = logFrame(1, 'error', new Error('bad'));
    assert.equal(frame.msg, 'bad');
    assert.match(frame.fields.error.stack, /Error: bad/);
  });

  it('wraps a lone value in fields and survives unencodable ones', () => {
    assert.deepEqual(logFrame(1, 'info', 'n', 42).fields, { value: 42 });
    const loop = {};
    loop.loop = loop;
    assert.match(logFrame(1, 'info', 'x', loop).fields.fieldsError, /circular/);
  });
});
