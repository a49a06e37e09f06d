// Module hooks for native ES module step files (registered by compile.js):
// `motia` resolves to our SDK; TypeScript modules they import are compiled
// with esbuild to ES modules, and those resolve `./x.js` written for
// `./x.ts` and extensionless project imports as TypeScript's tools do.
// Runs on Node's loader thread, apart from the worker's own modules.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { esbuildOptions, CompileError } = require('./compile.js');

const TS_URL = /\.[cm]?tsx?$/;
// What an import from a TypeScript module may leave out, in the order tried.
const IMPLIED = ['.ts', '.tsx', '.js', '.mjs', '/index.ts', '/index.js'];

let sdk;
let tsconfigRaw;
let esbuild;

export function initialize(data) {
  sdk = data.sdk;
  tsconfigRaw = data.tsconfigRaw;
}

const isTs = (url) => url !== undefined && url.startsWith('file:') && TS_URL.test(new URL(url).pathname);

export async function resolve(specifier, context, next) {
  if (specifier === 'motia') return { url: sdk, format: 'commonjs', shortCircuit: true };
  try {
    return await next(specifier, context);
  } catch (err) {
    if (!specifier.startsWith('./') && !specifier.startsWith('../')) throw err;
    for (const alt of alternatives(specifier, context.parentURL)) {
      try {
        return await next(alt, context);
      } catch {
        // not this one either
      }
    }
    throw err;
  }
}

function alternatives(specifier, parentURL) {
  const m = /\.([cm]?)js$/.exec(specifier);
  if (m) return [`${specifier.slice(0, -m[0].length)}.${m[1]}ts`];
  return isTs(parentURL) ? IMPLIED.map((ext) => specifier + ext) : [];
}

export async function load(url, context, next) {
  if (!isTs(url)) return next(url, context);
  const filename = fileURLToPath(url);
  esbuild ??= require('esbuild');
  const source = await readFile(filename, 'utf8');
  try {
    const { code } = await esbuild.transform(source, esbuildOptions(filename, 'esm', tsconfigRaw));
    return { format: 'module', source: code, shortCircuit: true };
  } catch (err) {
    throw new CompileError(filename, err);
  } finally {
    idleSoon();
  }
}

// esbuild's helper process is only needed while modules load: let it go
// once no .ts module has come for a while (it restarts on demand).
let idleTimer;
function idleSoon() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => esbuild.stop(), 1000);
  idleTimer.unref();
}
