'use strict';
// The `motia` SDK step files get, without a worker process.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const motia = require('../sdk');
const { invocation } = require('../lib/current');

describe('the config helpers', () => {
  it('build Motia 1.0 triggers', () => {
    const mw = async () => {};
    const cond = () => true;
    assert.deepEqual(motia.http('GET', '/a/:id', { middleware: [mw] }), { type: 'http', method: 'GET', path: '/a/:id', middleware: [mw], condition: undefined });
    assert.equal(motia.api, motia.http);
    assert.deepEqual(motia.queue('t', { config: { maxRetries: 1 } }, cond), { type: 'queue', topic: 't', config: { maxRetries: 1 }, condition: cond });
    assert.deepEqual(motia.cron('* * * * *'), { type: 'cron', expression: '* * * * *', condition: undefined });
    assert.deepEqual(motia.state(cond), { type: 'state', condition: cond });
    assert.deepEqual(motia.stream('s', { groupId: 'g' }), { type: 'stream', streamName: 's', groupId: 'g', itemId: undefined, condition: undefined });
    assert.deepEqual(motia.stream('s', cond), { type: 'stream', streamName: 's', condition: cond });
  });

  it('pair a config with its handler, at once or through handle()', () => {
    const config = { name: 'A', triggers: [] };
    const handler = async () => {};
    assert.deepEqual(motia.step(config, handler), { config, handler });
    assert.deepEqual(motia.step(config).handle(handler), { config, handler });
  });

  it('dispatch a multiTriggerStep handler on the trigger type', async () => {
    const { handler } = motia.multiTriggerStep({ name: 'M', triggers: [] })
      .onQueue(async (input) => `queue ${input}`)
      .onCron(async (ctx) => `cron ${ctx.traceId}`)
      .handlers({ http: async (req) => ({ status: 200, body: req.body }) });
    assert.equal(await handler('x', { trigger: { type: 'queue' } }), 'queue x');
    assert.equal(await handler(undefined, { trigger: { type: 'cron' }, traceId: 't' }), 'cron t');
    assert.deepEqual(await handler({ body: 1 }, { trigger: { type: 'http' } }), { status: 200, body: 1 });
    await assert.rejects(handler(1, { trigger: { type: 'state' } }), /no handler for trigger type "state" \(has: queue, cron, http\)/);
  });

  it('convert a zod schema with jsonSchema() and leave JSON Schema alone', () => {
    const { z } = require('zod');
    const schema = motia.jsonSchema(z.object({ a: z.string() }));
    assert.equal(schema.type, 'object');
    assert.deepEqual(schema.required, ['a']);
    const plain = { type: 'string' };
    assert.equal(motia.jsonSchema(plain), plain);
  });
});

describe('enqueue, logger and stateManager', () => {
  function fakeContext() {
    const seen = [];
    const ctx = {
      enqueue: async (e) => seen.push(['enqueue', e]),
      logger: { info: (msg, fields) => seen.push(['info', msg, fields]) },
      state: { update: async (...args) => seen.push(['update', ...args]) },
    };
    return { ctx, seen };
  }

  it('act for the invocation whose handler calls them, through awaits', async () => {
    const { ctx, seen } = fakeContext();
    await invocation.run(ctx, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      await motia.enqueue({ topic: 't', data: 1 });
      motia.logger.info('hi', { a: 1 });
      await motia.stateManager.update('g', 'k', [{ type: 'set', path: 'x', value: 1 }]);
    });
    assert.deepEqual(seen, [
      ['enqueue', { topic: 't', data: 1 }],
      ['info', 'hi', { a: 1 }],
      ['update', 'g', 'k', [{ type: 'set', path: 'x', value: 1 }]],
    ]);
  });

  it('refuse to enqueue or touch state outside a handler', async () => {
    await assert.rejects(motia.enqueue({ topic: 't' }), { code: 'no_invocation', message: /enqueue was called outside a step handler/ });
    await assert.rejects(motia.stateManager.get('g', 'k'), { code: 'no_invocation', message: /stateManager\.get/ });
  });

  it('give Stream definitions that act on the stream of the running handler', async () => {
    const todos = new motia.Stream({ name: 'todos', schema: {} });
    assert.equal(todos.config.name, 'todos');
    await assert.rejects(todos.get('g', 'i'), { code: 'no_invocation', message: /stream todos\.get/ });
    const seen = [];
    const streams = { todos: { get: async (...args) => seen.push(args) && 'item' } };
    await invocation.run({ streams }, async () => {
      assert.equal(await todos.get('g', 'i'), 'item');
      await assert.rejects(new motia.Stream({ name: 'other' }).get('g', 'i'), { code: 'unknown_stream' });
    });
    assert.deepEqual(seen, [['g', 'i']]);
  });
});

describe('config', () => {
  it('returns a motia.config.ts project config as given', () => {
    const project = { streamAuth: { authenticate: async () => ({}) } };
    assert.equal(motia.config(project), project);
    assert.equal(motia.defineConfig(project), project);
  });
});
