/**
 * StrykerJS for `pnpm test:mutation` (scripts/mutation.ts runs one group at a time and then the summary). The group
 * comes from STRYKER_GROUP; each mutates one part of the payment code and is judged by the tests written for it
 * (jest.mutation.config.js reads the same variable), with its own report and incremental file under mutation/, so a
 * re-run only tests what changed. Groups: domain, auth, providers, services, store, miniprogram.
 */
const GROUPS = {
  domain: 'cloudfunctions/src/domain/**/*.ts',
  auth: 'cloudfunctions/src/auth/**/*.ts',
  providers: 'cloudfunctions/src/providers/**/*.ts',
  services: 'cloudfunctions/src/services/**/*.ts',
  store: 'cloudfunctions/src/store/**/*.ts',
  miniprogram: 'miniprogram/services/**/*.ts',
};
const group = process.env.STRYKER_GROUP;
if (!GROUPS[group]) throw new Error(`STRYKER_GROUP must be one of ${Object.keys(GROUPS).join(', ')} (got ${group}); pnpm test:mutation sets it`);

export default {
  packageManager: 'pnpm',
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.mutation.config.js', enableFindRelatedTests: false },
  checkers: ['typescript'],
  tsconfigFile: group === 'miniprogram' ? 'miniprogram/tsconfig.json' : 'cloudfunctions/tsconfig.json',
  mutate: [GROUPS[group]],
  coverageAnalysis: 'perTest',
  incremental: true,
  // `pnpm test:mutation --ignore-static`: static mutants (module-level schemas and constants) each need the whole suite,
  // most of a group's time; skipping them gives a quick score, and the summary counts them as not run.
  ignoreStatic: process.env.STRYKER_IGNORE_STATIC === '1',
  incrementalFile: `mutation/${group}-incremental.json`,
  reporters: ['clear-text', 'json', 'progress'],
  jsonReporter: { fileName: `mutation/${group}-report.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0, reportScoreTable: true, reportMutants: false },
  concurrency: 2,
  // A mutant that hangs a test (a retry loop that never ends) counts as detected; no need to wait long for it. A static
  // mutant runs the whole suite, two at a time, which can outlast 10 s without any hang: runs with them allow 60 s.
  timeoutMS: process.env.STRYKER_IGNORE_STATIC === '1' ? 10000 : 60000,
  timeoutFactor: 1.5,
  ignorePatterns: ['/.local', '/bench', '/mutation', '/cloudfunctions/dist', '/node_modules/.cache', '/.stryker-tmp', '/test-output'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  plugins: ['./node_modules/@stryker-mutator/jest-runner/dist/src/index.js', './node_modules/@stryker-mutator/typescript-checker/dist/src/index.js'],
  // String literals are messages and log text: mutating them finds nothing about money or security.
  mutator: { excludedMutations: ['StringLiteral'] },
};
