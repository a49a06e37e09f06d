'use strict';
// The worker's side of docs/protocol.md: hello → init → register, then
// invocations, handler calls, pings and drain.

const { ProtocolError } = require('./codec');
const { loadProject } = require('./loader');
const { createContext, logFrame } = require('./context');
const { toWire, errorToWire } = require('./wire');
const { invocation, worker } = require('./current');

const PROTOCOL_VERSION = 1;

// Ids are uints on the wire. msgpackr writes numbers past 32 bits as float64,
// so larger ones go out as BigInt, which it writes as int64.
const wireId = (id) => (id > 0xffffffff ? BigInt(id) : id);

class Runner {
  /**
   * `exit(code)` ends the process; `stderr` gets the reason of a fatal exit.
   * The caller routes its Connection's callbacks to onMessage,
   * onProtocolError and onClose, then calls start(conn).
   */
  constructor({ exit, stderr }) {
    this.conn = null;
    this.exit = exit;
    this.stderr = stderr;
    this.phase = 'hello'; // hello → loading → ready
    this.steps = new Map();
    this.streams = new Map(); // the stream files' definitions, by name
    this.streamNames = []; // the project's streams (init.streams and our own), for ctx.streams
    this.authenticate = null;
    this.inflight = 0;
    this.draining = false;
    this.done = false; // bye sent or exiting: send nothing more
    this.callSeq = 0;
    this.pending = new Map(); // call id → {resolve, reject}
    worker.runner = this;
  }

  start(conn) {
    this.conn = conn;
    conn.send({ t: 'hello', protocol: PROTOCOL_VERSION, lang: 'node', pid: process.pid, runtime: `node ${process.version}` });
  }

  onMessage(msg) {
    if (this.done) return;
    switch (msg.t) {
      case 'init': return this.onInit(msg);
      case 'invoke': return this.onInvoke(msg);
      case 'reply': return this.onReply(msg);
      case 'ping': return this.conn.send({ t: 'pong', id: wireId(requireId(msg)) });
      case 'drain': return this.onDrain();
      default: throw new ProtocolError(`unknown message type "${msg.t}"`);
    }
  }

  onProtocolError(err) {
    this.fatal(2, `protocol error: ${err.message}`);
  }

  onClose() {
    // The runtime is gone; nobody is left to report to.
    this.done = true;
    this.exit(0);
  }

  fatal(code, message) {
    this.done = true;
    this.stderr.write(`motia-actors node worker: ${message}\n`);
    this.exit(code);
  }

  onInit(msg) {
    if (this.phase !== 'hello') throw new ProtocolError('init received twice');
    if (typeof msg.root !== 'string' || !isPaths(msg.files)) {
      throw new ProtocolError('init needs a string root and an array of file paths');
    }
    const { streamFiles = [], streams = [], auth } = msg;
    if (!isPaths(streamFiles) || !isPaths(streams) || (auth !== undefined && typeof auth !== 'string')) {
      throw new ProtocolError('init: streamFiles and streams must be arrays of strings, auth a string');
    }
    this.phase = 'loading';
    worker.root = msg.root;
    loadProject(msg.root, msg.files, streamFiles, auth).then(
      (project) => {
        this.steps = project.steps;
        this.streams = project.streams;
        // The runtime may not know every stream yet when it starts its first
        // workers; those this worker defines are there anyway.
        this.streamNames = [...new Set([...streams, ...project.streams.keys()])];
        this.authenticate = project.authenticate;
        this.phase = 'ready';
        if (this.done) return;
        this.conn.send({ t: 'register', ...project.register });
        this.maybeBye();
      },
      (err) => this.fatal(1, `loading steps failed: ${err && err.stack}`),
    );
  }

