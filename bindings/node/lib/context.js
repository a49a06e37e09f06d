'use strict';
// The `ctx` a handler gets. Every method is a closure rather than a prototype
// method because Motia handlers routinely destructure the context:
// `async (req, { emit, state, logger }) => ...`.

const { toWire, errorToWire, safeString } = require('./wire');

const LEVELS = ['info', 'warn', 'error', 'debug'];

/**
 * Builds the context for invocation `msg` (an `invoke` message). `runner`
 * provides call(inv, op, args) → Promise and log(inv, level, msg, fields).
 */
function createContext(runner, msg) {
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

  return {
    traceId: msg.traceId,
    flows: Array.isArray(msg.flows) ? msg.flows : [],
    attempt: msg.attempt,
    messageId: msg.messageId,
    emit,
    enqueue: emit, // Motia 1.0's name for the same operation
    state: createState(call),
    logger: createLogger(runner, inv),
    streams: {}, // not served by the protocol yet
  };
}

function createState(call) {
  return {
    get: (group, key) => checked('state.get', group, key) || call('state.get', { group, key }),
    set: (group, key, value) => checked('state.set', group, key) || call('state.set', { group, key, value }),
    delete: (group, key) => checked('state.delete', group, key) || call('state.delete', { group, key }),
    getGroup: (group) => checked('state.getGroup', group) || call('state.getGroup', { group }),
    clear: (group) => checked('state.clear', group) || call('state.clear', { group }),
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
