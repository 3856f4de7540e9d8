import { PayError } from '../../../cloudfunctions/src/domain/errors';
import { HuifuCloseTooEarlyError } from '../../../cloudfunctions/src/providers/huifu/errors';
import { runReconcile, type ReconcileReport } from '../../../cloudfunctions/src/services/reconcile';
import { ORPHAN_RESERVATION_MS } from '../../../cloudfunctions/src/services/refunds';
import { enqueueOrderWebhook } from '../../../cloudfunctions/src/services/webhooks';
import { refused, startScripted, trade, type ScriptedServices } from '../../support/scripted';

/** The timer job over a table holding one order of each kind it handles; the report must count each exactly. */
let s: ScriptedServices;
beforeEach(() => {
  s = startScripted();
});
afterEach(() => s.close());

const NOTHING: ReconcileReport = { queried: 0, settled: 0, closed: 0, closing: 0, deferred: 0, refundsFollowed: 0, reservationsReleased: 0, webhooksDelivered: 0, webhooksFailed: 0, errors: 0 };
const MINUTE = 60_000;
/** An order created `ageMs` ago (the clock is moved back and forth, so its stored times are consistent). */
async function orderAged(ageMs: number, overrides: Parameters<ScriptedServices['order']>[0] = {}) {
  s.clock.advance(-ageMs);
  const order = await s.order(overrides);
  s.clock.advance(ageMs);
  return order;
}
const closeAnswer = (closeState: 'SUCCEEDED' | 'PROCESSING' | 'FAILED') => ({ closeState, tradeState: null });
const detailOf = async (orderNo: string, text: string) => (await s.events(orderNo)).filter((e) => e.includes(text));

