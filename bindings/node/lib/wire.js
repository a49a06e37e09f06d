'use strict';
// Turns handler values into plain data the runtime can read. The runtime holds
// every value as JSON (nlohmann::json), so values travel the way
// JSON.stringify would carry them, with two differences that keep more
// information: bytes stay msgpack bin, and Map/Set become object/array.

const MAX_DEPTH = 256;

/**
 * Returns a plain copy of `value`: objects, arrays, strings, finite numbers,
 * booleans, null and Buffers. `undefined`, functions and symbols are dropped
 * from objects and become null in arrays; toJSON() is honoured (so a Date
 * becomes its ISO string); NaN and Infinity become null.
 *
 * Integers outside the 32-bit range become BigInt so they are written as
 * msgpack int64: msgpackr writes such numbers as float64, and the runtime
 * would then print e.g. Date.now() as 1700000000000.0.
 *
 * `hook(value)` may return a replacement for an object (used for zod schemas
 * in configs), or undefined to walk it as usual.
 *
 * Throws TypeError on a circular or absurdly deep value, or on a BigInt that
 * does not fit in 64 bits.
 */
function toWire(value, hook) {
  return walk(value, 0, hook);
}

function walk(v, depth, hook) {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return number(v);
    case 'bigint':
      if (v > 0xffffffffffffffffn || v < -0x8000000000000000n) {
        throw new TypeError(`BigInt ${v} does not fit in 64 bits`);
      }
      return v;
    case 'object':
      if (v === null) return null;
      return object(v, depth, hook);
    default: // undefined, function, symbol
      return undefined;
  }
}

function number(v) {
  if (!Number.isFinite(v)) return null;
  if (Number.isSafeInteger(v) && (v > 0xffffffff || v < -0x80000000)) return BigInt(v);
  return v;
}

function object(v, depth, hook) {
  if (depth >= MAX_DEPTH) {
    throw new TypeError(`value is circular or nested deeper than ${MAX_DEPTH} levels`);
  }
  if (Buffer.isBuffer(v)) return v;
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (hook) {
    const replaced = hook(v);
    if (replaced !== undefined) return walk(replaced, depth + 1, undefined);
  }
  if (typeof v.toJSON === 'function') return walk(v.toJSON(), depth + 1, hook);
  if (Array.isArray(v)) return array(v, depth, hook);
  if (v instanceof Map) return mapToObject(v, depth, hook);
  if (v instanceof Set) return array(Array.from(v), depth, hook);
  const out = {};
  for (const key of Object.keys(v)) {
    const w = walk(v[key], depth + 1, hook);
    if (w !== undefined) out[key] = w;
  }
  return out;
}

function array(v, depth, hook) {
  const out = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const w = walk(v[i], depth + 1, hook);
    out[i] = w === undefined ? null : w;
  }
  return out;
}

function mapToObject(m, depth, hook) {
  const out = {};
  for (const [key, val] of m) {
    const w = walk(val, depth + 1, hook);
    if (w !== undefined) out[String(key)] = w;
  }
  return out;
}

/**
 * An Error (or anything thrown) as the protocol's `{message, stack?, name?}`.
 */
function errorToWire(err) {
  if (err instanceof Error) {
    const out = { message: String(err.message) };
    if (typeof err.stack === 'string') out.stack = err.stack;
    if (typeof err.name === 'string') out.name = err.name;
    return out;
  }
  if (err !== null && typeof err === 'object' && typeof err.message === 'string') {
    return { message: err.message };
  }
  if (typeof err === 'string') return { message: err };
  return { message: `non-Error value thrown: ${safeString(err)}` };
}

function safeString(v) {
  try {
    return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

module.exports = { toWire, errorToWire, safeString, MAX_DEPTH };
