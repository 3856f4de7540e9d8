/**
 * The Huifu lifecycle as Huifu runs it (an asynchronous close, strict duplicate rules), through the services with
 * the real Huifu client and the sandbox, over both stores: SQLite, and the CloudBase adapter (real SDK, loopback
 * stand-in), which has no transactions and so exercises the repair paths.
 */
import { fenToYuan } from '../../cloudfunctions/src/domain/money';
import type { Order, Refund } from '../../cloudfunctions/src/domain/types';
import { HuifuClient } from '../../cloudfunctions/src/providers/huifu/client';
import { handleHuifuNotification } from '../../cloudfunctions/src/services/notifications';
import { cancelOrder } from '../../cloudfunctions/src/services/orders';
import { runReconcile } from '../../cloudfunctions/src/services/reconcile';
import { finishRefund, followRefund, requestRefund, submitRefund } from '../../cloudfunctions/src/services/refunds';
import { settleOrder } from '../../cloudfunctions/src/services/settle';
import { nextOrderNo } from '../support/fixtures';
import { TEST_IDS } from '../support/huifu';
import { startServices, STORE_KINDS, type ServiceHarness, type StoreKind } from '../support/services';

const FORM = 'application/x-www-form-urlencoded';
const operations = (h: ServiceHarness, operation: string) => h.sandbox.requests.filter((r) => r.operation === operation);
const webhookEvents = async (h: ServiceHarness, orderNo: string) => (await h.store.listWebhooks({ orderNo, limit: 50 })).map((w) => w.event).sort();

describe.each([
  ['sqlite', 'v2'],
  ['sqlite', 'v4'],
  ['cloudbase', 'v2'],
] as Array<[StoreKind, 'v2' | 'v4']>)('close, as Huifu runs it (%s store, API %s)', (kind, apiVersion) => {
  let h: ServiceHarness;
  beforeEach(async () => {
    h = await startServices(kind, { apiVersion });
  });
  afterEach(() => h.close());

  it('an expired order: the close answers P and is followed by close query on the same request, never a second close; CLOSED only at S', async () => {
    const order = await h.payingOrder();
    h.advance(31 * 60_000);
    expect(await runReconcile(h.deps)).toMatchObject({ closing: 1, closed: 0 });
    const closing = (await h.store.getOrder(order.orderNo))!;
    expect(closing).toMatchObject({ status: 'PAYING', closeRequest: { state: 'PROCESSING' } });
    // Not due again until the follow-up time: nothing is sent.
    await runReconcile(h.deps);
    expect(operations(h, 'close')).toHaveLength(1);
    expect(operations(h, 'closeQuery')).toHaveLength(0);
    h.advance(15_000);
    expect(await runReconcile(h.deps)).toMatchObject({ closed: 1 });
    expect(operations(h, 'close')).toHaveLength(1);
    expect(operations(h, 'closeQuery')).toHaveLength(1);
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ status: 'CLOSED', closeRequest: { reqSeqId: closing.closeRequest!.reqSeqId, state: 'SUCCEEDED' } });
    expect(h.sandbox.trade(order.orderNo)).toMatchObject({ closed: true });
    const events = (await h.store.listOrderEvents(order.orderNo)).map((e) => e.detail);
    expect(events.some((d) => /close query C[0-9a-z]+: close SUCCEEDED/.test(d))).toBe(true);
  });

  it('a trade paid while its close is P settles PAID, not CLOSED', async () => {
    const order = await h.payingOrder();
    h.advance(31 * 60_000);
    await runReconcile(h.deps);
    await h.sandbox.pay(order.orderNo, 'S', { force: true }); // paid at WeChat while Huifu was still closing
    h.advance(15_000);
    await runReconcile(h.deps);
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ status: 'PAID' });
    expect(operations(h, 'close')).toHaveLength(1);
  });

  it('"a close already exists" switches to close query', async () => {
    const order = await h.payingOrder();
    h.advance(61_000);
    // Someone else closed this trade at Huifu first (another deployment, a person in Huifu's console).
    await (h.deps.gateway as HuifuClient).close({ reqSeqId: nextOrderNo('C'), reqDate: order.reqDate, orderNo: order.orderNo, orderReqDate: order.reqDate });
    const cancelled = await cancelOrder(h.deps, order.openid, order.orderNo);
    // Ours was refused ("不能重复关单") and followed at once with close query, which found the close done.
    expect(operations(h, 'close').map((r) => r.respCode)).toEqual(['00000000', '10000000']);
    expect(operations(h, 'closeQuery')).toHaveLength(1);
    expect(cancelled.state).toBe('CLOSED');
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ status: 'CLOSED' });
  });

  it('a close whose answer was lost is followed with close query, not sent again', async () => {
    const order = await h.payingOrder();
    h.advance(31 * 60_000);
    h.sandbox.injectFault({ operation: 'close', kind: 'timeoutAfterAccept' });
    expect(await runReconcile(h.deps)).toMatchObject({ closing: 1, errors: 0 });
    h.advance(15_000);
    await runReconcile(h.deps);
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ status: 'CLOSED' });
    expect(operations(h, 'close')).toHaveLength(1);
  }, 20_000);

  it('a cancel within the first minute answers CLOSING; the refused close is retried with a new one after a minute', async () => {
    const order = await h.payingOrder();
    h.advance(10_000);
    expect(await cancelOrder(h.deps, order.openid, order.orderNo)).toMatchObject({ state: 'CLOSING', order: { status: 'PAYING' } });
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ cancelRequestedAt: expect.any(Number), closeRequest: { state: 'FAILED' } });
    h.advance(61_000);
    await runReconcile(h.deps);
    h.advance(15_000);
    await runReconcile(h.deps);
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ status: 'CLOSED' });
    const closes = operations(h, 'close').map((r) => r.respCode);
    expect(closes).toEqual(['20000001', '00000000']);
  });

  it('flags are a set, and a flag never hides the cancel request: reconcile still closes the order', async () => {
    const order = await h.payingOrder(1000);
    h.advance(61_000);
    await cancelOrder(h.deps, order.openid, order.orderNo);
    let current = (await h.store.getOrder(order.orderNo))!;
    await settleOrder(h.deps, current, { state: 'SUCCEEDED', amountFen: 999, hfSeqId: null, outTransId: null, partyOrderId: null, feeFen: null, paidAt: null }, 'notify');
    current = (await h.store.getOrder(order.orderNo))!;
    await h.deps.store.updateOrder(current, { flags: [...current.flags, 'NOTIFY_MISMATCH'], updatedAt: h.clock.now() });
    h.advance(15_000);
    await runReconcile(h.deps);
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ status: 'CLOSED', flags: ['AMOUNT_MISMATCH', 'NOTIFY_MISMATCH'], cancelRequestedAt: expect.any(Number) });
  });
});

