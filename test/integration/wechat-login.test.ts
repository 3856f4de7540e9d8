import { createServer } from 'node:http';
import { code2Session, maskOpenid, WechatLoginError } from '../../cloudfunctions/src/wechat/jscode2session';
import { closeServer, listen } from '../../scripts/lib/http';
import { startWechatSandbox, type WechatSandbox } from '../../scripts/stack/wechat-sandbox';

const APPID = 'wx0123456789abcdef';
let wechat: WechatSandbox;
const login = (code: string, overrides: Partial<Parameters<typeof code2Session>[0]> = {}) =>
  code2Session({ apiBase: wechat.url, appid: APPID, secret: 'secret', timeoutMs: 1000, ...overrides }, code);

beforeAll(async () => {
  wechat = await startWechatSandbox({ appid: APPID, secret: 'secret' });
});
afterAll(() => wechat.close());

describe('jscode2session against the WeChat sandbox', () => {
  it('exchanges a fresh code for the openid and never hands out the session_key', async () => {
    const session = await login(wechat.mintCode('o_alice_123'));
    expect(session).toEqual({ openid: 'o_alice_123', unionid: null });
    expect(JSON.stringify(session)).not.toMatch(/session_key/);
  });

  it.each([
    ['an unknown code', 40029, 'LOGIN_CODE_INVALID'],
  ])('maps %s to errcode %d / %s', async (_what, errcode, code) => {
    const error = await login('made-up-code').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatLoginError);
    expect(error).toMatchObject({ errcode, code, retryable: false });
  });

  it('refuses a code used twice with 40163', async () => {
    const code = wechat.mintCode('o_bob_1234');
    await login(code);
    await expect(login(code)).rejects.toMatchObject({ errcode: 40163, code: 'LOGIN_CODE_USED' });
  });

  it('expires codes after 5 minutes', async () => {
    const code = wechat.mintCode('o_carol_12');
    wechat.advanceClock(5 * 60_000 + 1);
    await expect(login(code)).rejects.toMatchObject({ errcode: 40029 });
  });

  it('maps 45011 to a retryable rate limit and -1 to a retryable busy', async () => {
    wechat.failNext(45011);
    await expect(login(wechat.mintCode('o_dave_123'))).rejects.toMatchObject({ errcode: 45011, code: 'WECHAT_RATE_LIMITED', retryable: true });
    wechat.failNext(-1);
    await expect(login(wechat.mintCode('o_dave_123'))).rejects.toMatchObject({ errcode: -1, code: 'WECHAT_UNAVAILABLE', retryable: true });
  });

  it('maps 40226 (a high-risk user) to its own final answer, not "WeChat busy"', async () => {
    wechat.failNext(40226);
    await expect(login(wechat.mintCode('o_dave_123'))).rejects.toMatchObject({ errcode: 40226, code: 'LOGIN_BLOCKED', retryable: false });
  });

  it('names the configuration when the appid or secret is wrong', async () => {
    await expect(login(wechat.mintCode('o_erin_123'), { secret: 'wrong' })).rejects.toMatchObject({ errcode: 40125, code: 'PAYMENT_CONFIG_ERROR' });
    await expect(login(wechat.mintCode('o_erin_123'), { secret: 'wrong' })).rejects.toThrow(/WX_APPID and WX_SECRET/);
  });

  it('maps unknown codes to the dev openid only when the dev switch is on', async () => {
    const dev = await startWechatSandbox({ appid: APPID, secret: 'secret', devOpenid: 'o_dev_user' });
    try {
      const result = await code2Session({ apiBase: dev.url, appid: APPID, secret: 'secret', timeoutMs: 1000 }, '0a3xDevToolsCode');
      expect(result.openid).toBe('o_dev_user');
      await expect(code2Session({ apiBase: dev.url, appid: APPID, secret: 'secret', timeoutMs: 1000 }, '0a3xDevToolsCode')).rejects.toMatchObject({ errcode: 40163 });
    } finally {
      await dev.close();
    }
  });

  it('turns a silent WeChat into a retryable WECHAT_UNAVAILABLE after the timeout', async () => {
    const silent = createServer(() => undefined);
    const port = await listen(silent, 0);
    try {
      await expect(login('x', { apiBase: `http://127.0.0.1:${port}`, timeoutMs: 200 })).rejects.toMatchObject({ code: 'WECHAT_UNAVAILABLE', retryable: true });
    } finally {
      await closeServer(silent);
    }
  });

  it('masks openids for logs', () => {
    expect(maskOpenid('oAbCdEfGhIjKlMn')).toBe('oAb***Mn');
    expect(maskOpenid('short')).toBe('***');
  });
});
