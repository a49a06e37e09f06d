'use strict';
// Stream definition files, ctx.streams calls and the canAccess and
// authenticate invocations, against real worker processes.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startWorker } = require('./helpers');

const ROOT = path.join(__dirname, 'fixtures', 'streams-project');
const file = (name) => path.join(ROOT, name);
const STREAM_FILES = ['todos.stream.js', 'chat.stream.ts', 'open.stream.js', 'broken.stream.js', 'nameless.stream.js']
  .map((f) => file(`streams/${f}`));

describe('a worker given stream files and a motia.config.ts', () => {
  let rt;
  let register;
  let nextId = 1;
  const stream = (name) => register.streams.find((s) => s.config.name === name);

  before(async () => {
    rt = startWorker();
    register = await rt.init([file('steps/streamer.step.ts')], ROOT, {
      streamFiles: STREAM_FILES,
      streams: ['todos', 'chat', 'open', 'remote'],
      auth: file('motia.config.ts'),
    });
  });

  after(async () => {
    await rt.close();
  });

  const invoke = async (kind, step, input) => {
    const id = nextId++;
    rt.invoke(id, step, kind, input);
    return rt.result(id);
  };

  it('registers the JavaScript and TypeScript streams with name, JSON Schema and canAccess flag', () => {
    assert.deepEqual(register.streams.map((s) => s.file), STREAM_FILES.slice(0, 3));
    assert.deepEqual(stream('todos').config, {
      name: 'todos',
      schema: { type: 'object', properties: { text: { type: 'string' } } },
      baseConfig: { storageType: 'default' },
      canAccess: true,
    });
    const chat = stream('chat').config;
    assert.deepEqual([chat.canAccess, chat.baseConfig, chat.schema.type, chat.schema.required], [true, { storageType: 'default' }, 'object', ['text', 'from']]);
    assert.deepEqual(chat.schema.properties.from.enum, ['user', 'bot']);
    assert.deepEqual(stream('open').config, { name: 'open', baseConfig: { storageType: 'default' }, canAccess: false });
    assert.deepEqual(register.steps.map((s) => s.config.name), ['Streamer']);
    assert.equal(register.auth, true);
  });

  it('reports a broken stream file with its line and a nameless one', () => {
    const errors = Object.fromEntries(register.errors.map((e) => [path.basename(e.file), e]));
    assert.deepEqual(Object.keys(errors).sort(), ['broken.stream.js', 'nameless.stream.js']);
    assert.equal(errors['broken.stream.js'].line, 3);
    assert.match(errors['broken.stream.js'].message, /Unexpected token/);
    assert.deepEqual(errors['nameless.stream.js'], { file: file('streams/nameless.stream.js'), message: 'stream config has no string `name`' });
  });

  it('sends ctx.streams calls and resolves with the replies, rejecting with the code', async () => {
    const id = nextId++;
    rt.invoke(id, 'Streamer', 'event', { groupId: 'g1' });
    const expect = async (op, args, reply) => {
      const call = await rt.recv('call');
      assert.deepEqual([call.inv, call.op, call.args], [id, op, args]);
      rt.send({ t: 'reply', id: call.id, ...reply });
    };
    const item = { text: 'tea', id: 't1' };
    await expect('stream.set', { stream: 'todos', groupId: 'g1', id: 't1', data: { text: 'tea' } }, { ok: true, value: item });
    await expect('stream.get', { stream: 'todos', groupId: 'g1', id: 't1' }, { ok: true, value: item });
    await expect('stream.getGroup', { stream: 'chat', groupId: 'g1' }, { ok: true, value: [{ id: 'm0', text: 'hi', from: 'bot' }] });
    await expect('stream.delete', { stream: 'todos', groupId: 'g1', id: 't1' }, { ok: true, value: item });
    await expect('stream.send', { stream: 'chat', groupId: 'g1', id: 'm1', event: { type: 'typing', data: { who: 'ada' } } }, { ok: true, value: null });
    await expect('stream.get', { stream: 'remote', groupId: 'g1', id: 'x' }, { ok: false, error: { code: 'unknown_stream', message: 'no stream "remote"' } });
    const log = await rt.recv('log');
    assert.deepEqual([log.inv, log.msg, log.fields], [id, 'streamed', {
      set: item,
      got: item,
      group: [{ id: 'm0', text: 'hi', from: 'bot' }],
      removed: item,
      sent: null,
      failure: { code: 'unknown_stream', message: 'no stream "remote"' },
      anyName: true,
    }]);
    assert.equal((await rt.result(id)).ok, true);
  });

  it('answers canAccess with the stream\'s check: truthy, falsy, a throw, async, none', async () => {
    const sub = (groupId, id) => ({ subscription: id === undefined ? { groupId } : { groupId, id }, authContext: { userId: 'u1', rooms: ['r1'] } });
    assert.deepEqual(await invoke('canAccess', 'todos', sub('u1', 't1')), { t: 'result', id: nextId - 1, ok: true, value: true });
    assert.equal((await invoke('canAccess', 'todos', sub('u2'))).value, false);
    assert.equal((await invoke('canAccess', 'todos', { subscription: { groupId: 'u1' }, authContext: null })).value, false);
    const thrown = await invoke('canAccess', 'todos', sub('explode'));
    assert.deepEqual([thrown.ok, thrown.error.message, thrown.error.name], [false, 'access check failed', 'Error']);
    assert.equal((await invoke('canAccess', 'chat', sub('r1'))).value, true);
    assert.equal((await invoke('canAccess', 'chat', sub('r2'))).value, false);
    assert.equal((await invoke('canAccess', 'open', sub('anything'))).value, true);
    const unknown = await invoke('canAccess', 'remote', sub('g'));
    assert.deepEqual([unknown.ok, unknown.error.code, unknown.error.message], [false, 'unknown_step', 'unknown stream "remote"']);
  });

  it('answers authenticate with the context from motia.config.ts\'s streamAuth, nil for none, an error for a throw', async () => {
    const req = (token) => ({ headers: token ? { 'sec-websocket-protocol': token } : {}, url: '/?x=1' });
    assert.deepEqual((await invoke('authenticate', '', req('u1'))).value, { userId: 'u1', url: '/?x=1' });
    const none = await invoke('authenticate', '', req());
    assert.deepEqual([none.ok, none.value], [true, null]);
    const refused = await invoke('authenticate', '', req('bad'));
    assert.deepEqual([refused.ok, refused.error.message], [false, 'invalid token']);
  });

  it('prints nothing on stderr', () => {
    assert.equal(rt.stderr, '');
  });
});

