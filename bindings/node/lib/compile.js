'use strict';
// TypeScript steps, compiled with esbuild as Node loads them, and `motia`
// resolved to our SDK.
//
// Each .ts file (the step and whatever project .ts it imports) is compiled
// on its own to CommonJS with an inline source map and handed to Node's
// module loader under its real path. So Node resolves its imports from its
// own directory as usual (the project's node_modules, extensionless
// `./schema`, `../lib/util.ts`), loads each project module once however many
// steps import it, and maps stack traces back to the .ts lines. Types are
// stripped, not checked, as in Motia. The output lives in memory only: it is
// made once per file and process, in a few milliseconds. (A .ts module that
// a native ES module imports is compiled to an ES module: esm-hooks.mjs.)

const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { pathToFileURL } = require('node:url');

const TS_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx'];
const TS_FILE = /\.[cm]?tsx?$/;
const SDK_ENTRY = path.join(__dirname, '..', 'sdk', 'index.js');

/** A .ts file esbuild could not compile, with the place it names. */
class CompileError extends SyntaxError {
  constructor(file, failure) {
    const first = (failure.errors && failure.errors[0]) || { text: failure.message };
    super(first.text);
    this.name = 'SyntaxError';
    const loc = first.location;
    this.file = (loc && loc.file) || file;
    if (loc) {
      this.line = loc.line;
      this.column = loc.column + 1; // esbuild counts from 0, Node from 1
      // Shaped like Node's own syntax errors: place, source line, caret.
      const caret = `${' '.repeat(loc.column)}${'^'.repeat(Math.max(1, loc.length))}`;
      this.stack = `${this.file}:${this.line}:${this.column}\n${loc.lineText}\n${caret}\n\nSyntaxError: ${first.text}`;
    }
  }
}

let installed = null;

/**
 * Makes `require` load TypeScript and resolve `motia` to our SDK, in this
 * process, for the project in `root` whose step files are `files`.
 * Idempotent: the first call wins (a worker serves one project).
 */
function install(root, files = []) {
  if (installed) return installed;
  const tsconfig = readTsconfig(root);
  installed = { root, tsconfig, esbuild: null };
  if (typeof process.setSourceMapsEnabled === 'function') process.setSourceMapsEnabled(true);
  const compiled = (module, filename) => module._compile(compile(filename), filename);
  for (const ext of TS_EXTENSIONS) Module._extensions[ext] = compiled;
  // The project's own .js ES modules (a "type": "module" package) that
  // TypeScript, now CommonJS, imports are compiled the same way, so that
  // they too resolve `motia` and are loaded once: Node's require() of an ES
  // module would resolve its imports without our hooks, or refuse it.
  const js = Module._extensions['.js'];
  Module._extensions['.js'] = function loadJs(module, filename) {
    if (isProjectFile(filename) && isEsModule(filename)) return compiled(module, filename);
    return js.call(this, module, filename);
  };
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function resolveFilename(request, parent, ...rest) {
    if (request === 'motia') return SDK_ENTRY;
    try {
      return resolve.call(this, request, parent, ...rest);
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') throw err;
      for (const alt of alternatives(request, parent, tsconfig)) {
        try {
          return resolve.call(this, alt, parent, ...rest);
        } catch {
          // not this one either
        }
      }
      throw err;
    }
  };
  if (files.some(isEsModule)) registerEsmHooks(tsconfig);
  return installed;
}

/** The CommonJS code for TypeScript or ES module `filename`. Throws CompileError. */
function compile(filename) {
  const state = installed;
  if (!state.esbuild) state.esbuild = loadEsbuild();
  const source = fs.readFileSync(filename, 'utf8');
  try {
    return state.esbuild.transformSync(source, esbuildOptions(filename, 'cjs', state.tsconfig && state.tsconfig.raw)).code;
  } catch (err) {
    throw new CompileError(filename, err);
  }
}

/** esbuild's transform options for `filename`, to `format` 'cjs' or 'esm'. */
function esbuildOptions(filename, format, tsconfigRaw) {
  const options = {
    loader: filename.endsWith('.tsx') ? 'tsx' : TS_FILE.test(filename) ? 'ts' : 'js',
    format,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcemap: 'inline',
    sourcefile: filename,
    logLevel: 'silent',
  };
  if (format === 'cjs') {
    // CommonJS has no import.meta; give each file its own values.
    options.define = {
      'import.meta.url': JSON.stringify(pathToFileURL(filename).href),
      'import.meta.filename': JSON.stringify(filename),
      'import.meta.dirname': JSON.stringify(path.dirname(filename)),
    };
  }
  if (tsconfigRaw) options.tsconfigRaw = tsconfigRaw;
  return options;
}

