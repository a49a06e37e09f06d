'use strict';
// Loads step, stream and auth files and collects what `register` needs. A
// file that fails to load becomes an entry in `errors`; the others still load.

const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { pathToFileURL } = require('node:url');
const { plainConfig, plainStreamConfig } = require('./config');
const compiler = require('./compile');

const { TS_FILE, CompileError } = compiler;

// A file that loaded but is not a usable step. Its stack would only show the
// loader's own frames, so the register entry leaves it out.
class StepError extends Error {}

/**
 * Imports the step `files` in order, then the `streamFiles`, then the `auth`
 * file if given. Returns {steps: Map name → {file, config, handler},
 * streams: Map name → {file, name, canAccess}, authenticate (a function or
 * null), register: {steps, streams, auth, errors}}.
 */
async function loadProject(root, files, streamFiles = [], auth = undefined) {
  const steps = new Map();
  const streams = new Map();
  let authenticate = null;
  const register = { steps: [], streams: [], auth: false, errors: [] };
  compiler.install(root, [...files, ...streamFiles, ...(auth === undefined ? [] : [auth])]);
  for (const file of files) {
    try {
      const step = stepFrom(await importFile(file), file);
      // A duplicate name is registered anyway: the runtime validates the whole
      // project and reports it with both files, then refuses to start.
      if (!steps.has(step.name)) steps.set(step.name, step);
      register.steps.push({ file, config: step.plain });
    } catch (err) {
      register.errors.push(loadError(file, err));
    }
  }
  for (const file of streamFiles) {
    try {
      const stream = streamFrom(await importFile(file), file);
      if (!streams.has(stream.name)) streams.set(stream.name, stream);
      register.streams.push({ file, config: stream.plain });
    } catch (err) {
      register.errors.push(loadError(file, err));
    }
  }
  if (auth !== undefined) {
    try {
      authenticate = authFrom(await importFile(auth));
      register.auth = true;
    } catch (err) {
      register.errors.push(loadError(auth, err));
    }
  }
  return { steps, streams, authenticate, register };
}

// TypeScript goes through require(), where compile.js hooks in.
function importFile(file) {
  return TS_FILE.test(file) ? require(file) : import(pathToFileURL(file).href);
}

// What a module exports, where a file may put it: named exports,
// `module.exports`, or a default export (also as transpiled CJS, one level down).
function exportsOf(ns) {
  return [ns, ns.default, ns.default && ns.default.default]
    .filter((c) => c !== null && (typeof c === 'object' || typeof c === 'function'));
}

function streamFrom(ns, file) {
  const config = exportsOf(ns).map((c) => c.config).find((c) => c !== undefined);
  if (config === null || typeof config !== 'object') throw new StepError('stream file exports no `config` object');
  if (typeof config.name !== 'string' || config.name === '') throw new StepError('stream config has no string `name`');
  let plain;
  try {
    plain = plainStreamConfig(config, file);
  } catch (err) {
    throw new StepError(`stream "${config.name}" config is not plain data: ${err.message}`);
  }
  const canAccess = typeof config.canAccess === 'function' ? config.canAccess : null;
  return { name: config.name, file, plain, canAccess };
}

// A named `authenticate`, or Motia's project config as the default export:
// `export default config({ streamAuth: { authenticate } })`.
function authFrom(ns) {
  for (const c of exportsOf(ns)) {
    if (typeof c.authenticate === 'function') return c.authenticate;
    const streamAuth = c.streamAuth;
    if (streamAuth && typeof streamAuth.authenticate === 'function') return streamAuth.authenticate;
  }
  throw new StepError('auth file exports no `authenticate` function (nor a default export with `streamAuth.authenticate`)');
}

