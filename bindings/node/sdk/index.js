'use strict';
// What `import ... from 'motia'` gives a step file in the motia-actors Node
// worker (lib/compile.js resolves `motia` here). Types need nothing at run
// time; these are the values Motia's step files use:
//
// - Motia 1.0's config helpers `step`, `multiTriggerStep`, `http`/`api`,
//   `queue`, `cron`, `state`, `stream` and `jsonSchema`, and its trigger
//   guards, which only build or read plain data;
// - Motia 1.0's module-level `enqueue`, `logger` and `stateManager`, which
//   act for the invocation whose handler calls them (lib/current.js);
// - `Stream`, whose operations act on the stream for the running handler;
// - `config` (and `defineConfig`), which return the project config of a
//   `motia.config.ts` as given, so that its `streamAuth.authenticate` loads.

const path = require('node:path');
const { currentContext, worker } = require('../lib/current');
const { zodToJsonSchema, isZod } = require('../lib/config');
const { LEVELS } = require('../lib/context');

worker.sdkLoaded = true;

/** `step(config, handler)` → {config, handler}; `step(config).handle(handler)` too. */
function step(config, handler) {
  if (handler !== undefined) return { config, handler };
  return { config, handle: (h) => ({ config, handler: h }) };
}

/**
 * One handler per trigger type, chosen by `ctx.trigger.type`:
 * `multiTriggerStep(config).onHttp(h1).onQueue(h2).handlers()` or
 * `.handlers({http: h1, queue: h2})` → {config, handler}.
 */
function multiTriggerStep(config) {
  const byType = {};
  const handler = async (input, ctx) => {
    const type = ctx.trigger.type;
    const h = byType[type];
    if (typeof h !== 'function') {
      throw new Error(`no handler for trigger type "${type}" (has: ${Object.keys(byType).join(', ') || 'none'})`);
    }
    return type === 'cron' ? h(ctx) : h(input, ctx);
  };
  const builder = {
    config,
    handlers(handlers) {
      if (handlers) Object.assign(byType, handlers);
      return { config, handler };
    },
  };
  for (const type of ['http', 'queue', 'cron', 'state', 'stream']) {
    builder[`on${type[0].toUpperCase()}${type.slice(1)}`] = (h) => {
      byType[type] = h;
      return builder;
    };
  }
  return builder;
}

// Trigger builders: the objects Motia 1.0's `triggers` array holds.
function http(method, routePath, options, condition) {
  return { type: 'http', method, path: routePath, ...options, condition };
}

function queue(topic, options, condition) {
  return { type: 'queue', topic, ...options, condition };
}

function cron(expression, condition) {
  return { type: 'cron', expression, condition };
}

function state(condition) {
  return { type: 'state', condition };
}

function stream(streamName, optionsOrCondition) {
  if (typeof optionsOrCondition === 'function') return { type: 'stream', streamName, condition: optionsOrCondition };
  const { groupId, itemId, condition } = optionsOrCondition || {};
  return { type: 'stream', streamName, groupId, itemId, condition };
}

/** A zod schema as JSON Schema, converted as config schemas are; anything else as it is. */
function jsonSchema(schema) {
  if (schema === null || typeof schema !== 'object' || !isZod(schema)) return schema;
  return zodToJsonSchema(schema, path.join(worker.root || process.cwd(), 'package.json'));
}

/** Emits an event for the running handler: `enqueue({topic, data, messageGroupId?})`. */
function enqueue(event) {
  const ctx = currentContext();
  if (ctx === undefined) return Promise.reject(outsideHandler('enqueue'));
  return ctx.enqueue(event);
}

/**
 * Writes log lines. Inside a handler they carry its trace id, step and
 * flows; outside (e.g. at module load) they go to the runtime without.
 */
class Logger {
  constructor() {
    for (const level of LEVELS) {
      this[level] = (msg, fields) => {
        const ctx = currentContext();
        if (ctx !== undefined) return ctx.logger[level](msg, fields);
        if (worker.runner !== null) worker.runner.log(undefined, level, msg, fields);
        return undefined;
      };
    }
  }
}

/** Motia 1.0's state API, for the running handler (the same calls as `ctx.state`). */
class StateManager {
  constructor() {
    for (const op of ['get', 'set', 'update', 'delete', 'list', 'getGroup', 'clear', 'listGroups']) {
      this[op] = (...args) => {
        const ctx = currentContext();
        if (ctx === undefined) return Promise.reject(outsideHandler(`stateManager.${op}`));
        return ctx.state[op](...args);
      };
    }
  }
}

/**
 * A stream definition (`new Stream(config)`). Its operations are those of
 * `ctx.streams.<name>` for the running handler.
 */
class Stream {
  constructor(config) {
    this.config = config;
    const name = config && typeof config.name === 'string' ? config.name : undefined;
    for (const op of ['get', 'set', 'delete', 'getGroup', 'list', 'send']) {
      this[op] = (...args) => {
        const ctx = currentContext();
        if (ctx === undefined) return Promise.reject(outsideHandler(`stream ${name}.${op}`));
        if (!Object.hasOwn(ctx.streams, name)) {
          const err = new Error(`no stream named "${name}" in this project`);
          err.code = 'unknown_stream';
          return Promise.reject(err);
        }
        return ctx.streams[name][op](...args);
      };
    }
  }
}

/** Motia's project config (`motia.config.ts`): returned as given. */
function config(projectConfig) {
  return projectConfig;
}

function outsideHandler(what) {
  const err = new Error(`${what} was called outside a step handler: there is no invocation to act for`);
  err.code = 'no_invocation';
  return err;
}

// Trigger and step guards of Motia 1.0 and 0.17.
const isApiTrigger = (t) => t.type === 'http';
const isQueueTrigger = (t) => t.type === 'queue';
const isCronTrigger = (t) => t.type === 'cron';
const isStateTrigger = (t) => t.type === 'state';
const isStreamTrigger = (t) => t.type === 'stream';
const triggersOf = (s) => (s && s.config && Array.isArray(s.config.triggers) ? s.config.triggers : []);
const getApiTriggers = (s) => triggersOf(s).filter(isApiTrigger);
const getQueueTriggers = (s) => triggersOf(s).filter(isQueueTrigger);
const getCronTriggers = (s) => triggersOf(s).filter(isCronTrigger);
const getStateTriggers = (s) => triggersOf(s).filter(isStateTrigger);
const getStreamTriggers = (s) => triggersOf(s).filter(isStreamTrigger);
const isApiStep = (s) => s.config.type === 'api';
const isEventStep = (s) => s.config.type === 'event';
const isCronStep = (s) => s.config.type === 'cron';
const isNoopStep = (s) => s.config.type === 'noop';

const logger = new Logger();
const stateManager = new StateManager();
const api = http; // Motia 1.0's older name

// One object literal of names, so that Node finds every export when an ES
// module imports this CommonJS file by name.
module.exports = {
  step,
  multiTriggerStep,
  http,
  api,
  queue,
  cron,
  state,
  stream,
  jsonSchema,
  enqueue,
  logger,
  Logger,
  stateManager,
  StateManager,
  Stream,
  config,
  defineConfig: config,
  isApiTrigger,
  isQueueTrigger,
  isCronTrigger,
  isStateTrigger,
  isStreamTrigger,
  getApiTriggers,
  getQueueTriggers,
  getCronTriggers,
  getStateTriggers,
  getStreamTriggers,
  isApiStep,
  isEventStep,
  isCronStep,
  isNoopStep,
};
