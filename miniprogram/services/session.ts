import type { ErrorBody } from '@cashier/shared';
import type { LoginResult } from '@cashier/shared/contracts';
import { callFunction, type Result } from './transport';

/** Login on demand (wx.login → fn login), kept in storage, renewed when it expires or the server refuses it. */
const STORAGE_KEY = 'cashier.session';
const RENEW_MARGIN_MS = 60_000;

interface Session {
  token: string;
  expiresAt: number;
}

let current: Session | null = null;

function wxLogin(): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({ success: (res) => (res.code ? resolve(res.code) : reject(new Error('no code'))), fail: reject });
  });
}

function stored(): Session | null {
  try {
    const value = wx.getStorageSync(STORAGE_KEY) as Session | '';
    return value && typeof value === 'object' ? value : null;
  } catch {
    return null;
  }
}

export async function ensureSession(force = false): Promise<Result<string>> {
  current = current ?? stored();
  if (!force && current && current.expiresAt - RENEW_MARGIN_MS > Date.now()) return { ok: true, data: current.token };
  let code: string;
  try {
    code = await wxLogin();
  } catch {
    return { ok: false, error: { code: 'WECHAT_UNAVAILABLE', message: '微信登录失败，请重试', retryable: true } as ErrorBody };
  }
  const answer = await callFunction<LoginResult>('login', { code });
  if (!answer.ok) return answer;
  current = { token: answer.data.sessionToken, expiresAt: answer.data.expiresAt };
  wx.setStorageSync(STORAGE_KEY, current);
  return { ok: true, data: current.token };
}

/** Calls a function with the session token; one renewal and retry when the server says the session is gone. */
export async function callWithSession<T>(name: string, data: Record<string, unknown>): Promise<Result<T>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const session = await ensureSession(attempt > 0);
    if (!session.ok) return session;
    const answer = await callFunction<T>(name, { ...data, sessionToken: session.data });
    if (answer.ok || answer.error.code !== 'UNAUTHENTICATED') return answer;
  }
  return callFunction<T>(name, { ...data, sessionToken: '' });
}