/** A refund notification as Huifu would send it for this refund. */
function refundNotification(h: ServiceHarness, refund: Refund, order: Order, overrides: Record<string, unknown> = {}): string {
  return h.notification({
    resp_code: '00000000', resp_desc: '成功', huifu_id: TEST_IDS.huifuId, req_date: refund.reqDate, req_seq_id: refund.refundNo,
    hf_seq_id: `0031000${refund.refundNo}`, org_req_date: order.reqDate, org_req_seq_id: order.orderNo, trans_type: 'TRANS_REFUND',
    trans_stat: 'S', ord_amt: fenToYuan(refund.amountFen), ...overrides,
  });
}

describe.each(STORE_KINDS)('refunds, as Huifu runs them (%s store)', (kind) => {
  let h: ServiceHarness;
  beforeEach(async () => {
    h = await startServices(kind, { sandbox: { refundSettleMs: null } });
  });
  afterEach(() => h.close());
  const refundNo = () => nextOrderNo('RF');

  it('a refund answered 20000000 (Huifu already has it) stays PENDING with its reservation, and refund query settles it', async () => {
    const order = await h.paidOrder(1000);
    h.sandbox.injectFault({ operation: 'refund', kind: 'timeoutAfterAccept' });
    const refund = await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: refundNo(), amountFen: 300, reason: null });
    expect(refund.status).toBe('PENDING');
    h.sandbox.state.duplicateRule = 'refuse'; // Huifu's own rule: any reuse of the req_seq_id today is 20000000
    const again = await submitRefund(h.deps, refund, (await h.store.getOrder(order.orderNo))!);
    expect(operations(h, 'refund').map((r) => r.respCode)).toEqual([null, '20000000']);
    expect(again.status).toBe('PENDING');
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ refundReservedFen: 300, refundedFen: 0 });
    expect(await webhookEvents(h, order.orderNo)).not.toContain('refund.failed');
    await h.sandbox.settleRefund(refund.refundNo, 'S');
    await followRefund(h.deps, (await h.store.getRefund(refund.refundNo))!);
    expect(await h.store.getRefund(refund.refundNo)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedFen: 300, refundReservedFen: 0 });
  }, 20_000);

  it('a success for a refund recorded FAILED takes the amount again when the balance allows, and the app hears it', async () => {
    const order = await h.paidOrder(1000);
    h.sandbox.injectFault({ operation: 'refund', kind: 'business', respCode: '90000000', respDesc: '业务执行失败' });
    const refund = await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: refundNo(), amountFen: 300, reason: null });
    expect(refund.status).toBe('FAILED');
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ refundReservedFen: 0, refundedFen: 0 });
    const answer = await handleHuifuNotification(h.deps, refundNotification(h, refund, order), FORM);
    expect(answer).toEqual({ statusCode: 200, body: `RECV_ORD_ID_${refund.refundNo}` });
    expect(await h.store.getRefund(refund.refundNo)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedFen: 300, refundReservedFen: 0 });
    expect(await webhookEvents(h, order.orderNo)).toEqual(['order.partially_refunded', 'refund.failed', 'refund.succeeded']);
  });

  it('a success for a refund recorded FAILED that the balance no longer covers flags the order and asks the app to review', async () => {
    const order = await h.paidOrder(1000);
    h.sandbox.injectFault({ operation: 'refund', kind: 'business', respCode: '90000000', respDesc: '业务执行失败' });
    const failed = await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: refundNo(), amountFen: 600, reason: null });
    const other = await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: refundNo(), amountFen: 600, reason: null });
    await h.sandbox.settleRefund(other.refundNo, 'S');
    await followRefund(h.deps, (await h.store.getRefund(other.refundNo))!);
    expect(await handleHuifuNotification(h.deps, refundNotification(h, failed, order), FORM)).toMatchObject({ statusCode: 200 });
    expect(await h.store.getRefund(failed.refundNo)).toMatchObject({ status: 'FAILED' });
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ refundedFen: 600, flags: ['REFUND_SUCCEEDED_AFTER_FAILURE'] });
    expect(await webhookEvents(h, order.orderNo)).toContain('refund.review_required');
  });

  it('finishing repairs itself when the refund write fails after the order write: the notification retry converges', async () => {
    const order = await h.paidOrder(1000);
    const refund = await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: refundNo(), amountFen: 400, reason: null });
    const original = h.store.updateRefund.bind(h.store);
    let failures = 1;
    h.store.updateRefund = async (current, patch) => {
      if (failures > 0 && patch.status === 'SUCCEEDED') {
        failures--;
        throw new Error('function timed out');
      }
      return original(current, patch);
    };
    const body = refundNotification(h, refund, order);
    await expect(handleHuifuNotification(h.deps, body, FORM)).rejects.toThrow(/timed out/);
    expect(await handleHuifuNotification(h.deps, body, FORM)).toMatchObject({ statusCode: 200 });
    expect(await h.store.getRefund(refund.refundNo)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedFen: 400, refundReservedFen: 0 });
    expect(await webhookEvents(h, order.orderNo)).toEqual(['order.partially_refunded', 'refund.succeeded']);
  });

  it('finishing repairs itself through reconcile when no notification comes back', async () => {
    const order = await h.paidOrder(1000);
    const refund = await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: refundNo(), amountFen: 400, reason: null });
    await h.sandbox.settleRefund(refund.refundNo, 'S'); // its notification goes nowhere
    const original = h.store.updateRefund.bind(h.store);
    let failures = 1;
    h.store.updateRefund = async (current, patch) => {
      if (failures > 0 && patch.status === 'SUCCEEDED') {
        failures--;
        throw new Error('contended');
      }
      return original(current, patch);
    };
    h.advance(31_000);
    expect((await runReconcile(h.deps)).errors).toBe(1);
    h.advance(31_000);
    await runReconcile(h.deps);
    expect(await h.store.getRefund(refund.refundNo)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ refundedFen: 400, refundReservedFen: 0 });
    expect(await webhookEvents(h, order.orderNo)).toEqual(['order.partially_refunded', 'refund.succeeded']);
  });

  it('two refunds finishing at once on a PARTIALLY_REFUNDED order both count (compare-and-set on version)', async () => {
    const order = await h.paidOrder(100);
    const first = await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: refundNo(), amountFen: 30, reason: null });
    await finishRefund(h.deps, first, { state: 'SUCCEEDED', hfSeqId: null, failReason: null }, 'notify');
    const a = await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: refundNo(), amountFen: 40, reason: null });
    const b = await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: refundNo(), amountFen: 30, reason: null });
    await Promise.all([a, b].map((r) => finishRefund(h.deps, r, { state: 'SUCCEEDED', hfSeqId: null, failReason: null }, 'notify')));
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ status: 'REFUNDED', refundedFen: 100, refundReservedFen: 0 });
  });

  it('gives the reservation back when the refund row cannot be written, so the balance does not shrink', async () => {
    const order = await h.paidOrder(100);
    const original = h.store.insertRefund.bind(h.store);
    h.store.insertRefund = async () => {
      throw new Error('write failed');
    };
    const number = refundNo();
    await expect(requestRefund(h.deps, { orderNo: order.orderNo, refundNo: number, amountFen: 60, reason: null })).rejects.toThrow(/write failed/);
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ refundReservedFen: 0, refundLedger: {} });
    h.store.insertRefund = original;
    expect(await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: number, amountFen: 100, reason: null })).toMatchObject({ status: 'PENDING', amountFen: 100 });
  });

  it.each([
    ['a different amount', { ord_amt: '2.99' }],
    ['one fen more', { ord_amt: '3.01' }],
    ['another order', { org_req_seq_id: 'P00000000000000000000' }],
  ])('refuses a refund notification with %s: the refund and the order stay as they were', async (_what, overrides) => {
    const order = await h.paidOrder(1000);
    const refund = await requestRefund(h.deps, { orderNo: order.orderNo, refundNo: refundNo(), amountFen: 300, reason: null });
    const answer = await handleHuifuNotification(h.deps, refundNotification(h, refund, order, overrides), FORM);
    expect(answer.statusCode).toBe(409);
    expect(await h.store.getRefund(refund.refundNo)).toMatchObject({ status: 'PENDING' });
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ refundedFen: 0, refundReservedFen: 300 });
  });

  it('gives back a reservation whose refund row never appeared (a crash between the two writes)', async () => {
    const order = await h.paidOrder(100);
    const reserved = await h.store.updateOrder(order, { refundLedger: { RLOST0001: { amountFen: 50, state: 'RESERVED', at: h.clock.now() } }, refundReservedFen: 50, updatedAt: h.clock.now() });
    expect(reserved).not.toBeNull();
    h.advance(5 * 60_000);
    expect((await runReconcile(h.deps)).reservationsReleased).toBe(0); // too recent: the refund may still be being recorded
    h.advance(6 * 60_000);
    expect((await runReconcile(h.deps)).reservationsReleased).toBe(1);
    expect(await h.store.getOrder(order.orderNo)).toMatchObject({ refundReservedFen: 0, refundLedger: {} });
  });
});

