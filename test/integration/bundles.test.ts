import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFunctions, FUNCTIONS } from '../../cloudfunctions/build';

/** Each deployable bundle must run alone: no node_modules, no source tree, no configuration. */
let out: string;
let sizes: Array<{ name: string; bytes: number }>;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'cashier-dist-'));
  sizes = await buildFunctions(out);
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

function invoke(fn: string, event: unknown): unknown {
  const clean = mkdtempSync(join(tmpdir(), `cashier-${fn}-`));
  try {
    cpSync(join(out, fn), clean, { recursive: true });
    const script = `require('./index.js').main(${JSON.stringify(event)}, {}).then((r) => process.stdout.write('RESULT' + JSON.stringify(r)))`;
    const stdout = execFileSync(process.execPath, ['-e', script], { cwd: clean, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 30_000 });
    return JSON.parse(stdout.slice(stdout.indexOf('RESULT') + 6));
  } finally {
    rmSync(clean, { recursive: true, force: true });
  }
}

describe('deployable bundles', () => {
  it('builds index.js, package.json and config.json for every function, with the reconcile timer', () => {
    for (const fn of FUNCTIONS) {
      for (const file of ['index.js', 'package.json', 'config.json']) expect([fn, file, existsSync(join(out, fn, file))]).toEqual([fn, file, true]);
    }
    const timer = JSON.parse(readFileSync(join(out, 'reconcile', 'config.json'), 'utf8'));
    expect(timer.triggers[0]).toMatchObject({ type: 'timer', config: '0 * * * * * *' });
    expect(sizes.every((s) => s.bytes > 10_000 && s.bytes < 5 * 1024 * 1024)).toBe(true);
  });

  it.each([
    ['login', { codee: 1 }],
    ['order', { action: 'pay', sessionToken: 1 }],
    ['reconcile', { batch: -1 }],
  ])('%s answers a malformed event with INVALID_REQUEST, in a clean folder', (fn, event) => {
    expect(invoke(fn, event)).toEqual({ ok: false, error: { code: 'INVALID_REQUEST', message: expect.any(String), retryable: false } });
  });

  it('payNotify and merchant answer a malformed HTTP access event with 400', () => {
    expect(invoke('payNotify', { nothing: true })).toMatchObject({ statusCode: 400 });
    expect(invoke('merchant', 'not an event')).toMatchObject({ statusCode: 400, body: expect.stringContaining('INVALID_REQUEST') });
  });

  it('a well-formed call without configuration answers CONFIG_INVALID, not a crash', () => {
    expect(invoke('login', { code: 'abc' })).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID', retryable: false } });
  });
});
