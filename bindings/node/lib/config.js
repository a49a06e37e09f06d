'use strict';
// A step's exported `config` made plain data for `register`: functions and
// undefined dropped, zod schemas (bodySchema, responseSchema, input) turned
// into JSON Schema, and `hasMiddleware` set when there is middleware to run.

const { createRequire } = require('node:module');
const { toWire } = require('./wire');

/** Returns the plain form of `config`, exported by `file`. May throw. */
function plainConfig(config, file) {
  const out = toWire(config, schemaHook(file));
  // Middleware are functions the worker runs itself; the runtime only needs
  // to know they exist (a list of nulls would tell it nothing).
  delete out.middleware;
  // Motia 1.0 keeps middleware in its http triggers; the worker runs the
  // first http trigger's (see loader.js), so that one sets the step's flag.
  const http = Array.isArray(config.triggers) ? config.triggers.find((t) => t && t.type === 'http') : undefined;
  if (hasMiddleware(config) || hasMiddleware(http)) out.hasMiddleware = true;
  if (Array.isArray(config.triggers) && Array.isArray(out.triggers)) {
    config.triggers.forEach((t, i) => {
      const plain = out.triggers[i];
      if (plain === null || typeof plain !== 'object') return;
      delete plain.middleware;
      if (hasMiddleware(t)) plain.hasMiddleware = true;
    });
  }
  return out;
}

/**
 * The plain form of a stream file's `config`: `name`, `schema` (zod turned
 * into JSON Schema), `baseConfig`, and `canAccess` reduced to whether it is
 * a function, which the worker runs itself. May throw.
 */
function plainStreamConfig(config, file) {
  const { name, schema, baseConfig } = config;
  const out = toWire({ name, schema, baseConfig }, schemaHook(file));
  out.canAccess = typeof config.canAccess === 'function';
  return out;
}

const schemaHook = (file) => (v) => (isZod(v) ? zodToJsonSchema(v, file) : undefined);

function hasMiddleware(c) {
  return c !== null && typeof c === 'object' && Array.isArray(c.middleware) && c.middleware.length > 0;
}

function isZod(v) {
  if (typeof v.safeParse !== 'function') return false;
  return v._zod !== undefined || v._def !== undefined;
}

/**
 * Converts with the project's own tools when they can be found (they know
 * every corner of zod), else with a small converter for zod 3's common types.
 */
function zodToJsonSchema(schema, file) {
  // Schemas in a config describe what comes in (request bodies, event
  // input): describe the input side, where defaulted fields are optional.
  const opts = { io: 'input' };
  if (typeof schema.toJSONSchema === 'function') return schema.toJSONSchema(opts);
  const req = createRequire(file);
  if (schema._zod !== undefined) {
    const fn = firstExport(req, ['zod/v4/core', 'zod/v4', 'zod'], 'toJSONSchema');
    if (fn) return fn(schema, opts);
    throw new Error('config holds a zod 4 schema but zod.toJSONSchema could not be loaded');
  }
  const fn = firstExport(req, ['zod-to-json-schema'], 'zodToJsonSchema');
  if (fn) return fn(schema, { $refStrategy: 'none' });
  return zod3(schema._def);
}

function firstExport(req, modules, name) {
  for (const m of modules) {
    try {
      const mod = req(m);
      if (typeof mod[name] === 'function') return mod[name];
    } catch {
      // not installed in this project: try the next one
    }
  }
  return undefined;
}

// zod 3's schema tree, by `_def.typeName`. Unknown kinds become {} (accept
// anything), which is what JSON Schema means by "no constraint".
function zod3(def) {
  if (!def) return {};
  switch (def.typeName) {
    case 'ZodString':
      return { type: 'string' };
    case 'ZodNumber':
      return (def.checks || []).some((c) => c.kind === 'int') ? { type: 'integer' } : { type: 'number' };
    case 'ZodBigInt':
      return { type: 'integer' };
    case 'ZodBoolean':
      return { type: 'boolean' };
    case 'ZodNull':
      return { type: 'null' };
    case 'ZodDate':
      return { type: 'string', format: 'date-time' };
    case 'ZodLiteral':
      return { const: def.value };
    case 'ZodEnum':
      return { type: 'string', enum: def.values };
    case 'ZodNativeEnum':
      return { enum: Object.values(def.values).filter((x) => typeof def.values[x] !== 'number') };
    case 'ZodArray':
      return { type: 'array', items: zod3(def.type._def) };
    case 'ZodTuple':
      return { type: 'array', items: def.items.map((s) => zod3(s._def)) };
    case 'ZodRecord':
      return { type: 'object', additionalProperties: zod3(def.valueType._def) };
    case 'ZodObject':
      return zod3Object(def);
    case 'ZodUnion':
    case 'ZodDiscriminatedUnion':
      return { anyOf: Array.from(def.options.values ? def.options.values() : def.options, (s) => zod3(s._def)) };
    case 'ZodNullable':
      return { anyOf: [zod3(def.innerType._def), { type: 'null' }] };
    case 'ZodOptional':
    case 'ZodDefault':
    case 'ZodCatch':
    case 'ZodReadonly':
    case 'ZodBranded':
      return zod3((def.innerType || def.type)._def);
    case 'ZodEffects':
      return zod3(def.schema._def);
    case 'ZodPipeline':
      return zod3(def.in._def);
    default:
      return {};
  }
}

function zod3Object(def) {
  const shape = typeof def.shape === 'function' ? def.shape() : def.shape;
  const properties = {};
  const required = [];
  for (const [key, s] of Object.entries(shape)) {
    properties[key] = zod3(s._def);
    const kind = s._def.typeName;
    if (kind !== 'ZodOptional' && kind !== 'ZodDefault') required.push(key);
  }
  const out = { type: 'object', properties };
  if (required.length > 0) out.required = required;
  // zod 3 strips unknown keys by default rather than rejecting them, so only
  // .strict() forbids them.
  if (def.unknownKeys === 'strict') out.additionalProperties = false;
  return out;
}

module.exports = { plainConfig, plainStreamConfig, zodToJsonSchema, isZod };
