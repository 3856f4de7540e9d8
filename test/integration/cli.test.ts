/**
 * The command-line tools as a developer runs them (separate processes): clear refusals that name the variable, flag
 * or path to fix, no stack traces, and tools that find the running stack instead of guessing its ports.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { openSqliteStore } from '../../cloudfunctions/src/store/sqlite';
import { closeServer, listen } from '../../scripts/lib/http';
import { escapeRegExp } from '../support/text';

const root = resolve(__dirname, '../..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const exec = promisify(execFile);
const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' });

async function runTool(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(tsx, [script, ...args], { cwd: root, env: { ...baseEnv(), ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Starts `pnpm dev` (scripts/dev.ts) and resolves with its ready line. */
async function startDev(env: Record<string, string>): Promise<{ child: ChildProcess; ready: string; stop(): Promise<void> }> {
  const child = spawn(tsx, ['scripts/dev.ts'], { cwd: root, env: { ...baseEnv(), WECHAT_SANDBOX_PORT: '0', HUIFU_SANDBOX_PORT: '0', RECONCILE_INTERVAL_MS: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('cashier ready:'));
      if (line) done(line);
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => fail(new Error(`pnpm dev exited ${code}:\n${out}`)));
  });
  return {
    child,
    ready,
    stop: () =>
      new Promise((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'cashier-cli-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('pnpm dev refuses clearly', () => {
  it('names a port variable that is not a number', async () => {
    const r = await runTool('scripts/dev.ts', [], { CASHIER_DATA_DIR: dataDir, CASHIER_PORT: 'abc' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pnpm dev: CASHIER_PORT: must be a port number/);
    expect(r.stderr).not.toMatch(/NaN|at .*\.ts:\d+/);
  });

  it('names the variable of a port in use by another program', async () => {
    const blocker = createServer();
    const port = await listen(blocker, 0);
    try {
      const r = await runTool('scripts/dev.ts', [], { CASHIER_DATA_DIR: dataDir, CASHIER_PORT: String(port), WECHAT_SANDBOX_PORT: '0', HUIFU_SANDBOX_PORT: '0' });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`port ${port} \\(CASHIER_PORT\\) is in use: another program holds it .* Set CASHIER_PORT to a free port, or 0`));
      expect(r.stderr).not.toMatch(/EADDRINUSE.*\n\s+at /);
    } finally {
      await closeServer(blocker);
    }
  });

  it('names SQLITE_PATH and the path when the database cannot be opened', async () => {
    const r = await runTool('scripts/dev.ts', [], { CASHIER_DATA_DIR: dataDir, CASHIER_PORT: '0', WECHAT_SANDBOX_PORT: '0', HUIFU_SANDBOX_PORT: '0', SQLITE_PATH: dataDir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot open the SQLite database at ${escapeRegExp(dataDir)} \\(SQLITE_PATH`));
  });
});

describe('a running stack is found, not guessed', () => {
  it('writes stack.json, tells a second `pnpm dev` which one holds the port, and `pnpm ops` acts on it', async () => {
    const dev = await startDev({ CASHIER_DATA_DIR: dataDir, CASHIER_PORT: '0' });
    try {
      const state = JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')) as { pid: number; functionsUrl: string };
      expect(dev.ready).toContain(state.functionsUrl);
      expect(existsSync(join(dataDir, 'sandbox-credentials.json'))).toBe(true);
      const port = new URL(state.functionsUrl).port;
      const second = await runTool('scripts/dev.ts', [], { CASHIER_DATA_DIR: dataDir, CASHIER_PORT: port });
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`\\(CASHIER_PORT\\) is in use: another \`pnpm dev\` is running from ${escapeRegExp(dataDir)} \\(pid ${state.pid}`));

      const ops = await runTool('scripts/ops.ts', ['notifications'], { CASHIER_DATA_DIR: dataDir });
      expect(ops.code).toBe(0);
      expect(ops.stderr).toMatch(new RegExp(`ops: acting on environment local \\(stack pid ${state.pid}, functions ${state.functionsUrl}\\), store SQLite`));

      // Output piped into another program arrives whole (ops used to exit before stdout drained).
      const store = openSqliteStore({ path: join(dataDir, 'cashier.db') });
      for (let i = 0; i < 300; i++) {
        await store.insertNotification({ id: i.toString(16).padStart(64, '0'), kind: 'pay', reqSeqId: `P${i}`, notifyType: 1, transStat: 'S', respData: '{}', sign: 's', outcome: 'applied', receivedAt: i, processedAt: i });
      }
      await store.close();
      const piped = await exec('sh', ['-c', `"${tsx}" scripts/ops.ts notifications --limit 300 | cat`], { cwd: root, env: { ...baseEnv(), CASHIER_DATA_DIR: dataDir } });
      expect(piped.stdout.trim().split('\n')).toHaveLength(300);
    } finally {
      await dev.stop();
    }
    expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
  }, 60_000);

  it('`pnpm ops` aimed at a stack that is not running says so', async () => {
    const r = await runTool('scripts/ops.ts', ['notifications'], { CASHIER_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ops: no local stack is running from .* start one with `pnpm dev`/);
  });
});

describe('pnpm checkout:link validates its flags', () => {
  it.each([
    [['--amount', '0.01', '--desc', 'x', '--ttl', 'abc'], /--ttl must be a whole number of seconds, got "abc"/],
    [['--amount', '0.01', '--desc', 'x', '--ttl', '999999'], /--ttl must be from 60 to 86400 seconds/],
    [['--amount', '0.01', '--desc', 'x', '--colour', 'red'], /Unknown option '--colour'/],
    [['--amount', '1.234', '--desc', 'x'], /--amount: "1\.234" is not a yuan amount/],
    [['--desc', 'x'], /--amount is required/],
  ])('%j is refused with a reason and the usage, exit 2', async (args, reason) => {
    const r = await runTool('scripts/checkout-link.ts', args as string[], { CASHIER_DATA_DIR: dataDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(reason as RegExp);
    expect(r.stderr).toMatch(/usage: pnpm checkout:link/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await runTool('scripts/checkout-link.ts', ['--help']);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/--ttl <seconds>/) });
  });
});

describe('pnpm console', () => {
  it.each([
    [[], /--env production is required \(the local stack's console is at http:\/\/127\.0\.0\.1:<CASHIER_PORT>\/console\/ while pnpm dev runs\)/],
    [['--env', 'production', '--port', 'x'], /--port must be a port number \(0-65535\), got x/],
    [['--env', 'staging'], /--env production is required/],
  ])('%j is refused with the reason, exit 2', async (args, reason) => {
    const r = await runTool('scripts/console.ts', args as string[], { CASHIER_DATA_DIR: dataDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(reason as RegExp);
  });

  // On a machine with a real .env.production this would open the real console: only where there is none.
  (existsSync(join(root, '.env.production')) ? it.skip : it)('--env production without .env.production names the file to create', async () => {
    const r = await runTool('scripts/console.ts', ['--env', 'production'], { CASHIER_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\.env\.production, which does not exist: copy \.env\.example to \.env\.production/);
  });
});
