import type { LedgerEntry, Order, Refund } from '../../../cloudfunctions/src/domain/types';
import { HuifuBusinessError, HuifuDuplicateRequestError, HuifuTimeoutError, HuifuUnreachableError } from '../../../cloudfunctions/src/providers/huifu/errors';
import { finishRefund, followRefund, ORPHAN_RESERVATION_MS, releaseOrphanReservations, requestRefund } from '../../../cloudfunctions/src/services/refunds';
import { DuplicateError } from '../../../cloudfunctions/src/store/port';
import { ledgerSums, makeRefund } from '../../support/fixtures';
import { refused, startScripted, payError, type ScriptedServices } from '../../support/scripted';

/** Refunds end to end in this process: the reservation, every Huifu answer, late and contradicting outcomes. */
let s: ScriptedServices;
beforeEach(() => {
  s = startScripted();
});
afterEach(() => s.close());

/** A paid order of `amountFen` whose ledger holds `ledger` (totals and status follow from it). */
async function paid(amountFen: number, ledger: Record<string, LedgerEntry> = {}): Promise<Order> {
  const sums = ledgerSums(ledger);
  const status = sums.refundedFen === 0 ? 'PAID' : sums.refundedFen === amountFen ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
  return s.order({ status, amountFen, paidAt: s.clock.now(), refundLedger: ledger, ...sums });
}
const stored = async (orderNo: string) => (await s.store.getOrder(orderNo))!;
const request = (orderNo: string, refundNo: string, amountFen: number, reason: string | null = null) => requestRefund(s.deps, { orderNo, refundNo, amountFen, reason });
const webhookEvents = async (orderNo: string) => (await s.store.listWebhooks({ orderNo, limit: 50 })).map((w) => w.event).sort();
const huifuSays = (state: 'SUCCEEDED' | 'FAILED' | 'PROCESSING', amountFen: number, hfSeqId: string | null = 'HF-R1') => ({ found: true as const, state, hfSeqId, amountFen, failReason: null });

