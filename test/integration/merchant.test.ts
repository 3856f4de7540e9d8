import type { CreateResult, RefundView } from '@cashier/shared';
import { signMerchantRequest } from '../../cloudfunctions/src/auth/merchant-signature';
import { verifyWebhookSignature } from '../../cloudfunctions/src/auth/hmac';
import { deliverDueWebhooks, MAX_ATTEMPTS } from '../../cloudfunctions/src/services/webhooks';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let n = 0;
const nextRef = () => `MER-${Date.now()}-${++n}`;
const refundNo = () => `RF${Date.now()}${String(++n).padStart(4, '0')}`;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

async function merchant(method: 'GET' | 'POST', route: string, body?: unknown, options: { secret?: string; now?: number; tamper?: boolean } = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers = signMerchantRequest(options.secret ?? stack.config.merchantApi.secret, method, route, text, options.now ?? stack.clock.now());
  const res = await fetch(`${stack.urls.functions}/http/merchant${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: method === 'POST' ? (options.tamper ? text.replace(/\d+/, '9') : text) : undefined,
  });
  return { status: res.status, json: (await res.json()) as { ok: boolean; data?: any; error?: { code: string; message: string } } };
}

async function paidOrder(amountFen = 100): Promise<string> {
  const sessionToken = await stack.loginAs('o_merchant_1');
  const checkoutToken = await stack.checkout({ ref: nextRef(), amountFen });
  const created = await stack.data<CreateResult>('order', { action: 'create', sessionToken, checkoutToken });
  await stack.huifu!.pay(created.order.orderNo, 'S');
  await stack.huifu!.idle();
  return created.order.orderNo;
}

describe('merchant API signatures', () => {
  it('accepts a signed request and looks orders up by number and by ref', async () => {
    const orderNo = await paidOrder();
    const byNo = await merchant('GET', `/orders/${orderNo}`);
    expect(byNo).toMatchObject({ status: 200, json: { ok: true, data: { orderNo, status: 'PAID' } } });
    const byRef = await merchant('GET', `/orders/by-ref/${byNo.json.data.ref}`);
    expect(byRef.json.data.orderNo).toBe(orderNo);
  });

  it.each([
    ['a wrong secret', { secret: 'w'.repeat(40) }, 'SIGNATURE_INVALID'],
    ['a stale timestamp', { now: Date.now() - 6 * 60_000 }, 'SIGNATURE_STALE'],
    ['a body changed after signing', { tamper: true }, 'SIGNATURE_INVALID'],
  ])('refuses %s with 401', async (_what, options, code) => {
    const orderNo = await paidOrder();
    const res = await merchant('POST', '/refunds', { order_no: orderNo, refund_no: refundNo(), amount_fen: 10 }, options);
    expect(res.status).toBe(401);
    expect(res.json.error?.code).toBe(code);
    expect(await stack.deps.store.listRefundsByOrder(orderNo)).toEqual([]);
  });

  it('refuses a request without signature headers', async () => {
    const res = await fetch(`${stack.urls.functions}/http/merchant/orders/X123456789`);
    expect(res.status).toBe(401);
  });
});

describe('merchant API refusals say what to fix (the non-secret hint is in the answer)', () => {
  async function raw(method: string, route: string, headers: Record<string, string>, body = '') {
    const res = await fetch(`${stack.urls.functions}/http/merchant${route}`, { method, headers, body: method === 'POST' ? body : undefined });
    return { status: res.status, json: (await res.json()) as { ok: boolean; error?: { code: string; message: string; retryable: boolean; detail?: string } } };
  }
  const secret = () => stack.config.merchantApi.secret;

  it('a correctly signed request for a malformed path gets 400 with the reason, not a retryable 500', async () => {
    const route = '/orders/%E0%A4%A';
    const res = await raw('GET', route, signMerchantRequest(secret(), 'GET', route, '', stack.clock.now()));
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'INVALID_REQUEST', retryable: false, detail: expect.stringMatching(/not valid percent-encoding/) });
  });

  it('a stale timestamp: 401 with the server time', async () => {
    const res = await raw('GET', '/orders/X123456789', signMerchantRequest(secret(), 'GET', '/orders/X123456789', '', stack.clock.now() - 10 * 60_000));
    expect(res.status).toBe(401);
    expect(res.json.error).toMatchObject({ code: 'SIGNATURE_STALE', detail: expect.stringMatching(new RegExp(`is 600 s away from server time ${Math.floor(stack.clock.now() / 1000)}`)) });
  });

  it('a timestamp of 1000 is reported as stale (with the server time), not as "must be unix seconds"', async () => {
    const headers = { 'x-cashier-timestamp': '1000', 'x-cashier-signature': 'ab'.repeat(32) };
    const res = await raw('GET', '/orders/X123456789', headers);
    expect(res.json.error).toMatchObject({ code: 'SIGNATURE_STALE', detail: expect.stringMatching(/request timestamp 1000 is \d+ s away from server time/) });
  });

  it('a wrong signature: 401 with the exact string the server verified', async () => {
    const headers = signMerchantRequest('w'.repeat(40), 'GET', '/orders/X123456789', '', stack.clock.now());
    const res = await raw('GET', '/orders/X123456789', headers);
    expect(res.status).toBe(401);
    expect(res.json.error!.detail).toContain(JSON.stringify(`${headers['x-cashier-timestamp']}\nGET\n/orders/X123456789\n`));
    expect(res.json.error!.detail).not.toContain(secret());
  });

  it('signs exactly "<timestamp>\\n<METHOD>\\n<path>\\n<body>" (a known answer, computed here independently)', async () => {
    const { createHmac } = await import('node:crypto');
    const t = String(Math.floor(stack.clock.now() / 1000));
    const body = '{"order_no":"X1234567890","refund_no":"KNOWN0001","amount_fen":1}';
    const mac = createHmac('sha256', secret()).update(`${t}\nPOST\n/refunds\n${body}`, 'utf8').digest('hex');
    expect(signMerchantRequest(secret(), 'POST', '/refunds', body, Number(t) * 1000)).toEqual({ 'x-cashier-timestamp': t, 'x-cashier-signature': mac });
    // The same answer is accepted by the server (404: the order does not exist, but the signature held).
    expect((await raw('POST', '/refunds', { 'x-cashier-timestamp': t, 'x-cashier-signature': mac, 'content-type': 'application/json' }, body)).status).toBe(404);
  });

  it('a request signed for one path and sent to another is refused', async () => {
    const orderNo = await paidOrder();
    const headers = signMerchantRequest(secret(), 'GET', `/orders/${orderNo}`, '', stack.clock.now());
    expect((await raw('GET', `/orders/${orderNo}/refunds`, headers)).status).toBe(401);
    expect((await raw('GET', `/orders/${orderNo}`, headers)).status).toBe(200);
  });
});

describe('refunds', () => {
  it('refunds part of an order: PENDING → SUCCEEDED, the order becomes PARTIALLY_REFUNDED, then REFUNDED', async () => {
    const orderNo = await paidOrder(100);
    const first = refundNo();
    const res = await merchant('POST', '/refunds', { order_no: orderNo, refund_no: first, amount_fen: 30, reason: '部分退款' });
    expect(res.json.data).toMatchObject({ refundNo: first, status: 'PENDING', amountFen: 30 });
    await stack.huifu!.settleRefund(first, 'S');
    await stack.huifu!.idle();
    expect((await merchant('GET', `/refunds/${first}`)).json.data.status).toBe('SUCCEEDED');
    expect(await stack.deps.store.getOrder(orderNo)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedFen: 30, refundReservedFen: 0 });

    const second = refundNo();
    await merchant('POST', '/refunds', { order_no: orderNo, refund_no: second, amount_fen: 70 });
    await stack.huifu!.settleRefund(second, 'S');
    await stack.huifu!.idle();
    expect(await stack.deps.store.getOrder(orderNo)).toMatchObject({ status: 'REFUNDED', refundedFen: 100 });
    const listed = await merchant('GET', `/orders/${orderNo}/refunds`);
    expect((listed.json.data as RefundView[]).map((r) => [r.refundNo, r.status])).toEqual([
      [first, 'SUCCEEDED'],
      [second, 'SUCCEEDED'],
    ]);
  });

  it('treats the refund number as the idempotency key: same amount → same refund, other amount → conflict', async () => {
    const orderNo = await paidOrder(100);
    const no = refundNo();
    const a = await merchant('POST', '/refunds', { order_no: orderNo, refund_no: no, amount_fen: 10 });
    const b = await merchant('POST', '/refunds', { order_no: orderNo, refund_no: no, amount_fen: 10 });
    expect(b.json.data).toEqual(a.json.data);
    const c = await merchant('POST', '/refunds', { order_no: orderNo, refund_no: no, amount_fen: 11 });
    expect(c).toMatchObject({ status: 409, json: { error: { code: 'REFUND_CONFLICT' } } });
    expect(stack.huifu!.requests.filter((r) => r.operation === 'refund' && r.reqSeqId === no)).toHaveLength(1);
    expect((await stack.deps.store.getOrder(orderNo))!.refundReservedFen).toBe(10);
  });

  it('never lets 20 concurrent refunds exceed the paid amount', async () => {
    const orderNo = await paidOrder(100);
    const results = await Promise.all(Array.from({ length: 20 }, () => merchant('POST', '/refunds', { order_no: orderNo, refund_no: refundNo(), amount_fen: 10 })));
    const accepted = results.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(10);
    expect(results.filter((r) => r.status === 409).every((r) => r.json.error?.code === 'REFUND_EXCEEDS_AVAILABLE')).toBe(true);
    const order = await stack.deps.store.getOrder(orderNo);
    expect(order!.refundedFen + order!.refundReservedFen).toBe(100);
  });

  it('a failed refund releases its reservation and can be followed by another', async () => {
    const orderNo = await paidOrder(100);
    const failed = refundNo();
    await merchant('POST', '/refunds', { order_no: orderNo, refund_no: failed, amount_fen: 100 });
    expect((await stack.deps.store.getOrder(orderNo))!.refundReservedFen).toBe(100);
    await stack.huifu!.settleRefund(failed, 'F');
    await stack.huifu!.idle();
    expect(await stack.deps.store.getRefund(failed)).toMatchObject({ status: 'FAILED', failReason: expect.stringContaining('退款失败') });
    expect(await stack.deps.store.getOrder(orderNo)).toMatchObject({ status: 'PAID', refundReservedFen: 0, refundedFen: 0 });
    const retry = await merchant('POST', '/refunds', { order_no: orderNo, refund_no: refundNo(), amount_fen: 100 });
    expect(retry.status).toBe(200);
  });

  it('refuses refunds of unpaid orders and validates the body', async () => {
    const sessionToken = await stack.loginAs('o_merchant_1');
    const created = await stack.data<CreateResult>('order', { action: 'create', sessionToken, checkoutToken: await stack.checkout({ ref: nextRef(), amountFen: 100 }) });
    expect((await merchant('POST', '/refunds', { order_no: created.order.orderNo, refund_no: refundNo(), amount_fen: 1 })).json.error?.code).toBe('ORDER_NOT_REFUNDABLE');
    expect((await merchant('POST', '/refunds', { order_no: created.order.orderNo, refund_no: 'x', amount_fen: 1 })).status).toBe(400);
    expect((await merchant('POST', '/refunds', { refund_no: refundNo(), amount_fen: 1 })).status).toBe(400);
  });

  it('follows a refund whose notification was lost, through reconcile', async () => {
    const orderNo = await paidOrder(100);
    const no = refundNo();
    await merchant('POST', '/refunds', { order_no: orderNo, refund_no: no, amount_fen: 40 });
    stack.huifu!.setNotifyMode({ kind: 'drop' }, 1);
    await stack.huifu!.settleRefund(no, 'S');
    expect((await stack.deps.store.getRefund(no))!.status).toBe('PENDING');
    stack.advance(31_000);
    await stack.reconcile();
    expect((await stack.deps.store.getRefund(no))!.status).toBe('SUCCEEDED');
    expect((await stack.deps.store.getOrder(orderNo))!.refundedFen).toBe(40);
  });
});

describe('app webhooks (outbox)', () => {
  it('delivers a signed webhook the app backend can verify', async () => {
    const orderNo = await paidOrder(100);
    await stack.reconcile();
    const hook = stack.appWebhooks.find((h) => h.body.includes(orderNo) && h.event === 'order.paid')!;
    expect(hook.signatureValid).toBe(true);
    expect(JSON.parse(hook.body)).toMatchObject({ event: 'order.paid', data: { order_no: orderNo, status: 'PAID', amount_fen: 100 } });
    expect((await stack.deps.store.listWebhooks({ orderNo, limit: 5 }))[0]).toMatchObject({ status: 'DELIVERED', attempts: 1 });
  });

  it('retries with exponential backoff and marks a webhook DEAD after the last attempt', async () => {
    const orderNo = await paidOrder(100);
    const failing = { ...stack.deps, postWebhook: async () => ({ status: 503 }) };
    const gaps: number[] = [];
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const before = (await stack.deps.store.listWebhooks({ orderNo, limit: 1 }))[0]!;
      stack.advance(Math.max(before.nextAttemptAt - stack.clock.now(), 0) + 1);
      await deliverDueWebhooks(failing, 50);
      const after = (await stack.deps.store.listWebhooks({ orderNo, limit: 1 }))[0]!;
      expect(after.attempts).toBe(attempt);
      gaps.push(after.nextAttemptAt - after.updatedAt);
    }
    const hook = (await stack.deps.store.listWebhooks({ orderNo, limit: 1 }))[0]!;
    expect(hook).toMatchObject({ status: 'DEAD', attempts: MAX_ATTEMPTS, lastError: 'HTTP 503' });
    expect(gaps.slice(0, 4)).toEqual([30_000, 60_000, 120_000, 240_000]);
    stack.advance(24 * 3600_000);
    expect((await deliverDueWebhooks(failing, 50)).failed).toBe(0); // dead rows are not retried
  });

  it('signs webhooks as the README documents: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>")) (computed here independently)', async () => {
    const { createHmac } = await import('node:crypto');
    const { webhookSignatureHeader } = require('../../cloudfunctions/src/auth/hmac') as typeof import('../../cloudfunctions/src/auth/hmac');
    const secret = 'k'.repeat(40);
    const body = '{"id":"wh_1","event":"order.paid"}';
    const expected = createHmac('sha256', secret).update(`1795000000.${body}`, 'utf8').digest('hex');
    expect(webhookSignatureHeader(secret, body, 1_795_000_000_123)).toBe(`t=1795000000,v1=${expected}`);
    // And the README's own verification snippet accepts what the stack delivered.
    const orderNo = await paidOrder(100);
    await stack.reconcile();
    const hook = stack.appWebhooks.find((h) => h.body.includes(orderNo))!;
    expect(hook.signatureValid).toBe(true);
  });

  it('the README\'s own verification snippet, run as written: accepts a delivery, refuses altered, stale and malformed ones without throwing', () => {
    const crypto = require('node:crypto') as typeof import('node:crypto');
    const { readFileSync } = require('node:fs') as typeof import('node:fs');
    const { join } = require('node:path') as typeof import('node:path');
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    const snippet = /Verify on the raw body:\s*```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    const verify = new Function('crypto', 'header', 'rawBody', 'secret', `${snippet}\nreturn valid;`) as (c: typeof crypto, header: unknown, rawBody: string, secret: string) => boolean;
    const { webhookSignatureHeader } = require('../../cloudfunctions/src/auth/hmac') as typeof import('../../cloudfunctions/src/auth/hmac');
    const secret = 'k'.repeat(40);
    const body = '{"id":"wh_1","event":"order.paid"}';
    const header = webhookSignatureHeader(secret, body, Date.now());
    expect(verify(crypto, header, body, secret)).toBe(true);
    expect(verify(crypto, header, body.replace('paid', 'closed'), secret)).toBe(false);
    expect(verify(crypto, header, body, 'x'.repeat(40))).toBe(false);
    expect(verify(crypto, webhookSignatureHeader(secret, body, Date.now() - 301_000), body, secret)).toBe(false);
    const v1 = header.split('v1=')[1]!;
    for (const malformed of [undefined, '', 't=', 'v1=abc', `t=${Math.floor(Date.now() / 1000)},v1=abc`, `t=abc,v1=${v1}`, `t=1e3,v1=${v1}`, 'garbage', `v1=${v1}`]) {
      expect(verify(crypto, malformed, body, secret)).toBe(false);
    }
  });

  it('verifies as the README tells app backends to, refusing a stale or altered body', () => {
    const secret = stack.config.webhookDelivery.secret!;
    const { webhookSignatureHeader } = require('../../cloudfunctions/src/auth/hmac') as typeof import('../../cloudfunctions/src/auth/hmac');
    const now = Date.now();
    const header = webhookSignatureHeader(secret, '{"a":1}', now);
    expect(verifyWebhookSignature(secret, '{"a":1}', header, now)).toBeNull();
    expect(verifyWebhookSignature(secret, '{"a":2}', header, now)).toBe('signature mismatch');
    expect(verifyWebhookSignature(secret, '{"a":1}', header, now + 301_000)).toBe('timestamp outside the tolerance');
  });
});
