import * as z from '@cashier/shared/src/zod';
import { PayError } from '../domain/errors';
import { transportFailure } from '../providers/transport';

/**
 * WeChat's code → openid exchange. The session_key WeChat returns is deliberately dropped here: nothing of ours
 * needs it (no encrypted user data is decrypted), so it is never returned, stored or logged.
 */
export class WechatLoginError extends PayError {
  constructor(
    code: 'LOGIN_CODE_INVALID' | 'LOGIN_BLOCKED' | 'LOGIN_CODE_USED' | 'WECHAT_RATE_LIMITED' | 'WECHAT_UNAVAILABLE' | 'PAYMENT_CONFIG_ERROR',
    message: string,
    readonly errcode: number | null,
  ) {
    super(code, message);
  }
}

const Answer = z.union([
  z.object({ openid: z.string().check(z.minLength(1)), session_key: z.optional(z.string()), unionid: z.optional(z.string()), errcode: z.optional(z.literal(0)) }),
  z.object({ errcode: z.int(), errmsg: z._default(z.optional(z.string()), '') }),
]);

export interface WechatSession {
  openid: string;
  unionid: string | null;
}

export interface WechatLoginOptions {
  apiBase: string;
  appid: string;
  secret: string;
  timeoutMs: number;
}

export async function code2Session(options: WechatLoginOptions, code: string): Promise<WechatSession> {
  const url = new URL('/sns/jscode2session', options.apiBase);
  url.search = new URLSearchParams({ appid: options.appid, secret: options.secret, js_code: code, grant_type: 'authorization_code' }).toString();
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
    text = await res.text();
    if (!res.ok) throw new WechatLoginError('WECHAT_UNAVAILABLE', `jscode2session answered HTTP ${res.status}`, null);
  } catch (error) {
    if (error instanceof WechatLoginError) throw error;
    const failure = transportFailure(error);
    throw new WechatLoginError(
      'WECHAT_UNAVAILABLE',
      failure.sent
        ? `jscode2session gave no answer (${failure.code === 'TIMEOUT' ? `within ${options.timeoutMs} ms` : failure.code}); the code may have been used, so a retry needs a fresh wx.login`
        : `jscode2session was not reached at ${options.apiBase} (${failure.code}: ${failure.detail.slice(0, 120)}); nothing was sent. Check WX_API_BASE and the network`,
      null,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WechatLoginError('WECHAT_UNAVAILABLE', 'jscode2session answered with a body that is not JSON', null);
  }
  const parsed = Answer.safeParse(json);
  if (!parsed.success) throw new WechatLoginError('WECHAT_UNAVAILABLE', 'jscode2session answered without openid or errcode', null);
  const answer = parsed.data;
  if ('openid' in answer) return { openid: answer.openid, unionid: answer.unionid ?? null };
  const { errcode, errmsg } = answer;
  switch (errcode) {
    case 40029:
      throw new WechatLoginError('LOGIN_CODE_INVALID', `jscode2session 40029: invalid code (${errmsg})`, errcode);
    case 40163:
      throw new WechatLoginError('LOGIN_CODE_USED', `jscode2session 40163: code already used; call wx.login again (${errmsg})`, errcode);
    case 40226:
      throw new WechatLoginError('LOGIN_BLOCKED', `jscode2session 40226: high-risk user, login refused by WeChat (${errmsg})`, errcode);
    case 45011:
      throw new WechatLoginError('WECHAT_RATE_LIMITED', `jscode2session 45011: rate limited (${errmsg})`, errcode);
    case -1:
      throw new WechatLoginError('WECHAT_UNAVAILABLE', `jscode2session -1: WeChat busy, try again (${errmsg})`, errcode);
    case 40013:
    case 40125:
    case 41002:
    case 41004:
      throw new WechatLoginError('PAYMENT_CONFIG_ERROR', `jscode2session ${errcode}: check WX_APPID and WX_SECRET (${errmsg})`, errcode);
    default:
      throw new WechatLoginError('WECHAT_UNAVAILABLE', `jscode2session ${errcode}: ${errmsg}`, errcode);
  }
}

/** First three and last two characters: enough to tell users apart in logs, not enough to identify one. */
export function maskOpenid(openid: string): string {
  return openid.length <= 6 ? '***' : `${openid.slice(0, 3)}***${openid.slice(-2)}`;
}
