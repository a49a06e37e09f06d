'use strict';
// How handler values and step configs are made plain data.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { toWire, errorToWire } = require('../lib/wire');
const { plainConfig } = require('../lib/config');
const { encode } = require('../lib/codec');

describe('toWire', () => {
  const cases = [
    { name: 'drops undefined and functions from objects', in: { a: 1, b: undefined, f() {} }, out: { a: 1 } },
    { name: 'nulls them in arrays', in: [1, undefined, () => 2], out: [1, null, null] },
    { name: 'honours toJSON, so a Date is its ISO string', in: { d: new Date(0) }, out: { d: '1970-01-01T00:00:00.000Z' } },
    { name: 'turns NaN and Infinity into null', in: [NaN, Infinity], out: [null, null] },
    { name: 'turns a Map into an object and a Set into an array', in: [new Map([['k', 1]]), new Set(['s'])], out: [{ k: 1 }, ['s']] },
    { name: 'keeps bytes as bytes', in: new Uint8Array([1, 2]), out: Buffer.from([1, 2]) },
    { name: 'makes integers past 32 bits BigInt', in: [2 ** 32, -(2 ** 31) - 1, 2 ** 32 - 1], out: [2n ** 32n, -(2n ** 31n) - 1n, 2 ** 32 - 1] },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(toWire(c.in), c.out));
  }

  it('writes a timestamp as msgpack int64, not float64', () => {
    const bytes = encode(toWire(1700000000000));
    assert.ok(bytes[0] === 0xd3 || bytes[0] === 0xcf, `first byte 0x${bytes[0].toString(16)}`);
  });

  it('refuses a circular value with a clear message', () => {
    const a = {};
    a.self = a;
    assert.throws(() => toWire(a), /circular/);
  });

  it('describes anything thrown', () => {
    assert.deepEqual(errorToWire('plain'), { message: 'plain' });
    assert.equal(errorToWire(new TypeError('t')).name, 'TypeError');
    assert.match(errorToWire(42).message, /42/);
  });
});

describe('plainConfig', () => {
  // The shape of a zod 3 schema: a _def tree and a safeParse method.
  const z = (def) => ({ _def: def, safeParse() {} });
  const str = z({ typeName: 'ZodString' });
  const int = z({ typeName: 'ZodNumber', checks: [{ kind: 'int' }] });

  it('converts a zod 3 schema to JSON Schema', () => {
    const body = z({
      typeName: 'ZodObject',
      shape: () => ({ name: str, age: z({ typeName: 'ZodOptional', innerType: int }), tags: z({ typeName: 'ZodArray', type: str }) }),
      unknownKeys: 'strip',
    });
    const config = plainConfig({ type: 'api', name: 'A', bodySchema: body }, __filename);
    assert.deepEqual(config.bodySchema, {
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['name', 'tags'],
    });
  });

  it('flags middleware without sending the functions', () => {
    const config = plainConfig({ name: 'A', middleware: [() => {}] }, __filename);
    assert.deepEqual(config, { name: 'A', hasMiddleware: true });
    assert.deepEqual(plainConfig({ name: 'B', middleware: [] }, __filename), { name: 'B' });
  });
});
