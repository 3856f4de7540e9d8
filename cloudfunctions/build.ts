/**
 * `pnpm build`: bundles each function with esbuild into cloudfunctions/dist/<fn>/ — bundle.js (everything inlined,
 * runs without node_modules), bundle.cache (its V8 code cache), index.js (the handler that loads both),
 * package.json and config.json (timeout, and the reconcile timer trigger) — for
 * `pnpm deploy:cloudbase`, `tcb fn deploy` (cloudbaserc.json) or WeChat DevTools (project.config.json
 * cloudfunctionRoot). The target is the declared CloudBase runtime's Node (functions/manifest.ts); the native SQLite
 * module stays out: on CloudBase the store is the document database.
 */
import { build, type Plugin } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { ensureRuntimeNode } from '../scripts/lib/runtime-node';
import { ESBUILD_TARGET, FUNCTION_NAMES, FUNCTIONS, RUNTIME, type FunctionName } from './src/functions/manifest';

export const FUNCTIONS_TO_BUILD = FUNCTION_NAMES;

/**
 * Packages @cloudbase/node-sdk requires at load time for features the cashier never calls (AI, data models, storage,
 * custom-login tickets, multipart uploads). They are two thirds of each bundle and of its load time. Each is replaced
 * by a stand-in that fails loudly, naming itself, if anything ever touches it; the runtime-parity test runs every
 * function through a real payment on the bundled SDK to prove nothing does.
 */
export const LEFT_OUT_OF_BUNDLES = [
  '@cloudbase/ai', // cloudbase.ai()
  '@cloudbase/app', // only @cloudbase/ai's
  'web-streams-polyfill', // AI streaming
  '@cloudbase/wx-cloud-client-sdk', // cloudbase.models / rdb (built inside the SDK's own try/catch)
  'xml2js', // storage
  'jsonwebtoken', // auth().createTicket
  'form-data', // multipart uploads; axios only touches it for FormData bodies
] as const;

/**
 * Files inside packages that only features the cashier never calls require: the database's realtime `watch()`
 * client, the SDK's storage, function-call, container, WeChat open-API, analytics, notification and AI wrappers, bson's
 * binary (de)serializer (the database uses only EJSON), and our own SQLite store (on CloudBase the store is the
 * document database; the native module is not deployed). Matched by the path they resolve to, so only those files go.
 */
export const LEFT_OUT_FILES = [
  '@cloudbase/database/dist/commonjs/realtime/websocket-client',
  '@cloudbase/node-sdk/dist/storage',
  '@cloudbase/node-sdk/dist/functions',
  '@cloudbase/node-sdk/dist/cloudrun',
  '@cloudbase/node-sdk/dist/wx',
  '@cloudbase/node-sdk/dist/analytics',
  '@cloudbase/node-sdk/dist/notification',
  '@cloudbase/node-sdk/dist/ai',
  'bson/lib/parser/serializer',
  'bson/lib/parser/deserializer',
  'bson/lib/parser/calculate_size',
  'cloudfunctions/src/store/sqlite',
] as const;

const stubFor = (name: string) => `const fail = () => { throw new Error(${JSON.stringify(`${name} is not in this bundle: cloudfunctions/build.ts LEFT_OUT_OF_BUNDLES / LEFT_OUT_FILES leaves it out because the cashier never uses it; remove it from that list if a new feature does`)}); };
module.exports = new Proxy(function leftOut() {}, {
  get: (target, key) => (key === '__esModule' || typeof key === 'symbol' || key === 'prototype' ? undefined : fail()),
  apply: fail,
  construct: fail,
});`;

export function leaveOut(modules: readonly string[], files: readonly string[] = []): Plugin {
  const filter = new RegExp(`^(${modules.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})$`);
  // The resolved path ends with the file, with or without .js/.ts or /index.js (a folder).
  const fileFilter = new RegExp(`(^|/)(${files.map((f) => f.replace(/[/.]/g, '\\$&')).join('|')})(\\.[jt]s|/index\\.js)?$`);
  return {
    name: 'leave-out',
    setup(b) {
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'left-out' }));
      if (files.length > 0) {
        b.onResolve({ filter: /^\.\.?\// }, (args) => {
          const target = join(args.resolveDir, args.path).split(sep).join('/');
          const hit = fileFilter.exec(target);
          return hit ? { path: hit[2]!, namespace: 'left-out' } : undefined;
        });
      }
      b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({ loader: 'js', contents: stubFor(args.path) }));
    },
  };
}
const root = __dirname;
export const DIST = join(root, 'dist');

/** The DevTools per-function config.json: timeout and triggers (DevTools sets no environment variables). */
export function devtoolsConfig(fn: FunctionName): Record<string, unknown> {
  const spec = FUNCTIONS[fn];
  const invocation = spec.invocation;
  return { timeout: spec.timeoutSeconds, ...(invocation.by === 'timer' ? { triggers: [invocation.trigger] } : {}) };
}

