/**
 * `pnpm mp:prepare`: builds miniprogram/miniprogram_npm (gitignored), which DevTools and the tests need:
 * tdesign-miniprogram through miniprogram-ci's packNpmManually (works offline), and @cashier/shared's runtime part
 * (errors, money, statuses; no zod) bundled to one CommonJS file. Run it after install and after changing shared/.
 */
import { buildSync } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const mpRoot = join(root, 'miniprogram');

export function bundleShared(): void {
  const out = join(mpRoot, 'miniprogram_npm', '@cashier', 'shared');
  mkdirSync(out, { recursive: true });
  buildSync({ entryPoints: [join(root, 'shared', 'src', 'client.ts')], outfile: join(out, 'index.js'), bundle: true, format: 'cjs', platform: 'neutral', target: 'es2017', logLevel: 'warning' });
  writeFileSync(join(out, 'package.json'), JSON.stringify({ name: '@cashier/shared', main: 'index.js' }));
}

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ci = require('miniprogram-ci') as { packNpmManually(o: { packageJsonPath: string; miniprogramNpmDistDir: string }): Promise<unknown> };
  const result = await ci.packNpmManually({ packageJsonPath: join(mpRoot, 'package.json'), miniprogramNpmDistDir: `${mpRoot}/` });
  bundleShared();
  process.stdout.write(`mp:prepare: packNpmManually ${JSON.stringify(result)}; @cashier/shared bundled\n`);
}

if (require.main === module) {
  main()
    .then(() => process.exit(0)) // miniprogram-ci keeps a child process alive
    .catch((error: unknown) => {
      process.stderr.write(`mp:prepare failed: ${(error as Error).message}\n`);
      process.exit(1);
    });
}
