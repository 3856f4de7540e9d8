import { mintCheckoutToken } from '../../../cloudfunctions/src/auth/checkout';
import type { Order } from '../../../cloudfunctions/src/domain/types';
import { HuifuDuplicateRequestError, HuifuTimeoutError, HuifuUnreachableError } from '../../../cloudfunctions/src/providers/huifu/errors';
import { cancelOrder, createOrder, getOrder, listOrders, resumePayment } from '../../../cloudfunctions/src/services/orders';
import { MAX_CAS_ATTEMPTS } from '../../../cloudfunctions/src/services/transitions';
import { DuplicateError } from '../../../cloudfunctions/src/store/port';
import { makeOrder, nextOrderNo } from '../../support/fixtures';
import { created, refused, startScripted, trade, payError, type ScriptedServices } from '../../support/scripted';

/** Placing, resuming, reading and cancelling an order, with every Huifu answer and race scripted. */
let s: ScriptedServices;
beforeEach(() => {
  s = startScripted();
});
afterEach(() => s.close());

const USER = 'o_user_1';
const token = (ref: string, amountFen = 500) => mintCheckoutToken({ ref, amountFen, description: '测试商品' }, s.deps.config.checkout.secret, s.clock.now());
const stored = async (orderNo: string) => (await s.store.getOrder(orderNo))!;

