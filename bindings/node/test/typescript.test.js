'use strict';
// TypeScript steps compiled with the real esbuild, `motia` imports resolved
// to the worker's SDK, and Motia 1.0's helper form, end to end against the
// fixture project in fixtures/ts-project.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { startWorker } = require('./helpers');

const ROOT = path.join(__dirname, 'fixtures', 'ts-project');
const step = (name) => path.join(ROOT, 'steps', name);
const FILES = [...fs.readdirSync(path.join(ROOT, 'steps')).filter((f) => f.includes('.step.')), 'modern/modern.step.ts']
  .sort().map(step);

describe('a worker loading TypeScript and Motia 1.0 steps', () => {
  let rt;
  let register;
  const config = (name) => register.steps.find((s) => s.config.name === name).config;

  before(async () => {
    rt = startWorker();
    register = await rt.init(FILES, ROOT);
  });

  after(async () => {
    await rt.close();
  });

  it('registers the TypeScript, 1.0-form, ESM and CommonJS steps', () => {
    assert.deepEqual(register.steps.map((s) => s.config.name).sort(), [
      'CjsHelper', 'EsmHelper', 'TsCounter', 'TsGreet', 'TsModern', 'TsNightly', 'TsOrder', 'TsPlaced', 'TsThrows',
    ]);
    assert.equal(register.steps.find((s) => s.config.name === 'TsGreet').file, step('greet.step.ts'));
  });

  it('turns zod schemas of the project\'s zod into JSON Schema, in 0.17 and 1.0 configs', () => {
    const greet = config('TsGreet').bodySchema;
    assert.equal(greet.type, 'object');
    assert.deepEqual(greet.required, ['name']);
    assert.equal(greet.properties.times.type, 'integer');
    const [http] = config('TsOrder').triggers;
    assert.deepEqual([http.type, http.method, http.path, http.bodySchema.required], ['http', 'POST', '/orders/:id', ['item', 'quantity']]);
    assert.equal(http.hasMiddleware, true);
    assert.equal('middleware' in http, false);
    assert.equal(config('TsOrder').hasMiddleware, true);
    const [q] = config('TsPlaced').triggers;
    assert.deepEqual([q.type, q.topic, q.input.required, q.config], ['queue', 'order.placed', ['id'], { maxRetries: 2 }]);
    assert.deepEqual(config('TsNightly').triggers, [{ type: 'cron', expression: '0 3 * * *' }]);
  });

  it('reports a file that fails to load with its line: syntax errors, also in an imported module, top-level await, a missing package', () => {
    const errors = Object.fromEntries(register.errors.map((e) => [path.basename(e.file), e]));
    assert.deepEqual(Object.keys(errors).sort(), ['broken.step.ts', 'imports-broken.step.ts', 'missing-dep.step.ts', 'top-level-await.step.ts']);
    const broken = errors['broken.step.ts'];
    assert.equal(broken.line, 6);
    assert.match(broken.message, /Unexpected ";"/);
    assert.match(broken.stack, /broken\.step\.ts:6:19\n {2}return doubled \+;\n {18}\^/);
    const imported = errors['imports-broken.step.ts'];
    assert.equal(imported.line, undefined); // the step's own lines are fine
    assert.match(imported.message, /lib\/broken\.ts:5:1: Expected identifier but found end of file/);
    assert.deepEqual([errors['missing-dep.step.ts'].line, errors['missing-dep.step.ts'].message], [5, "Cannot find module 'motia-actors-no-such-package'"]);
    assert.equal(errors['top-level-await.step.ts'].line, 2);
    assert.match(errors['top-level-await.step.ts'].message, /Top-level await/);
  });

  it('runs a TypeScript step importing project modules, a package of the project and a tsconfig alias', async () => {
    rt.invoke(1, 'TsGreet', 'api', { pathParams: {}, queryParams: {}, body: { name: 'ada' }, headers: {}, rawBody: '' });
    const emit = await rt.recv('call');
    assert.deepEqual([emit.inv, emit.op, emit.args], [1, 'emit', { topic: 'greeted', data: { name: 'ada' } }]);
    rt.send({ t: 'reply', id: emit.id, ok: true, value: null });
    const res = await rt.result(1);
    assert.equal(res.ok, true, res.error && res.error.stack);
    assert.deepEqual(res.value.body, {
      greeting: 'hello, ada', // fixture-greeting, from the project's node_modules
      loud: 'ADA!', // ../lib/util.ts
      banner: '== HI! ==', // @lib/format, which imports ./util.js
      traceId: 'trace-1',
      url: pathToFileURL(step('greet.step.ts')).href, // import.meta.url
      utilLoads: 1, // util.ts imported three ways, loaded once
    });
  });

  it('maps a thrown error\'s stack to the .ts lines', async () => {
    rt.invoke(2, 'TsThrows', 'api', { queryParams: {} });
    const plain = await rt.result(2);
    assert.equal(plain.error.name, 'TypeError');
    assert.match(plain.error.stack, /throws\.step\.ts:16:9\)/);

    rt.invoke(3, 'TsThrows', 'api', { queryParams: { deep: '1' } });
    const deep = await rt.result(3);
    assert.equal(deep.error.message, 'too deep');
    assert.match(deep.error.stack, /at failDeep \(.*lib\/util\.ts:11:9\)\n\s+at failDeep \(.*lib\/util\.ts:10:/);
    assert.match(deep.error.stack, /throws\.step\.ts:14:/);
  });

  it('sends state.update with its ops and returns the reply', async () => {
    rt.invoke(4, 'TsCounter', 'event', { key: 'k1' });
    const update = await rt.recv('call');
    assert.deepEqual([update.inv, update.op, update.args], [4, 'state.update', {
      group: 'counters',
      key: 'k1',
      ops: [
        { type: 'increment', path: 'hits', by: 2 },
        { type: 'set', path: 'last', value: 'k1' },
        { type: 'remove', path: 'stale' },
      ],
    }]);
    const written = { old_value: { hits: 1, stale: true }, new_value: { hits: 3, last: 'k1' } };
    rt.send({ t: 'reply', id: update.id, ok: true, value: written });
    const log = await rt.recv('log');
    assert.deepEqual([log.inv, log.msg, log.fields], [4, 'counted', { result: written }]);
    assert.equal((await rt.result(4)).ok, true);
  });

  it('asks the runtime about a stream it does not know, failing with its refusal', async () => {
    rt.invoke(5, 'TsCounter', 'event', { key: 'k', stream: true });
    const call = await rt.recv('call');
    assert.deepEqual([call.op, call.args], ['stream.get', { stream: 'todos', groupId: 'g', id: 'id' }]);
    rt.send({ t: 'reply', id: call.id, ok: false, error: { code: 'unknown_stream', message: "no stream named 'todos' in this project" } });
    const res = await rt.result(5);
    assert.equal(res.ok, false);
    assert.match(res.error.message, /no stream named 'todos' in this project/);
  });

  it('runs a 1.0 step: ({request}) input, trigger middleware, module-level logger, stateManager and enqueue', async () => {
    rt.invoke(6, 'TsOrder', 'api', {
      pathParams: { id: 'o7' }, queryParams: {}, body: { item: 'tea', quantity: 2 }, headers: {}, rawBody: '',
    });
    const log = await rt.recv('log');
    assert.deepEqual([log.inv, log.level, log.msg, log.fields], [6, 'info', 'placing order', { id: 'o7', trigger: 'http' }]);
    const update = await rt.recv('call');
    assert.deepEqual([update.op, update.args], ['state.update', {
      group: 'orders',
      key: 'o7',
      ops: [{ type: 'merge', value: { item: 'tea' } }, { type: 'increment', path: 'quantity', by: 2 }],
    }]);
    const written = { old_value: null, new_value: { item: 'tea', quantity: 2 } };
    rt.send({ t: 'reply', id: update.id, ok: true, value: written });
    const enqueue = await rt.recv('call');
    assert.deepEqual([enqueue.inv, enqueue.op, enqueue.args], [6, 'emit', { topic: 'order.placed', data: { id: 'o7' } }]);
    rt.send({ t: 'reply', id: enqueue.id, ok: true, value: null });
    const res = await rt.result(6);
    assert.equal(res.ok, true, res.error && res.error.stack);
    assert.deepEqual(res.value, {
      status: 201,
      headers: { 'x-stamped': 'yes' },
      body: { method: 'POST', written, isHttp: true },
    });
  });

  it('runs a 1.0 queue step built with multiTriggerStep', async () => {
    rt.invoke(7, 'TsPlaced', 'event', { id: 'o7' });
    const get = await rt.recv('call');
    assert.deepEqual([get.inv, get.op, get.args], [7, 'state.get', { group: 'orders', key: 'o7' }]);
    rt.send({ t: 'reply', id: get.id, ok: true, value: { item: 'tea' } });
    const log = await rt.recv('log');
    assert.deepEqual([log.inv, log.level, log.fields], [7, 'warn', { id: 'o7', order: { item: 'tea' } }]);
    assert.equal((await rt.result(7)).ok, true);
  });

  it('calls a 1.0 cron handler with no input and the context second', async () => {
    rt.invoke(8, 'TsNightly', 'cron', null);
    const log = await rt.recv('log');
    assert.deepEqual([log.inv, log.level, log.fields], [8, 'debug', { input: 'none', trigger: 'cron' }]);
    assert.equal((await rt.result(8)).ok, true);
  });

  it('resolves motia and .ts modules from a native ES module step', async () => {
    rt.invoke(9, 'EsmHelper', 'event', { word: 'hey' });
    const log = await rt.recv('log');
    assert.deepEqual([log.inv, log.level, log.msg], [9, 'info', 'HEY!']);
    assert.equal((await rt.result(9)).ok, true);
  });

  it('resolves require(\'motia\') from a CommonJS step', async () => {
    rt.invoke(10, 'CjsHelper', 'event', { n: 1 });
    const emit = await rt.recv('call');
    assert.deepEqual([emit.inv, emit.op, emit.args], [10, 'emit', { topic: 'cjs.done', data: { n: 1 } }]);
    rt.send({ t: 'reply', id: emit.id, ok: true, value: null });
    assert.equal((await rt.result(10)).ok, true);
  });

  it('resolves motia from a .js ES module that a TypeScript step imports', async () => {
    rt.invoke(11, 'TsModern', 'event', { text: 'abc' });
    const log = await rt.recv('log');
    assert.deepEqual([log.inv, log.level, log.msg], [11, 'info', 'noted abc']);
    assert.equal((await rt.result(11)).ok, true);
  });

  it('prints nothing on stderr', () => {
    assert.equal(rt.stderr, '');
  });
});
