import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionResponse } from '@cashier/shared';
import { mintCheckoutToken } from '../../cloudfunctions/src/auth/checkout';
import { silentLogger } from '../../cloudfunctions/src/services/deps';
import { runReconcile } from '../../cloudfunctions/src/services/reconcile';
import { loadOrCreateKeys, type KeyFile } from '../../scripts/lib/local-keys';
import { startStack, type Stack, type StackOptions } from '../../scripts/stack';
import { testClock, type TestClock } from './clock';

export interface TestStack extends Stack {
  clock: TestClock;
  /** Moves our clock and both sandboxes' clocks together. */
  advance(ms: number): void;
  loginAs(openid: string): Promise<string>;
  checkout(claims: { ref: string; amountFen: number; description?: string }): Promise<string>;
  reconcile(): ReturnType<typeof runReconcile>;
  /** Calls a function and returns its data, failing the test on an error answer. */
  data<T>(fn: string, event: unknown): Promise<T>;
}

/** One keys.json per test file (jest loads this module once per file): RSA generation is slow and its time varies. */
let fileKeys: KeyFile | undefined;

/** A full local stack on ephemeral ports with an in-memory database and time under the test's control. */
export async function startTestStack(options: StackOptions = {}): Promise<TestStack> {
  const dir = mkdtempSync(join(tmpdir(), 'cashier-stack-'));
  if (!fileKeys) {
    const keysDir = mkdtempSync(join(tmpdir(), 'cashier-keys-'));
    fileKeys = loadOrCreateKeys(keysDir);
    rmSync(keysDir, { recursive: true, force: true });
  }
  writeFileSync(join(dir, 'keys.json'), JSON.stringify(fileKeys), { mode: 0o600 });
  const clock = testClock();
  const stack = await startStack({
    dataDir: dir,
    sqlitePath: ':memory:',
    reconcileIntervalMs: 0,
    log: silentLogger,
    notifyRetryDelayMs: 20,
    refundSettleMs: null,
    clock,
    ...options,
  });
  const stop = stack.stop;
  return Object.assign(stack, {
    clock,
    advance(ms: number) {
      clock.advance(ms);
      stack.huifu?.advanceClock(ms);
      stack.wechat?.advanceClock(ms);
    },
    async loginAs(openid: string) {
      const code = stack.wechat!.mintCode(openid);
      const answer = await stack.call<FunctionResponse<{ sessionToken: string }>>('login', { code });
      if (!answer.ok) throw new Error(`login failed: ${answer.error.code}`);
      return answer.data.sessionToken;
    },
    checkout(claims: { ref: string; amountFen: number; description?: string }) {
      return mintCheckoutToken({ description: '测试商品', ...claims }, stack.config.checkout.secret, clock.now());
    },
    reconcile: () => runReconcile(stack.deps),
    async data<T>(fn: string, event: unknown): Promise<T> {
      const answer = await stack.call<FunctionResponse<T>>(fn, event);
      if (!answer.ok) throw new Error(`${fn} answered ${answer.error.code}: ${answer.error.message}`);
      return answer.data;
    },
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