describe('createOrder', () => {
  it('the same ref created at the same moment by the same user: the order that won is used, one trade', async () => {
    const ref = nextOrderNo('ref');
    const original = s.store.insertOrder.bind(s.store);
    let winner: Order | undefined;
    jest.spyOn(s.store, 'insertOrder').mockImplementationOnce(async (order, event) => {
      winner = makeOrder({ orderNo: nextOrderNo('P'), appRef: ref, openid: USER, amountFen: 500, createdAt: s.clock.now(), expiresAt: s.clock.now() + 60_000 });
      await original(winner, event);
      return original(order, event);
    });
    s.gateway.answer('createMiniAppPayment', created());
    const result = await createOrder(s.deps, USER, await token(ref));
    expect(result.order.orderNo).toBe(winner!.orderNo);
    expect(s.gateway.callsOf('createMiniAppPayment')).toEqual([expect.objectContaining({ orderNo: winner!.orderNo })]);
  });

  it('a duplicate the store cannot then show, or any other insert failure, is thrown and nothing is sent', async () => {
    for (const failure of [new DuplicateError('orders', 'appRef'), new Error('disk full')]) {
      jest.spyOn(s.store, 'insertOrder').mockRejectedValueOnce(failure);
      await expect(createOrder(s.deps, USER, await token(nextOrderNo('ref')))).rejects.toBe(failure);
    }
    expect(s.gateway.calls).toEqual([]);
  });

  it('sends the order as Huifu needs it: our order number, amount, AppID, openid, notify URL, ref as remark', async () => {
    const ref = nextOrderNo('ref');
    s.gateway.answer('createMiniAppPayment', created());
    const { order } = await createOrder(s.deps, USER, await token(ref, 501));
    expect(s.logs).toContainEqual({ level: 'info', message: 'order created', fields: { orderNo: order.orderNo, ref, amountFen: 501 } });
    expect(s.gateway.callsOf('createMiniAppPayment')[0]).toMatchObject({ orderNo: order.orderNo, amountFen: 501, appid: s.deps.config.wechat.appid, openid: USER, notifyUrl: s.deps.config.huifuApi.notifyUrl, remark: ref, expiresAt: order.expiresAt });
  });

  it('pay_info for another AppID is refused as a configuration error, and the order is not moved', async () => {
    s.gateway.answer('createMiniAppPayment', created({ payAppId: 'wx_someone_else' }));
    const error = await payError(createOrder(s.deps, USER, await token(nextOrderNo('ref'))));
    expect(error.code).toBe('PAYMENT_CONFIG_ERROR');
    expect(error.message).toContain('wx_someone_else');
    const [order] = await s.store.listOrdersByOpenid(USER, { limit: 5 });
    expect(order).toMatchObject({ status: 'CREATED', payInfo: null });
  });

  it('Huifu already has the req_seq_id (our answer was lost): PAYMENT_RESULT_UNKNOWN, not retryable, order flagged', async () => {
    s.gateway.answer('createMiniAppPayment', refused(HuifuDuplicateRequestError, { respCode: '20000000' }));
    const error = await payError(createOrder(s.deps, USER, await token(nextOrderNo('ref'))));
    expect(error).toMatchObject({ code: 'PAYMENT_RESULT_UNKNOWN', retryable: false });
    const [order] = await s.store.listOrdersByOpenid(USER, { limit: 5 });
    expect(order).toMatchObject({ status: 'CREATED', flags: ['CREATE_ANSWER_LOST'] });
  });

  it('a create that may have reached Huifu is flagged CREATE_UNCERTAIN; one never sent is not', async () => {
    s.gateway.answer('createMiniAppPayment', new HuifuTimeoutError('/create', 500), new HuifuUnreachableError('http://h', '/create', 'ECONNREFUSED', 'refused'));
    await expect(createOrder(s.deps, USER, await token('ref-uncertain'))).rejects.toBeInstanceOf(HuifuTimeoutError);
    await expect(createOrder(s.deps, 'o_user_2', await token('ref-unsent'))).rejects.toBeInstanceOf(HuifuUnreachableError);
    expect((await s.store.getOrderByRef('ref-uncertain'))!.flags).toEqual(['CREATE_UNCERTAIN']);
    expect((await s.store.getOrderByRef('ref-unsent'))!.flags).toEqual([]);
    const warnings = s.logs.filter((l) => l.message === 'huifu create failed').map((l) => l.fields);
    expect(warnings).toEqual([
      { orderNo: (await s.store.getOrderByRef('ref-uncertain'))!.orderNo, code: 'PAYMENT_GATEWAY_UNAVAILABLE', ambiguous: true },
      { orderNo: (await s.store.getOrderByRef('ref-unsent'))!.orderNo, code: 'PAYMENT_GATEWAY_UNAVAILABLE', ambiguous: false },
    ]);
  });

  it('a create that settles clears CREATE_UNCERTAIN and keeps every other flag; the audit names the Huifu serial', async () => {
    const order = await s.order({ appRef: 'ref-flags', openid: USER, amountFen: 500, flags: ['CREATE_UNCERTAIN', 'NOTIFY_MISMATCH'] });
    s.gateway.answer('createMiniAppPayment', created({ hfSeqId: 'HF-PLACED' }));
    const result = await createOrder(s.deps, USER, await token('ref-flags'));
    expect(result).toMatchObject({ resumed: false, order: { status: 'PAYING' } });
    expect(await stored(order.orderNo)).toMatchObject({ status: 'PAYING', hfSeqId: 'HF-PLACED', flags: ['NOTIFY_MISMATCH'] });
    expect(await s.events(order.orderNo)).toContain('CREATED→PAYING Huifu trade HF-PLACED placed');
  });

  it('a create answer without hf_seq_id is recorded as such', async () => {
    const order = await s.order({ appRef: 'ref-noseq', openid: USER, amountFen: 500 });
    s.gateway.answer('createMiniAppPayment', created({ hfSeqId: null }));
    await createOrder(s.deps, USER, await token('ref-noseq'));
    expect(await s.events(order.orderNo)).toContain('CREATED→PAYING Huifu trade (no hf_seq_id) placed');
  });

  it('a notification got there first with pay_info stored: that pay_info is handed out', async () => {
    const order = await s.order({ appRef: 'ref-race1', openid: USER, amountFen: 500 });
    const theirs = { timeStamp: '1', nonceStr: 'theirs', package: 'prepay_id=1', signType: 'RSA' as const, paySign: 's' };
    s.gateway.answer('createMiniAppPayment', async () => {
      await s.store.updateOrder((await stored(order.orderNo))!, { status: 'PAYING', payInfo: theirs, updatedAt: s.clock.now() });
      return created();
    });
    expect(await createOrder(s.deps, USER, await token('ref-race1'))).toMatchObject({ resumed: true, payment: theirs });
  });

  it('a writer moved it to PAYING without pay_info meanwhile: ours is stored and handed out', async () => {
    const order = await s.order({ appRef: 'ref-race2', openid: USER, amountFen: 500 });
    s.gateway.answer('createMiniAppPayment', async () => {
      await s.store.updateOrder((await stored(order.orderNo))!, { status: 'PAYING', updatedAt: s.clock.now() });
      return created({ hfSeqId: 'HF-OURS' });
    });
    const result = await createOrder(s.deps, USER, await token('ref-race2'));
    expect(result).toMatchObject({ resumed: false, payment: created().payParams });
    expect(await stored(order.orderNo)).toMatchObject({ status: 'PAYING', hfSeqId: 'HF-OURS', payInfo: created().payParams });
  });

  it('the order was placed by another call and paid while ours was in flight: ORDER_ALREADY_PAID, not its old pay_info', async () => {
    const order = await s.order({ appRef: 'ref-race4', openid: USER, amountFen: 500 });
    s.gateway.answer('createMiniAppPayment', async () => {
      const paying = (await s.store.updateOrder((await stored(order.orderNo))!, { status: 'PAYING', payInfo: created().payParams, updatedAt: s.clock.now() }))!;
      await s.store.updateOrder(paying, { status: 'PAID', updatedAt: s.clock.now() });
      return created();
    });
    expect((await payError(createOrder(s.deps, USER, await token('ref-race4')))).code).toBe('ORDER_ALREADY_PAID');
  });

  it('a create failing with an error that is not Huifu\'s is logged as not ambiguous, and the order not flagged', async () => {
    s.gateway.answer('createMiniAppPayment', new TypeError('bug'));
    await expect(createOrder(s.deps, USER, await token('ref-bug'))).rejects.toThrow('bug');
    expect(s.logs.find((l) => l.message === 'huifu create failed')!.fields).toMatchObject({ ambiguous: false });
    expect((await s.store.getOrderByRef('ref-bug'))!.flags).toEqual([]);
  });

  it('the order was paid while the create was in flight: ORDER_ALREADY_PAID', async () => {
    const order = await s.order({ appRef: 'ref-race3', openid: USER, amountFen: 500 });
    s.gateway.answer('createMiniAppPayment', async () => {
      await s.store.updateOrder((await stored(order.orderNo))!, { status: 'PAID', updatedAt: s.clock.now() });
      return created();
    });
    expect((await payError(createOrder(s.deps, USER, await token('ref-race3')))).code).toBe('ORDER_ALREADY_PAID');
  });

  it(`gives up storing the trade after ${MAX_CAS_ATTEMPTS} lost compare-and-sets`, async () => {
    await s.order({ appRef: 'ref-contended', openid: USER, amountFen: 500 });
    s.gateway.answer('createMiniAppPayment', created());
    const calls = s.loseUpdates('updateOrder');
    await expect(createOrder(s.deps, USER, await token('ref-contended'))).rejects.toThrow('still contended');
    expect(calls()).toBe(MAX_CAS_ATTEMPTS);
  });
});

