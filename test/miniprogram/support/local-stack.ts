import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The real local stack (`pnpm dev`) in a child process on free ports with its own data folder, so the pages under
 * test reach it only over loopback HTTP, as the mini-program in DevTools does.
 */
export interface LocalStack {
  functionsUrl: string;
  wechatUrl: string;
  huifuUrl: string;
  dataDir: string;
  /** A checkout token minted with `pnpm checkout:link` (as an app backend would). */
  checkoutToken(amountYuan: string, description: string, options?: { expired?: boolean }): string;
  stop(): Promise<void>;
}

const root = resolve(__dirname, '../../..');
/** Node itself with tsx as a loader: no `.bin/tsx` shim, which Windows runs only through a shell (Node ≥ 20.12 refuses `.cmd`). */
const tsxNode = (script: string, ...args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', script, ...args]];

export async function startLocalStack(env: Record<string, string> = {}): Promise<LocalStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cashier-mp-'));
  const [node, devArgs] = tsxNode('scripts/dev.ts');
  const child: ChildProcess = spawn(node, devArgs, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', CASHIER_DATA_DIR: dataDir, CASHIER_PORT: '0', WECHAT_SANDBOX_PORT: '0', HUIFU_SANDBOX_PORT: '0', RECONCILE_INTERVAL_MS: '1000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = await new Promise<string>((resolveReady, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`local stack did not start:\n${out}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('cashier ready:'));
      if (line) {
        clearTimeout(timer);
        resolveReady(line);
      }
    });
    child.on('exit', (code) => reject(new Error(`local stack exited with ${code}:\n${out}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  const url = (label: string) => new RegExp(`${label} (http://127\\.0\\.0\\.1:\\d+)`).exec(ready)![1]!;
  return {
    functionsUrl: url('functions'),
    wechatUrl: url('wechat'),
    huifuUrl: url('huifu'),
    dataDir,
    checkoutToken(amountYuan, description, options = {}) {
      const expired = options.expired ? ['--expired'] : [];
      const [linkNode, linkArgs] = tsxNode('scripts/checkout-link.ts', '--amount', amountYuan, '--desc', description, '--data', dataDir, ...expired);
      const out = execFileSync(linkNode, linkArgs, { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
      return /path: +pages\/checkout\/index\?t=(\S+)/.exec(out)![1]!;
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
