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
  const serverTime = Math.floor(nowMs / 1000);
  if (!/^\d{1,15}$/.test(request.timestamp)) {
    throw new PayError('SIGNATURE_INVALID', `X-Cashier-Timestamp must be unix seconds (digits only), got "${request.timestamp.slice(0, 20)}"; server time is ${serverTime}`);
  }
  if (request.timestamp.length === 13 && Math.abs(Number(request.timestamp) / 1000 - serverTime) <= MERCHANT_TOLERANCE_SECONDS) {
    throw new PayError('SIGNATURE_STALE', `X-Cashier-Timestamp ${request.timestamp} looks like milliseconds: send unix seconds (server time is ${serverTime})`);
  }
  const skew = Math.abs(serverTime - Number(request.timestamp));
  if (skew > MERCHANT_TOLERANCE_SECONDS) {
    throw new PayError('SIGNATURE_STALE', `request timestamp ${request.timestamp} is ${Math.round(skew)} s away from server time ${serverTime} (tolerance ${MERCHANT_TOLERANCE_SECONDS} s): check the caller's clock`);
  }
  const signed = merchantStringToSign(request.timestamp, request.method, request.path, request.body);
  const expected = hmacSha256Hex(secret, signed);
  if (!safeEqual(expected, request.signature.toLowerCase())) {
    const shown = JSON.stringify(signed.length > 300 ? `${signed.slice(0, 300)}…` : signed);
    throw new PayError(
      'SIGNATURE_INVALID',
      `signature mismatch: the server verified HMAC-SHA256(MERCHANT_API_SECRET, ${shown}) in hex. Sign "<timestamp>\\n<METHOD>\\n<path>\\n<raw body>" ` +
        'with the path relative to the merchant prefix (e.g. /refunds) and the body exactly as sent; check that both sides use the same MERCHANT_API_SECRET',
    );
  }
}
