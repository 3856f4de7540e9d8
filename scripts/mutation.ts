/**
 * `pnpm test:mutation [group ...]`: StrykerJS on the payment code, one group at a time (stryker.config.mjs: domain,
 * auth, providers, services, store, miniprogram; all by default), each incremental, so a re-run only tests the
 * mutants of what changed. Then scripts/mutation-summary.ts writes mutation/results.md. Not part of `pnpm test`: from
 * scratch it takes hours on two cores. `--ignore-static` skips static mutants (each runs the whole suite) for a quick
 * score; the summary counts them as not run.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const GROUPS = ['domain', 'auth', 'providers', 'services', 'store', 'miniprogram'];
const root = resolve(__dirname, '..');
const args = process.argv.slice(2);
const ignoreStatic = args.includes('--ignore-static');
const asked = args.filter((a) => a !== '--ignore-static');
const unknown = asked.filter((g) => !GROUPS.includes(g));
if (unknown.length > 0) {
  process.stderr.write(`unknown group ${unknown.join(', ')}: choose from ${GROUPS.join(', ')}\n`);
  process.exit(2);
}
for (const group of asked.length > 0 ? asked : GROUPS) {
  process.stdout.write(`\n== mutation group ${group}\n`);
  const run = spawnSync(process.execPath, [join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js'), 'run'], { cwd: root, stdio: 'inherit', env: { ...process.env, STRYKER_GROUP: group, STRYKER_IGNORE_STATIC: ignoreStatic ? '1' : '0' } });
  if (run.status !== 0) {
    process.stderr.write(`stryker failed for group ${group} (exit ${run.status})\n`);
    process.exit(run.status ?? 1);
  }
}
const summary = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/mutation-summary.ts')], { cwd: root, stdio: 'inherit' });
process.exit(summary.status ?? 1);
