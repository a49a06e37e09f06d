'use strict';
// Frames of the worker protocol (docs/protocol.md): a 4-byte big-endian
// length, then one msgpack map with a string field `t`.

const { Packr } = require('msgpackr');

const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;

// Plain msgpack only: the C++ side must read every byte we write, so none of
// msgpackr's extensions (records, undefined-as-ext, bundled strings) may leak.
// int64 values arrive as numbers: ids and counters stay far below 2^53.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'number',
  encodeUndefinedAsNil: true,
  skipValues: [undefined],
  // Sizes each map exactly (fixmap/map16/map32); msgpackr's default writer
  // refuses objects of more than 65535 keys.
  variableMapSize: true,
});

/** Raised for bytes that break the protocol; the runner exits 2 on it. */
class ProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Encodes a message to its msgpack payload (no length prefix). May throw. */
function encode(msg) {
  return packr.pack(msg);
}

/** Prepends the 4-byte big-endian length to a payload. */
function frame(payload) {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

/** Encodes a message as one complete frame. May throw. */
function encodeFrame(msg) {
  return frame(encode(msg));
}

/**
 * Decodes one payload into a message and checks the envelope.
 * Throws ProtocolError if it is not msgpack, not a map, or has no string `t`.
 */
function decode(payload) {
  let msg;
  try {
    msg = packr.unpack(payload);
  } catch (err) {
    throw new ProtocolError(`frame is not valid msgpack: ${err.message}`);
  }
  if (msg === null || typeof msg !== 'object' || !isPlainObject(msg)) {
    throw new ProtocolError(`frame is not a msgpack map (got ${describe(msg)})`);
  }
  if (typeof msg.t !== 'string') {
    throw new ProtocolError('frame has no string field "t"');
  }
  return msg;
}

// msgpackr gives maps as plain objects; anything else (arrays, bin, an ext
// such as a timestamp, or its marker object for the reserved byte 0xc1) is not
// a map.
function isPlainObject(v) {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describe(v) {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'array';
  if (ArrayBuffer.isView(v)) return 'bin';
  if (typeof v === 'object') return (v.constructor && v.constructor.name) || 'object';
  return typeof v;
}

/**
 * Splits a byte stream into frame payloads. Chunks are kept in a list and
 * each byte is copied at most once (only when a frame spans chunks), so a
 * large frame arriving in many small reads costs linear, not quadratic, time.
 */
class FrameDecoder {
  constructor(maxFrame = DEFAULT_MAX_FRAME) {
    this.maxFrame = maxFrame;
    this.chunks = [];
    this.head = 0; // read offset into chunks[0]
    this.avail = 0; // unread bytes across all chunks
  }

  /** Adds received bytes. */
  push(chunk) {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.avail += chunk.length;
  }

  /**
   * Returns the next complete payload, or null if more bytes are needed.
   * Throws ProtocolError on a length of 0 or over maxFrame.
   */
  next() {
    if (this.avail < 4) return null;
    const len = this.peekLength();
    if (len === 0) throw new ProtocolError('frame length is 0');
    if (len > this.maxFrame) {
      throw new ProtocolError(`frame length ${len} is over the maximum of ${this.maxFrame} bytes`);
    }
    if (this.avail < 4 + len) return null;
    this.skip(4);
    return this.take(len);
  }

  peekLength() {
    const first = this.chunks[0];
    if (first.length - this.head >= 4) return first.readUInt32BE(this.head);
    const hdr = Buffer.allocUnsafe(4);
    this.copyOut(hdr, 4, false);
    return hdr.readUInt32BE(0);
  }

  skip(n) {
    this.avail -= n;
    while (n > 0) {
      const first = this.chunks[0];
      const left = first.length - this.head;
      if (n < left) {
        this.head += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.head = 0;
    }
  }

  take(n) {
    const first = this.chunks[0];
    if (first.length - this.head >= n) {
      // Common case: the whole payload sits in one chunk, so hand out a view.
      const out = first.subarray(this.head, this.head + n);
      this.skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.copyOut(out, n, true);
    return out;
  }

  // Copies n bytes from the front into out; consumes them if `consume`.
  copyOut(out, n, consume) {
    let written = 0;
    let idx = 0;
    let off = this.head;
    while (written < n) {
      const c = this.chunks[idx];
      const m = Math.min(n - written, c.length - off);
      c.copy(out, written, off, off + m);
      written += m;
      off += m;
      if (off === c.length) {
        idx++;
        off = 0;
      }
    }
    if (consume) {
      this.chunks.splice(0, idx);
      this.head = off;
      this.avail -= n;
    }
  }
}

module.exports = {
  DEFAULT_MAX_FRAME,
  ProtocolError,
  FrameDecoder,
  encode,
  decode,
  frame,
  encodeFrame,
};
