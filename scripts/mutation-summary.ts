/**
 * `pnpm test:mutation` ends here: reads StrykerJS's JSON reports (mutation/<group>-report.json, one per group of
 * stryker.config.mjs), and writes mutation/results.md: the score per
 * module and every mutant that survived or that no test reaches, each with the reason it is harmless from
 * mutation/explained.json, or marked UNEXPLAINED. Exits 1 when a survivor is unexplained, so a new gap in the tests
 * is noticed rather than averaged away.
 *
 * explained.json maps "<file>|<mutator>|<original code>|<replacement>" to why the mutant is equivalent or harmless:
 * the code the mutant replaces is part of the key (lines move, so their numbers are not), so one explanation covers
 * exactly one mutation of one piece of code and a new survivor is never excused by an older one's reason.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as z from 'zod';

const root = resolve(__dirname, '..');
const dir = join(root, 'mutation');

const Mutant = z.object({
  mutatorName: z.string(),
  replacement: z.string().optional(),
  status: z.string(),
  statusReason: z.string().optional(),
  location: z.object({ start: z.object({ line: z.number(), column: z.number() }), end: z.object({ line: z.number(), column: z.number() }) }),
});
const Report = z.object({ files: z.record(z.string(), z.object({ source: z.string(), mutants: z.array(Mutant) })) });
type Mutant = z.infer<typeof Mutant>;

/** One report per group (stryker.config.mjs). */
const REPORTS = [
  { file: 'domain-report.json', scope: 'cloudfunctions/src/domain' },
  { file: 'auth-report.json', scope: 'cloudfunctions/src/auth' },
  { file: 'providers-report.json', scope: 'cloudfunctions/src/providers' },
  { file: 'services-report.json', scope: 'cloudfunctions/src/services' },
  { file: 'store-report.json', scope: 'cloudfunctions/src/store' },
  { file: 'miniprogram-report.json', scope: 'miniprogram/services' },
];
/** Stryker's own definition: timeouts count as killed (the mutant hung a test); compile errors and ignored ones do not count. */
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const explained = z.record(z.string(), z.string()).parse(existsSync(join(dir, 'explained.json')) ? JSON.parse(readFileSync(join(dir, 'explained.json'), 'utf8')) : {});
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
/** The text a mutant replaces (the report's lines and columns are 1-based; the end column is just past it). */
function originalOf(sourceLines: string[], m: Mutant): string {
  const { start, end } = m.location;
  const text = sourceLines.slice(start.line - 1, end.line).join('\n');
  const from = start.column - 1;
  const to = text.length - (sourceLines[end.line - 1]!.length - (end.column - 1));
  return oneLine(text.slice(from, to));
}
const keyOf = (u: { file: string; mutant: Mutant; replaced: string }) => `${u.file}|${u.mutant.mutatorName}|${u.replaced}|${oneLine(u.mutant.replacement ?? '')}`;
/** The module a file belongs to: its folder under cloudfunctions/src, or miniprogram/services. */
const moduleOf = (file: string) => /^cloudfunctions\/src\/([^/]+)\//.exec(file)?.[1] ?? file.split('/').slice(0, 2).join('/');
const percent = (detected: number, total: number) => (total === 0 ? '—' : `${((100 * detected) / total).toFixed(1)} %`);

const lines: string[] = [];
const scores: Array<{ module: string; detected: number; timeouts: number; total: number; notRun: number }> = [];
const undetected: Array<{ file: string; mutant: Mutant; original: string; replaced: string }> = [];
const missing: string[] = [];
/** When each group's report was written: a score is only as current as the tests it ran against. */
const measured: string[] = [];

