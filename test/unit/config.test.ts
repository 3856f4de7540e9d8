import { ConfigError, loadConfig } from '../../cloudfunctions/src/config';
import { validEnv } from '../support/env';

describe('loadConfig', () => {
  const env = validEnv();

  it('loads a complete environment with defaults', () => {
    const config = loadConfig(env);
    expect(config.huifuApi.apiVersion).toBe('v2');
    expect(config.huifuApi.apiBase).toBe('https://api.huifu.com');
    expect(config.store).toEqual({ kind: 'sqlite', path: '.local/cashier.db' });
    expect(config.checkout.ttlMinutes).toBe(30);
    expect(config.huifuApi.merchantPrivateKey.type).toBe('private');
    expect(config.huifuApi.skillSource).toBeNull();
  });

  it('lists every missing or invalid variable in one error', () => {
    const broken = { ...env, WX_APPID: 'not-an-appid', HUIFU_ID: undefined, SESSION_SECRET: 'short', HUIFU_API_VERSION: 'v3' };
    let error: unknown;
    try {
      loadConfig(broken);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/WX_APPID: must look like wx/);
    expect(problems).toMatch(/HUIFU_ID: missing/);
    expect(problems).toMatch(/SESSION_SECRET: must be at least 32 characters/);
    expect(problems).toMatch(/HUIFU_API_VERSION: must be v2 or v4/);
    expect((error as ConfigError).problems).toHaveLength(4);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
  });

  it('never echoes secret values in the error', () => {
    const leaky = { ...env, SESSION_SECRET: 'TOPSECRET-short', HUIFU_MERCHANT_PRIVATE_KEY: 'TOPSECRETKEYMATERIAL' };
    expect(() => loadConfig(leaky)).toThrow(ConfigError);
    try {
      loadConfig(leaky);
    } catch (e) {
      expect(String((e as Error).message)).not.toMatch(/TOPSECRET/);
      expect((e as Error).message).toMatch(/HUIFU_MERCHANT_PRIVATE_KEY: not an RSA private key/);
    }
  });

  it('enforces Huifu notify URL rules: no query string, custom ports 8000-9005', () => {
    expect(() => loadConfig({ ...env, HUIFU_NOTIFY_URL: 'https://x.example.com/notify?a=1' })).toThrow(/query string/);
    expect(() => loadConfig({ ...env, HUIFU_NOTIFY_URL: 'https://x.example.com:9443/notify' })).toThrow(/8000-9005/);
    expect(loadConfig({ ...env, HUIFU_NOTIFY_URL: 'https://x.example.com/notify' }).huifuApi.notifyUrl).toBe('https://x.example.com/notify');
    // loopback is the local stack, where any port is fine
    expect(() => loadConfig({ ...env, HUIFU_NOTIFY_URL: 'http://127.0.0.1:8787/http/huifu/notify' })).not.toThrow();
  });

  it('requires a webhook secret with a webhook URL, and TCB_ENV with the CloudBase store', () => {
    expect(() => loadConfig({ ...env, APP_WEBHOOK_URL: 'https://app.example.com/hook' })).toThrow(/APP_WEBHOOK_SECRET: missing/);
    expect(() => loadConfig({ ...env, STORE: 'cloudbase' })).toThrow(/TCB_ENV: missing/);
    expect(loadConfig({ ...env, STORE: 'cloudbase', TCB_ENV: 'prod-1a2b' }).store).toEqual({ kind: 'cloudbase', env: 'prod-1a2b' });
  });

  it('treats blank variables as missing and rejects non-numeric numbers', () => {
    expect(() => loadConfig({ ...env, HUIFU_SYS_ID: '   ' })).toThrow(/HUIFU_SYS_ID: missing/);
    expect(() => loadConfig({ ...env, ORDER_TTL_MINUTES: 'soon' })).toThrow(/ORDER_TTL_MINUTES/);
  });

  it('accepts PEM keys as well as Base64 DER', () => {
    const { createPublicKey } = require('node:crypto') as typeof import('node:crypto');
    const pem = createPublicKey({ key: Buffer.from(env.HUIFU_PUBLIC_KEY!, 'base64'), format: 'der', type: 'spki' })
      .export({ format: 'pem', type: 'spki' })
      .toString();
    expect(loadConfig({ ...env, HUIFU_PUBLIC_KEY: pem }).huifu.huifuPublicKey.type).toBe('public');
  });
});

describe('loadConfig for one function (least privilege)', () => {
  const env = validEnv({ APP_WEBHOOK_URL: 'https://app.example.com/hook', APP_WEBHOOK_SECRET: 'w'.repeat(40) });

  it('reads only the function\'s own variables: payNotify loads without any secret but Huifu\'s public key', () => {
    const onlyNotify = { HUIFU_ID: env.HUIFU_ID, HUIFU_PUBLIC_KEY: env.HUIFU_PUBLIC_KEY, APP_WEBHOOK_URL: env.APP_WEBHOOK_URL };
    const config = loadConfig(onlyNotify, 'payNotify');
    expect(config.scope).toBe('payNotify');
    expect(config.huifu.huifuId).toBe(env.HUIFU_ID);
    expect(config.outbox.webhookUrl).toBe('https://app.example.com/hook');
  });

  it('ignores problems in variables the function is not given', () => {
    expect(() => loadConfig({ ...env, SESSION_SECRET: 'short', WX_APPID: 'bad' }, 'payNotify')).not.toThrow();
    expect(() => loadConfig({ ...env, SESSION_SECRET: 'short' }, 'login')).toThrow(/SESSION_SECRET/);
  });

  it('a group the function is not given cannot be read: the error names the function and the variables', () => {
    const config = loadConfig(env, 'payNotify');
    expect(() => config.huifuApi.merchantPrivateKey).toThrow(/the payNotify function is not given HUIFU_API_BASE, .*HUIFU_MERCHANT_PRIVATE_KEY.* \(group "huifuApi"\)/);
    expect(() => config.session.secret).toThrow(/not given SESSION_SECRET/);
    expect(() => loadConfig(env, 'login').huifu.huifuPublicKey).toThrow(/the login function is not given HUIFU_ID, HUIFU_PUBLIC_KEY/);
  });

  it('HUIFU_SKILL_SOURCE is optional and validated when present', () => {
    expect(loadConfig({ ...env, HUIFU_SKILL_SOURCE: 'dg-skill' }, 'order').huifuApi.skillSource).toBe('dg-skill');
    expect(() => loadConfig({ ...env, HUIFU_SKILL_SOURCE: 'bad value with spaces' }, 'order')).toThrow(/HUIFU_SKILL_SOURCE: must be 1-64 visible ASCII/);
  });
});