  onInvoke(msg) {
    const id = requireId(msg);
    if (this.phase !== 'ready') throw new ProtocolError('invoke before register');
    // `code` (a field the protocol lets us add) tells the runtime the handler
    // never ran, so it can send the invocation elsewhere without spending an
    // attempt.
    if (this.draining) return this.sendError(id, { message: 'draining', name: 'DrainingError', code: 'draining' });
    if (msg.kind === 'canAccess' || msg.kind === 'authenticate') return this.onStreamInvoke(id, msg);
    const step = this.steps.get(msg.step);
    if (step === undefined) return this.sendError(id, unknownStep(`unknown step "${msg.step}"`));
    if (typeof step.handler !== 'function') return this.sendError(id, unknownStep(`step "${step.name}" is a noop and has no handler`, 'NoHandlerError'));
    this.run(id, () => {
      const input = handlerInput(step, msg.kind, msg.input);
      const ctx = createContext(this, msg, input);
      return worker.sdkLoaded
        ? invocation.run(ctx, callHandler, step, msg.kind, input, ctx)
        : callHandler(step, msg.kind, input, ctx);
    }, (value) => (msg.kind === 'api' ? this.sendApiResult(id, step, value) : this.sendResult(id, null)));
  }

  // A stream's access check, or the project's authenticate hook. Neither
  // gets a context: their calls could only be refused.
  onStreamInvoke(id, msg) {
    const input = msg.input !== null && typeof msg.input === 'object' ? msg.input : {};
    if (msg.kind === 'authenticate') {
      const hook = this.authenticate;
      if (hook === null) return this.sendError(id, unknownStep('no stream authenticate hook is loaded'));
      return this.run(id, () => hook(input), (value) => this.sendResult(id, value === undefined ? null : value));
    }
    const stream = this.streams.get(msg.step);
    if (stream === undefined) return this.sendError(id, unknownStep(`unknown stream "${msg.step}"`));
    const { canAccess } = stream;
    if (canAccess === null) return this.sendResult(id, true);
    return this.run(id, () => canAccess(input.subscription, input.authContext), (value) => this.sendResult(id, Boolean(value)));
  }

  /** Runs invocation `id` (`start` may return a promise); `done(value)` answers it. */
  run(id, start, done) {
    this.inflight++;
    let pending;
    try {
      pending = start();
    } catch (err) {
      pending = Promise.reject(err);
    }
    Promise.resolve(pending).then(done, (err) => this.sendError(id, errorToWire(
      err === undefined ? new Error('handler rejected with undefined') : err,
    ))).finally(() => {
      this.inflight--;
      this.maybeBye();
    });
  }

  sendApiResult(id, step, value) {
    if (value === null || typeof value !== 'object' || !isStatus(value.status)) {
      const got = value === null || typeof value !== 'object' ? String(value) : `status ${String(value.status)}`;
      return this.sendError(id, {
        message: `api step "${step.name}" must return {status, body, headers?} with an integer status 100-599 (got ${got})`,
        name: 'InvalidResponseError',
      });
    }
    const response = { status: value.status, body: value.body };
    if (value.headers !== undefined && value.headers !== null) response.headers = value.headers;
    this.sendResult(id, response);
  }

  sendResult(id, value) {
    try {
      this.conn.send({ t: 'result', id: wireId(id), ok: true, value: toWire(value) });
    } catch (err) {
      this.sendError(id, { message: `the handler's result could not be sent: ${err.message}`, name: err.name });
    }
  }

  sendError(id, error) {
    try {
      this.conn.send({ t: 'result', id: wireId(id), ok: false, error });
    } catch (err) {
      // Only an error far over the frame limit (a giant stack) gets here.
      this.conn.send({ t: 'result', id: wireId(id), ok: false, error: { message: `error could not be sent: ${err.message}` } });
    }
  }

  onDrain() {
    this.draining = true;
    this.maybeBye();
  }

  maybeBye() {
    if (!this.draining || this.inflight > 0 || this.phase === 'loading' || this.done) return;
    this.done = true;
    this.conn.send({ t: 'bye' });
    this.conn.end(() => this.exit(0));
  }

