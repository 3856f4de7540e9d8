/**
 * A suite that needs something this machine may lack is skipped with a printed reason, never silently.
 * Usage: describeIf(hasDevTools(), 'WECHAT_DEVTOOLS_CLI is not set', 'automator journey', () => { ... })
 */
export function describeIf(condition: boolean, reasonWhenSkipped: string, name: string, body: () => void): void {
  if (condition) {
    describe(name, body);
    return;
  }
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED "${name}": ${reasonWhenSkipped}`);
  describe.skip(`${name} (skipped: ${reasonWhenSkipped})`, body);
}
