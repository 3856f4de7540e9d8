/**
 * `pnpm test:mutation [group ...]`: StrykerJS on the payment code, one group at a time (stryker.config.mjs: domain,
 * auth, providers, services, store, miniprogram; all by default), each incremental, so a re-run only tests the
 * mutants of what changed. Then scripts/mutation-summary.ts writes mutation/results.md. Not part of `pnpm test`: from
 * scratch it takes hours on two cores. `--ignore-static` skips static mutants (each runs the whole suite) for a quick
 * score; the summary counts them as not run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
/**
 * Stryker's incremental mode re-tests a mutant when the tests that cover it change. A static mutant (module-level code)
 * runs against the whole suite, but its recorded coverage is at most the tests that loaded the module inside a test
 * (often none), so its last result would be reused however other tests change: a survivor found before a test was
 * written would stay a survivor. Its undetected results are dropped before each run that includes static mutants, so
 * they are tested again (killed ones may stay: a new test cannot make a killed mutant survive). So are its timeouts:
 * two whole suites side by side can outlast a 10 s allowance without any hang, which once counted equivalent mutants
 * as detected; runs with static mutants allow 60 s more than the tests' own time (stryker.config.mjs).
 */
function forgetStaticSurvivors(group: string): number {
  const file = join(root, 'mutation', `${group}-incremental.json`);
  if (!existsSync(file)) return 0;
  const report = JSON.parse(readFileSync(file, 'utf8')) as { files: Record<string, { mutants: Array<{ status: string; static?: boolean }> }> };
  let dropped = 0;
  for (const entry of Object.values(report.files)) {
    const kept = entry.mutants.filter((m) => !(m.static && (m.status === 'Survived' || m.status === 'NoCoverage' || m.status === 'Timeout')));
    dropped += entry.mutants.length - kept.length;
    entry.mutants = kept;
  }
  if (dropped > 0) writeFileSync(file, JSON.stringify(report));
  return dropped;
}

for (const group of asked.length > 0 ? asked : GROUPS) {
  process.stdout.write(`\n== mutation group ${group}\n`);
  if (!ignoreStatic) {
    const dropped = forgetStaticSurvivors(group);
    if (dropped > 0) process.stdout.write(`${dropped} static mutant(s) that survived or timed out last time will be tested again\n`);
  }
  const run = spawnSync(process.execPath, [join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js'), 'run'], { cwd: root, stdio: 'inherit', env: { ...process.env, STRYKER_GROUP: group, STRYKER_IGNORE_STATIC: ignoreStatic ? '1' : '0' } });
  if (run.status !== 0) {
    process.stderr.write(`stryker failed for group ${group} (exit ${run.status})\n`);
    process.exit(run.status ?? 1);
  }
}
const summary = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/mutation-summary.ts')], { cwd: root, stdio: 'inherit' });
process.exit(summary.status ?? 1);
