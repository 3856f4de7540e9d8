/**
 * The jest configuration `pnpm test:mutation` (StrykerJS) runs, for the group in STRYKER_GROUP (stryker.config.mjs):
 * one project of jest.config.js, since Stryker's jest runner wraps a single test environment. Suites that only drive
 * child processes (bundles, CLIs, the compile check) or a browser are left out: a mutant is active only inside the
 * test process, so they cannot kill one and would only cost time. The store is judged by its conformance suite
 * and query-plan tests, which run on both adapters.
 */
const base = require('./jest.config.js');

const group = process.env.STRYKER_GROUP;
const project = base.projects.find((p) => p.displayName === (group === 'miniprogram' ? 'miniprogram' : 'node'));
const config = { ...project, displayName: undefined, rootDir: __dirname, testTimeout: base.testTimeout };
if (group === 'store') config.roots = ['<rootDir>/test/store'];
// Stryker's jest runner loads the test environment itself and does not expand <rootDir> in its path.
if (typeof config.testEnvironment === 'string') config.testEnvironment = config.testEnvironment.replace('<rootDir>', __dirname);
if (group !== 'miniprogram') {
  config.testPathIgnorePatterns = [
    ...project.testPathIgnorePatterns,
    '<rootDir>/test/integration/runtime-parity.test.ts',
    '<rootDir>/test/integration/cli.test.ts',
    '<rootDir>/test/unit/miniprogram-compile.test.ts',
    '<rootDir>/test/automator/',
    '<rootDir>/test/integration/console.test.ts',
  ];
}
module.exports = config;
