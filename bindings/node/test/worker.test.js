'use strict';
// The worker end to end: a real bin/worker.js process, this test as runtime.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startWorker, PROJECT } = require('./helpers');

const step = (name) => path.join(PROJECT, 'steps', name);

describe('a worker loading the fixture project', () => {
  let rt;
  let hello;
  let register;

  before(async () => {
    rt = startWorker();
    register = await rt.init();
    hello = rt.hello;
  });

  after(async () => {
    await rt.close();
  });

  it('says hello with protocol 1, its language, pid and node version', () => {
    assert.equal(hello.protocol, 1);
    assert.equal(hello.lang, 'node');
    assert.equal(hello.pid, rt.child.pid);
    assert.match(hello.runtime, /^node v\d+\./);
  });

  it('registers every loadable step, ESM and CJS alike', () => {
    const names = register.steps.map((s) => s.config.name).sort();
    assert.deepEqual(names, [
      'BadResponse', 'Circular', 'EsmDefault', 'EsmNamed', 'Guarded', 'HelloApi', 'ManualApproval',
      'Nightly', 'Slow', 'StoreOrder', 'Throws',
    ]);
    const hello = register.steps.find((s) => s.config.name === 'HelloApi');
    assert.equal(hello.file, step('hello-api.step.js'));
  });

  it('registers configs as plain data with middleware reduced to a flag', () => {
    const config = (name) => register.steps.find((s) => s.config.name === name).config;
    assert.equal('description' in config('HelloApi'), false);
    assert.deepEqual(config('StoreOrder').infrastructure, { queue: { type: 'fifo', maxRetries: 5 } });
    assert.equal(config('Guarded').hasMiddleware, true);
    assert.equal('middleware' in config('Guarded'), false);
    assert.equal(config('HelloApi').hasMiddleware, undefined);
  });

  it('reports files that fail to load with their line', () => {
    const errors = Object.fromEntries(register.errors.map((e) => [path.basename(e.file), e]));
    assert.deepEqual(Object.keys(errors).sort(), ['broken-esm.step.js', 'broken.step.js', 'missing-dep.step.js', 'no-handler.step.js']);
    assert.equal(errors['broken.step.js'].line, 4);
    assert.match(errors['broken.step.js'].message, /Unexpected token/);
    assert.equal(errors['broken-esm.step.js'].line, 5);
    assert.match(errors['broken-esm.step.js'].stack, /SyntaxError/);
    assert.equal(errors['missing-dep.step.js'].line, 3);
    assert.match(errors['missing-dep.step.js'].message, /motia-actors-no-such-package/);
    assert.deepEqual(errors['no-handler.step.js'], {
      file: step('no-handler.step.js'),
      message: 'step "NoHandler" exports no `handler` function',
    });
  });

  it('answers an api invocation with the handler response', async () => {
    rt.invoke(1, 'HelloApi', 'api', { pathParams: { name: 'ada' }, queryParams: { q: 'x' }, body: null, headers: {}, rawBody: '' }, { flows: ['greetings'] });
    const res = await rt.result(1);
    assert.equal(res.ok, true);
    assert.deepEqual(res.value, {
      status: 200,
      headers: { 'x-trace': 'trace-1' },
      body: { hello: 'ada', query: { q: 'x' }, flows: ['greetings'] },
    });
  });

  it('runs a default-exported ESM step', async () => {
    rt.invoke(2, 'EsmDefault', 'api', { pathParams: {}, queryParams: {}, body: { a: 1 }, headers: {}, rawBody: '{"a":1}' });
    const res = await rt.result(2);
    assert.equal(res.value.status, 201);
    assert.equal(res.value.body.big, 1700000000000);
    assert.match(res.value.body.digest, /^[0-9a-f]{40}$/);
  });

  it('turns a throwing handler into an error result with message, name and stack', async () => {
    rt.invoke(3, 'Throws', 'api', {});
    const res = await rt.result(3);
    assert.equal(res.ok, false);
    assert.equal(res.error.message, 'kaboom');
    assert.equal(res.error.name, 'RangeError');
    assert.match(res.error.stack, /throws\.step\.js:4/);
  });

  it('rejects an api response without a numeric status', async () => {
    rt.invoke(4, 'BadResponse', 'api', {});
    const res = await rt.result(4);
    assert.equal(res.ok, false);
    assert.match(res.error.message, /BadResponse.*status/);
  });

  it('answers with an error result when the response cannot be encoded', async () => {
    rt.invoke(14, 'Circular', 'api', {});
    const res = await rt.result(14);
    assert.equal(res.ok, false);
    assert.match(res.error.message, /could not be sent: .*circular/);
  });

  it('answers an unknown step and a noop step with an error result', async () => {
    rt.invoke(5, 'NoSuchStep', 'event', {});
    rt.invoke(6, 'ManualApproval', 'event', {});
    const [unknown, noop] = await Promise.all([rt.result(5), rt.result(6)]);
    assert.equal(unknown.ok, false);
    assert.match(unknown.error.message, /unknown step "NoSuchStep"/);
    assert.equal(unknown.error.code, 'unknown_step');
    assert.equal(noop.ok, false);
    assert.match(noop.error.message, /noop/);
  });

  it('round-trips state and emit calls of an event handler', async () => {
    rt.invoke(7, 'StoreOrder', 'event', { id: 'o1', customer: 'c9' }, { attempt: 2, messageId: 'm-7' });
    const get = await rt.recv('call');
    assert.deepEqual({ inv: get.inv, op: get.op, args: get.args }, { inv: 7, op: 'state.get', args: { group: 'orders', key: 'o1' } });
    rt.send({ t: 'reply', id: get.id, ok: true, value: null });

    const set = await rt.recv('call');
    assert.equal(set.op, 'state.set');
    assert.deepEqual(set.args, { group: 'orders', key: 'o1', value: { id: 'o1', customer: 'c9', seen: 1 } });
    rt.send({ t: 'reply', id: set.id, ok: true, value: { old_value: null, new_value: set.args.value } });

    const emit = await rt.recv('call');
    assert.equal(emit.op, 'emit');
    assert.deepEqual(emit.args, { topic: 'order.stored', data: { id: 'o1' }, messageGroupId: 'c9' });
    assert.notEqual(emit.id, set.id);
    rt.send({ t: 'reply', id: emit.id, ok: true });

    const log = await rt.recv('log');
    assert.deepEqual(log, {
      t: 'log', inv: 7, level: 'info', msg: 'order stored',
      fields: { id: 'o1', attempt: 2, messageId: 'm-7', written: { old_value: null, new_value: set.args.value } },
    });
    const res = await rt.result(7);
    assert.equal(res.ok, true);
    assert.equal(res.value, null);
  });

  it('calls a cron handler with the context only', async () => {
    rt.invoke(8, 'Nightly', 'cron', null, { flows: ['reports'] });
    const group = await rt.recv('call');
    assert.deepEqual([group.op, group.args], ['state.getGroup', { group: 'orders' }]);
    rt.send({ t: 'reply', id: group.id, ok: true, value: [{ id: 'a' }, { id: 'b' }] });
    const enqueue = await rt.recv('call');
    assert.deepEqual([enqueue.op, enqueue.args], ['emit', { topic: 'report.due', data: { count: 2 } }]);
    rt.send({ t: 'reply', id: enqueue.id, ok: true, value: null });
    const log = await rt.recv('log');
    assert.equal(log.level, 'warn');
    assert.deepEqual(log.fields, { count: 2, at: '1970-01-01T00:00:00.000Z' });
    assert.equal((await rt.result(8)).ok, true);
  });

  it('rejects a call with the reply error message and code, and runs middleware', async () => {
    rt.invoke(9, 'Guarded', 'api', { headers: {} });
    const denied = await rt.result(9);
    assert.deepEqual(denied.value, { status: 401, body: { error: 'unauthorized' } });

    rt.invoke(10, 'Guarded', 'api', { headers: { authorization: 'secret' } });
    const emit = await rt.recv('call');
    rt.send({ t: 'reply', id: emit.id, ok: false, error: { code: 'undeclared_emit', message: 'topic not.declared is not in emits' } });
    const res = await rt.result(10);
    assert.deepEqual(res.value, {
      status: 200,
      headers: { 'x-stamped': 'yes' },
      body: { rejected: 'topic not.declared is not in emits', code: 'undeclared_emit' },
    });
  });

  it('runs invocations concurrently: a later one finishes while an earlier one waits', async () => {
    rt.invoke(11, 'Slow', 'api', { queryParams: { key: 'k' } });
    const get = await rt.recv('call');
    assert.equal(get.inv, 11);
    rt.invoke(12, 'HelloApi', 'api', { pathParams: { name: 'fast' }, queryParams: {} });
    const first = await rt.recv('result');
    assert.equal(first.id, 12);
    rt.send({ t: 'reply', id: get.id, ok: true, value: 'v' });
    const second = await rt.recv('result');
    assert.equal(second.id, 11);
    assert.deepEqual(second.value, { status: 200, body: { value: 'v' } });
  });

  it('logs with debug level from an ESM handler', async () => {
    rt.invoke(13, 'EsmNamed', 'event', { n: 1 });
    const log = await rt.recv('log');
    assert.deepEqual([log.inv, log.level, log.msg, log.fields], [13, 'debug', 'esm named got', { input: { n: 1 } }]);
    assert.equal((await rt.result(13)).ok, true);
  });

  it('answers ping with pong of the same id', async () => {
    rt.send({ t: 'ping', id: 77 });
    assert.deepEqual(await rt.recv('pong'), { t: 'pong', id: 77 });
  });

  it('prints nothing on stderr in normal operation', () => {
    assert.equal(rt.stderr, '');
  });
});

