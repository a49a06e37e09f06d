'use strict';
// Loads step files and collects what `register` needs. A file that fails to
// load becomes an entry in `errors`; the others still load.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');
const { plainConfig } = require('./config');

const TS_FILE = /\.[cm]?tsx?$/;

// A file that loaded but is not a usable step. Its stack would only show the
// loader's own frames, so the register entry leaves it out.
class StepError extends Error {}

/**
 * Imports `files` in order. Returns {steps: Map name → {file, config,
 * handler}, register: {steps: [{file, config}], errors: [...]}}.
 */
async function loadSteps(root, files) {
  const steps = new Map();
  const register = { steps: [], errors: [] };
  if (files.some((f) => TS_FILE.test(f))) await enableTypeScript(root);
  for (const file of files) {
    try {
      const ns = await import(pathToFileURL(file).href);
      const step = stepFrom(ns, file);
      // A duplicate name is registered anyway: the runtime validates the whole
      // project and reports it with both files, then refuses to start.
      if (!steps.has(step.name)) steps.set(step.name, step);
      register.steps.push({ file, config: step.plain });
    } catch (err) {
      register.errors.push(loadError(file, err));
    }
  }
  return { steps, register };
}

// Accepts `export const config/handler`, `module.exports = {config, handler}`
// and a default export holding both (also as transpiled CJS, one level down).
function stepFrom(ns, file) {
  let config;
  let handler;
  for (const c of [ns, ns.default, ns.default && ns.default.default]) {
    if (c === null || (typeof c !== 'object' && typeof c !== 'function')) continue;
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
  const middleware = Array.isArray(config.middleware) ? config.middleware.filter((m) => typeof m === 'function') : [];
  return { name: config.name, file, config, plain, handler, middleware };
}

/** The `errors` entry for a file: message, stack, and its line when known. */
function loadError(file, err) {
  const out = { file, message: err instanceof Error ? err.message : String(err) };
  if (err instanceof StepError) return out;
  if (err && typeof err.stack === 'string') {
    out.stack = err.stack;
    const line = lineIn(err.stack, file) ?? lineElsewhere(file, err);
    if (line !== undefined) out.line = line;
  }
  if (err instanceof SyntaxError && out.line === undefined && !TS_FILE.test(file)) {
    Object.assign(out, checkSyntax(file));
  }
  if (err && err.code === 'ERR_UNKNOWN_FILE_EXTENSION' && TS_FILE.test(file)) {
    out.message += ' (TypeScript steps need Node >= 22.6 or `tsx` installed in the project)';
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

// Node 20 cannot import .ts. If the project has tsx, load its main entry,
// which registers the ESM and CJS hooks just as `node --import tsx` would
// (its `tsx/esm/api` alone cannot load .ts files of a CommonJS package);
// otherwise the import fails with a hint (see loadError).
async function enableTypeScript(root) {
  if (process.features && process.features.typescript) return;
  try {
    const req = createRequire(path.join(root, 'package.json'));
    await import(pathToFileURL(req.resolve('tsx')).href);
  } catch {
    // no tsx: each .ts file reports its own error
  }
}

module.exports = { loadSteps, lineIn };
