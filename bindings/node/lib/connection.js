'use strict';
// One framed connection to the runtime: splits incoming bytes into messages
// and batches outgoing frames.

const net = require('node:net');
const { FrameDecoder, ProtocolError, encode, decode, DEFAULT_MAX_FRAME } = require('./codec');

/** Thrown by send() for a message whose encoding is over the frame limit. */
class FrameTooLargeError extends Error {
  constructor(size, max) {
    super(`message of ${size} bytes is over the frame limit of ${max} bytes`);
    this.name = 'FrameTooLargeError';
  }
}

/**
 * Callbacks: onMessage(msg) per decoded message; onProtocolError(err) once
 * for bytes that break the protocol (nothing is read after it);
 * onInternalError(err) if onMessage throws anything else; onClose() once when
 * the runtime is gone (EOF or socket error).
 */
class Connection {
  constructor(socket, { maxFrame = DEFAULT_MAX_FRAME, onMessage, onProtocolError, onInternalError, onClose }) {
    this.socket = socket;
    this.maxFrame = maxFrame;
    this.decoder = new FrameDecoder(maxFrame);
    this.onMessage = onMessage;
    this.onProtocolError = onProtocolError;
    this.onInternalError = onInternalError;
    this.closed = false;
    this.failed = false;
    // Outgoing payloads waiting for the next flush. Results finishing in the
    // same turn of the event loop leave in one write() instead of one each.
    this.queue = [];
    this.queuedBytes = 0;
    this.flushScheduled = false;
    this.flushBound = () => this.flush();

    socket.on('data', (chunk) => this.onData(chunk));
    const close = () => {
      if (this.closed) return;
      this.closed = true;
      onClose();
    };
    socket.on('end', close);
    socket.on('close', close);
    socket.on('error', close);
  }

  onData(chunk) {
    if (this.failed) return;
    this.decoder.push(chunk);
    try {
      let payload;
      while (!this.failed && (payload = this.decoder.next()) !== null) {
        this.onMessage(decode(payload));
      }
    } catch (err) {
      // Nothing after a bad frame can be trusted, and an exception from our
      // own code leaves no state worth serving from either: both are fatal.
      this.failed = true;
      if (err instanceof ProtocolError) this.onProtocolError(err);
      else this.onInternalError(err);
    }
  }

  /**
   * Queues one message. Throws (and queues nothing) if it cannot be encoded
   * or is over the frame limit; sending on a closed connection is a no-op.
   */
  send(msg) {
    if (this.closed) return;
    const payload = encode(msg);
    if (payload.length > this.maxFrame) throw new FrameTooLargeError(payload.length, this.maxFrame);
    this.queue.push(payload);
    this.queuedBytes += 4 + payload.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate runs after the pending I/O callbacks and every microtask,
      // so all handlers that settle in this turn share the write.
      setImmediate(this.flushBound);
    }
  }

  /** Writes everything queued as one buffer. */
  flush() {
    this.flushScheduled = false;
    if (this.queue.length === 0 || this.closed) return;
    const out = Buffer.allocUnsafe(this.queuedBytes);
    let pos = 0;
    for (const payload of this.queue) {
      out.writeUInt32BE(payload.length, pos);
      payload.copy(out, pos + 4);
      pos += 4 + payload.length;
    }
    this.queue = [];
    this.queuedBytes = 0;
    this.socket.write(out);
  }

  /** Flushes, half-closes the socket, and calls `done` once written. */
  end(done) {
    this.flush();
    this.closed = true;
    this.socket.end(done);
  }
}

/**
 * Opens the socket the runtime gave us: MOTIA_WORKER_FD (an inherited
 * connected socket, the normal case) or MOTIA_WORKER_SOCKET (a Unix socket
 * path, for workers started by hand). Returns null if neither is set.
 */
function openSocket(env = process.env) {
  if (env.MOTIA_WORKER_FD !== undefined && env.MOTIA_WORKER_FD !== '') {
    const fd = Number(env.MOTIA_WORKER_FD);
    if (!Number.isInteger(fd) || fd < 0) throw new Error(`MOTIA_WORKER_FD is not a file descriptor: "${env.MOTIA_WORKER_FD}"`);
    return new net.Socket({ fd, readable: true, writable: true });
  }
  if (env.MOTIA_WORKER_SOCKET) return net.connect(env.MOTIA_WORKER_SOCKET);
  return null;
}

module.exports = { Connection, FrameTooLargeError, openSocket };