describe('a worker shutting down', () => {
  it('finishes in-flight work on drain, refuses new invocations, says bye and exits 0', async () => {
    const rt = startWorker();
    try {
      await rt.init([step('slow.step.js'), step('hello-api.step.js')]);
      rt.invoke(1, 'Slow', 'api', { queryParams: { key: 'k' } });
      const get = await rt.recv('call');
      rt.send({ t: 'drain' });
      rt.invoke(2, 'HelloApi', 'api', { pathParams: { name: 'late' } });
      const refused = await rt.result(2);
      assert.equal(refused.ok, false);
      assert.equal(refused.error.message, 'draining');
      assert.equal(refused.error.code, 'draining');
      rt.send({ t: 'reply', id: get.id, ok: true, value: 1 });
      assert.equal((await rt.result(1)).ok, true);
      await rt.recv('bye');
      assert.deepEqual(await rt.exited, { code: 0, signal: null });
      assert.equal(rt.stderr, '');
    } finally {
      await rt.close();
    }
  });

  it('exits 0 quietly when the runtime closes the socket', async () => {
    const rt = startWorker();
    try {
      await rt.init([step('hello-api.step.js')]);
      rt.sock.end();
      assert.deepEqual(await rt.exited, { code: 0, signal: null });
      assert.equal(rt.stderr, '');
    } finally {
      await rt.close();
    }
  });

  it('registers a duplicate step name so that the runtime can report both files', async () => {
    const rt = startWorker();
    try {
      const reg = await rt.init([step('hello-api.step.js'), step('hello-api.step.js')]);
      assert.equal(reg.steps.length, 2);
      assert.equal(reg.errors.length, 0);
      assert.equal(reg.steps[1].config.name, 'HelloApi');
    } finally {
      await rt.close();
    }
  });
});