describe('optional request headers (HUIFU_SKILL_SOURCE)', () => {
  it.each(['v2', 'v4'] as const)('API %s: set, every request carries both headers (the second the request\'s huifu_id); unset, neither', async (apiVersion) => {
    const withSource = await startServices('sqlite', { apiVersion, env: { HUIFU_SKILL_SOURCE: 'dg-skill-test' }, sandbox: { requireSkillSource: 'dg-skill-test' } });
    try {
      const order = await withSource.payingOrder();
      await withSource.deps.gateway.queryPayment({ orderNo: order.orderNo, reqDate: order.reqDate });
      expect(withSource.sandbox.requests.map((r) => [r.operation, r.skillSource, r.skillHuifuId, r.respCode])).toEqual([
        ['create', 'dg-skill-test', TEST_IDS.huifuId, '00000100'],
        ['query', 'dg-skill-test', TEST_IDS.huifuId, '00000000'],
      ]);
    } finally {
      await withSource.close();
    }
    const without = await startServices('sqlite', { apiVersion, sandbox: { requireSkillSource: 'dg-skill-test' } });
    try {
      await expect(without.payingOrder()).rejects.toMatchObject({ respCode: '10000000' });
      expect(without.sandbox.requests[0]).toMatchObject({ skillSource: null, skillHuifuId: null });
    } finally {
      await without.close();
    }
  });
});
