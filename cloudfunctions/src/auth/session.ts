import { jwtVerify, SignJWT } from 'jose';
import { PayError } from '../domain/errors';

/** Mini-program session tokens: JWT HS256, subject = openid, short-lived. */
const AUDIENCE = 'cashier-session';

export class SessionError extends PayError {
  constructor(message: string) {
    super('UNAUTHENTICATED', message);
  }
}

const key = (secret: string) => new TextEncoder().encode(secret);

export async function issueSessionToken(openid: string, secret: string, ttlSeconds: number, now: number): Promise<{ token: string; expiresAt: number }> {
  const iat = Math.floor(now / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(openid).setAudience(AUDIENCE).setIssuedAt(iat).setExpirationTime(exp).sign(key(secret));
  return { token, expiresAt: exp * 1000 };
}

/**
 * Returns the openid the token was issued to. On CloudBase the platform also tells us who is calling
 * (`platformOpenid`); when it does, it must be the token's subject, or a token lifted from another user is refused.
 */
export async function verifySessionToken(token: string, secret: string, now: number, platformOpenid?: string | null): Promise<string> {
  let subject: string | undefined;
  try {
    const { payload } = await jwtVerify(token, key(secret), { algorithms: ['HS256'], audience: AUDIENCE, currentDate: new Date(now) });
    subject = payload.sub;
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new SessionError(code === 'ERR_JWT_EXPIRED' ? 'session token expired; log in again' : `session token invalid (${code ?? 'malformed'})`);
  }
  if (!subject) throw new SessionError('session token has no subject');
  if (platformOpenid && platformOpenid !== subject) {
    throw new SessionError('session token belongs to another WeChat user than the caller the platform reports');
  }
  return subject;
}