describe('a worker whose init names no streams', () => {
  it('still has ctx.streams entries for the streams it defines', async () => {
    const rt = startWorker();
    try {
      await rt.init([file('steps/streamer.step.ts')], ROOT, { streamFiles: [file('streams/todos.stream.js')] });
      rt.invoke(1, 'Streamer', 'event', { groupId: 'g' });
      const call = await rt.recv('call');
      assert.deepEqual([call.op, call.args], ['stream.set', { stream: 'todos', groupId: 'g', id: 't1', data: { text: 'tea' } }]);
    } finally {
      await rt.close();
    }
  });
});

describe('a worker given an auth file', () => {
  it('uses a named authenticate export', async () => {
    const rt = startWorker();
    try {
      const register = await rt.init([], ROOT, { auth: file('auth-named.js') });
      assert.deepEqual([register.auth, register.errors, register.streams], [true, [], []]);
      rt.invoke(1, '', 'authenticate', { headers: {}, url: '/ws' });
      assert.deepEqual((await rt.result(1)).value, { via: 'named', url: '/ws' });
    } finally {
      await rt.close();
    }
  });

  it('reports a file without a hook and refuses authenticate with unknown_step', async () => {
    const rt = startWorker();
    try {
      const register = await rt.init([], ROOT, { auth: file('auth-none.js') });
      assert.equal(register.auth, false);
      assert.deepEqual(register.errors, [{
        file: file('auth-none.js'),
        message: 'auth file exports no `authenticate` function (nor a default export with `streamAuth.authenticate`)',
      }]);
      rt.invoke(1, '', 'authenticate', { headers: {}, url: '/ws' });
      assert.equal((await rt.result(1)).error.code, 'unknown_step');
    } finally {
      await rt.close();
    }
  });
});
