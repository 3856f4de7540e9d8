/**
 * `pnpm build`: bundles each function with esbuild into cloudfunctions/dist/<fn>/ — index.js (everything inlined,
 * runs without node_modules), package.json and config.json (the reconcile timer trigger) — ready for
 * `tcb fn deploy` (cloudbaserc.json) or WeChat DevTools (project.config.json cloudfunctionRoot).
 * The native SQLite module stays out: on CloudBase the store is the document database.
 */
import { build } from 'esbuild';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FUNCTIONS = ['login', 'order', 'payNotify', 'reconcile', 'merchant'] as const;
const root = __dirname;
export const DIST = join(root, 'dist');

const TIMER = { triggers: [{ name: 'everyMinute', type: 'timer', config: '0 * * * * * *' }] };

export async function buildFunctions(outDir = DIST): Promise<Array<{ name: string; bytes: number }>> {
  rmSync(outDir, { recursive: true, force: true });
  const sizes: Array<{ name: string; bytes: number }> = [];
  for (const name of FUNCTIONS) {
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    await build({
      entryPoints: [join(root, 'src/functions', name, 'index.ts')],
      outfile: join(dir, 'index.js'),
      bundle: true,
      platform: 'node',
      target: 'node16',
      format: 'cjs',
      minify: true,
      sourcemap: false,
      legalComments: 'none',
      external: ['better-sqlite3'],
      logLevel: 'warning',
    });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js', private: true }, null, 2));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(name === 'reconcile' ? { ...TIMER, timeout: 60 } : { timeout: 20 }, null, 2));
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
