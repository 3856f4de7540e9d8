/**
 * A suite that needs something this machine may lack is skipped with a printed reason, never silently.
 * Usage: describeIf(hasDevTools(), 'WECHAT_DEVTOOLS_CLI is not set', 'automator journey', () => { ... })
 */
export function describeIf(condition: boolean, reasonWhenSkipped: string, name: string, body: () => void): void {
  if (condition) {
    describe(name, body);
    return;
  }
  // Written straight to stderr: jest buffers console output and drops it for a suite that runs no test.
  process.stderr.write(`SKIPPED "${name}": ${reasonWhenSkipped}\n`);
  describe.skip(`${name} (skipped: ${reasonWhenSkipped})`, body);
}
