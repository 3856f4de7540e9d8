import { closeOrder, followClose } from '../../../cloudfunctions/src/services/close';
import { MAX_CAS_ATTEMPTS } from '../../../cloudfunctions/src/services/transitions';
import {
  businessError,
  HuifuBusinessError,
  HuifuCloseExistsError,
  HuifuCloseTooEarlyError,
  HuifuNotFoundError,
  HuifuTimeoutError,
  HuifuTradeFinalError,
  HuifuUnreachableError,
} from '../../../cloudfunctions/src/providers/huifu/errors';
import type { Order } from '../../../cloudfunctions/src/domain/types';
import { refused, startScripted, trade, type ScriptedServices } from '../../support/scripted';

/** Every answer Huifu can give a close or a close query, and what the order becomes. */
let s: ScriptedServices;
beforeEach(() => {
  s = startScripted();
});
afterEach(() => s.close());

const close = (order: Order) => closeOrder(s.deps, order, 'reconcile', 'payment window expired');
const stored = async (order: Order) => (await s.store.getOrder(order.orderNo))!;
const processing = (at: number) => ({ reqSeqId: 'C20261205000000000abcdefghij', reqDate: '20261205', state: 'PROCESSING' as const, at });

describe('closeOrder', () => {
  it('an order that is not open is not sent to Huifu', async () => {
    for (const status of ['PAID', 'FAILED', 'CLOSED'] as const) {
      const order = await s.order({ status });
      expect(await close(order)).toEqual({ outcome: 'not_open', order });
    }
    expect(s.gateway.calls).toEqual([]);
  });

  it('S: CLOSED here, with the close request recorded as succeeded and pay_info dropped', async () => {
    const order = await s.order({ status: 'PAYING', payInfo: { timeStamp: '1', nonceStr: 'n', package: 'p', signType: 'RSA', paySign: 's' } });
    s.gateway.answer('close', { closeState: 'SUCCEEDED', tradeState: 'INITIAL' });
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('closed');
    expect(after).toMatchObject({ status: 'CLOSED', payInfo: null, closedAt: s.clock.now(), closeRequest: { state: 'SUCCEEDED' } });
    const sent = s.gateway.callsOf('close')[0] as { reqSeqId: string; orderNo: string; orderReqDate: string };
    expect(sent).toMatchObject({ reqSeqId: after.closeRequest!.reqSeqId, orderNo: order.orderNo, orderReqDate: order.reqDate });
    expect(sent.reqSeqId).toMatch(/^C\d{17}[0-9a-z]{10}$/);
  });

  it('P: closing, the request kept PROCESSING for close query', async () => {
    const order = await s.order({ status: 'PAYING' });
    s.gateway.answer('close', { closeState: 'PROCESSING', tradeState: 'INITIAL' });
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('closing');
    expect(await stored(order)).toMatchObject({ status: 'PAYING', closeRequest: { state: 'PROCESSING', reqSeqId: after.closeRequest!.reqSeqId } });
  });

  it('a close in progress is followed with close query on the same request, never a second close', async () => {
    const order = await s.order({ status: 'PAYING', closeRequest: processing(s.clock.now() - 20_000) });
    s.gateway.answer('queryClose', { closeState: 'SUCCEEDED', tradeState: 'INITIAL' });
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('closed');
    expect(s.gateway.callsOf('close')).toEqual([]);
    expect(s.gateway.callsOf('queryClose')).toEqual([expect.objectContaining({ reqSeqId: order.closeRequest!.reqSeqId, reqDate: '20261205' })]);
    expect(after.closeRequest).toMatchObject({ reqSeqId: order.closeRequest!.reqSeqId, state: 'SUCCEEDED' });
    expect(await s.events(order.orderNo)).toContain(`PAYING→PAYING close query ${order.closeRequest!.reqSeqId}: close SUCCEEDED, trade INITIAL`);
  });

  it('the trade was paid meanwhile: the payment is queried and settles PAID', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 300 });
    s.gateway.answer('close', { closeState: 'FAILED', tradeState: 'SUCCEEDED' });
    s.gateway.answer('queryPayment', trade('SUCCEEDED', 300));
    expect(await close(order)).toMatchObject({ outcome: 'paid', order: { status: 'PAID' } });
  });

  it('a close still processing for a trade already paid: the payment is queried and settles PAID', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 300 });
    s.gateway.answer('close', { closeState: 'PROCESSING', tradeState: 'SUCCEEDED' });
    s.gateway.answer('queryPayment', trade('SUCCEEDED', 300));
    expect(await close(order)).toMatchObject({ outcome: 'paid', order: { status: 'PAID' } });
  });

  it('keeps 160 characters of a refusal in the audit trail and the flag, however long Huifu\'s description', async () => {
    const order = await s.order({ status: 'PAYING' });
    s.gateway.answer('close', businessError('/v2/trade/payment/scanpay/close', '99010002', '长'.repeat(400)));
    expect((await close(order)).order.flags).toEqual(['CLOSE_REFUSED']);
    const details = (await s.store.listOrderEvents(order.orderNo)).map((e) => e.detail).filter((d) => d.includes('长'));
    expect(details).toHaveLength(2);
    for (const detail of details) expect(detail.length).toBeLessThanOrEqual(220);
  });

  it('close F: the request is FAILED, the trade queried, and a failed trade counts as closed', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 300 });
    s.gateway.answer('close', { closeState: 'FAILED', tradeState: null });
    s.gateway.answer('queryPayment', trade('FAILED', 300));
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('closed');
    expect(after).toMatchObject({ status: 'FAILED', closeRequest: { state: 'FAILED' } });
  });

  it('close F with the trade still open at Huifu: deferred, to be closed again later', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 300 });
    s.gateway.answer('close', { closeState: 'FAILED', tradeState: null });
    s.gateway.answer('queryPayment', trade('PROCESSING', 300));
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('deferred');
    expect(after).toMatchObject({ status: 'PAYING', closeRequest: { state: 'FAILED' } });
  });

  it('too early: deferred, the request FAILED, and no flag for a person', async () => {
    const order = await s.order({ status: 'CREATED' });
    s.gateway.answer('close', refused(HuifuCloseTooEarlyError, { respCode: '10000015', retryable: true }));
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('deferred');
    expect(after).toMatchObject({ status: 'CREATED', flags: [], closeRequest: { state: 'FAILED' } });
    expect(await s.events(order.orderNo)).toContain('CREATED→CREATED Huifu refuses closing a trade younger than a minute; trying again later');
  });

  it('"the trade is final": its outcome is queried and applied', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 300 });
    s.gateway.answer('close', refused(HuifuTradeFinalError, { respCode: '10000016' }));
    s.gateway.answer('queryPayment', trade('SUCCEEDED', 300));
    expect(await close(order)).toMatchObject({ outcome: 'paid', order: { status: 'PAID' } });
  });

  it('no such trade at Huifu on close: nothing can be paid, CLOSED here', async () => {
    const order = await s.order({ status: 'CREATED' });
    s.gateway.answer('close', refused(HuifuNotFoundError, { respCode: '23000001' }));
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('closed');
    expect(after).toMatchObject({ status: 'CLOSED', closeRequest: { state: 'SUCCEEDED' } });
    expect(await s.events(order.orderNo)).toContain('CREATED→CLOSED payment window expired (no trade at Huifu)');
  });

  it('no such close on close query: ours never arrived, the request FAILED so a new one may be sent', async () => {
    const order = await s.order({ status: 'PAYING', closeRequest: processing(s.clock.now() - 20_000) });
    s.gateway.answer('queryClose', refused(HuifuNotFoundError, { respCode: '23000001' }));
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('deferred');
    expect(after).toMatchObject({ status: 'PAYING', closeRequest: { state: 'FAILED' } });
  });

  it('a close already exists: followed with close query in the same call; on close query it stays closing', async () => {
    const order = await s.order({ status: 'PAYING' });
    s.gateway.answer('close', refused(HuifuCloseExistsError, { respDesc: '不能重复关单', retryable: true }));
    s.gateway.answer('queryClose', refused(HuifuCloseExistsError, { respDesc: '不能重复关单', retryable: true }));
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('closing');
    expect(s.gateway.callsOf('close')).toHaveLength(1);
    expect(s.gateway.callsOf('queryClose')).toHaveLength(1);
    expect(after.closeRequest!.state).toBe('PROCESSING');
  });

  it('no answer: the close stays PROCESSING and is followed, not re-sent', async () => {
    const order = await s.order({ status: 'PAYING' });
    s.gateway.answer('close', new HuifuTimeoutError('/v2/trade/payment/scanpay/close', 500));
    expect((await close(order)).outcome).toBe('closing');
    expect((await stored(order)).closeRequest!.state).toBe('PROCESSING');
  });

  it('refused for good: deferred, request FAILED and the order flagged CLOSE_REFUSED with the reason', async () => {
    const order = await s.order({ status: 'PAYING' });
    s.gateway.answer('close', refused(HuifuBusinessError, { respCode: '99010002', respDesc: '商户状态异常' }));
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('deferred');
    expect(after).toMatchObject({ flags: ['CLOSE_REFUSED'], closeRequest: { state: 'FAILED' } });
    expect((await s.events(order.orderNo)).some((e) => e.includes('flagged CLOSE_REFUSED: Huifu refused (99010002)'))).toBe(true);
  });

  it('refused for now (retryable) or not sent at all: deferred without a flag', async () => {
    for (const error of [refused(HuifuBusinessError, { respCode: '20000001', retryable: true }), new HuifuUnreachableError('http://h', '/close', 'ECONNREFUSED', 'refused')]) {
      const order = await s.order({ status: 'PAYING' });
      s.gateway.answer('close', error);
      const { outcome, order: after } = await close(order);
      expect(outcome).toBe('deferred');
      expect(after).toMatchObject({ flags: [], closeRequest: { state: 'FAILED' } });
    }
  });

  it('an error that is not Huifu\'s is thrown, the close left PROCESSING to be followed', async () => {
    const order = await s.order({ status: 'PAYING' });
    s.gateway.answer('close', new TypeError('bug'));
    await expect(close(order)).rejects.toThrow('bug');
    expect((await stored(order)).closeRequest!.state).toBe('PROCESSING');
  });

  it('closes from a stale read: re-reads and closes what is stored', async () => {
    const order = await s.order({ status: 'CREATED' });
    const paying = (await s.store.updateOrder(order, { status: 'PAYING', updatedAt: s.clock.now() }))!;
    s.gateway.answer('close', { closeState: 'SUCCEEDED', tradeState: 'INITIAL' });
    const { outcome, order: after } = await close(order);
    expect(outcome).toBe('closed');
    expect(after.version).toBe(paying.version + 2);
  });

  it('closes from a stale read of an order paid since: not_open, nothing sent', async () => {
    const order = await s.order({ status: 'PAYING' });
    await s.store.updateOrder(order, { status: 'PAID', updatedAt: s.clock.now() });
    expect((await close(order)).outcome).toBe('not_open');
    expect(s.gateway.calls).toEqual([]);
  });

  it('the trade is paid between the close answer and the local write: PAID stands, reported as paid', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 300 });
    s.gateway.answer('close', async () => {
      const current = (await s.store.getOrder(order.orderNo))!;
      await s.store.updateOrder(current, { status: 'PAID', paidAt: s.clock.now(), updatedAt: s.clock.now() });
      return { closeState: 'SUCCEEDED', tradeState: 'INITIAL' };
    });
    expect(await close(order)).toMatchObject({ outcome: 'paid', order: { status: 'PAID' } });
  });

  it('close F while another writer failed the order: the request is left as it is, the trade still queried', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 300 });
    s.gateway.answer('close', async () => {
      const current = (await s.store.getOrder(order.orderNo))!;
      await s.store.updateOrder(current, { status: 'FAILED', updatedAt: s.clock.now() });
      return { closeState: 'FAILED', tradeState: null };
    });
    s.gateway.answer('queryPayment', trade('FAILED', 300));
    expect(await close(order)).toMatchObject({ outcome: 'closed', order: { status: 'FAILED', closeRequest: { state: 'PROCESSING' } } });
  });

  it(`gives up with an error after ${MAX_CAS_ATTEMPTS} lost compare-and-sets, having sent nothing`, async () => {
    const order = await s.order({ status: 'PAYING' });
    const calls = s.loseUpdates('updateOrder');
    await expect(close(order)).rejects.toThrow(`closeOrder ${order.orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
    expect(calls()).toBe(MAX_CAS_ATTEMPTS);
    expect(s.gateway.calls).toEqual([]);
  });

  it(`marking it closed gives up after ${MAX_CAS_ATTEMPTS} lost compare-and-sets`, async () => {
    const order = await s.order({ status: 'PAYING' });
    const calls = s.loseUpdates('updateOrder', 1);
    s.gateway.answer('close', { closeState: 'SUCCEEDED', tradeState: 'INITIAL' });
    await expect(close(order)).rejects.toThrow(`closeOrder ${order.orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
    expect(calls()).toBe(1 + MAX_CAS_ATTEMPTS);
  });

  it(`marking the request failed gives up after ${MAX_CAS_ATTEMPTS} lost compare-and-sets`, async () => {
    const order = await s.order({ status: 'PAYING' });
    const calls = s.loseUpdates('updateOrder', 1);
    s.gateway.answer('close', refused(HuifuCloseTooEarlyError, { retryable: true }));
    await expect(close(order)).rejects.toThrow(`closeOrder ${order.orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
    expect(calls()).toBe(1 + MAX_CAS_ATTEMPTS);
  });
});

describe('followClose', () => {
  it('without a close in progress it sends a new close', async () => {
    const order = await s.order({ status: 'PAYING', closeRequest: { ...processing(s.clock.now() - 90_000), state: 'FAILED' } });
    s.gateway.answer('close', { closeState: 'PROCESSING', tradeState: 'INITIAL' });
    expect((await followClose(s.deps, order, 'reconcile', 'x')).outcome).toBe('closing');
    expect(s.gateway.callsOf('close')).toHaveLength(1);
  });

  it('claims the follow-up: a follower that lost the claim reports what is stored and asks nothing', async () => {
    const order = await s.order({ status: 'PAYING', closeRequest: processing(s.clock.now() - 20_000) });
    await s.store.updateOrder(order, { closeRequest: { ...order.closeRequest!, at: s.clock.now() }, updatedAt: s.clock.now() });
    expect((await followClose(s.deps, order, 'reconcile', 'x')).outcome).toBe('deferred');
    expect(s.gateway.calls).toEqual([]);

    const closed = await s.order({ status: 'PAYING', closeRequest: processing(s.clock.now() - 20_000) });
    await s.store.updateOrder(closed, { status: 'CLOSED', updatedAt: s.clock.now() });
    expect((await followClose(s.deps, closed, 'reconcile', 'x')).outcome).toBe('closed');
    const failed = await s.order({ status: 'PAYING', closeRequest: processing(s.clock.now() - 20_000) });
    await s.store.updateOrder(failed, { status: 'FAILED', updatedAt: s.clock.now() });
    expect((await followClose(s.deps, failed, 'reconcile', 'x')).outcome).toBe('closed');
    const paid = await s.order({ status: 'PAYING', closeRequest: processing(s.clock.now() - 20_000) });
    await s.store.updateOrder(paid, { status: 'PAID', updatedAt: s.clock.now() });
    expect((await followClose(s.deps, paid, 'reconcile', 'x')).outcome).toBe('paid');
    expect(s.gateway.calls).toEqual([]);
  });

  it('moves the next follow-up later by claiming it', async () => {
    const order = await s.order({ status: 'PAYING', closeRequest: processing(s.clock.now() - 20_000) });
    s.gateway.answer('queryClose', { closeState: 'PROCESSING', tradeState: null });
    await followClose(s.deps, order, 'reconcile', 'x');
    expect((await stored(order)).closeRequest).toMatchObject({ state: 'PROCESSING', at: s.clock.now() });
    expect(await s.events(order.orderNo)).toContain(`PAYING→PAYING close query ${order.closeRequest!.reqSeqId}: close PROCESSING`);
  });
});
