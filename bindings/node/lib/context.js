'use strict';
// The `ctx` a handler gets. Every method is a closure rather than a prototype
// method because Motia handlers routinely destructure the context:
// `async (req, { emit, state, logger }) => ...`.

const { toWire, errorToWire, safeString } = require('./wire');

const LEVELS = ['info', 'warn', 'error', 'debug'];

// Motia 1.0 names the kind of invocation by its trigger type.
const TRIGGER_TYPES = { api: 'http', event: 'queue', cron: 'cron' };

/**
 * Builds the context for invocation `msg` (an `invoke` message) whose
 * handler gets `input` (for api, the request). `runner` provides
 * call(inv, op, args) → Promise and log(inv, level, msg, fields).
 */
function createContext(runner, msg, input) {
  const inv = msg.id;
  const call = (op, args) => runner.call(inv, op, args);

  const emit = (event) => {
    if (event === null || typeof event !== 'object' || typeof event.topic !== 'string') {
      return Promise.reject(new TypeError('emit expects {topic: string, data, messageGroupId?}'));
    }
    const args = { topic: event.topic, data: event.data };
    if (event.messageGroupId !== undefined && event.messageGroupId !== null) {
      if (typeof event.messageGroupId !== 'string') {
        return Promise.reject(new TypeError('emit: messageGroupId must be a string'));
      }
      args.messageGroupId = event.messageGroupId;
    }
    return call('emit', args);
  };

  const trigger = { type: TRIGGER_TYPES[msg.kind] || String(msg.kind) };
  return {
    traceId: msg.traceId,
    flows: Array.isArray(msg.flows) ? msg.flows : [],
    attempt: msg.attempt,
    messageId: msg.messageId,
    emit,
    enqueue: emit, // Motia 1.0's name for the same operation
    state: createState(call),
    logger: createLogger(runner, inv),
    streams: createStreams(call, runner.streamNames),
    // Motia 1.0's helpers for handlers shared by several triggers.
    trigger,
    is: {
      http: () => trigger.type === 'http',
      queue: () => trigger.type === 'queue',
      cron: () => trigger.type === 'cron',
      state: () => trigger.type === 'state',
      stream: () => trigger.type === 'stream',
    },
    getData: () => dataOf(trigger.type, input),
    match: (handlers) => match(trigger.type, input, handlers),
  };
}

// The payload whatever the trigger: an api request's body, an event's data.
function dataOf(type, input) {
  if (type === 'http') return input === null || input === undefined ? undefined : input.body;
  if (type === 'cron') return undefined;
  return input;
}

// Runs the handler of `handlers` named for the trigger, else `default`.
// Like Motia, queue and cron handlers' results are not returned.
async function match(type, input, handlers) {
  const h = handlers || {};
  if (type === 'http' && typeof h.http === 'function') return h.http(input);
  if (type === 'queue' && typeof h.queue === 'function') {
    await h.queue(input);
    return undefined;
  }
  if (type === 'cron' && typeof h.cron === 'function') {
    await h.cron();
    return undefined;
  }
  if (typeof h.default === 'function') return h.default(input);
  throw new Error(`no handler for trigger type "${type}" in match() (has: ${Object.keys(h).join(', ') || 'none'})`);
}

function createState(call) {
  const getGroup = (group) => checked('state.getGroup', group) || call('state.getGroup', { group });
  return {
    get: (group, key) => checked('state.get', group, key) || call('state.get', { group, key }),
    set: (group, key, value) => checked('state.set', group, key) || call('state.set', { group, key, value }),
    update: (group, key, ops) => checked('state.update', group, key) || checkedOps(ops) || call('state.update', { group, key, ops }),
    delete: (group, key) => checked('state.delete', group, key) || call('state.delete', { group, key }),
    getGroup,
    list: getGroup, // Motia 1.0's stateManager name
    clear: (group) => checked('state.clear', group) || call('state.clear', { group }),
    listGroups: () => Promise.reject(unsupported('state.listGroups is not supported yet')),
  };
}

// A wrong argument type is the caller's bug: say which one here rather than
// let the runtime answer with a generic decoding error.
function checked(op, group, ...rest) {
  if (typeof group !== 'string') return Promise.reject(new TypeError(`${op}: group must be a string`));
  if (rest.length > 0 && typeof rest[0] !== 'string') {
    return Promise.reject(new TypeError(`${op}: key must be a string`));
  }
  return null;
}