describe('requestRefund', () => {
  it('refuses a refund number that is not 6-32 letters or digits, reserving nothing', async () => {
    const order = await paid(1000);
    for (const refundNo of ['R1234', 'R'.repeat(33), 'R-12345', 'R12345 ']) {
      expect((await payError(request(order.orderNo, refundNo, 100))).code).toBe('INVALID_REQUEST');
    }
    expect(await stored(order.orderNo)).toMatchObject({ refundReservedFen: 0, version: order.version });
    expect(s.gateway.calls).toEqual([]);
  });

  it('the same refund number again is the same refund; with another order or amount it is a conflict', async () => {
    const order = await paid(1000);
    const other = await paid(1000);
    s.gateway.answer('refund', huifuSays('PROCESSING', 100));
    const first = await request(order.orderNo, 'RF000001', 100);
    expect(await request(order.orderNo, 'RF000001', 100)).toEqual(first);
    expect((await payError(request(order.orderNo, 'RF000001', 101))).code).toBe('REFUND_CONFLICT');
    expect((await payError(request(other.orderNo, 'RF000001', 100))).code).toBe('REFUND_CONFLICT');
    expect(s.gateway.callsOf('refund')).toHaveLength(1);
  });

  it('logs the refund with its number, order and amount', async () => {
    const order = await paid(1000);
    s.gateway.answer('refund', huifuSays('PROCESSING', 100));
    await request(order.orderNo, 'RF000002', 100);
    expect(s.logs).toContainEqual({ level: 'info', message: 'refund requested', fields: { refundNo: 'RF000002', orderNo: order.orderNo, amountFen: 100 } });
  });

  it('the same refund number recorded at the same moment by another call: that refund is returned, sent once', async () => {
    const order = await paid(1000);
    const original = s.store.insertRefund.bind(s.store);
    jest.spyOn(s.store, 'insertRefund').mockImplementationOnce(async (refund) => {
      await original({ ...refund });
      throw new DuplicateError('refunds', 'refundNo');
    });
    const refund = await request(order.orderNo, 'RF000003', 100);
    expect(refund).toMatchObject({ refundNo: 'RF000003', status: 'PENDING' });
    expect(s.gateway.calls).toEqual([]);
    expect((await stored(order.orderNo)).refundReservedFen).toBe(100);
  });

  it('a refund row that cannot be written gives its reservation back and throws', async () => {
    const order = await paid(1000);
    const failure = new Error('write failed');
    jest.spyOn(s.store, 'insertRefund').mockRejectedValueOnce(failure);
    await expect(request(order.orderNo, 'RF000004', 100)).rejects.toBe(failure);
    expect(await stored(order.orderNo)).toMatchObject({ refundReservedFen: 0, refundLedger: {} });
    expect(s.gateway.calls).toEqual([]);
  });

  it('a refund row that landed though its write reported an error owns the reservation: returned PENDING, for reconcile to send', async () => {
    const order = await paid(1000);
    const original = s.store.insertRefund.bind(s.store);
    jest.spyOn(s.store, 'insertRefund').mockImplementationOnce(async (refund) => {
      await original(refund);
      throw new Error('write timed out');
    });
    expect(await request(order.orderNo, 'RF000014', 100)).toMatchObject({ refundNo: 'RF000014', status: 'PENDING' });
    expect(await stored(order.orderNo)).toMatchObject({ refundReservedFen: 100 });
  });

  it('when neither the write nor the check can be done, the reservation stays for the orphan scan and the write error is thrown', async () => {
    const order = await paid(1000);
    const failure = new Error('write failed');
    jest.spyOn(s.store, 'insertRefund').mockRejectedValueOnce(failure);
    jest.spyOn(s.store, 'getRefund').mockResolvedValueOnce(null).mockRejectedValueOnce(new Error('read failed'));
    await expect(request(order.orderNo, 'RF000015', 100)).rejects.toBe(failure);
    expect(await stored(order.orderNo)).toMatchObject({ refundReservedFen: 100 });
  });

  it('gives up reserving after 100 lost compare-and-sets, with an error naming the order', async () => {
    const order = await paid(1000);
    const calls = s.loseUpdates('updateOrder');
    await expect(request(order.orderNo, 'RF000016', 100)).rejects.toThrow(`order ${order.orderNo}: refund ledger still contended after 100 attempts`);
    expect(calls()).toBe(100);
  });

  it('sends our refund number, dates, order and reason to Huifu', async () => {
    const order = await paid(1000);
    s.gateway.answer('refund', huifuSays('PROCESSING', 100));
    const refund = await request(order.orderNo, 'RF000005', 100, '不想要了');
    expect(s.gateway.callsOf('refund')[0]).toEqual({ refundNo: 'RF000005', reqDate: refund.reqDate, orderNo: order.orderNo, orderReqDate: order.reqDate, amountFen: 100, notifyUrl: s.deps.config.huifuApi.notifyUrl, remark: '不想要了' });
  });

  it('answers that leave the outcome open keep the refund PENDING and the amount reserved', async () => {
    const answers = [refused(HuifuDuplicateRequestError, { respCode: '20000000' }), new HuifuTimeoutError('/refund', 500), new HuifuUnreachableError('http://h', '/refund', 'ECONNREFUSED', 'x'), refused(HuifuBusinessError, { respCode: '20000001', retryable: true })];
    for (const [i, answer] of answers.entries()) {
      const order = await paid(1000);
      s.gateway.answer('refund', answer);
      expect((await request(order.orderNo, `RF10000${i}`, 100)).status).toBe('PENDING');
      expect((await stored(order.orderNo)).refundReservedFen).toBe(100);
    }
    expect(s.logs.filter((l) => l.level === 'warn').map((l) => [l.message, l.fields.refundNo, typeof l.fields.orderNo])).toEqual([
      ['refund already at Huifu; refund query will settle it', 'RF100000', 'string'],
      ['refund not settled yet; reconcile will query or resend it', 'RF100001', 'string'],
      ['refund not settled yet; reconcile will query or resend it', 'RF100002', 'string'],
      ['refund not settled yet; reconcile will query or resend it', 'RF100003', 'string'],
    ]);
  });

  it('a refusal fails the refund with Huifu\'s code and reason and gives the amount back', async () => {
    const order = await paid(1000);
    s.gateway.answer('refund', refused(HuifuBusinessError, { respCode: '23000004', respDesc: '退款失败' }));
    expect(await request(order.orderNo, 'RF000006', 100)).toMatchObject({ status: 'FAILED', failReason: '23000004 退款失败' });
    expect(await stored(order.orderNo)).toMatchObject({ refundReservedFen: 0, refundedFen: 0, status: 'PAID' });
    expect(await webhookEvents(order.orderNo)).toEqual(['refund.failed']);
  });

  it('an error that is not Huifu\'s is thrown, the refund left PENDING for reconcile', async () => {
    const order = await paid(1000);
    s.gateway.answer('refund', new TypeError('bug'));
    await expect(request(order.orderNo, 'RF000007', 100)).rejects.toThrow('bug');
    expect((await s.store.getRefund('RF000007'))!.status).toBe('PENDING');
  });

  it('P with a serial stores the serial; a refund Huifu does not know stays as it was', async () => {
    const order = await paid(1000);
    s.gateway.answer('refund', huifuSays('PROCESSING', 100, 'HF-P1'), { found: false });
    expect((await request(order.orderNo, 'RF000008', 100)).hfSeqId).toBe('HF-P1');
    expect(await request(order.orderNo, 'RF000009', 100)).toMatchObject({ hfSeqId: null, version: 1 });
  });

  it('S at once: refunded, the order PARTIALLY_REFUNDED, both announced', async () => {
    const order = await paid(1000);
    s.gateway.answer('refund', huifuSays('SUCCEEDED', 300, 'HF-S1'));
    expect(await request(order.orderNo, 'RF000010', 300)).toMatchObject({ status: 'SUCCEEDED', hfSeqId: 'HF-S1', failReason: null });
    expect(await stored(order.orderNo)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedFen: 300, refundReservedFen: 0 });
    expect(await webhookEvents(order.orderNo)).toEqual(['order.partially_refunded', 'refund.succeeded']);
  });

  it('refuses an unpaid order and an amount over the balance by one fen', async () => {
    const unpaid = await s.order({ status: 'PAYING', amountFen: 1000 });
    expect((await payError(request(unpaid.orderNo, 'RF000011', 100))).code).toBe('ORDER_NOT_REFUNDABLE');
    const order = await paid(1000, { RA00001: { amountFen: 600, state: 'SUCCEEDED', at: 1 } });
    expect((await payError(request(order.orderNo, 'RF000012', 401))).code).toBe('REFUND_EXCEEDS_AVAILABLE');
    expect((await payError(request('P_NO_SUCH', 'RF000013', 1))).code).toBe('ORDER_NOT_FOUND');
  });
});