describe('resumePayment', () => {
  it('refuses paid, refunded, failed, closed and cancelled orders with the right code, without calling Huifu', async () => {
    const cases: Array<[Partial<Order>, string]> = [
      [{ status: 'PAID' }, 'ORDER_ALREADY_PAID'],
      [{ status: 'PAID_AFTER_CLOSE' }, 'ORDER_ALREADY_PAID'],
      [{ status: 'PARTIALLY_REFUNDED' }, 'ORDER_ALREADY_PAID'],
      [{ status: 'REFUNDED' }, 'ORDER_ALREADY_PAID'],
      [{ status: 'FAILED' }, 'ORDER_NOT_PAYABLE'],
      [{ status: 'CLOSED' }, 'ORDER_NOT_PAYABLE'],
      [{ status: 'PAYING', cancelRequestedAt: s.clock.now() }, 'ORDER_NOT_PAYABLE'],
    ];
    for (const [overrides, code] of cases) {
      const order = await s.order({ openid: USER, ...overrides });
      expect([overrides.status, (await payError(resumePayment(s.deps, USER, order.orderNo))).code]).toEqual([overrides.status, code]);
    }
    expect(s.gateway.calls).toEqual([]);
  });

  it('is expired from the exact millisecond the order expires', async () => {
    const order = await s.order({ openid: USER, status: 'PAYING', expiresAt: s.clock.now() + 1 });
    s.clock.advance(1);
    expect((await payError(resumePayment(s.deps, USER, order.orderNo))).code).toBe('ORDER_EXPIRED');
  });

  it('hands out stored pay_info again; a PAYING order without it is placed again under the same number', async () => {
    const payInfo = created().payParams;
    const withInfo = await s.order({ openid: USER, status: 'PAYING', payInfo });
    expect(await resumePayment(s.deps, USER, withInfo.orderNo)).toMatchObject({ resumed: true, payment: payInfo });
    expect(s.gateway.calls).toEqual([]);

    const without = await s.order({ openid: USER, status: 'PAYING', payInfo: null });
    s.gateway.answer('createMiniAppPayment', created());
    expect(await resumePayment(s.deps, USER, without.orderNo)).toMatchObject({ resumed: false, payment: payInfo });
    expect(s.gateway.callsOf('createMiniAppPayment')).toEqual([expect.objectContaining({ orderNo: without.orderNo, reqDate: without.reqDate })]);
  });

  it("another user's order answers exactly like a missing one", async () => {
    const order = await s.order({ openid: 'o_other' });
    const theirs = await payError(resumePayment(s.deps, USER, order.orderNo));
    const missing = await payError(resumePayment(s.deps, USER, 'P_NO_SUCH'));
    expect([theirs.code, missing.code]).toEqual(['ORDER_NOT_FOUND', 'ORDER_NOT_FOUND']);
  });
});