// Only the shape is checked here; whether an op fits the value is the
// runtime's to say (`bad_update`), as it alone sees the value.
function checkedOps(ops) {
  if (!Array.isArray(ops)) return Promise.reject(new TypeError('state.update: ops must be an array'));
  for (const op of ops) {
    if (op === null || typeof op !== 'object' || typeof op.type !== 'string') {
      return Promise.reject(new TypeError('state.update: each op must be an object with a string `type`'));
    }
  }
  return null;
}

function unsupported(message) {
  const err = new Error(message);
  err.code = 'unsupported';
  return err;
}

// `ctx.streams`: a client per stream name. The names the worker knows
// (init.streams and its own stream files) are enumerable; any other name still
// gets a client, because a stream defined in another language's files is only
// known to the runtime, which refuses names it has not got (`unknown_stream`).
function createStreams(call, names) {
  const known = {};
  for (const name of names || []) known[name] = createStream(call, name);
  return new Proxy(known, {
    get(target, prop, receiver) {
      if (typeof prop !== 'string' || prop in target || prop === 'then' || prop === 'toJSON')
        return Reflect.get(target, prop, receiver);
      target[prop] = createStream(call, prop);
      return target[prop];
    },
  });
}

/** The operations on stream `name`, each a `stream.*` call settled by its reply. */
function createStream(call, name) {
  const where = (op) => `streams.${name}.${op}`;
  const getGroup = (groupId) => checkedIds(where('getGroup'), groupId) || call('stream.getGroup', { stream: name, groupId });
  return {
    get: (groupId, id) => checkedIds(where('get'), groupId, id) || call('stream.get', { stream: name, groupId, id }),
    set: (groupId, id, data) => checkedIds(where('set'), groupId, id) || call('stream.set', { stream: name, groupId, id, data }),
    delete: (groupId, id) => checkedIds(where('delete'), groupId, id) || call('stream.delete', { stream: name, groupId, id }),
    getGroup,
    list: getGroup, // Motia 1.0's name
    send: (channel, event) => {
      if (channel === null || typeof channel !== 'object') {
        return Promise.reject(new TypeError(`${where('send')}: channel must be {groupId, id?}`));
      }
      const { groupId, id } = channel;
      const bad = checkedIds(where('send'), groupId, ...(id === undefined || id === null ? [] : [id]));
      if (bad) return bad;
      if (event === null || typeof event !== 'object' || typeof event.type !== 'string') {
        return Promise.reject(new TypeError(`${where('send')}: event must be {type: string, data}`));
      }
      const args = { stream: name, groupId, event: { type: event.type, data: event.data } };
      if (id !== undefined && id !== null) args.id = id;
      return call('stream.send', args);
    },
  };
}

function checkedIds(op, groupId, ...rest) {
  if (typeof groupId !== 'string') return Promise.reject(new TypeError(`${op}: groupId must be a string`));
  if (rest.length > 0 && typeof rest[0] !== 'string') return Promise.reject(new TypeError(`${op}: id must be a string`));
  return null;
}

function createLogger(runner, inv) {
  const logger = {};
  for (const level of LEVELS) {
    logger[level] = (msg, fields) => runner.log(inv, level, msg, fields);
  }
  return logger;
}

/**
 * The `log` frame for one logger call. Never throws: a log line must not
 * break the handler that writes it.
 */
function logFrame(inv, level, msg, fields) {
  if (msg instanceof Error) {
    if (fields === undefined) fields = { error: msg };
    msg = msg.message;
  }
  const frame = { t: 'log', level, msg: typeof msg === 'string' ? msg : safeString(msg) };
  if (inv !== undefined) frame.inv = inv;
  if (fields === undefined || fields === null) return frame;
  try {
    const plain = toWire(fields, errorHook);
    // `fields` is a map on the wire; keep a lone value rather than drop it.
    frame.fields = plain !== null && typeof plain === 'object' && !Array.isArray(plain) && !Buffer.isBuffer(plain)
      ? plain
      : { value: plain };
  } catch (err) {
    frame.fields = { fieldsError: `log fields could not be encoded: ${err.message}` };
  }
  return frame;
}

// In logs (unlike response bodies, where they would leak) an Error's message
// and stack are what the reader wants; JSON would print `{}`.
function errorHook(v) {
  if (!(v instanceof Error)) return undefined;
  const out = errorToWire(v);
  if (v.code !== undefined) out.code = v.code;
  return out;
}

module.exports = { createContext, logFrame, LEVELS };
