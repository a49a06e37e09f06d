'use strict';
// Plays the runtime's side of the protocol against a real worker process.

const path = require('node:path');
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const { FrameDecoder, decode, encodeFrame } = require('../lib/codec');

const WORKER = path.join(__dirname, '..', 'bin', 'worker.js');
const PROJECT = path.join(__dirname, 'fixtures', 'project');

/** Every step file of the fixture project, in a stable order. */
function fixtureFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.step\.m?js$/.test(e.name)) out.push(p);
    }
  };
  walk(path.join(PROJECT, 'steps'));
  return out;
}

class FakeRuntime {
  constructor(child) {
    this.child = child;
    this.sock = child.stdio[3];
    this.decoder = new FrameDecoder();
    this.inbox = [];
    this.waiters = [];
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    this.sock.on('data', (chunk) => {
      this.decoder.push(chunk);
      let p;
      while ((p = this.decoder.next()) !== null) this.deliver(decode(p));
    });
    this.sock.on('error', () => {});
  }

  deliver(msg) {
    const i = this.waiters.findIndex((w) => w.pred(msg));
    if (i === -1) return this.inbox.push(msg);
    const [w] = this.waiters.splice(i, 1);
    clearTimeout(w.timer);
    w.resolve(msg);
  }

  /** The next message matching `pred` (a type name or a function). */
  recv(pred = () => true, timeoutMs = 5000) {
    const test = typeof pred === 'string' ? (m) => m.t === pred : pred;
    const i = this.inbox.findIndex(test);
    if (i !== -1) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = { pred: test, resolve };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out waiting for a message (${pred.toString().slice(0, 60)})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  result(id, timeoutMs) {
    return this.recv((m) => m.t === 'result' && m.id === id, timeoutMs);
  }

  send(msg) {
    this.sock.write(encodeFrame(msg));
  }

  writeRaw(bytes) {
    this.sock.write(bytes);
  }

  /** Waits for hello (kept in this.hello), sends init (plus `extra` fields), returns register. */
  async init(files = fixtureFiles(), root = PROJECT, extra = {}) {
    this.hello = await this.recv('hello');
    this.send({ t: 'init', root, files, ...extra });
    return this.recv('register', 15000);
  }

  invoke(id, step, kind, input, extra = {}) {
    this.send({ t: 'invoke', id, step, kind, input, traceId: `trace-${id}`, attempt: 1, messageId: '', flows: [], deadlineMs: 0, ...extra });
  }

  async close() {
    this.sock.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Starts bin/worker.js with its runtime socket on fd 3. */
function startWorker(env = {}) {
  const child = spawn(process.execPath, [WORKER], {
    stdio: ['ignore', 'inherit', 'pipe', 'pipe'],
    env: { ...process.env, MOTIA_WORKER_FD: '3', ...env },
  });
  const rt = new FakeRuntime(child);
  rt.stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => {
    rt.stderr += s;
  });
  return rt;
}

module.exports = { startWorker, fixtureFiles, PROJECT, WORKER };