describe('a worker started by hand with MOTIA_WORKER_SOCKET', () => {
  const net = require('node:net');
  const os = require('node:os');
  const fs = require('node:fs');
  const { spawn } = require('node:child_process');
  const { FrameDecoder, decode } = require('../lib/codec');
  const { WORKER } = require('./helpers');

  const run = (socketPath) => spawn(process.execPath, [WORKER], {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, MOTIA_WORKER_FD: '', MOTIA_WORKER_SOCKET: socketPath },
  });

  it('connects to the path and says hello', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'motia-node-'));
    const socketPath = path.join(dir, 'rt.sock');
    let child;
    const server = net.createServer();
    try {
      const hello = new Promise((resolve) => {
        server.on('connection', (sock) => {
          const dec = new FrameDecoder();
          sock.on('data', (chunk) => {
            dec.push(chunk);
            const p = dec.next();
            if (p) resolve(decode(p));
            sock.end();
          });
        });
      });
      await new Promise((resolve) => server.listen(socketPath, resolve));
      child = run(socketPath);
      const exited = new Promise((resolve) => child.on('exit', resolve));
      assert.equal((await hello).t, 'hello');
      assert.equal(await exited, 0);
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with a message when nothing listens there', async () => {
    const child = run(path.join(os.tmpdir(), `motia-node-none-${process.pid}.sock`));
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr, /cannot connect to/);
  });
});