describe('getOrder', () => {
  it('asks Huifu about an unpaid order once it is QUERY_AFTER_SECONDS old, not before', async () => {
    for (const status of ['PAYING', 'CREATED'] as const) {
      const order = await s.order({ openid: USER, status, amountFen: 500 });
      s.clock.advance(9_999);
      expect((await getOrder(s.deps, USER, order.orderNo)).status).toBe(status);
      expect(s.gateway.calls).toEqual([]);
      s.clock.advance(1);
      s.gateway.answer('queryPayment', trade('SUCCEEDED', 500));
      expect((await getOrder(s.deps, USER, order.orderNo)).status).toBe('PAID');
      s.gateway.calls.length = 0;
    }
  });

  it('does not ask about an order that is already final', async () => {
    const order = await s.order({ openid: USER, status: 'PAID' });
    s.clock.advance(60_000);
    expect((await getOrder(s.deps, USER, order.orderNo)).status).toBe('PAID');
    expect(s.gateway.calls).toEqual([]);
  });

  it('asks at most every QUERY_MIN_INTERVAL_SECONDS per order', async () => {
    const order = await s.order({ openid: USER, status: 'PAYING', amountFen: 500 });
    s.clock.advance(60_000);
    s.gateway.answer('queryPayment', trade('PROCESSING', 500), trade('PROCESSING', 500));
    await getOrder(s.deps, USER, order.orderNo);
    s.clock.advance(4_999);
    await getOrder(s.deps, USER, order.orderNo);
    expect(s.gateway.callsOf('queryPayment')).toHaveLength(1);
    s.clock.advance(1);
    await getOrder(s.deps, USER, order.orderNo);
    expect(s.gateway.callsOf('queryPayment')).toHaveLength(2);
  });

  it('a failed query answers with the stored state and logs the order number and code', async () => {
    const order = await s.order({ openid: USER, status: 'PAYING' });
    s.clock.advance(60_000);
    s.gateway.answer('queryPayment', new HuifuTimeoutError('/query', 500));
    expect((await getOrder(s.deps, USER, order.orderNo)).status).toBe('PAYING');
    expect(s.logs).toContainEqual({ level: 'warn', message: 'order query failed; answering with the stored state', fields: { orderNo: order.orderNo, code: 'PAYMENT_GATEWAY_UNAVAILABLE' } });
  });
});

describe('listOrders', () => {
  it('pages with a cursor it issued and refuses one it did not', async () => {
    for (let i = 0; i < 3; i++) {
      await s.order({ openid: USER });
      s.clock.advance(1_000);
    }
    const first = await listOrders(s.deps, USER, 2);
    expect(first.orders).toHaveLength(2);
    const second = await listOrders(s.deps, USER, 2, first.nextCursor!);
    expect(second).toMatchObject({ nextCursor: null });
    expect(second.orders).toHaveLength(1);
    expect((await payError(listOrders(s.deps, USER, 2, 'not-a-cursor'))).code).toBe('INVALID_REQUEST');
  });
});