  /** Sends a `call` for invocation `inv`; settles on its `reply`. */
  call(inv, op, args) {
    if (this.done) return Promise.reject(unavailable('the worker is shutting down'));
    let plain;
    try {
      plain = toWire(args);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = ++this.callSeq;
    // Made now so that a failed call's stack shows the handler line that
    // made it; V8 formats the stack only when it is read.
    const failure = new Error();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, failure });
      try {
        this.conn.send({ t: 'call', id: wireId(id), inv: wireId(inv), op, args: plain });
      } catch (err) {
        this.pending.delete(id);
        reject(err);
      }
    });
  }

  onReply(msg) {
    const id = requireId(msg);
    const waiter = this.pending.get(id);
    if (waiter === undefined) return; // e.g. a reply racing our own shutdown
    this.pending.delete(id);
    if (msg.ok) return waiter.resolve(msg.value === undefined ? null : msg.value);
    const e = msg.error || {};
    const err = waiter.failure;
    err.message = typeof e.message === 'string' ? e.message : 'call failed';
    err.code = e.code;
    waiter.reject(err);
  }

  log(inv, level, msg, fields) {
    if (this.done) return;
    try {
      this.conn.send(logFrame(wireId(inv), level, msg, fields));
    } catch (err) {
      // A log line over the frame limit: keep the fact, drop the payload.
      this.conn.send(logFrame(wireId(inv), level, `log line dropped: ${err.message}`));
    }
  }
}

// What the handler gets as its first argument. An api request is Motia
// 0.17's `req` and, for 1.0 handlers written as `({ request }) => ...`, also
// carries `request` (the same fields plus `method`) and `response`, kept out
// of its enumerable fields so that echoing `req` stays as it was.
function handlerInput(step, kind, input) {
  if (kind === 'event') return input === undefined ? null : input;
  if (kind !== 'api') return input;
  const req = input !== null && typeof input === 'object' ? { ...input } : {};
  // rawBody arrives as bytes (bin); most handlers never read it, so the
  // string is made the first time it is asked for.
  const raw = req.rawBody;
  if (raw instanceof Uint8Array) {
    let text;
    Object.defineProperty(req, 'rawBody', {
      get: () => (text ??= Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')),
      set: (v) => { text = v; },
      enumerable: true,
      configurable: true,
    });
  }
  const request = { ...req, method: step.method };
  Object.defineProperty(req, 'request', { value: request, enumerable: false });
  Object.defineProperty(req, 'response', { value: STREAMING_RESPONSE, enumerable: false });
  return req;
}

// Motia 1.0's `response` writes a streamed (SSE) reply; the protocol has a
// single result per invocation, so it says so instead of hanging.
const streamingUnsupported = (name) => new Error(
  `streamed responses (response.${name}) are not supported yet: return {status, headers?, body}`,
);
const STREAMING_RESPONSE = Object.freeze({
  status: () => { throw streamingUnsupported('status'); },
  headers: () => { throw streamingUnsupported('headers'); },
  close: () => { throw streamingUnsupported('close'); },
  get stream() { throw streamingUnsupported('stream'); },
});

// The calling conventions of Motia handlers, by invocation kind. Api
// middleware run here, around the handler: `(req, ctx, next) => response`.
function callHandler(step, kind, input, ctx) {
  switch (kind) {
    case 'api': {
      const req = input;
      if (step.middleware.length === 0) return step.handler(req, ctx);
      const run = (i) => (i < step.middleware.length
        ? step.middleware[i](req, ctx, () => Promise.resolve().then(() => run(i + 1)))
        : step.handler(req, ctx));
      return run(0);
    }
    case 'event':
      return step.handler(input, ctx);
    case 'cron':
      // Motia 1.0 passes no input but keeps the context second.
      return step.triggers ? step.handler(undefined, ctx) : step.handler(ctx);
    default:
      throw new Error(`unknown invocation kind "${kind}" for step "${step.name}"`);
  }
}

function isStatus(s) {
  return Number.isInteger(s) && s >= 100 && s <= 599;
}

function requireId(msg) {
  if (!Number.isInteger(msg.id) || msg.id < 0) throw new ProtocolError(`${msg.t} has no unsigned integer id`);
  return msg.id;
}

function isPaths(v) {
  return Array.isArray(v) && v.every((f) => typeof f === 'string');
}

function unknownStep(message, name = 'UnknownStepError') {
  return { message, name, code: 'unknown_step' };
}

function unavailable(message) {
  const err = new Error(message);
  err.code = 'unavailable';
  return err;
}

module.exports = { Runner, PROTOCOL_VERSION };
