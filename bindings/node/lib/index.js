'use strict';
// The Node worker of motia-actors. `main()` is what bin/worker.js runs; the
// codec is exported for tests and for tools that speak the protocol.

const { Connection, openSocket } = require('./connection');
const { Runner, PROTOCOL_VERSION } = require('./runner');
const codec = require('./codec');

/**
 * Connects to the runtime and serves it until drain or EOF. Exit codes:
 * 0 on drain or when the runtime goes away, 2 on a protocol error or a
 * missing/invalid connection setting.
 */
function main({ env = process.env, exit = (code) => process.exit(code), stderr = process.stderr } = {}) {
  let socket;
  try {
    socket = openSocket(env);
  } catch (err) {
    stderr.write(`motia-actors node worker: ${err.message}\n`);
    return exit(2);
  }
  if (socket === null) {
    stderr.write('motia-actors node worker: set MOTIA_WORKER_FD (or MOTIA_WORKER_SOCKET); it is started by the runtime\n');
    return exit(2);
  }
  if (socket.connecting) {
    // Failing to reach a socket path is a setup mistake, not the runtime
    // going away: say so instead of exiting 0 quietly.
    const refused = (err) => {
      stderr.write(`motia-actors node worker: cannot connect to ${env.MOTIA_WORKER_SOCKET}: ${err.message}\n`);
      exit(2);
    };
    socket.once('error', refused);
    socket.once('connect', () => socket.off('error', refused));
  }
  const maxFrame = env.MOTIA_WORKER_MAX_FRAME ? Number(env.MOTIA_WORKER_MAX_FRAME) : codec.DEFAULT_MAX_FRAME;
  if (!Number.isInteger(maxFrame) || maxFrame < 1) {
    stderr.write(`motia-actors node worker: MOTIA_WORKER_MAX_FRAME is not a positive integer: "${env.MOTIA_WORKER_MAX_FRAME}"\n`);
    return exit(2);
  }
  guardProcess(stderr);
  const runner = new Runner({ exit, stderr });
  const conn = new Connection(socket, {
    maxFrame,
    onMessage: (msg) => runner.onMessage(msg),
    onProtocolError: (err) => runner.onProtocolError(err),
    onInternalError: (err) => runner.fatal(1, `internal error: ${describe(err)}`),
    onClose: () => runner.onClose(),
  });
  runner.start(conn);
  return runner;
}

// A handler's stray rejection or a throw in its timer callback must not take
// down the other invocations sharing this process: report it and go on.
// Invocations it leaves unfinished run into the runtime's deadline.
function guardProcess(stderr) {
  process.on('unhandledRejection', (reason) => {
    stderr.write(`motia-actors node worker: unhandled promise rejection: ${describe(reason)}\n`);
  });
  process.on('uncaughtException', (err) => {
    stderr.write(`motia-actors node worker: uncaught exception (worker keeps running): ${describe(err)}\n`);
  });
}

function describe(v) {
  return v instanceof Error ? v.stack || v.message : String(v);
}

module.exports = { main, Runner, Connection, PROTOCOL_VERSION, codec };
