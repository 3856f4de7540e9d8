/**
 * `pnpm dev`: the local stack on fixed ports (0 picks free ones; the ready line names them) (CASHIER_PORT, default 8787; WECHAT_SANDBOX_PORT 8788;
 * HUIFU_SANDBOX_PORT 8789), SQLite in .local/, the reconcile timer every RECONCILE_INTERVAL_MS (default 5000).
 * A .env file (see .env.example) with HUIFU_API_BASE and real or joint-test keys points it at that gateway.
 */
import { configOverrides, loadDotEnv } from './lib/env-file';
import { startStack } from './stack';

async function main(): Promise<void> {
  const usedEnvFile = loadDotEnv();
  const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  const stack = await startStack({
    dataDir: process.env.CASHIER_DATA_DIR ?? '.local',
    cashierPort: port('CASHIER_PORT', 8787),
    wechatPort: port('WECHAT_SANDBOX_PORT', 8788),
    huifuPort: port('HUIFU_SANDBOX_PORT', 8789),
    reconcileIntervalMs: port('RECONCILE_INTERVAL_MS', 5000),
    env: configOverrides(),
  });
  if (usedEnvFile) process.stdout.write('using .env\n');
  process.stdout.write(stack.readyLine() + '\n');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping\n`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
