import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig } from '../../cloudfunctions/src/config';
import { environmentVariables } from '../../scripts/lib/env-file';
import type { KeyFile } from '../../scripts/lib/local-keys';
import { localStackEnv, SANDBOX_IDS } from '../../scripts/stack/env';
import { makeKeyPair } from '../support/keys';

const merchant = makeKeyPair();
const huifu = makeKeyPair();
const keys: KeyFile = {
  merchantPrivateKey: merchant.privateKey,
  merchantPublicKey: merchant.publicKey,
  huifuPrivateKey: huifu.privateKey,
  huifuPublicKey: huifu.publicKey,
  sessionSecret: 'a'.repeat(64),
  checkoutSecret: 'b'.repeat(64),
  merchantApiSecret: 'c'.repeat(64),
  appWebhookSecret: 'd'.repeat(64),
};
const at = { functionsUrl: 'http://127.0.0.1:8787', sqlitePath: '.local/cashier.db', huifuUrl: 'http://127.0.0.1:8789', wechatUrl: 'http://127.0.0.1:8788' };

function problems(overrides: Record<string, string>): string[] {
  try {
    localStackEnv(keys, at, overrides);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('the local stack environment', () => {
  it('without .env.local: every gateway is a sandbox, with the sandbox identity and generated keys', () => {
    const config = loadConfig(localStackEnv(keys, at, {}));
    expect(config.huifuApi).toMatchObject({ apiBase: at.huifuUrl, sysId: SANDBOX_IDS.sysId, notifyUrl: 'http://127.0.0.1:8787/http/huifu/notify' });
    expect(config.wechatLogin.apiBase).toBe(at.wechatUrl);
    expect(config.store).toEqual({ kind: 'sqlite', path: '.local/cashier.db' });
  });

  it('.env.example copied unchanged to .env.local is refused, listing what is missing, never filled from the sandbox', () => {
    const example = parseEnv(readFileSync(join(__dirname, '../../.env.example'), 'utf8')) as Record<string, string>;
    const listed = problems(example);
    for (const name of ['HUIFU_SYS_ID', 'HUIFU_PRODUCT_ID', 'HUIFU_ID', 'HUIFU_MERCHANT_PRIVATE_KEY', 'HUIFU_PUBLIC_KEY', 'HUIFU_NOTIFY_URL', 'WX_APPID', 'WX_SECRET', 'STORE']) {
      expect(listed.some((p) => p.startsWith(`${name}:`))).toBe(true);
    }
    expect(listed.find((p) => p.startsWith('HUIFU_SYS_ID'))).toMatch(/HUIFU_API_BASE names a real Huifu gateway/);
  });

  it('a real Huifu gateway takes every HUIFU_* value from the file', () => {
    const real = {
      HUIFU_API_BASE: 'https://opps-stbmertest.testpnr.com', HUIFU_SYS_ID: '6666000111111111', HUIFU_PRODUCT_ID: 'MYPAY', HUIFU_ID: '6666000122222222',
      HUIFU_MERCHANT_PRIVATE_KEY: merchant.privateKey, HUIFU_PUBLIC_KEY: huifu.publicKey, HUIFU_NOTIFY_URL: 'https://pay.example.com/huifu/notify',
    };
    const config = loadConfig(localStackEnv(keys, { ...at, huifuUrl: null }, real));
    expect(config.huifuApi).toMatchObject({ apiBase: real.HUIFU_API_BASE, sysId: real.HUIFU_SYS_ID, productId: 'MYPAY', notifyUrl: real.HUIFU_NOTIFY_URL });
    expect(config.huifu.huifuId).toBe(real.HUIFU_ID);
  });

  it('refuses a Huifu identity without a real gateway, a WeChat secret without the real API, and STORE=cloudbase', () => {
    expect(problems({ HUIFU_SYS_ID: '6666000111111111' })).toEqual([expect.stringMatching(/^HUIFU_SYS_ID: set without HUIFU_API_BASE/)]);
    expect(problems({ WX_SECRET: 'real-secret' })).toEqual([expect.stringMatching(/^WX_SECRET: set without WX_API_BASE/)]);
    expect(problems({ STORE: 'cloudbase', TCB_ENV: 'prod-1' })).toEqual([expect.stringMatching(/^STORE: the local stack runs on SQLite/)]);
    expect(problems({ HUIFU_API_VERSION: 'v4', WX_APPID: 'wx0123456789abcdef' })).toEqual([]);
  });

  it('reads .env.local for local tools and .env.production for production, never .env; the process environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cashier-envfiles-'));
    try {
      writeFileSync(join(dir, '.env'), 'HUIFU_API_VERSION=v4\n');
      expect(environmentVariables('local', dir, {}).variables).toEqual({});
      writeFileSync(join(dir, '.env.local'), 'HUIFU_API_VERSION=v4\nUNRELATED=1\n');
      writeFileSync(join(dir, '.env.production'), 'TCB_ENV=prod-9\nHUIFU_API_VERSION=v2\n');
      expect(environmentVariables('local', dir, {})).toEqual({ file: join(dir, '.env.local'), variables: { HUIFU_API_VERSION: 'v4' } });
      expect(environmentVariables('production', dir, { HUIFU_API_VERSION: 'v4' }).variables).toEqual({ TCB_ENV: 'prod-9', HUIFU_API_VERSION: 'v4' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