// Accepts `export const config/handler`, `module.exports = {config, handler}`
// and a default export holding both (also as transpiled CJS, one level down).
function stepFrom(ns, file) {
  let config;
  let handler;
  for (const c of exportsOf(ns)) {
    if (config === undefined && c.config !== undefined) config = c.config;
    if (handler === undefined && c.handler !== undefined) handler = c.handler;
  }
  if (config === null || typeof config !== 'object') throw new StepError('step file exports no `config` object');
  if (typeof config.name !== 'string' || config.name === '') throw new StepError('step config has no `name`');
  if (config.type !== 'noop' && typeof handler !== 'function') {
    throw new StepError(`step "${config.name}" exports no \`handler\` function`);
  }
  let plain;
  try {
    plain = plainConfig(config, file);
  } catch (err) {
    throw new StepError(`step "${config.name}" config is not plain data: ${err.message}`);
  }
  // Motia 1.0 describes an api step by an http trigger. The protocol does
  // not say which trigger fired, so the first http trigger's middleware run.
  const triggers = Array.isArray(config.triggers) && config.type === undefined ? config.triggers : null;
  const http = triggers ? triggers.find((t) => t && t.type === 'http') : undefined;
  const api = http || config;
  const middleware = Array.isArray(api.middleware) ? api.middleware.filter((m) => typeof m === 'function') : [];
  return { name: config.name, file, config, plain, handler, middleware, triggers, method: api.method };
}

/** The `errors` entry for a file: message, stack, and its line when known. */
function loadError(file, err) {
  const out = { file, message: err instanceof Error ? err.message : String(err) };
  if (err instanceof StepError) return out;
  if (err instanceof CompileError) {
    out.stack = err.stack;
    if (err.file === file) {
      if (err.line !== undefined) out.line = err.line;
    } else {
      // In a module the step imports: name it, since `line` is the step's.
      out.message = `${err.file}${err.line === undefined ? '' : `:${err.line}:${err.column}`}: ${err.message}`;
    }
    return out;
  }
  // require() appends the chain of requiring files, which here ends in the
  // worker's own; the stack still has it.
  if (err && err.code === 'MODULE_NOT_FOUND') out.message = out.message.split('\n')[0];
  if (err && typeof err.stack === 'string') {
    out.stack = err.stack;
    const line = lineIn(err.stack, file) ?? lineElsewhere(file, err);
    if (line !== undefined) out.line = line;
  }
  if (err instanceof SyntaxError && out.line === undefined && !TS_FILE.test(file)) {
    Object.assign(out, checkSyntax(file));
  }
  return out;
}

// The first place the stack mentions `file` with a line: for a SyntaxError
// Node puts "file:LINE" on the first line, for a throw it is a frame
// "(file:LINE:COL)". Files appear both as paths and as file:// URLs.
function lineIn(stack, file) {
  for (const loc of [file, pathToFileURL(file).href]) {
    const re = new RegExp(`(?:^|[\\s(@])${escapeRegExp(loc)}:(\\d+)`, 'm');
    const m = re.exec(stack);
    if (m) return Number(m[1]);
  }
  return undefined;
}

// An ES module's SyntaxError from import() carries no location (Node keeps
// it in a private field), but `node --check` prints it. Error path only.
function checkSyntax(file) {
  const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10000 });
  const text = String(r.stderr || '');
  const line = lineIn(text, file);
  if (line === undefined) return {};
  // Keep "file:line", the source line, the caret and the message.
  const end = text.indexOf('\n    at ');
  return { line, stack: (end === -1 ? text : text.slice(0, end)).trim() };
}

// A missing package of an ES module is reported without a stack frame in the
// file; the line that names it is the one to fix.
function lineElsewhere(file, err) {
  if (err.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const m = /^Cannot find (?:package|module) '([^']+)' imported from (.+)$/m.exec(err.message);
  if (!m || m[2] !== file) return undefined;
  let source;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const spec of [`'${m[1]}'`, `"${m[1]}"`]) {
    const at = source.indexOf(spec);
    if (at !== -1) return source.slice(0, at).split('\n').length;
  }
  return undefined;
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

module.exports = { loadProject, lineIn };
