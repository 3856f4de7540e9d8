/**
 * The jest configuration `pnpm test:mutation` (StrykerJS) runs: the node project of jest.config.js alone, since
 * Stryker's jest runner replaces the test environment and the mini-program project needs its jsdom one. Suites that
 * only drive child processes (bundles, CLIs, the compile check) are left out: a mutant is active only inside the
 * test process, so they cannot kill one and would only cost time.
 */
const base = require('./jest.config.js');

const node = base.projects.find((p) => p.displayName === 'node');
module.exports = {
  ...node,
  displayName: undefined,
  rootDir: __dirname,
  testTimeout: base.testTimeout,
  testPathIgnorePatterns: [
    ...node.testPathIgnorePatterns,
    '<rootDir>/test/integration/runtime-parity.test.ts',
    '<rootDir>/test/integration/cli.test.ts',
    '<rootDir>/test/unit/miniprogram-compile.test.ts',
    '<rootDir>/test/automator/',
    '<rootDir>/test/integration/console.test.ts',
  ],
};
