import { queryAndSettle, settleOrder } from '../../../cloudfunctions/src/services/settle';
import { flagOrder, MAX_CAS_ATTEMPTS, moveOrder } from '../../../cloudfunctions/src/services/transitions';
import type { Order, OrderEventSource } from '../../../cloudfunctions/src/domain/types';
import type { TradeOutcome } from '../../../cloudfunctions/src/providers/port';
import { startScripted, trade, type ScriptedServices } from '../../support/scripted';

/**
 * settleOrder is the one place a payment outcome changes an order; these walk every (status, outcome) pair it
 * distinguishes, with the gateway scripted, and check what is stored, announced and logged.
 */
let s: ScriptedServices;
beforeEach(() => {
  s = startScripted();
});
afterEach(() => s.close());

const outcome = (state: TradeOutcome['state'], amountFen: number, overrides: Partial<TradeOutcome> = {}) => trade(state, amountFen, overrides) as TradeOutcome & { found: true };
const settle = (order: Order, o: TradeOutcome, source: OrderEventSource = 'notify') => settleOrder(s.deps, order, o, source);
const webhookEvents = async (orderNo: string) => (await s.store.listWebhooks({ orderNo, limit: 50 })).map((w) => w.event).sort();

describe('settleOrder', () => {
  it('a CREATED order (the create answer not stored yet) is paid or failed like a PAYING one', async () => {
    for (const state of ['SUCCEEDED', 'FAILED'] as const) {
      const order = await s.order({ status: 'CREATED', amountFen: 500 });
      expect((await settle(order, outcome(state, 500))).order.status).toBe(state === 'SUCCEEDED' ? 'PAID' : 'FAILED');
    }
  });

  it('a success for a CLOSED order without an end time is dated when it is settled', async () => {
    const order = await s.order({ status: 'CLOSED', amountFen: 500 });
    s.clock.advance(1234);
    expect((await settle(order, outcome('SUCCEEDED', 500))).order.paidAt).toBe(s.clock.now());
  });

  it('moves a PAYING order to FAILED on a failed trade, and announces nothing', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    const { result, order: after } = await settle(order, outcome('FAILED', 500));
    expect(result).toBe('applied');
    expect(after.status).toBe('FAILED');
    expect((await s.store.getOrder(order.orderNo))!.status).toBe('FAILED');
    expect(await webhookEvents(order.orderNo)).toEqual([]);
  });

  it('ignores INITIAL and PROCESSING: "not yet" is never a failure', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    for (const state of ['INITIAL', 'PROCESSING'] as const) {
      expect((await settle(order, outcome(state, 500))).result).toBe('ignored');
    }
    expect((await s.store.getOrder(order.orderNo))!).toMatchObject({ status: 'PAYING', version: order.version });
  });

  it('refuses an amount one fen short or over, for failures too, and flags the order', async () => {
    for (const [state, fen] of [['SUCCEEDED', 499], ['SUCCEEDED', 501], ['FAILED', 499]] as const) {
      const order = await s.order({ status: 'PAYING', amountFen: 500 });
      const { result, order: after } = await settle(order, outcome(state, fen));
      expect(result).toBe('mismatch');
      expect(after).toMatchObject({ status: 'PAYING', flags: ['AMOUNT_MISMATCH'] });
    }
  });

  it("stores Huifu's serials, fee and end time with the payment", async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500, hfSeqId: 'HF-CREATE' });
    const paidAt = s.clock.now() - 90_000;
    const { order: after } = await settle(order, outcome('SUCCEEDED', 500, { hfSeqId: 'HF-PAY', outTransId: 'WX-1', partyOrderId: 'PARTY-1', feeFen: 3, paidAt }));
    expect(after).toMatchObject({ status: 'PAID', hfSeqId: 'HF-PAY', outTransId: 'WX-1', partyOrderId: 'PARTY-1', feeFen: 3, paidAt });
  });

  it('keeps what it knew when Huifu leaves a field out, and takes the time of settling when there is no end time', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500, hfSeqId: 'HF-CREATE', outTransId: 'WX-0', partyOrderId: 'PARTY-0', feeFen: 2 });
    const before = s.clock.now();
    const { order: after } = await settle(order, outcome('SUCCEEDED', 500, { hfSeqId: null }));
    expect(after).toMatchObject({ hfSeqId: 'HF-CREATE', outTransId: 'WX-0', partyOrderId: 'PARTY-0', feeFen: 2 });
    expect(after.paidAt).toBeGreaterThanOrEqual(before);
    expect(after.paidAt).toBeLessThanOrEqual(s.clock.now());
  });

  it('keeps a zero fee Huifu reports', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500, feeFen: null });
    expect((await settle(order, outcome('SUCCEEDED', 500, { feeFen: 0 }))).order.feeFen).toBe(0);
  });

  it('a success for a CLOSED order is money taken after close: PAID_AFTER_CLOSE, flagged, announced and logged once', async () => {
    const order = await s.order({ status: 'CLOSED', amountFen: 500, closedAt: s.clock.now() });
    const paidAt = s.clock.now() - 60_000;
    const { result, order: after } = await settle(order, outcome('SUCCEEDED', 500, { hfSeqId: 'HF-LATE', paidAt }), 'reconcile');
    expect(result).toBe('applied');
    expect(after).toMatchObject({ status: 'PAID_AFTER_CLOSE', flags: ['PAID_AFTER_CLOSE'], paidAt, hfSeqId: 'HF-LATE' });
    expect(await webhookEvents(order.orderNo)).toEqual(['order.paid_after_close']);
    expect(s.logs.filter((l) => l.level === 'error')).toEqual([{ level: 'error', message: 'money taken after close', fields: { orderNo: order.orderNo, hfSeqId: 'HF-LATE', source: 'reconcile' } }]);
  });

  it('does not log money taken after close when another writer recorded it first', async () => {
    const order = await s.order({ status: 'CLOSED', amountFen: 500 });
    await settle(order, outcome('SUCCEEDED', 500)); // the other writer
    s.logs.length = 0;
    const { result } = await settle(order, outcome('SUCCEEDED', 500)); // from its stale read: loses, re-reads, sees it done
    expect(result).toBe('duplicate');
    expect(s.logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a success for a FAILED order is flagged for a person and changes nothing else', async () => {
    const order = await s.order({ status: 'FAILED', amountFen: 500 });
    const { result, order: after } = await settle(order, outcome('SUCCEEDED', 500));
    expect(result).toBe('mismatch');
    expect(after).toMatchObject({ status: 'FAILED', flags: ['SUCCESS_AFTER_FAILURE'] });
  });

  it('a repeated success for a PAID order is a duplicate and writes the missing outbox row once', async () => {
    const order = await s.order({ status: 'PAID', amountFen: 500, paidAt: s.clock.now() });
    expect((await settle(order, outcome('SUCCEEDED', 500))).result).toBe('duplicate');
    expect(await webhookEvents(order.orderNo)).toEqual(['order.paid']);
    expect((await s.store.getOrder(order.orderNo))!.version).toBe(order.version);
  });

  it('a late success for a refunded order announces nothing new', async () => {
    for (const status of ['REFUNDED', 'PARTIALLY_REFUNDED', 'PAID_AFTER_CLOSE'] as const) {
      const order = await s.order({ status, amountFen: 500, paidAt: s.clock.now() });
      expect((await settle(order, outcome('SUCCEEDED', 500))).result).toBe('duplicate');
      expect(await webhookEvents(order.orderNo)).toEqual([]);
    }
  });

  it('a failure for a paid order changes nothing and is noted; a repeated failure is a duplicate and not noted', async () => {
    const paid = await s.order({ status: 'PAID', amountFen: 500 });
    expect((await settle(paid, outcome('FAILED', 500), 'query')).result).toBe('ignored');
    expect((await s.store.getOrder(paid.orderNo))!).toMatchObject({ status: 'PAID', version: paid.version });
    expect(await s.events(paid.orderNo)).toEqual(['-→PAID test', 'PAID→PAID trans_stat F while PAID (query): no change']);

    const failed = await s.order({ status: 'FAILED', amountFen: 500 });
    expect((await settle(failed, outcome('FAILED', 500))).result).toBe('duplicate');
    expect(await s.events(failed.orderNo)).toEqual(['-→FAILED test']);
  });

  it(`gives up with an error naming the order after ${MAX_CAS_ATTEMPTS} lost compare-and-sets`, async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    const calls = s.loseUpdates('updateOrder');
    await expect(settle(order, outcome('SUCCEEDED', 500))).rejects.toThrow(`settleOrder ${order.orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
    expect(calls()).toBe(MAX_CAS_ATTEMPTS);
  });
});

describe('queryAndSettle', () => {
  it('asks Huifu only when the last query is at least the interval old', async () => {
    const now = s.clock.now();
    const recent = await s.order({ status: 'PAYING', amountFen: 500, lastQueriedAt: now - 4_999 });
    expect(await queryAndSettle(s.deps, recent, 'query', 5_000)).toBe(recent);
    expect(s.gateway.calls).toEqual([]);

    for (const lastQueriedAt of [now - 5_000, null]) {
      const due = await s.order({ status: 'PAYING', amountFen: 500, lastQueriedAt });
      s.gateway.answer('queryPayment', trade('SUCCEEDED', 500));
      expect((await queryAndSettle(s.deps, due, 'query', 5_000)).status).toBe('PAID');
    }
    expect(s.gateway.callsOf('queryPayment')).toHaveLength(2);
  });

  it('a trade Huifu does not know leaves the order as it was, with the query claimed', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    s.gateway.answer('queryPayment', { found: false });
    const after = await queryAndSettle(s.deps, order, 'reconcile', 0);
    expect(after).toMatchObject({ status: 'PAYING', lastQueriedAt: s.clock.now() });
  });

  it('a query claimed by someone else is not sent again', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    await s.store.updateOrder(order, { lastQueriedAt: s.clock.now(), updatedAt: s.clock.now() });
    const after = await queryAndSettle(s.deps, order, 'reconcile', 0);
    expect(after.version).toBe(order.version + 1);
    expect(s.gateway.calls).toEqual([]);
  });
});

describe('moveOrder and flagOrder', () => {
  it('refuses a move the state machine does not allow, and writes nothing', async () => {
    const order = await s.order({ status: 'PAID', amountFen: 500 });
    await expect(moveOrder(s.deps, order, 'CREATED', {}, 'api', 'x')).rejects.toThrow('moveOrder: PAID → CREATED is not a transition');
    expect((await s.store.getOrder(order.orderNo))!.version).toBe(order.version);
  });

  it('a move to the status the order has is a patch with its audit event, without a transition check or a webhook', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    const moved = await moveOrder(s.deps, order, 'PAYING', { hfSeqId: 'HF-9' }, 'api', 'stored the serial');
    expect(moved).toMatchObject({ status: 'PAYING', hfSeqId: 'HF-9', version: order.version + 1 });
    expect(await s.events(order.orderNo)).toContain('PAYING→PAYING stored the serial');
    const paid = await s.order({ status: 'PAID', amountFen: 500 });
    await moveOrder(s.deps, paid, 'PAID', { feeFen: 1 }, 'api', 'fee');
    expect(await webhookEvents(paid.orderNo)).toEqual([]);
  });

  it('announces each partial refund, though the status stays PARTIALLY_REFUNDED', async () => {
    const order = await s.order({ status: 'PARTIALLY_REFUNDED', amountFen: 500, refundedFen: 100, refundLedger: { R1: { amountFen: 100, state: 'SUCCEEDED', at: 1 } } });
    await moveOrder(s.deps, order, 'PARTIALLY_REFUNDED', { refundedFen: 300, refundLedger: { ...order.refundLedger, R2: { amountFen: 200, state: 'SUCCEEDED', at: 2 } } }, 'merchant', 'second refund');
    expect(await webhookEvents(order.orderNo)).toEqual(['order.partially_refunded']);
  });

  it('logs a move with the order number, both states, source and Huifu serial', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500, hfSeqId: 'HF-7' });
    await moveOrder(s.deps, order, 'PAID', { paidAt: 1 }, 'notify', 'paid');
    expect(s.logs).toContainEqual({ level: 'info', message: 'order moved', fields: { orderNo: order.orderNo, from: 'PAYING', to: 'PAID', source: 'notify', hfSeqId: 'HF-7' } });
  });

  it('adds a flag once: flagging again writes nothing', async () => {
    const order = await s.order({ status: 'PAYING' });
    const flagged = await flagOrder(s.deps, order, 'X', 'api', 'first');
    expect(s.logs).toContainEqual({ level: 'warn', message: 'order flagged', fields: { orderNo: order.orderNo, flag: 'X', source: 'api' } });
    expect(await flagOrder(s.deps, flagged, 'X', 'api', 'again')).toBe(flagged);
    expect((await s.store.getOrder(order.orderNo))!).toMatchObject({ flags: ['X'], version: order.version + 1 });
  });

  it('flags from a stale read: re-reads, keeps the other flag, and adds its own', async () => {
    const order = await s.order({ status: 'PAYING' });
    await flagOrder(s.deps, order, 'A', 'api', 'one');
    const after = await flagOrder(s.deps, order, 'B', 'api', 'two');
    expect(after.flags).toEqual(['A', 'B']);
  });

  it(`flagOrder gives up after ${MAX_CAS_ATTEMPTS} lost compare-and-sets`, async () => {
    const order = await s.order({ status: 'PAYING' });
    const calls = s.loseUpdates('updateOrder');
    await expect(flagOrder(s.deps, order, 'X', 'api', 'x')).rejects.toThrow(`flagOrder ${order.orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
    expect(calls()).toBe(MAX_CAS_ATTEMPTS);
  });
});
