/** Run from the root: `pnpm test` typechecks every package, then runs every suite here. */
const path = require('node:path');

module.exports = {
  // The default reporter, quiet for files that pass (their console output only matters when something fails).
  reporters: ['<rootDir>/test/support/quiet-reporter.js', 'summary', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 30000,
  projects: [
    {
      displayName: 'node',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/miniprogram/'],
      // tsconfig.base.json sets isolatedModules, so ts-jest only transpiles; `pnpm typecheck` does the type checking.
      transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
    },
    {
      // The real pages under miniprogram-simulate (jsdom), talking to a real local stack.
      displayName: 'miniprogram',
      testEnvironment: '<rootDir>/test/miniprogram/support/environment.js',
      roots: ['<rootDir>/test/miniprogram'],
      testMatch: ['**/*.test.ts'],
      transform: { '^.+\\.(ts|js)$': ['babel-jest', { configFile: path.join(__dirname, 'test/miniprogram/babel.config.js') }] },
      moduleNameMapper: {
        '^tdesign-miniprogram/(.*)$': '<rootDir>/miniprogram/miniprogram_npm/tdesign-miniprogram/$1',
        '^@cashier/shared$': '<rootDir>/shared/src/client.ts',
        '^@cashier/shared/(.*)$': '<rootDir>/shared/src/$1',
      },
    },
  ],
};