// esbuild's synchronous API runs its compiler either in a helper thread that
// keeps an esbuild process for the life of the worker (stopping it leaves a
// zombie process, as the thread that spawned it is gone), or as one esbuild
// process per call. The second costs some 5 ms a file, at load time only,
// and leaves nothing behind. The setting is read when esbuild loads.
function loadEsbuild() {
  const saved = process.env.ESBUILD_WORKER_THREADS;
  process.env.ESBUILD_WORKER_THREADS = '0';
  try {
    return require('esbuild');
  } finally {
    if (saved === undefined) delete process.env.ESBUILD_WORKER_THREADS;
    else process.env.ESBUILD_WORKER_THREADS = saved;
  }
}

// What else `request` may mean when Node cannot find it: `./x.js` written
// for `./x.ts` (TypeScript's own convention), and the tsconfig's `paths` and
// `baseUrl` for bare names. Only for project files, never inside packages.
function alternatives(request, parent, tsconfig) {
  const from = parent && parent.filename;
  if (!from || !isProjectFile(from)) return [];
  if (request.startsWith('.') || path.isAbsolute(request)) {
    const m = /\.([cm]?)jsx?$/.exec(request);
    if (!m || !TS_FILE.test(from)) return [];
    const stem = request.slice(0, -m[0].length);
    return m[0] === '.jsx' ? [`${stem}.tsx`] : [`${stem}.${m[1]}ts`, ...(m[1] ? [] : [`${stem}.tsx`])];
  }
  return tsconfig ? tsconfig.candidates(request) : [];
}

// The project's tsconfig.json: its compilerOptions go to esbuild (decorators,
// jsx, useDefineForClassFields) and its `paths`/`baseUrl` to the resolver.
// `extends` is not followed. An unreadable file is as good as none.
function readTsconfig(root) {
  const file = path.join(root, 'tsconfig.json');
  let raw;
  let parsed;
  try {
    raw = fs.readFileSync(file, 'utf8');
    parsed = JSON.parse(stripJsonComments(raw));
  } catch {
    return null;
  }
  const opts = (parsed && parsed.compilerOptions) || {};
  const base = typeof opts.baseUrl === 'string' ? path.resolve(root, opts.baseUrl) : null;
  const paths = opts.paths && typeof opts.paths === 'object' ? opts.paths : {};
  const pathsBase = base || root;
  const candidates = (request) => {
    const out = [];
    for (const [pattern, targets] of Object.entries(paths)) {
      const star = pattern.indexOf('*');
      let matched;
      if (star === -1) matched = request === pattern ? '' : undefined;
      else if (request.startsWith(pattern.slice(0, star)) && request.endsWith(pattern.slice(star + 1))
        && request.length >= pattern.length - 1) {
        matched = request.slice(star, request.length - (pattern.length - star - 1));
      }
      if (matched === undefined || !Array.isArray(targets)) continue;
      for (const t of targets) out.push(path.resolve(pathsBase, String(t).replace('*', matched)));
    }
    if (base) out.push(path.resolve(base, request));
    return out;
  };
  return { raw: JSON.stringify({ compilerOptions: opts }), candidates };
}

// tsconfig files are JSON with comments and trailing commas.
function stripJsonComments(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = skipString(text, i);
      out += text.slice(i, end);
      i = end - 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
    } else {
      out += c;
    }
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

function skipString(text, start) {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

// ES module step files resolve through Node's ESM loader, which does not
// consult Module._resolveFilename: esm-hooks.mjs resolves `motia` there and
// compiles the .ts modules they import, as ES modules. The hooks run on a
// thread of their own (some 10 MB), so only projects with ES modules get
// them. Node < 20.6 has no module.register; there `motia` works from
// CommonJS and TypeScript only.
function registerEsmHooks(tsconfig) {
  if (typeof Module.register !== 'function') return;
  Module.register(pathToFileURL(path.join(__dirname, 'esm-hooks.mjs')).href, {
    data: { sdk: pathToFileURL(SDK_ENTRY).href, tsconfigRaw: tsconfig ? tsconfig.raw : null },
  });
}

function isProjectFile(file) {
  return !file.includes(`${path.sep}node_modules${path.sep}`);
}

// Whether Node would load `file` as an ES module: .mjs, or .js in a
// "type": "module" package. (TypeScript is compiled to CommonJS whatever its
// package says.)
function isEsModule(file) {
  if (file.endsWith('.mjs')) return true;
  return /\.js$/.test(file) && packageType(path.dirname(file)) === 'module';
}

// The "type" of the package `dir` is in, by directory, cached.
const packageTypes = new Map();
function packageType(dir) {
  let type = packageTypes.get(dir);
  if (type !== undefined) return type;
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    type = pkg !== null && typeof pkg.type === 'string' ? pkg.type : 'commonjs';
  } catch (err) {
    const parent = path.dirname(dir);
    type = err.code === 'ENOENT' && parent !== dir ? packageType(parent) : 'commonjs';
  }
  packageTypes.set(dir, type);
  return type;
}

module.exports = { install, compile, esbuildOptions, CompileError, TS_FILE, SDK_ENTRY };