describe('finishRefund', () => {
  async function pending(orderAmount: number, refundAmount: number, ledger: Record<string, LedgerEntry> = {}, refund: Partial<Refund> = {}) {
    const entry: LedgerEntry = { amountFen: refundAmount, state: refund.status === 'FAILED' ? 'FAILED' : refund.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'RESERVED', at: 1 };
    const order = await paid(orderAmount, { ...ledger, RF900001: entry });
    return { order, refund: await s.refund(order.orderNo, { refundNo: 'RF900001', amountFen: refundAmount, ...refund }) };
  }

  it('PROCESSING changes nothing', async () => {
    const { order, refund } = await pending(1000, 100);
    expect(await finishRefund(s.deps, refund, huifuSays('PROCESSING', 100), 'notify')).toBe('ignored');
    expect((await stored(order.orderNo)).version).toBe(order.version);
  });

  it('a failure reported for a refund recorded succeeded is flagged for a person; the record stands', async () => {
    const { order, refund } = await pending(1000, 100, {}, { status: 'SUCCEEDED' });
    expect(await finishRefund(s.deps, refund, { state: 'FAILED', hfSeqId: null, failReason: 'x' }, 'notify')).toBe('review');
    expect(await stored(order.orderNo)).toMatchObject({ flags: ['REFUND_STATE_CONFLICT'], refundedFen: 100 });
    expect(await s.events(order.orderNo)).toContain('PARTIALLY_REFUNDED→PARTIALLY_REFUNDED flagged REFUND_STATE_CONFLICT: Huifu reports refund RF900001 failed, but it is recorded as succeeded');
    expect((await s.store.getRefund(refund.refundNo))!.status).toBe('SUCCEEDED');
  });

  it('a success for a refund recorded failed is taken again when the balance allows: corrected, announced', async () => {
    const { order, refund } = await pending(1000, 100, {}, { status: 'FAILED', failReason: 'old' });
    expect(await finishRefund(s.deps, refund, { state: 'SUCCEEDED', hfSeqId: 'HF-C', failReason: null }, 'reconcile')).toBe('corrected');
    expect(await stored(order.orderNo)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedFen: 100 });
    expect(await s.store.getRefund(refund.refundNo)).toMatchObject({ status: 'SUCCEEDED', hfSeqId: 'HF-C', failReason: null });
    expect(await s.events(order.orderNo)).toContain('PAID→PARTIALLY_REFUNDED refund RF900001 of 100 fen succeeded (Huifu completed it after it was recorded failed)');
    expect(s.logs).toContainEqual({ level: 'info', message: 'refund finished', fields: { refundNo: 'RF900001', orderNo: order.orderNo, status: 'SUCCEEDED', source: 'reconcile', corrected: true } });
  });

  it('... and when the balance no longer covers it: flagged, the app told to review, logged as an error', async () => {
    const { order, refund } = await pending(1000, 100, { RA00001: { amountFen: 950, state: 'SUCCEEDED', at: 1 } }, { status: 'FAILED' });
    expect(await finishRefund(s.deps, refund, { state: 'SUCCEEDED', hfSeqId: null, failReason: null }, 'notify')).toBe('review');
    expect((await stored(order.orderNo)).flags).toEqual(['REFUND_SUCCEEDED_AFTER_FAILURE']);
    expect(await webhookEvents(order.orderNo)).toEqual(['refund.review_required']);
    const review = (await s.store.listWebhooks({ orderNo: order.orderNo, limit: 5 }))[0]!;
    expect(JSON.parse(review.payload).data).toEqual({ refund_no: 'RF900001', order_no: order.orderNo, ref: order.appRef, amount_fen: 100, status: 'FAILED', fail_reason: null, huifu_status: 'SUCCEEDED', flags: ['REFUND_SUCCEEDED_AFTER_FAILURE'] });
    expect(s.logs).toContainEqual({ level: 'error', message: 'refund succeeded after it was recorded failed; the order needs a person', fields: { refundNo: 'RF900001', orderNo: order.orderNo } });
  });

  it('a success for a refund recorded failed that the ledger does not know is a state conflict, not a balance review', async () => {
    const order = await paid(1000);
    const refund = await s.refund(order.orderNo, { refundNo: 'RF900005', amountFen: 100, status: 'FAILED' });
    expect(await finishRefund(s.deps, refund, huifuSays('SUCCEEDED', 100), 'notify')).toBe('review');
    expect((await stored(order.orderNo)).flags).toEqual(['REFUND_STATE_CONFLICT']);
    expect(await webhookEvents(order.orderNo)).toEqual([]);
  });

  it(`gives up finishing after 100 lost compare-and-sets on the refund`, async () => {
    const { refund } = await pending(1000, 100);
    const calls = s.loseUpdates('updateRefund');
    await expect(finishRefund(s.deps, refund, huifuSays('SUCCEEDED', 100), 'notify')).rejects.toThrow('refund RF900001: still contended after 100 attempts');
    expect(calls()).toBe(100);
  });

  it('an outcome the ledger refuses for another reason is a state conflict for a person', async () => {
    const order = await paid(1000);
    const refund = await s.refund(order.orderNo, { refundNo: 'RF900002', amountFen: 100 }); // never reserved
    expect(await finishRefund(s.deps, refund, huifuSays('SUCCEEDED', 100), 'notify')).toBe('review');
    expect(await stored(order.orderNo)).toMatchObject({ flags: ['REFUND_STATE_CONFLICT'], refundedFen: 0 });
    expect((await s.store.getRefund('RF900002'))!.status).toBe('PENDING');
  });

  it('a failure Huifu reports for a refund recorded failed before the ledger was: the ledger catches up, noted once', async () => {
    const { order, refund } = await pending(1000, 100, {}, { status: 'FAILED' });
    await s.store.updateOrder(order, { refundLedger: { RF900001: { amountFen: 100, state: 'RESERVED', at: 1 } }, refundReservedFen: 100, updatedAt: s.clock.now() });
    expect(await finishRefund(s.deps, refund, { state: 'FAILED', hfSeqId: null, failReason: 'x' }, 'notify')).toBe('duplicate');
    expect(await stored(order.orderNo)).toMatchObject({ refundReservedFen: 0 });
    expect((await s.events(order.orderNo)).filter((e) => e.includes('recorded on the order on a retry'))).toHaveLength(1);
    expect(await s.events(order.orderNo)).toContain('PAID→PAID refund RF900001 of 100 fen failed');
    expect(await finishRefund(s.deps, refund, { state: 'FAILED', hfSeqId: null, failReason: 'x' }, 'notify')).toBe('duplicate');
    expect((await s.events(order.orderNo)).filter((e) => e.includes('recorded on the order on a retry'))).toHaveLength(1);
    expect(await webhookEvents(order.orderNo)).toEqual(['refund.failed']);
  });

  it('keeps the serial it has when Huifu gives none, and keeps the fail reason only for a failure', async () => {
    const a = await pending(1000, 100, {}, { hfSeqId: 'HF-KEEP' });
    await finishRefund(s.deps, a.refund, { state: 'FAILED', hfSeqId: null, failReason: '余额不足' }, 'notify');
    expect(await s.store.getRefund(a.refund.refundNo)).toMatchObject({ status: 'FAILED', hfSeqId: 'HF-KEEP', failReason: '余额不足', finishedAt: s.clock.now() });
    expect(await s.events(a.order.orderNo)).toContain('PAID→PAID refund RF900001 of 100 fen failed');

    const order = await paid(1000, { RF900003: { amountFen: 100, state: 'RESERVED', at: 1 } });
    const refund = await s.refund(order.orderNo, { refundNo: 'RF900003', amountFen: 100 });
    await finishRefund(s.deps, refund, { state: 'SUCCEEDED', hfSeqId: 'HF-NEW', failReason: 'ignored on success' }, 'notify');
    expect(await s.store.getRefund('RF900003')).toMatchObject({ status: 'SUCCEEDED', hfSeqId: 'HF-NEW', failReason: null });
  });

  it('finishing from a stale refund read re-reads it and does not finish it twice', async () => {
    const { order, refund } = await pending(1000, 100);
    expect(await finishRefund(s.deps, refund, huifuSays('SUCCEEDED', 100), 'notify')).toBe('applied');
    expect(await finishRefund(s.deps, refund, huifuSays('SUCCEEDED', 100), 'reconcile')).toBe('duplicate');
    expect(await stored(order.orderNo)).toMatchObject({ refundedFen: 100, refundReservedFen: 0 });
    expect(await webhookEvents(order.orderNo)).toEqual(['order.partially_refunded', 'refund.succeeded']);
  });

  it('a refund whose order is missing is an error naming both', async () => {
    const refund = makeRefund('P_GONE', { refundNo: 'RF900004' });
    await expect(finishRefund(s.deps, refund, huifuSays('SUCCEEDED', 10), 'notify')).rejects.toThrow('refund RF900004: order P_GONE is missing');
  });
});