describe('cancelOrder', () => {
  it('a CLOSED order answers CLOSED without calling Huifu; paid, refunded and failed ones are refused', async () => {
    const closed = await s.order({ openid: USER, status: 'CLOSED' });
    expect((await cancelOrder(s.deps, USER, closed.orderNo)).state).toBe('CLOSED');
    for (const [status, code] of [['PAID', 'ORDER_ALREADY_PAID'], ['REFUNDED', 'ORDER_ALREADY_PAID'], ['PAID_AFTER_CLOSE', 'ORDER_ALREADY_PAID'], ['FAILED', 'ORDER_NOT_PAYABLE']] as const) {
      const order = await s.order({ openid: USER, status });
      expect((await payError(cancelOrder(s.deps, USER, order.orderNo))).code).toBe(code);
      expect((await stored(order.orderNo)).cancelRequestedAt).toBeNull();
    }
    expect(s.gateway.calls).toEqual([]);
  });

  it("refuses another user's order as not found, and records nothing", async () => {
    const order = await s.order({ openid: 'o_other', status: 'PAYING' });
    expect((await payError(cancelOrder(s.deps, USER, order.orderNo))).code).toBe('ORDER_NOT_FOUND');
    expect(await stored(order.orderNo)).toMatchObject({ cancelRequestedAt: null, version: order.version });
  });

  it('records the request once, then closes: S answers CLOSED, P answers CLOSING', async () => {
    const first = await s.order({ openid: USER, status: 'PAYING' });
    s.gateway.answer('close', { closeState: 'SUCCEEDED', tradeState: 'INITIAL' });
    expect(await cancelOrder(s.deps, USER, first.orderNo)).toMatchObject({ state: 'CLOSED', order: { status: 'CLOSED' } });
    expect(await s.events(first.orderNo)).toContain('PAYING→PAYING the user asked to cancel');

    const second = await s.order({ openid: USER, status: 'PAYING' });
    s.gateway.answer('close', { closeState: 'PROCESSING', tradeState: null }, { closeState: 'PROCESSING', tradeState: null });
    expect((await cancelOrder(s.deps, USER, second.orderNo)).state).toBe('CLOSING');
    const requestedAt = (await stored(second.orderNo)).cancelRequestedAt;
    expect(requestedAt).toBe(s.clock.now());
    s.clock.advance(5_000);
    s.gateway.answer('queryClose', { closeState: 'PROCESSING', tradeState: null });
    expect((await cancelOrder(s.deps, USER, second.orderNo)).state).toBe('CLOSING');
    expect((await stored(second.orderNo)).cancelRequestedAt).toBe(requestedAt);
    expect((await s.events(second.orderNo)).filter((e) => e.includes('asked to cancel'))).toHaveLength(1);
  });

  it('a CREATED order (no trade placed yet) can be cancelled too', async () => {
    const order = await s.order({ openid: USER, status: 'CREATED' });
    s.gateway.answer('close', { closeState: 'SUCCEEDED', tradeState: null });
    expect(await cancelOrder(s.deps, USER, order.orderNo)).toMatchObject({ state: 'CLOSED', order: { status: 'CLOSED' } });
  });

  it('a trade paid before it could be closed is reported ORDER_ALREADY_PAID', async () => {
    const order = await s.order({ openid: USER, status: 'PAYING', amountFen: 500 });
    s.gateway.answer('close', { closeState: 'FAILED', tradeState: 'SUCCEEDED' });
    s.gateway.answer('queryPayment', trade('SUCCEEDED', 500));
    expect((await payError(cancelOrder(s.deps, USER, order.orderNo))).code).toBe('ORDER_ALREADY_PAID');
    expect((await stored(order.orderNo)).status).toBe('PAID');
  });

  it('a trade that failed while closing is over unpaid: CLOSED, with the FAILED order', async () => {
    const order = await s.order({ openid: USER, status: 'PAYING', amountFen: 500 });
    s.gateway.answer('close', { closeState: 'FAILED', tradeState: null });
    s.gateway.answer('queryPayment', trade('FAILED', 500));
    expect(await cancelOrder(s.deps, USER, order.orderNo)).toMatchObject({ state: 'CLOSED', order: { status: 'FAILED' } });
  });

  it('an order paid since it was read is reported ORDER_ALREADY_PAID, without a close', async () => {
    const order = await s.order({ openid: USER, status: 'PAYING' });
    await s.store.updateOrder(order, { status: 'PAID', paidAt: s.clock.now(), updatedAt: s.clock.now() });
    jest.spyOn(s.store, 'getOrder').mockResolvedValueOnce(order); // the stale read
    expect((await payError(cancelOrder(s.deps, USER, order.orderNo))).code).toBe('ORDER_ALREADY_PAID');
    expect(s.gateway.calls).toEqual([]);
  });

  it(`stops recording the request after ${MAX_CAS_ATTEMPTS} lost compare-and-sets`, async () => {
    const order = await s.order({ openid: USER, status: 'PAYING' });
    const calls = s.loseUpdates('updateOrder');
    await expect(cancelOrder(s.deps, USER, order.orderNo)).rejects.toThrow('still contended');
    expect(calls()).toBe(2 * MAX_CAS_ATTEMPTS); // the request, then the close
  });
});