/** What each function folder holds besides package.json and config.json. */
export const BUNDLE_FILE = 'bundle.js';
export const CODE_CACHE_FILE = 'bundle.cache';

/**
 * index.js, the handler CloudBase loads (`index.main`): it compiles bundle.js with the V8 code cache that the build
 * made with the runtime's exact Node release, which halves the load time of a cold start. The cache is used only on
 * that exact release: V8 checks its own version, flags and the source, but Node 20.20.2 (V8 11.3.244.8-node.38)
 * accepts a cache from 20.19.6 (11.3.244.8-node.33) and then crashes with a segmentation fault. Anywhere else the
 * bundle compiles from scratch; `codeCache` says which happened.
 */
const bootSource = (cacheNode: string) => `'use strict';
const { readFileSync } = require('fs');
const { join } = require('path');
const { Script } = require('vm');
const { wrap } = require('module');
const file = join(__dirname, '${BUNDLE_FILE}');
let cachedData;
if (process.version === '${cacheNode}') {
  try { cachedData = readFileSync(join(__dirname, '${CODE_CACHE_FILE}')); } catch (e) { cachedData = undefined; }
}
const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
const bundle = { exports: {} };
script.runInThisContext()(bundle.exports, require, bundle, file, __dirname);
module.exports = bundle.exports;
Object.defineProperty(module.exports, 'codeCache', { value: cachedData === undefined ? (process.version === '${cacheNode}' ? 'absent' : 'other-node') : script.cachedDataRejected ? 'rejected' : 'used' });
`;

/** Run by the runtime's Node in a function folder: loads the bundle, answers one malformed event, saves the cache. */
const MAKE_CODE_CACHE = `const { readFileSync, writeFileSync } = require('fs');
const { Script } = require('vm');
const { wrap } = require('module');
const file = require('path').resolve('${BUNDLE_FILE}');
const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file });
const bundle = { exports: {} };
script.runInThisContext()(bundle.exports, require, bundle, file, process.cwd());
Promise.resolve().then(() => bundle.exports.main({}, {})).catch(() => undefined).finally(() => {
  writeFileSync('${CODE_CACHE_FILE}', script.createCachedData());
  process.exit(0);
});`;

export interface BuiltFunction {
  name: FunctionName;
  /** bundle.js, the code itself. */
  bytes: number;
  /** bundle.cache, 0 when the runtime's Node was not available to make it. */
  codeCacheBytes: number;
}

export async function buildFunctions(outDir = DIST, log: (line: string) => void = () => undefined): Promise<BuiltFunction[]> {
  rmSync(outDir, { recursive: true, force: true });
  let runtimeNode: string | null = null;
  try {
    runtimeNode = ensureRuntimeNode(RUNTIME.node);
  } catch (error) {
    log(`warning: no code cache (cold starts about 15 ms slower): ${(error as Error).message}`);
  }
  const built: BuiltFunction[] = [];
  for (const name of FUNCTION_NAMES) {
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    await build({
      entryPoints: [join(root, 'src/functions', name, 'index.ts')],
      outfile: join(dir, BUNDLE_FILE),
      bundle: true,
      platform: 'node',
      target: ESBUILD_TARGET,
      format: 'cjs',
      minify: true,
      sourcemap: false,
      legalComments: 'none',
      external: ['better-sqlite3'],
      plugins: [leaveOut(LEFT_OUT_OF_BUNDLES, LEFT_OUT_FILES)],
      logLevel: 'warning',
    });
    writeFileSync(join(dir, 'index.js'), bootSource(`v${RUNTIME.node}`));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js', private: true }, null, 2));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(devtoolsConfig(name), null, 2));
    // The cache is made by the runtime's own Node with nothing from this machine's environment (no config: the
    // malformed event is refused before any variable is read).
    if (runtimeNode) execFileSync(runtimeNode, ['-e', MAKE_CODE_CACHE], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, stdio: 'ignore', timeout: 60_000 });
    built.push({ name, bytes: statSync(join(dir, BUNDLE_FILE)).size, codeCacheBytes: runtimeNode ? statSync(join(dir, CODE_CACHE_FILE)).size : 0 });
  }
  return built;
}

if (require.main === module) {
  buildFunctions(DIST, (line) => process.stderr.write(`${line}\n`))
    .then((built) => {
      for (const s of built) process.stdout.write(`dist/${s.name}/${BUNDLE_FILE}  ${(s.bytes / 1024).toFixed(0)} KiB, code cache ${(s.codeCacheBytes / 1024).toFixed(0)} KiB\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    });
}
