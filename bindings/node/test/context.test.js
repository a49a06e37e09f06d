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
    const { emit, enqueue, state, logger, traceId, flows, attempt, messageId } = createContext(runner, invoke);
    assert.deepEqual([traceId, flows, attempt, messageId], ['tr', ['f'], 2, 'm']);
    await emit({ topic: 'a', data: 1 });
    await enqueue({ topic: 'b', data: 2, messageGroupId: 'g' });
    const { get, set, getGroup } = state;
    await get('g', 'k');
    await set('g', 'k', { v: 1 });
    await state.delete('g', 'k');
    await getGroup('g');
    await state.list('g');
    await state.clear('g');
    await state.update('g', 'k', [{ type: 'increment', path: 'n', by: 2 }, { type: 'remove', path: 'old' }]);
    logger.info('hi', { a: 1 });
    assert.deepEqual(runner.calls.map((c) => [c.inv, c.op, c.args]), [
      [5, 'emit', { topic: 'a', data: 1 }],
      [5, 'emit', { topic: 'b', data: 2, messageGroupId: 'g' }],
      [5, 'state.get', { group: 'g', key: 'k' }],
      [5, 'state.set', { group: 'g', key: 'k', value: { v: 1 } }],
      [5, 'state.delete', { group: 'g', key: 'k' }],
      [5, 'state.getGroup', { group: 'g' }],
      [5, 'state.getGroup', { group: 'g' }],
      [5, 'state.clear', { group: 'g' }],
      [5, 'state.update', { group: 'g', key: 'k', ops: [{ type: 'increment', path: 'n', by: 2 }, { type: 'remove', path: 'old' }] }],
    ]);
    assert.deepEqual(runner.logs, [{ inv: 5, level: 'info', msg: 'hi', fields: { a: 1 } }]);
  });

  const refusals = [
    { name: 'emit without a topic', run: (ctx) => ctx.emit({ data: 1 }), error: /topic/ },
    { name: 'emit with a numeric messageGroupId', run: (ctx) => ctx.emit({ topic: 't', messageGroupId: 7 }), error: /messageGroupId/ },
    { name: 'state.get with a numeric group', run: (ctx) => ctx.state.get(1, 'k'), error: /group must be a string/ },
    { name: 'state.set without a key', run: (ctx) => ctx.state.set('g'), error: /key must be a string/ },
    { name: 'state.update with ops not in an array', run: (ctx) => ctx.state.update('g', 'k', { type: 'set' }), error: /ops must be an array/ },
    { name: 'state.update with an op without a type', run: (ctx) => ctx.state.update('g', 'k', [{ path: 'a' }]), error: /string `type`/ },
    { name: 'state.listGroups', run: (ctx) => ctx.state.listGroups(), error: /not supported yet/ },
    { name: 'a stream get with a numeric groupId', run: (ctx) => ctx.streams.todos.get(1, 'i'), error: /streams\.todos\.get: groupId must be a string/ },
    { name: 'a stream set without an id', run: (ctx) => ctx.streams.todos.set('g'), error: /streams\.todos\.set: id must be a string/ },
    { name: 'a stream send without a channel', run: (ctx) => ctx.streams.todos.send('g', { type: 't' }), error: /channel must be \{groupId, id\?\}/ },
    { name: 'a stream send with an event without a type', run: (ctx) => ctx.streams.todos.send({ groupId: 'g' }, { data: 1 }), error: /event must be \{type: string, data\}/ },
  ];
  for (const r of refusals) {
    it(`rejects ${r.name} without sending a call`, async () => {
      const runner = recorder();
      await assert.rejects(r.run(createContext({ ...runner, streamNames: ['todos'] }, invoke)), r.error);
      assert.equal(runner.calls.length, 0);
    });
  }
});

describe('the Motia 1.0 parts of the context', () => {
  const req = { body: { a: 1 }, pathParams: {} };
  const table = [
    { kind: 'api', input: req, type: 'http', data: { a: 1 } },
    { kind: 'event', input: { b: 2 }, type: 'queue', data: { b: 2 } },
    { kind: 'cron', input: undefined, type: 'cron', data: undefined },
  ];
  for (const c of table) {
    it(`names a ${c.kind} invocation's trigger "${c.type}" and gives its data`, async () => {
      const ctx = createContext(recorder(), { ...invoke, kind: c.kind }, c.input);
      assert.deepEqual(ctx.trigger, { type: c.type });
      assert.deepEqual(Object.entries(ctx.is).filter(([, is]) => is(c.input)).map(([t]) => t), [c.type]);
      assert.deepEqual(ctx.getData(), c.data);
      const got = await ctx.match({ [c.type]: async (input) => (c.type === 'http' ? input : 'ignored'), default: async () => 'default' });
      assert.equal(got, c.type === 'http' ? c.input : undefined);
      assert.equal(await ctx.match({ default: async (input) => input }), c.input);
    });
  }

  it('rejects match() without a handler for the trigger', async () => {
    const ctx = createContext(recorder(), { ...invoke, kind: 'event' }, {});
    await assert.rejects(ctx.match({ http: async () => 1 }), /no handler for trigger type "queue" in match\(\) \(has: http\)/);
  });

  it('has a streams object that is not a promise and names no stream', () => {
    const { streams } = createContext(recorder(), invoke);
    assert.equal(streams.then, undefined);
    assert.deepEqual(Object.keys(streams), []);
  });

  it('lists the names the runner knows, serves any name, sending stream.* calls', async () => {
    const runner = { ...recorder(), streamNames: ['todos', 'chat'] };
    const { streams } = createContext(runner, invoke);
    assert.deepEqual(Object.keys(streams), ['todos', 'chat']);
    assert.equal(typeof streams.other.get, 'function'); // the runtime judges other names
    const { get, getGroup, send } = streams.chat;
    await get('g', 'i');
    await streams.todos.set('g', 'i', { a: 1 });
    await streams.todos.delete('g', 'i');
    await getGroup('g');
    await streams.chat.list('g');
    await send({ groupId: 'g' }, { type: 'typing', data: { who: 'ada' } });
    await send({ groupId: 'g', id: 'i' }, { type: 'seen' });
    assert.deepEqual(runner.calls.map((c) => [c.inv, c.op, c.args]), [
      [5, 'stream.get', { stream: 'chat', groupId: 'g', id: 'i' }],
      [5, 'stream.set', { stream: 'todos', groupId: 'g', id: 'i', data: { a: 1 } }],
      [5, 'stream.delete', { stream: 'todos', groupId: 'g', id: 'i' }],
      [5, 'stream.getGroup', { stream: 'chat', groupId: 'g' }],
      [5, 'stream.getGroup', { stream: 'chat', groupId: 'g' }],
      [5, 'stream.send', { stream: 'chat', groupId: 'g', event: { type: 'typing', data: { who: 'ada' } } }],
      [5, 'stream.send', { stream: 'chat', groupId: 'g', id: 'i', event: { type: 'seen', data: undefined } }],
    ]);
  });
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