describe('runReconcile', () => {
  it('an empty run reports nothing and logs nothing', async () => {
    expect(await runReconcile(s.deps)).toEqual(NOTHING);
    expect(s.logs).toEqual([]);
  });

  it('follows a close in progress, closes cancelled and expired orders, queries the rest, and counts each', async () => {
    const now = s.clock.now();
    const following = await orderAged(5 * MINUTE, { status: 'PAYING', closeRequest: { reqSeqId: 'C1', reqDate: '20261205', state: 'PROCESSING', at: now - 20_000 } });
    const followingCancelled = await orderAged(5 * MINUTE, { status: 'PAYING', cancelRequestedAt: now - MINUTE, closeRequest: { reqSeqId: 'C2', reqDate: '20261205', state: 'PROCESSING', at: now - 20_000 } });
    const cancelled = await orderAged(2 * MINUTE, { status: 'PAYING', cancelRequestedAt: now - 1_000 });
    const expired = await orderAged(31 * MINUTE, { status: 'PAYING', expiresAt: now });
    const tooYoung = await orderAged(90_000, { status: 'CREATED', expiresAt: now - 1 });
    const paidMeanwhile = await orderAged(2 * MINUTE, { status: 'PAYING', amountFen: 700 });
    const unchanged = await orderAged(2 * MINUTE, { status: 'PAYING', amountFen: 800 });

    const answers = new Map<string, unknown>([
      [`queryClose:${following.orderNo}`, closeAnswer('SUCCEEDED')],
      [`queryClose:${followingCancelled.orderNo}`, closeAnswer('PROCESSING')],
      [`close:${cancelled.orderNo}`, closeAnswer('SUCCEEDED')],
      [`close:${expired.orderNo}`, closeAnswer('PROCESSING')],
      [`close:${tooYoung.orderNo}`, refused(HuifuCloseTooEarlyError, { retryable: true })],
      [`queryPayment:${paidMeanwhile.orderNo}`, trade('SUCCEEDED', 700)],
      [`queryPayment:${unchanged.orderNo}`, trade('PROCESSING', 800)],
    ]);
    const byOrder = (method: string) => (command: { orderNo: string }) => {
      const answer = answers.get(`${method}:${command.orderNo}`);
      if (answer === undefined) throw new Error(`unexpected ${method} for ${command.orderNo}`);
      if (answer instanceof Error) throw answer;
      return answer as never;
    };
    for (let i = 0; i < 7; i++) {
      s.gateway.answer('queryClose', byOrder('queryClose'));
      s.gateway.answer('close', byOrder('close'));
      s.gateway.answer('queryPayment', byOrder('queryPayment'));
    }

    const report = await runReconcile(s.deps);
    expect(report).toEqual({ ...NOTHING, queried: 2, settled: 1, closed: 2, closing: 2, deferred: 1, webhooksDelivered: 3 });
    expect(await detailOf(following.orderNo, 'payment window expired (closed at Huifu, close C1)')).toHaveLength(1);
    expect(await detailOf(cancelled.orderNo, 'cancelled by the user (closed at Huifu')).toHaveLength(1);
    expect(await detailOf(expired.orderNo, 'payment window expired')).toHaveLength(1);
    expect(s.gateway.callsOf('close').map((c) => (c as { orderNo: string }).orderNo).sort()).toEqual([cancelled.orderNo, expired.orderNo, tooYoung.orderNo].sort());
    expect(s.logs).toContainEqual({ level: 'info', message: 'reconcile run', fields: report });
  });

  it('a close-in-progress for a cancelled order is followed with the cancel as its reason', async () => {
    const now = s.clock.now();
    const order = await orderAged(5 * MINUTE, { status: 'PAYING', cancelRequestedAt: now - MINUTE, closeRequest: { reqSeqId: 'C3', reqDate: '20261205', state: 'PROCESSING', at: now - 20_000 } });
    s.gateway.answer('queryClose', closeAnswer('SUCCEEDED'));
    expect(await runReconcile(s.deps)).toMatchObject({ closed: 1 });
    expect(await detailOf(order.orderNo, 'cancelled by the user (closed at Huifu, close C3)')).toHaveLength(1);
  });

  it('an order paid since it was found counts as settled, and is not closed', async () => {
    const order = await orderAged(31 * MINUTE, { status: 'PAYING', expiresAt: s.clock.now() - 1 });
    const original = s.store.findDueOrders.bind(s.store);
    jest.spyOn(s.store, 'findDueOrders').mockImplementationOnce(async (...args) => {
      const due = await original(...args);
      await s.store.updateOrder(due[0]!, { status: 'PAID', paidAt: s.clock.now(), updatedAt: s.clock.now() });
      return due;
    });
    expect(await runReconcile(s.deps)).toMatchObject({ settled: 1, closed: 0 });
    expect(s.gateway.calls).toEqual([]);
    expect((await s.store.getOrder(order.orderNo))!.status).toBe('PAID');
  });

  it('one failing order is counted and logged with its code; the others still run', async () => {
    // Oldest first, as reconcile takes them.
    const bad = await orderAged(2 * MINUTE + 2, { status: 'PAYING' });
    const worse = await orderAged(2 * MINUTE + 1, { status: 'PAYING' });
    const good = await orderAged(2 * MINUTE, { status: 'PAYING', amountFen: 300 });
    const answer = (c: { orderNo: string }) => {
      if (c.orderNo === bad.orderNo) throw new PayError('PAYMENT_GATEWAY_UNAVAILABLE', 'x'.repeat(300), { retryable: true });
      if (c.orderNo === worse.orderNo) throw new Error('socket hang up');
      return trade('SUCCEEDED', 300);
    };
    s.gateway.answer('queryPayment', answer, answer, answer);
    expect(await runReconcile(s.deps)).toMatchObject({ queried: 3, settled: 1, errors: 2, webhooksDelivered: 1 });
    expect((await s.store.getOrder(good.orderNo))!.status).toBe('PAID');
    expect(s.logs.filter((l) => l.level === 'warn')).toEqual([
      { level: 'warn', message: 'reconcile: order failed', fields: { orderNo: bad.orderNo, code: 'PAYMENT_GATEWAY_UNAVAILABLE', error: 'x'.repeat(200) } },
      { level: 'warn', message: 'reconcile: order failed', fields: { orderNo: worse.orderNo, code: 'UNKNOWN', error: 'socket hang up' } },
    ]);
  });

  it('survives a failure that is not even an Error', async () => {
    await orderAged(2 * MINUTE, { status: 'PAYING' });
    s.gateway.answer('queryPayment', () => {
      throw 'a bare string'; // eslint-disable-line no-throw-literal -- what a careless dependency may throw
    });
    expect(await runReconcile(s.deps)).toMatchObject({ queried: 1, errors: 1 });
    expect(s.logs.find((l) => l.level === 'warn')!.fields).toMatchObject({ code: 'UNKNOWN', error: undefined });
  });

  it('follows refunds left PENDING for at least 30 s, and gives back orphaned reservations', async () => {
    const now = s.clock.now();
    const order = await s.order({
      status: 'PAID',
      amountFen: 1000,
      refundReservedFen: 300,
      refundLedger: { RSTALE01: { amountFen: 100, state: 'RESERVED', at: now - 40_000 }, RFRESH01: { amountFen: 100, state: 'RESERVED', at: now }, RORPHAN1: { amountFen: 100, state: 'RESERVED', at: now - ORPHAN_RESERVATION_MS - 1 } },
    });
    await s.refund(order.orderNo, { refundNo: 'RSTALE01', amountFen: 100, updatedAt: now - 30_001 });
    await s.refund(order.orderNo, { refundNo: 'RFRESH01', amountFen: 100, updatedAt: now - 29_999 });
    const findReservations = jest.spyOn(s.store, 'findOrdersWithReservations');
    s.gateway.answer('queryRefund', { found: true, state: 'PROCESSING', hfSeqId: null, amountFen: 100, failReason: null });
    const report = await runReconcile(s.deps);
    expect(report).toMatchObject({ refundsFollowed: 1 });
    expect(s.gateway.callsOf('queryRefund')).toEqual([expect.objectContaining({ refundNo: 'RSTALE01' })]);
    expect(findReservations).toHaveBeenCalledWith(now - ORPHAN_RESERVATION_MS, 20);
  });

  it('releases an orphaned reservation on an order untouched for long enough, and counts it', async () => {
    const now = s.clock.now();
    await orderAged(ORPHAN_RESERVATION_MS + MINUTE, {
      status: 'PAID',
      amountFen: 1000,
      refundReservedFen: 100,
      refundLedger: { RORPHAN2: { amountFen: 100, state: 'RESERVED', at: now - ORPHAN_RESERVATION_MS - MINUTE } },
    });
    expect(await runReconcile(s.deps)).toEqual({ ...NOTHING, reservationsReleased: 1 });
  });

  it('a failing refund follow-up or reservation check is counted and the run goes on', async () => {
    const now = s.clock.now();
    const order = await orderAged(ORPHAN_RESERVATION_MS + MINUTE, {
      status: 'PAID',
      amountFen: 1000,
      refundReservedFen: 100,
      refundLedger: { RBROKEN1: { amountFen: 100, state: 'RESERVED', at: now - ORPHAN_RESERVATION_MS - MINUTE } },
    });
    await s.refund(order.orderNo, { refundNo: 'RPENDIN1', amountFen: 100, updatedAt: now - MINUTE });
    s.gateway.answer('queryRefund', new Error('refund query broke'));
    jest.spyOn(s.store, 'getRefund').mockRejectedValueOnce(new Error('read failed'));
    const report = await runReconcile(s.deps);
    expect(report).toMatchObject({ refundsFollowed: 1, errors: 2 });
    expect(s.logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(['reconcile: refund follow-up failed', 'reconcile: reservation check failed']);
  });

  it('counts webhooks delivered and failed', async () => {
    for (const status of ['PAID', 'CLOSED'] as const) await enqueueOrderWebhook(s.deps, await s.order({ status }));
    s.answerWebhooks((n) => ({ status: n === 1 ? 200 : 500 }));
    expect(await runReconcile(s.deps)).toEqual({ ...NOTHING, webhooksDelivered: 1, webhooksFailed: 1 });
  });
});
