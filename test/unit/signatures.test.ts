import { createHmac } from 'node:crypto';
import { safeEqual, verifyWebhookSignature, webhookSignatureHeader } from '../../cloudfunctions/src/auth/hmac';
import { MERCHANT_TOLERANCE_SECONDS, signMerchantRequest, verifyMerchantRequest } from '../../cloudfunctions/src/auth/merchant-signature';

const SECRET = 'm'.repeat(40);
const NOW = 1_760_000_000_000;
const NOW_S = NOW / 1000;

/** A request signed as the README tells app backends to, computed here independently of the code under test. */
function request(timestamp: string, body = '', path = '/orders/X1') {
  const signature = createHmac('sha256', SECRET).update(`${timestamp}\nGET\n${path}\n${body}`, 'utf8').digest('hex');
  return { method: 'GET', path, body, timestamp, signature };
}
const refusal = (run: () => void) => {
  try {
    run();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a refusal');
};

describe('merchant request signatures', () => {
  it('accepts a request exactly at the tolerance on either side, and refuses one second beyond', () => {
    for (const skew of [-MERCHANT_TOLERANCE_SECONDS, MERCHANT_TOLERANCE_SECONDS]) {
      expect(() => verifyMerchantRequest(SECRET, request(String(NOW_S + skew)), NOW)).not.toThrow();
    }
    for (const skew of [-MERCHANT_TOLERANCE_SECONDS - 1, MERCHANT_TOLERANCE_SECONDS + 1]) {
      expect(refusal(() => verifyMerchantRequest(SECRET, request(String(NOW_S + skew)), NOW))).toMatchObject({
        code: 'SIGNATURE_STALE',
        message: expect.stringContaining(`is ${MERCHANT_TOLERANCE_SECONDS + 1} s away from server time ${NOW_S}`),
      });
    }
  });

  it('accepts the signature in upper-case hex', () => {
    const signed = request(String(NOW_S));
    expect(() => verifyMerchantRequest(SECRET, { ...signed, signature: signed.signature.toUpperCase() }, NOW)).not.toThrow();
  });

  it.each(['12a', '-1', '1.5', ' 1760000000', '1760000000 ', '0x10', '1'.repeat(16), `1760000000${'<script>'.repeat(500)}`])('refuses timestamp %j as not unix seconds, quoting at most 20 characters', (timestamp) => {
    const error = refusal(() => verifyMerchantRequest(SECRET, request(timestamp), NOW));
    expect(error).toMatchObject({ code: 'SIGNATURE_INVALID', message: expect.stringContaining(`must be unix seconds (digits only), got "${timestamp.slice(0, 20)}"; server time is ${NOW_S}`) });
  });

  it('calls a 13-digit timestamp near now milliseconds, up to the tolerance, and any other stale one stale', () => {
    for (const skewMs of [0, -MERCHANT_TOLERANCE_SECONDS * 1000, MERCHANT_TOLERANCE_SECONDS * 1000]) {
      expect(refusal(() => verifyMerchantRequest(SECRET, request(String(NOW + skewMs)), NOW))).toMatchObject({ code: 'SIGNATURE_STALE', message: expect.stringMatching(/looks like milliseconds: send unix seconds/) });
    }
    for (const timestamp of [String(NOW + (MERCHANT_TOLERANCE_SECONDS + 1) * 1000), '9999999999999', '100000000000000']) {
      const error = refusal(() => verifyMerchantRequest(SECRET, request(timestamp), NOW));
      expect(error).toMatchObject({ code: 'SIGNATURE_STALE', message: expect.stringMatching(/s away from server time/) });
    }
  });

  it('shows the string it verified, cut at 300 characters', () => {
    const exactly = 'b'.repeat(300 - `${NOW_S}\nGET\n/orders/X1\n`.length);
    const short = refusal(() => verifyMerchantRequest(SECRET, { ...request(String(NOW_S), exactly), signature: 'ab'.repeat(32) }, NOW));
    expect(short.message).toContain(JSON.stringify(`${NOW_S}\nGET\n/orders/X1\n${exactly}`));
    const long = refusal(() => verifyMerchantRequest(SECRET, { ...request(String(NOW_S), `${exactly}c`), signature: 'ab'.repeat(32) }, NOW));
    expect(long.message).toContain(JSON.stringify(`${NOW_S}\nGET\n/orders/X1\n${exactly}…`));
  });

  it('signs what it verifies', () => {
    const headers = signMerchantRequest(SECRET, 'get', '/orders/X1', '', NOW + 999);
    expect(headers).toEqual({ 'x-cashier-timestamp': String(NOW_S), 'x-cashier-signature': request(String(NOW_S)).signature });
  });
});

describe('hmac helpers', () => {
  it('compares digests of different lengths as unequal instead of throwing', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('ab', 'abc')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
  });

  it('accepts a webhook exactly at the tolerance and refuses one second beyond', () => {
    const header = webhookSignatureHeader(SECRET, '{}', NOW);
    expect(verifyWebhookSignature(SECRET, '{}', header, NOW + 300_000)).toBeNull();
    expect(verifyWebhookSignature(SECRET, '{}', header, NOW + 301_000)).toBe('timestamp outside the tolerance');
    expect(verifyWebhookSignature(SECRET, '{}', 'v1=abc', NOW)).toBe('malformed signature header');
  });
});
