/**
 * `pnpm mp:check`: the offline mini-program check (../shared/docs/recipes/mp-check.js, adapted): miniprogram-ci's
 * compile (JS, JSON, usingComponents, WXML structure, TypeScript through useCompilerPlugins) with the main-package
 * size against the 2 MB limit, then the Linux wcc from miniprogram-compiler for WXML expression syntax.
 * Prints `compile OK: <files> files, <bytes> bytes` and `wcc OK`; exits 1 on any failure.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const MAIN_PACKAGE_LIMIT = 2 * 1024 * 1024;

async function main(): Promise<void> {
  const projectPath = resolve(__dirname, '..');
  const cfg = JSON.parse(readFileSync(join(projectPath, 'project.config.json'), 'utf8')) as { miniprogramRoot: string };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ci = require('miniprogram-ci');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wxmlToJs } = require('miniprogram-compiler');
  // getCompiledResult leaves an empty folder in the working directory; keep it out of the checkout.
  process.chdir(mkdtempSync(join(tmpdir(), 'mp-check-')));
  const project = new ci.Project({
    appid: 'wx0000000000000000',
    type: 'miniProgram',
    projectPath,
    privateKey: 'unused-offline',
    ignores: ['node_modules/**/*', 'cloudfunctions/**/*', 'shared/**/*', 'scripts/**/*', 'test/**/*', '.local/**/*'],
    attr: async () => ci.DefaultProjectAttr, // skips the network call for project attributes
  });
  let failed = false;
  try {
    const files = (await ci.getCompiledResult({ project, version: '0.0.0', setting: { useProjectConfig: true, minifyWXML: true } })) as Record<string, string | Buffer>;
    let total = 0;
    for (const k of Object.keys(files)) total += Buffer.byteLength(files[k]!);
    process.stdout.write(`compile OK: ${Object.keys(files).length} files, ${total} bytes (main package limit ${MAIN_PACKAGE_LIMIT})\n`);
    if (total > MAIN_PACKAGE_LIMIT) {
      process.stdout.write('FAIL: main package over 2 MB\n');
      failed = true;
    }
  } catch (error) {
    const e = error as { path?: string; message: string };
    process.stdout.write(`compile FAILED: ${e.path ? e.path + ': ' : ''}${e.message.split('\n')[0]}\n`);
    failed = true;
  }
  try {
    wxmlToJs(join(projectPath, cfg.miniprogramRoot), { maxBuffer: 256 * 1024 * 1024 });
    process.stdout.write('wcc OK\n');
  } catch (error) {
    process.stdout.write(`wcc FAILED: ${(error as Error).message.split('\n')[0]}\n`);
    failed = true;
  }
  process.exit(failed ? 1 : 0);
}

void main();
