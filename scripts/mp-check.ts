/**
 * `pnpm mp:check [--release]`: the offline mini-program check (../shared/docs/recipes/mp-check.js, adapted): miniprogram-ci's
 * compile (JS, JSON, usingComponents, WXML structure, TypeScript through useCompilerPlugins) with the main-package
 * size against the 2 MB limit, then the Linux wcc from miniprogram-compiler for WXML expression syntax.
 * Prints `compile OK: <files> files, <bytes> bytes` and `wcc OK`; exits 1 on any failure. `--release` first refuses
 * a build that cannot work outside DevTools: no CloudBase environment in miniprogram/config.ts, or the tourist AppID.
 * miniprogram-ci's own chatter (and its failed fetch of servicewechat.com's extension list, which the offline compile
 * does not need) is left out.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const MAIN_PACKAGE_LIMIT = 2 * 1024 * 1024;

/** Why a build is not ready to upload, or nothing. */
export function releaseProblems(projectConfig: { appid?: string }, appConfig: { cloudEnv: string }): string[] {
  const problems: string[] = [];
  if (!appConfig.cloudEnv.trim()) problems.push('miniprogram/config.ts: cloudEnv is empty; outside DevTools every call would fail. Set the CloudBase environment id');
  if (!projectConfig.appid || projectConfig.appid === 'touristappid' || !/^wx[0-9a-f]{16}$/.test(projectConfig.appid)) {
    problems.push(`project.config.json: appid is ${JSON.stringify(projectConfig.appid ?? '')}; set the mini-program's real AppID`);
  }
  return problems;
}

const CHATTER = /^\[(miniprogram-builder|summer-compiler)\]|^serialize mini-weixin|servicewechat\.com|get white ext list fail/;

/** Runs `work` with miniprogram-ci's progress lines dropped; anything else still prints. */
async function withoutChatter<T>(work: () => Promise<T>): Promise<T> {
  const originals = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  let offline = false;
  const filter = (write: (...args: unknown[]) => void) => (...args: unknown[]) => {
    const text = args.map(String).join(' ');
    if (/servicewechat\.com/.test(text)) offline = true;
    if (!CHATTER.test(text)) write(...args);
  };
  Object.assign(console, { log: filter(originals.log), info: filter(originals.info), warn: filter(originals.warn), error: filter(originals.error) });
  try {
    return await work();
  } finally {
    Object.assign(console, originals);
    if (offline) process.stdout.write('(offline: miniprogram-ci could not reach servicewechat.com for its extension list; the compile does not need it)\n');
  }
}

async function main(): Promise<void> {
  const projectPath = resolve(__dirname, '..');
  const cfg = JSON.parse(readFileSync(join(projectPath, 'project.config.json'), 'utf8')) as { miniprogramRoot: string; appid?: string };
  if (process.argv.includes('--release')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { config } = require('../miniprogram/config') as { config: { cloudEnv: string } };
    const problems = releaseProblems(cfg, config);
    if (problems.length) {
      for (const p of problems) process.stdout.write(`not releasable: ${p}\n`);
      process.exit(1);
    }
    process.stdout.write(`release check OK: AppID ${cfg.appid}, CloudBase environment ${config.cloudEnv}\n`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ci = await withoutChatter(async () => require('miniprogram-ci'));
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
    const files = (await withoutChatter(() => ci.getCompiledResult({ project, version: '0.0.0', setting: { useProjectConfig: true, minifyWXML: true } }))) as Record<string, string | Buffer>;
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

if (require.main === module) void main();
