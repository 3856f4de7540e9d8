import type { LoginResult } from '@cashier/shared';
import { issueSessionToken, SessionError } from '../auth/session';
import { maskOpenid } from '../wechat/jscode2session';
import type { Deps } from './deps';

/**
 * wx.login code → openid (jscode2session) → our session token. On CloudBase the platform also reports who is calling
 * (`platformOpenid`): a code that resolves to anyone else (a code lifted from another user) is refused.
 */
export async function login(deps: Deps, code: string, platformOpenid: string | null): Promise<LoginResult> {
  const session = await deps.exchangeCode(code);
  if (platformOpenid !== null && session.openid !== platformOpenid) {
    throw new SessionError(`login code belongs to ${maskOpenid(session.openid)}, the caller is ${maskOpenid(platformOpenid)}`);
  }
  const now = deps.clock.now();
  await deps.store.recordLogin({ openid: session.openid, appid: deps.config.wechat.appid, at: now });
  const { token, expiresAt } = await issueSessionToken(session.openid, deps.config.session.secret, deps.config.session.ttlSeconds, now);
  deps.log.info('login', { openid: maskOpenid(session.openid) });
  return { sessionToken: token, expiresAt, openidHint: maskOpenid(session.openid) };
}