for (const { file, scope } of REPORTS) {
  const path = join(dir, file);
  if (!existsSync(path)) {
    missing.push(`${file} (${scope}): not run yet`);
    continue;
  }
  const report = Report.parse(JSON.parse(readFileSync(path, 'utf8')));
  measured.push(`${file.replace('-report.json', '')} ${statSync(path).mtime.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  for (const [rawFile, { source, mutants }] of Object.entries(report.files)) {
    const file = rawFile.replace(/\\/g, '/').replace(/^.*?(cloudfunctions\/|miniprogram\/)/, '$1');
    const module = moduleOf(file);
    let row = scores.find((s) => s.module === module);
    if (!row) scores.push((row = { module, detected: 0, timeouts: 0, total: 0, notRun: 0 }));
    const sourceLines = source.split('\n');
    for (const mutant of mutants) {
      if (DETECTED.has(mutant.status)) row.detected++;
      if (mutant.status === 'Timeout') row.timeouts++;
      // Excluded mutators (string literals) are Ignored too; only static ones skipped by --ignore-static are "not run".
      if (mutant.status === 'Ignored' && /static/i.test(mutant.statusReason ?? '')) row.notRun++;
      if (DETECTED.has(mutant.status) || UNDETECTED.has(mutant.status)) row.total++;
      if (UNDETECTED.has(mutant.status)) undetected.push({ file, mutant, original: oneLine(sourceLines[mutant.location.start.line - 1] ?? ''), replaced: originalOf(sourceLines, mutant) });
    }
  }
}

const total = scores.reduce((t, s) => ({ detected: t.detected + s.detected, timeouts: t.timeouts + s.timeouts, total: t.total + s.total, notRun: t.notRun + s.notRun }), { detected: 0, timeouts: 0, total: 0, notRun: 0 });
lines.push('# Mutation testing', '', `Generated by \`pnpm test:mutation\` (StrykerJS, scripts/mutation-summary.ts) on ${new Date().toISOString().slice(0, 10)}.`, '');
if (measured.length > 0) lines.push(`Reports written: ${measured.join('; ')}.`, '');
for (const m of missing) lines.push(`- ${m}`);
if (missing.length > 0) lines.push('');
lines.push('| module | detected / mutants | of those, by timeout | score | static, not run |', '|---|---|---|---|---|');
for (const s of scores.sort((a, b) => a.module.localeCompare(b.module))) lines.push(`| ${s.module} | ${s.detected} / ${s.total} | ${s.timeouts} | ${percent(s.detected, s.total)} | ${s.notRun} |`);
lines.push(`| **all** | ${total.detected} / ${total.total} | ${total.timeouts} | **${percent(total.detected, total.total)}** | ${total.notRun} |`, '');
lines.push(
  'Counted as Stryker does: a mutant is detected when a test fails or hangs with it (a timeout: the mutant made a loop or a',
  'retry never end); mutants that do not compile (the TypeScript checker) and string literals (messages) are not counted.',
  'Static mutants (module-level code, run once at import) are not run when the group ran with `--ignore-static`; the last',
  'column counts them, and they are in neither the score nor the list below.',
  '',
);

const unexplained = undetected.filter((u) => !explained[keyOf(u)]);
lines.push(`## Mutants no test detects (${undetected.length}; ${unexplained.length} unexplained)`, '');
lines.push('| where | code | mutation | why it is left |', '|---|---|---|---|');
for (const u of undetected.sort((a, b) => a.file.localeCompare(b.file) || a.mutant.location.start.line - b.mutant.location.start.line)) {
  const reason = explained[keyOf(u)] ?? '**UNEXPLAINED**';
  const what = `${u.mutant.mutatorName}${u.mutant.status === 'NoCoverage' ? ' (no test reaches it)' : ''}: \`${oneLine(u.mutant.replacement ?? '').slice(0, 80).replace(/\|/g, '\\|')}\``;
  const code = `\`${u.original.slice(0, 70).replace(/\|/g, '\\|')}\``;
  lines.push(`| ${u.file}:${u.mutant.location.start.line} | ${code} | ${what} | ${reason.replace(/\|/g, '\\|')} |`);
}
// An explanation no survivor uses any more (the code changed, or a test now detects it) is removed, not kept as noise;
// only judged for the groups that ran, since the others' survivors are unknown.
const ranScopes = REPORTS.filter((r) => existsSync(join(dir, r.file))).map((r) => r.scope);
const used = new Set(undetected.map(keyOf));
const stale = Object.keys(explained).filter((key) => !used.has(key) && ranScopes.some((scope) => key.startsWith(`${scope}/`)));
if (stale.length > 0) lines.push('', `## Explanations no mutant uses any more (${stale.length}): remove them from mutation/explained.json`, '', ...stale.map((key) => `- \`${key.replace(/`/g, "'")}\``));
writeFileSync(join(dir, 'results.md'), `${lines.join('\n')}\n`);
process.stdout.write(`mutation score ${percent(total.detected, total.total)} (${total.detected}/${total.total}); ${undetected.length} undetected, ${unexplained.length} unexplained, ${stale.length} stale explanations: mutation/results.md\n`);
if (unexplained.length > 0) {
  process.stdout.write(unexplained.map((u) => `  UNEXPLAINED ${u.file}:${u.mutant.location.start.line} ${u.mutant.mutatorName} ${JSON.stringify(u.mutant.replacement ?? '')} (key: ${keyOf(u)})`).join('\n') + '\n');
  process.exitCode = 1;
}
