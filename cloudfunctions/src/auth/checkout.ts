import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import * as z from '@cashier/shared/src/zod';
import { PayError } from '../domain/errors';

/**
 * The checkout token the app's backend mints (JWT HS256 with CHECKOUT_SECRET) and the native app passes in the
 * mini-program path `pages/checkout/index?t=<token>`. Claims: ref (the app's order id), amount_fen, description,
 * exp, optional attach. It is the only thing that says what to charge: the mini-program never sends an amount.
 */
/** A token valid for longer than this is refused: a leaked link should not stay payable for days. */
export const MAX_CHECKOUT_LIFETIME_SECONDS = 24 * 60 * 60;
/** How far ahead of our clock an app backend's clock may be when it sets `iat`. */
export const CLOCK_SKEW_SECONDS = 5 * 60;
/** Huifu goods_desc is at most 127 characters; ref becomes part of our records and the app's webhooks. */
export const REF_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_DESCRIPTION = 127;
export const MAX_ATTACH = 127;

export class CheckoutTokenError extends PayError {
  constructor(code: 'CHECKOUT_TOKEN_INVALID' | 'CHECKOUT_TOKEN_EXPIRED' | 'CHECKOUT_AMOUNT_INVALID', message: string) {
    super(code, message);
  }
}

export interface Checkout {
  ref: string;
  amountFen: number;
  description: string;
  attach: string | null;
  /** When the token expires (epoch ms). */
  expiresAt: number;
}

const Claims = z.object({
  ref: z.string().check(z.regex(REF_PATTERN, 'ref: 1-64 letters, digits, "_" or "-"')),
  amount_fen: z.number({ error: 'amount_fen must be a number' }),
  description: z.string().check(z.trim(), z.minLength(1, 'description is empty'), z.maxLength(MAX_DESCRIPTION, `description is over ${MAX_DESCRIPTION} characters`)),
  attach: z.optional(z.string().check(z.maxLength(MAX_ATTACH, `attach is over ${MAX_ATTACH} characters`))),
  exp: z.int(),
  iat: z.optional(z.int()),
});

const key = (secret: string) => new TextEncoder().encode(secret);

export async function verifyCheckoutToken(token: string, secret: string, now: number, maxFen: number): Promise<Checkout> {
  try {
    if (decodeProtectedHeader(token).alg !== 'HS256') throw new CheckoutTokenError('CHECKOUT_TOKEN_INVALID', 'checkout token must be signed with HS256');
  } catch (error) {
    if (error instanceof CheckoutTokenError) throw error;
    throw new CheckoutTokenError('CHECKOUT_TOKEN_INVALID', 'checkout token is malformed');
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key(secret), { algorithms: ['HS256'], currentDate: new Date(now), requiredClaims: ['exp'] }));
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_JWT_EXPIRED') throw new CheckoutTokenError('CHECKOUT_TOKEN_EXPIRED', 'checkout token expired; the app must mint a new one');
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw new CheckoutTokenError('CHECKOUT_TOKEN_INVALID', 'checkout token signature is wrong: is CHECKOUT_SECRET the same on the app backend?');
    throw new CheckoutTokenError('CHECKOUT_TOKEN_INVALID', `checkout token rejected (${code ?? 'malformed'}): ${(error as Error).message}`);
  }
  const claims = Claims.safeParse(payload);
  if (!claims.success) {
    throw new CheckoutTokenError('CHECKOUT_TOKEN_INVALID', `checkout token claims invalid: ${claims.error.issues.map((i) => i.message).join('; ')}`);
  }
  const { ref, amount_fen: amountFen, description, attach, exp, iat } = claims.data;
  if (!Number.isSafeInteger(amountFen) || amountFen < 1 || amountFen > maxFen) {
    throw new CheckoutTokenError('CHECKOUT_AMOUNT_INVALID', `amount_fen must be a whole number from 1 to ${maxFen}, got ${amountFen}`);
  }
  // Measured from our clock, not only from the token's own iat: a token "issued" a year ahead with exp = iat + 1 h
  // would otherwise stay payable for a year.
  const nowSeconds = Math.floor(now / 1000);
  if (iat !== undefined && iat > nowSeconds + CLOCK_SKEW_SECONDS) {
    throw new CheckoutTokenError('CHECKOUT_TOKEN_INVALID', `checkout token iat ${iat} is ${iat - nowSeconds} s in the future (server time ${nowSeconds}, allowed skew ${CLOCK_SKEW_SECONDS} s): check the app backend's clock`);
  }
  if (exp - nowSeconds > MAX_CHECKOUT_LIFETIME_SECONDS || exp - (iat ?? nowSeconds) > MAX_CHECKOUT_LIFETIME_SECONDS) {
    throw new CheckoutTokenError('CHECKOUT_TOKEN_INVALID', `checkout token lives longer than ${MAX_CHECKOUT_LIFETIME_SECONDS} s (exp ${exp}, server time ${nowSeconds})`);
  }
  return { ref, amountFen, description, attach: attach ?? null, expiresAt: exp * 1000 };
}

/** What an app backend does (README shows the same in Java and Go). Used by `pnpm checkout:link` and the demo. */
export async function mintCheckoutToken(
  claims: { ref: string; amountFen: number; description: string; attach?: string; ttlSeconds?: number },
  secret: string,
  now: number,
): Promise<string> {
  const iat = Math.floor(now / 1000);
  const body: Record<string, unknown> = { ref: claims.ref, amount_fen: claims.amountFen, description: claims.description };
  if (claims.attach) body.attach = claims.attach;
  return new SignJWT(body)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + (claims.ttlSeconds ?? 15 * 60))
    .sign(key(secret));
}

/** The mini-program path the native app launches (WXLaunchMiniProgram `path`). */
export function checkoutPath(token: string): string {
  return `pages/checkout/index?t=${token}`;
}
