import { errorBody } from '@cashier/shared';
import type { LoginResult } from '@cashier/shared/contracts';
import { callFunction, type Result } from './transport';

/**
 * Login on demand (wx.login → fn login), kept in storage, renewed when it expires or the server refuses it. One login
 * at a time: calls that need a session while one is being made share it. A login code WeChat calls used or invalid is
 * replaced by a fresh wx.login once.
 */
const STORAGE_KEY = 'cashier.session';
const RENEW_MARGIN_MS = 60_000;

interface Session {
  token: string;
  expiresAt: number;
}

let current: Session | null = null;
let inFlight: Promise<Result<string>> | null = null;

function wxLogin(): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({ success: (res) => (res.code ? resolve(res.code) : reject(new Error('no code'))), fail: reject });
  });
}

function stored(): Session | null {
  try {
    // Storage holds whatever an older build or another page wrote there: '' when empty.
    const value = wx.getStorageSync(STORAGE_KEY) as Partial<Session> | null | undefined;
    return typeof value?.token === 'string' && typeof value.expiresAt === 'number' ? (value as Session) : null;
  } catch {
    return null;
  }
}

/** The session token if one is valid now, without logging in. */
export function sessionAtHand(): string | null {
  current = current ?? stored();
  return current && current.expiresAt - RENEW_MARGIN_MS > Date.now() ? current.token : null;
}

async function logIn(): Promise<Result<string>> {
  for (let attempt = 0; ; attempt++) {
    let code: string;
    try {
      code = await wxLogin();
    } catch {
      return { ok: false, error: { ...errorBody('WECHAT_UNAVAILABLE'), message: '微信登录失败，请重试' } };
    }
    const answer = await callFunction<LoginResult>('login', { code });
    if (answer.ok) {
      current = { token: answer.data.sessionToken, expiresAt: answer.data.expiresAt };
      wx.setStorageSync(STORAGE_KEY, current);
      return { ok: true, data: current.token };
    }
    const staleCode = answer.error.code === 'LOGIN_CODE_USED' || answer.error.code === 'LOGIN_CODE_INVALID';
    if (!staleCode || attempt > 0) return answer;
  }
}

/** A valid session token: the one at hand, or a new login (shared with any login already under way). */
export function ensureSession(renew = false): Promise<Result<string>> {
  if (renew) {
    current = null;
    wx.removeStorageSync(STORAGE_KEY);
  }
  const token = renew ? null : sessionAtHand();
  if (token) return Promise.resolve({ ok: true, data: token });
  if (!inFlight) {
    inFlight = logIn().then((result) => {
      inFlight = null;
      return result;
    });
  }
  return inFlight;
}

/** Calls a function with the session token; one renewal and retry when the server says the session is gone. */
export async function callWithSession<T>(name: string, data: Record<string, unknown>): Promise<Result<T>> {
  let answer: Result<T> | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    const session = await ensureSession(attempt > 0);
    if (!session.ok) return session;
    answer = await callFunction<T>(name, { ...data, sessionToken: session.data });
    if (answer.ok || answer.error.code !== 'UNAUTHENTICATED') return answer;
  }
  return answer!;
}
