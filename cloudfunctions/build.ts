/**
 * `pnpm build`: bundles each function with esbuild into cloudfunctions/dist/<fn>/ — index.js (everything inlined,
 * runs without node_modules), package.json and config.json (timeout, and the reconcile timer trigger) — for
 * `pnpm deploy:cloudbase`, `tcb fn deploy` (cloudbaserc.json) or WeChat DevTools (project.config.json
 * cloudfunctionRoot). The target is the declared CloudBase runtime's Node (functions/manifest.ts); the native SQLite
 * module stays out: on CloudBase the store is the document database.
 */
import { build } from 'esbuild';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESBUILD_TARGET, FUNCTION_NAMES, FUNCTIONS, type FunctionName } from './src/functions/manifest';

export const FUNCTIONS_TO_BUILD = FUNCTION_NAMES;
const root = __dirname;
export const DIST = join(root, 'dist');

/** The DevTools per-function config.json: timeout and triggers (DevTools sets no environment variables). */
export function devtoolsConfig(fn: FunctionName): Record<string, unknown> {
  const spec = FUNCTIONS[fn];
  const invocation = spec.invocation;
  return { timeout: spec.timeoutSeconds, ...(invocation.by === 'timer' ? { triggers: [invocation.trigger] } : {}) };
}

export async function buildFunctions(outDir = DIST): Promise<Array<{ name: FunctionName; bytes: number }>> {
  rmSync(outDir, { recursive: true, force: true });
  const sizes: Array<{ name: FunctionName; bytes: number }> = [];
  for (const name of FUNCTION_NAMES) {
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    await build({
      entryPoints: [join(root, 'src/functions', name, 'index.ts')],
      outfile: join(dir, 'index.js'),
      bundle: true,
      platform: 'node',
      target: ESBUILD_TARGET,
      format: 'cjs',
      minify: true,
      sourcemap: false,
      legalComments: 'none',
      external: ['better-sqlite3'],
      logLevel: 'warning',
    });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js', private: true }, null, 2));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(devtoolsConfig(name), null, 2));
    sizes.push({ name, bytes: statSync(join(dir, 'index.js')).size });
  }
  return sizes;
}

if (require.main === module) {
  buildFunctions()
    .then((sizes) => {
      for (const s of sizes) process.stdout.write(`dist/${s.name}/index.js  ${(s.bytes / 1024).toFixed(0)} KiB\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    });
}