describe('followRefund', () => {
  it('queries by our refund number and applies a final answer', async () => {
    const order = await paid(1000, { RF800001: { amountFen: 100, state: 'RESERVED', at: 1 } });
    const refund = await s.refund(order.orderNo, { refundNo: 'RF800001', amountFen: 100 });
    s.gateway.answer('queryRefund', huifuSays('SUCCEEDED', 100));
    await followRefund(s.deps, refund);
    expect(s.gateway.callsOf('queryRefund')).toEqual([{ refundNo: 'RF800001', reqDate: refund.reqDate }]);
    expect((await s.store.getRefund('RF800001'))!).toMatchObject({ status: 'SUCCEEDED', lastQueriedAt: s.clock.now() });
  });

  it('a refund Huifu never received is sent again as it was', async () => {
    const order = await paid(1000, { RF800002: { amountFen: 100, state: 'RESERVED', at: 1 } });
    const refund = await s.refund(order.orderNo, { refundNo: 'RF800002', amountFen: 100, reason: 'r' });
    s.gateway.answer('queryRefund', { found: false });
    s.gateway.answer('refund', huifuSays('PROCESSING', 100));
    await followRefund(s.deps, refund);
    expect(s.gateway.callsOf('refund')).toEqual([expect.objectContaining({ refundNo: 'RF800002', reqDate: refund.reqDate, amountFen: 100, remark: 'r' })]);
  });

  it('a follow-up claimed by another run asks nothing', async () => {
    const order = await paid(1000, { RF800003: { amountFen: 100, state: 'RESERVED', at: 1 } });
    const refund = await s.refund(order.orderNo, { refundNo: 'RF800003', amountFen: 100 });
    await s.store.updateRefund(refund, { lastQueriedAt: s.clock.now(), updatedAt: s.clock.now() });
    await followRefund(s.deps, refund);
    expect(s.gateway.calls).toEqual([]);
  });
});

