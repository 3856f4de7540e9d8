import type { LoginResult } from '@cashier/shared';
import { issueSessionToken } from '../auth/session';
import { maskOpenid } from '../wechat/jscode2session';
import type { Deps } from './deps';

/** wx.login code → openid (jscode2session) → our session token. */
export async function login(deps: Deps, code: string): Promise<LoginResult> {
  const session = await deps.exchangeCode(code);
  const now = deps.clock.now();
  await deps.store.recordLogin({ openid: session.openid, appid: deps.config.wechat.appid, at: now });
  const { token, expiresAt } = await issueSessionToken(session.openid, deps.config.tokens.sessionSecret, deps.config.tokens.sessionTtlSeconds, now);
  deps.log.info('login', { openid: maskOpenid(session.openid) });
  return { sessionToken: token, expiresAt, openidHint: maskOpenid(session.openid) };
}
