/**
 * `pnpm dev`: the local stack until Ctrl-C / SIGTERM. Ports: CASHIER_PORT (default 8787), WECHAT_SANDBOX_PORT (8788),
 * HUIFU_SANDBOX_PORT (8789); 0 picks free ones and the ready line names them. Data (keys, SQLite, stack.json) in
 * CASHIER_DATA_DIR (default .local); reconcile every RECONCILE_INTERVAL_MS (default 5000).
 * `.env.local` (optional) adjusts the functions' variables, e.g. HUIFU_API_BASE and its keys for Huifu's joint test.
 */
import * as z from 'zod';
import { ConfigError } from '../cloudfunctions/src/config';
import { environmentVariables, warnAboutLegacyDotEnv } from './lib/env-file';
import { findRunningStack } from './lib/stack-state';
import { startStack } from './stack';

const Port = z.coerce.number({ error: 'must be a port number' }).int('must be a whole number').min(0, 'must be 0-65535').max(65_535, 'must be 0-65535');
const DevEnv = z.object({
  CASHIER_PORT: Port.default(8787),
  WECHAT_SANDBOX_PORT: Port.default(8788),
  HUIFU_SANDBOX_PORT: Port.default(8789),
  RECONCILE_INTERVAL_MS: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(0).max(3_600_000).default(5000),
  CASHIER_DATA_DIR: z.string().trim().min(1).default('.local'),
});

/** Turns a port clash into a message naming the variable and whether another `pnpm dev` holds the port. */
function explainStartFailure(error: unknown, dataDir: string): string {
  const e = error as NodeJS.ErrnoException & { port?: number; variable?: string };
  if (e.code === 'EADDRINUSE') {
    const variable = e.variable ?? 'a port variable';
    const running = findRunningStack(dataDir);
    const holder = running.running
      ? `another \`pnpm dev\` is running from ${dataDir} (pid ${running.state.pid}, functions at ${running.state.functionsUrl}): stop it, or run this one with another CASHIER_DATA_DIR and ports`
      : 'another program holds it (no other `pnpm dev` is recorded for this data folder)';
    return `port ${e.port ?? '?'} (${variable}) is in use: ${holder}. Set ${variable} to a free port, or 0 to pick one.`;
  }
  if (error instanceof ConfigError) return error.message.replace('See .env.example', 'Check .env.local; see .env.example');
  return (error as Error).message;
}

async function main(): Promise<number> {
  const parsed = DevEnv.safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) process.stderr.write(`pnpm dev: ${issue.path.join('.')}: ${issue.message}\n`);
    return 2;
  }
  const settings = parsed.data;
  warnAboutLegacyDotEnv();
  const { file, variables } = environmentVariables('local');
  let stack;
  try {
    stack = await startStack({
      dataDir: settings.CASHIER_DATA_DIR,
      cashierPort: settings.CASHIER_PORT,
      wechatPort: settings.WECHAT_SANDBOX_PORT,
      huifuPort: settings.HUIFU_SANDBOX_PORT,
      reconcileIntervalMs: settings.RECONCILE_INTERVAL_MS,
      env: variables,
      writeState: true,
    });
  } catch (error) {
    process.stderr.write(`pnpm dev: ${explainStartFailure(error, settings.CASHIER_DATA_DIR)}\n`);
    return 1;
  }
  if (file) process.stdout.write(`using ${file}\n`);
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
  return 0;
}

main().then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`pnpm dev: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