describe('releaseOrphanReservations', () => {
  it('gives back only reservations older than the cutoff that no refund row owns, and counts them', async () => {
    const now = s.clock.now();
    const old = now - ORPHAN_RESERVATION_MS;
    const order = await paid(1000, {
      RORPHAN1: { amountFen: 100, state: 'RESERVED', at: old },
      RYOUNG01: { amountFen: 100, state: 'RESERVED', at: old + 1 },
      ROWNED01: { amountFen: 100, state: 'RESERVED', at: old - 60_000 },
      RDONE001: { amountFen: 100, state: 'SUCCEEDED', at: old - 60_000 },
      RORPHAN2: { amountFen: 50, state: 'RESERVED', at: old - 60_000 },
    });
    await s.refund(order.orderNo, { refundNo: 'ROWNED01', amountFen: 100 });
    expect(await releaseOrphanReservations(s.deps, order)).toBe(2);
    const after = await stored(order.orderNo);
    expect(Object.keys(after.refundLedger).sort()).toEqual(['RDONE001', 'ROWNED01', 'RYOUNG01']);
    expect(after).toMatchObject({ refundReservedFen: 200, refundedFen: 100 });
  });

  it('counts nothing when another run gave the reservation back first', async () => {
    const order = await paid(1000, { RORPHAN3: { amountFen: 100, state: 'RESERVED', at: s.clock.now() - ORPHAN_RESERVATION_MS } });
    expect(await releaseOrphanReservations(s.deps, order)).toBe(1);
    expect(await releaseOrphanReservations(s.deps, order)).toBe(0);
  });
});
