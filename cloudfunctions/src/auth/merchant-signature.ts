import { PayError } from '../domain/errors';
import { hmacSha256Hex, safeEqual } from './hmac';

/**
 * Requests from the app's backend to the merchant API are signed with MERCHANT_API_SECRET:
 *   X-Cashier-Timestamp: <unix seconds>
 *   X-Cashier-Signature: hex(HMAC-SHA256(secret, "<timestamp>\n<METHOD>\n<path>\n<raw body>"))
 * where path is the route below the merchant prefix, e.g. "/refunds" (so the same signature works locally, where
 * the function host serves /http/merchant/refunds, and on CloudBase, whatever the HTTP access prefix is).
 */
export const MERCHANT_TOLERANCE_SECONDS = 300;

export function merchantStringToSign(timestamp: string, method: string, path: string, body: string): string {
  return `${timestamp}\n${method.toUpperCase()}\n${path}\n${body}`;
}

export function signMerchantRequest(secret: string, method: string, path: string, body: string, nowMs: number): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { 'x-cashier-timestamp': timestamp, 'x-cashier-signature': hmacSha256Hex(secret, merchantStringToSign(timestamp, method, path, body)) };
}

export function verifyMerchantRequest(
  secret: string,
  request: { method: string; path: string; body: string; timestamp: string | undefined; signature: string | undefined },
  nowMs: number,
): void {
  if (!request.timestamp || !request.signature) {
    throw new PayError('SIGNATURE_INVALID', 'missing X-Cashier-Timestamp or X-Cashier-Signature header');
  }
  if (!/^\d{9,11}$/.test(request.timestamp)) throw new PayError('SIGNATURE_INVALID', 'X-Cashier-Timestamp must be unix seconds');
  const skew = Math.abs(nowMs / 1000 - Number(request.timestamp));
  if (skew > MERCHANT_TOLERANCE_SECONDS) {
    throw new PayError('SIGNATURE_STALE', `request timestamp is ${Math.round(skew)} s away from server time ${Math.floor(nowMs / 1000)} (tolerance ${MERCHANT_TOLERANCE_SECONDS} s): check the caller's clock`);
  }
  const expected = hmacSha256Hex(secret, merchantStringToSign(request.timestamp, request.method, request.path, request.body));
  if (!safeEqual(expected, request.signature.toLowerCase())) {
    throw new PayError('SIGNATURE_INVALID', 'signature mismatch: sign "<timestamp>\\n<METHOD>\\n<path>\\n<raw body>" with MERCHANT_API_SECRET, path relative to the merchant prefix (e.g. /refunds), body exactly as sent');
  }
}
