import type { AppWebhook, InboxNotification, Order } from '../../cloudfunctions/src/domain/types';
import { DuplicateError, type OrderEventInput, type Store } from '../../cloudfunctions/src/store/port';
import { makeOrder, makeRefund } from '../support/fixtures';

const created: OrderEventInput = { from: null, to: 'CREATED', source: 'api', at: 1, detail: 'created' };

/**
 * One behaviour for every store adapter. `open` returns a fresh, empty store for each test.
 */
export function describeStoreConformance(name: string, open: () => Promise<Store>): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });
    const insert = async (overrides: Partial<Order> = {}) => {
      const order = makeOrder(overrides);
      await store.insertOrder(order, created);
      return order;
    };

    describe('orders', () => {
      it('stores an order and reads it back by number and by app ref', async () => {
        const order = await insert({ payInfo: { timeStamp: '1', nonceStr: 'n', package: 'prepay_id=x', signType: 'RSA', paySign: 's' }, flags: ['A'] });
        expect(await store.getOrder(order.orderNo)).toEqual(order);
        expect(await store.getOrderByRef(order.appRef)).toEqual(order);
        const other = await insert();
        expect(await store.getOrderByRef(other.appRef)).toEqual(other);
        expect(await store.getOrderByRef('no-such-ref')).toBeNull();
        expect(await store.getOrder('NOPE0000000')).toBeNull();
      });

      it('rejects a duplicate order number or app ref with DuplicateError and keeps the first record', async () => {
        const first = await insert();
        await expect(store.insertOrder(makeOrder({ orderNo: first.orderNo, appRef: 'other-ref' }), created)).rejects.toMatchObject({ constructor: DuplicateError, field: 'orderNo' });
        await expect(store.insertOrder(makeOrder({ appRef: first.appRef, amountFen: 999 }), created)).rejects.toMatchObject({ constructor: DuplicateError, field: 'appRef' });
        expect(await store.getOrder(first.orderNo)).toEqual(first);
        expect((await store.getOrderByRef(first.appRef))?.amountFen).toBe(first.amountFen);
      });

      it('compare-and-set wins once, then refuses a stale version with the current status, and a stale status', async () => {
        const order = await insert();
        const paying = await store.updateOrder(order, { status: 'PAYING', updatedAt: 5 });
        expect(paying).toMatchObject({ status: 'PAYING', version: 2, updatedAt: 5 });
        // stale status (CREATED, v1)
        expect(await store.updateOrder(order, { status: 'CLOSED', updatedAt: 6 })).toBeNull();
        // current status, stale version: PAYING v2 is stored; a writer that read PAYING v2 wins, one holding v1 must not
        const v2 = paying!;
        expect(await store.updateOrder(v2, { lastQueriedAt: 7, updatedAt: 7 })).toMatchObject({ version: 3 });
        expect(await store.updateOrder(v2, { flags: ['STALE'], updatedAt: 8 })).toBeNull();
        expect(await store.getOrder(order.orderNo)).toMatchObject({ status: 'PAYING', version: 3, lastQueriedAt: 7, flags: [] });
        expect(await store.updateOrder(makeOrder({ orderNo: 'MISSING000000' }), { status: 'PAYING', updatedAt: 1 })).toBeNull();
      });

      it('lets exactly one of 50 concurrent compare-and-set attempts win', async () => {
        const order = await insert({ status: 'PAYING' });
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.updateOrder(order, { status: 'PAID', paidAt: i, updatedAt: i })));
        expect(results.filter(Boolean)).toHaveLength(1);
        const stored = await store.getOrder(order.orderNo);
        expect(stored).toMatchObject({ status: 'PAID', version: 2 });
        expect(stored!.paidAt).toBe(results.findIndex(Boolean));
      });

      it('replaces object fields whole: pay_info set over null, the close request replaced', async () => {
        const order = await insert();
        const payInfo = { timeStamp: '1', nonceStr: 'n', package: 'prepay_id=x', signType: 'RSA' as const, paySign: 's' };
        const a = await store.updateOrder(order, { payInfo, closeRequest: { reqSeqId: 'C1', reqDate: '20251009', state: 'PROCESSING', at: 1 }, updatedAt: 2 });
        const b = await store.updateOrder(a!, { closeRequest: { reqSeqId: 'C2', reqDate: '20251010', state: 'FAILED', at: 3 }, payInfo: null, updatedAt: 3 });
        expect(await store.getOrder(order.orderNo)).toEqual(b);
        expect(b).toMatchObject({ payInfo: null, closeRequest: { reqSeqId: 'C2', state: 'FAILED' } });
      });

      it('a write that would break an invariant fails whole and leaves the order as it was', async () => {
        const order = await insert({ status: 'PAID' });
        await expect(store.updateOrder(order, { status: 'REFUNDED', refundedFen: order.amountFen + 1, updatedAt: 9 })).rejects.toThrow();
        // refunded amounts must match the ledger
        await expect(store.updateOrder(order, { refundedFen: 10, updatedAt: 9 })).rejects.toThrow(/ledger/);
        expect(await store.getOrder(order.orderNo)).toEqual(order);
        await expect(store.insertOrder(makeOrder({ refundedFen: -1 }), created)).rejects.toThrow();
      });

      it('records the audit event in the same write as the change, and only when the change wins', async () => {
        const order = await insert();
        await store.updateOrder(order, { status: 'PAYING', updatedAt: 2 }, { from: 'CREATED', to: 'PAYING', source: 'api', at: 2, detail: 'placed' });
        await store.updateOrder(order, { status: 'CLOSED', updatedAt: 3 }, { from: 'CREATED', to: 'CLOSED', source: 'api', at: 3, detail: 'stale: must not appear' });
        await store.appendOrderEvent({ orderNo: order.orderNo, from: 'PAYING', to: 'PAYING', source: 'notify', at: 4, detail: 'a note' });
        expect((await store.listOrderEvents(order.orderNo)).map((e) => [e.from, e.to, e.source, e.detail])).toEqual([
          [null, 'CREATED', 'api', 'created'],
          ['CREATED', 'PAYING', 'api', 'placed'],
          ['PAYING', 'PAYING', 'notify', 'a note'],
        ]);
      });
    });

    describe('order queries', () => {
      it("pages a user's orders newest first and shows no one else's", async () => {
        for (let i = 0; i < 5; i++) await insert({ openid: 'o_a', createdAt: 1000 + i, orderNo: `PAGE0000000${i}` });
        await insert({ openid: 'o_b', createdAt: 2000 });
        const first = await store.listOrdersByOpenid('o_a', { limit: 2 });
        expect(first.map((o) => o.createdAt)).toEqual([1004, 1003]);
        const last = first[first.length - 1]!;
        const second = await store.listOrdersByOpenid('o_a', { limit: 10, before: { createdAt: last.createdAt, orderNo: last.orderNo } });
        expect(second.map((o) => o.createdAt)).toEqual([1002, 1001, 1000]);
      });

      it('hands reconcile only what is due, earliest first, bounded: queries, expiries, cancellations, closes in progress', async () => {
        const t0 = 1_000_000;
        await insert({ orderNo: 'DUE000000001', status: 'PAYING', createdAt: t0, expiresAt: t0 + 30 * 60_000 }); // query due at t0+60s
        await insert({ orderNo: 'DUE000000002', status: 'PAYING', createdAt: t0, expiresAt: t0 + 30 * 60_000, lastQueriedAt: t0 + 50_000 }); // t0+110s
        await insert({ orderNo: 'DUE000000003', status: 'PAID', createdAt: t0 }); // never
        await insert({ orderNo: 'DUE000000004', status: 'CREATED', createdAt: t0 - 20 * 60_000, expiresAt: t0 - 1, lastQueriedAt: t0 }); // expired
        await insert({ orderNo: 'DUE000000005', status: 'PAYING', createdAt: t0, expiresAt: t0 + 30 * 60_000, cancelRequestedAt: t0 + 5_000, lastQueriedAt: t0 + 5000 }); // t0+60s
        await insert({ orderNo: 'DUE000000006', status: 'PAYING', createdAt: t0 - 120_000, expiresAt: t0 + 30 * 60_000, lastQueriedAt: t0, closeRequest: { reqSeqId: 'C6', reqDate: '20251009', state: 'PROCESSING', at: t0 } }); // t0+15s
        const ids = async (now: number, limit = 10) => (await store.findDueOrders(now, limit)).map((o) => o.orderNo);
        expect(await ids(t0)).toEqual(['DUE000000004']);
        expect(await ids(t0 + 15_000)).toEqual(['DUE000000004', 'DUE000000006']);
        expect(await ids(t0 + 60_000)).toEqual(['DUE000000004', 'DUE000000006', 'DUE000000001', 'DUE000000005']);
        expect(await ids(t0 + 60_000, 2)).toEqual(['DUE000000004', 'DUE000000006']);
        expect(await ids(t0 + 120_000)).toContain('DUE000000002');
        // A write moves the due time: querying the order pushes it a minute later.
        const first = (await store.getOrder('DUE000000001'))!;
        await store.updateOrder(first, { lastQueriedAt: t0 + 60_000, updatedAt: t0 + 60_000 });
        expect(await ids(t0 + 60_000)).not.toContain('DUE000000001');
        expect(await ids(t0 + 120_000)).toContain('DUE000000001');
        // A final status leaves the queue.
        await store.updateOrder((await store.getOrder('DUE000000004'))!, { status: 'CLOSED', updatedAt: t0 });
        expect(await ids(t0 + 120_000)).not.toContain('DUE000000004');
      });

      it('lists orders newest first by status and by flag, and finds orders holding old reservations', async () => {
        await insert({ orderNo: 'LST000000001', status: 'PAID', createdAt: 1, flags: ['AMOUNT_MISMATCH'] });
        await insert({ orderNo: 'LST000000002', status: 'PAID', createdAt: 2 });
        await insert({ orderNo: 'LST000000003', status: 'CLOSED', createdAt: 3, flags: ['AMOUNT_MISMATCH', 'PAID_AFTER_CLOSE'] });
        const nos = (orders: Order[]) => orders.map((o) => o.orderNo);
        expect(nos(await store.listOrders({ limit: 10 }))).toEqual(['LST000000003', 'LST000000002', 'LST000000001']);
        expect(nos(await store.listOrders({ status: 'PAID', limit: 10 }))).toEqual(['LST000000002', 'LST000000001']);
        expect(nos(await store.listOrders({ flag: 'AMOUNT_MISMATCH', limit: 10 }))).toEqual(['LST000000003', 'LST000000001']);
        expect(nos(await store.listOrders({ flag: 'PAID_AFTER_CLOSE', limit: 10 }))).toEqual(['LST000000003']);
        await insert({ orderNo: 'RES000000001', status: 'PAID', amountFen: 100, refundReservedFen: 30, refundLedger: { R1: { amountFen: 30, state: 'RESERVED', at: 5 } }, updatedAt: 5 });
        expect(nos(await store.findOrdersWithReservations(6, 10))).toEqual(['RES000000001']);
        expect(await store.findOrdersWithReservations(5, 10)).toEqual([]);
      });
    });

    describe('notifications', () => {
      const n: InboxNotification = {
        id: 'a'.repeat(64), kind: 'pay', reqSeqId: 'P1', notifyType: 1, transStat: 'S', respData: '{"x":1}',
        sign: 'sig', outcome: 'rejected:unknown_order', receivedAt: 10, processedAt: 10,
      };

      it('keeps each notification once, keyed by its hash', async () => {
        expect(await store.insertNotification(n)).toBe('inserted');
        expect(await store.insertNotification({ ...n, outcome: 'applied' })).toBe('exists');
        expect(await store.getNotification(n.id)).toEqual(n);
        expect((await store.listNotifications({ reqSeqId: 'P1', limit: 5 })).map((x) => x.id)).toEqual([n.id]);
        const other = { ...n, id: 'b'.repeat(64), reqSeqId: 'P2', receivedAt: 20 };
        await store.insertNotification(other);
        expect((await store.listNotifications({ reqSeqId: 'P1', limit: 5 })).map((x) => x.id)).toEqual([n.id]);
        expect((await store.listNotifications({ limit: 5 })).map((x) => x.id)).toEqual([other.id, n.id]);
      });

      it('updates an outcome only from the outcome the caller read (a stale one loses)', async () => {
        await store.insertNotification(n);
        expect(await store.updateNotification(n.id, 'rejected:unknown_order', { outcome: 'applied', processedAt: 11 })).toBe(true);
        expect(await store.updateNotification(n.id, 'rejected:unknown_order', { outcome: 'ignored', processedAt: 12 })).toBe(false);
        expect(await store.getNotification(n.id)).toMatchObject({ outcome: 'applied', processedAt: 11 });
      });

      it('keeps rejected junk bounded: counts per reason per hour, a ring of samples, old hours dropped', async () => {
        const limits = { keepHours: 2, samplesPerReason: 3 };
        const hour = 3_600_000;
        for (let i = 0; i < 40; i++) await store.recordRejection({ reason: 'bad_signature', at: 10 * hour + i * 1000, sample: `junk ${i}` }, limits);
        await store.recordRejection({ reason: 'malformed', at: 10 * hour, sample: 'm' }, limits);
        let { counts, samples } = await store.listRejections();
        expect(counts).toEqual(expect.arrayContaining([{ reason: 'bad_signature', hour: 10 * hour, count: 40 }, { reason: 'malformed', hour: 10 * hour, count: 1 }]));
        expect(samples.filter((s) => s.reason === 'bad_signature')).toHaveLength(3);
        expect(samples.filter((s) => s.reason === 'bad_signature').map((s) => s.sample).sort()).toEqual(['junk 37', 'junk 38', 'junk 39']);
        for (let h = 11; h <= 14; h++) await store.recordRejection({ reason: 'bad_signature', at: h * hour, sample: `h${h}` }, limits);
        ({ counts } = await store.listRejections());
        expect(counts.filter((c) => c.reason === 'bad_signature').map((c) => c.hour / hour).sort()).toEqual([12, 13, 14]);
      });
    });

    it('stores refunds once per number, with compare-and-set (stale status and stale version lose) and a due query', async () => {
      const refund = makeRefund('ORD000000001', { updatedAt: 100 });
      await store.insertRefund(refund);
      await expect(store.insertRefund({ ...refund, amountFen: 99 })).rejects.toBeInstanceOf(DuplicateError);
      expect(await store.getRefund(refund.refundNo)).toEqual(refund);
      expect((await store.findRefunds({ statuses: ['PENDING'], updatedBefore: 200, limit: 5 })).map((r) => r.refundNo)).toEqual([refund.refundNo]);
      const queried = await store.updateRefund(refund, { lastQueriedAt: 120, updatedAt: 120 });
      expect(queried).toMatchObject({ status: 'PENDING', version: 2 });
      // current status (PENDING), stale version (1): must not win
      expect(await store.updateRefund(refund, { status: 'SUCCEEDED', finishedAt: 150, updatedAt: 150 })).toBeNull();
      expect(await store.updateRefund(queried!, { status: 'SUCCEEDED', finishedAt: 150, updatedAt: 150 })).toMatchObject({ status: 'SUCCEEDED', version: 3 });
      expect(await store.updateRefund(queried!, { status: 'FAILED', updatedAt: 151 })).toBeNull();
      expect(await store.findRefunds({ statuses: ['PENDING'], updatedBefore: 200, limit: 5 })).toEqual([]);
      expect((await store.listRefundsByOrder('ORD000000001')).map((r) => r.status)).toEqual(['SUCCEEDED']);
    });

    it('queues app webhooks, hands out only those due, and updates them by compare-and-set on version', async () => {
      const hook: AppWebhook = {
        id: 'wh_1', event: 'order.paid', orderNo: 'ORD000000001', payload: '{}', status: 'PENDING', attempts: 0,
        nextAttemptAt: 100, lastError: null, version: 1, createdAt: 1, updatedAt: 1,
      };
      expect(await store.insertWebhook(hook)).toBe('inserted');
      expect(await store.insertWebhook({ ...hook, id: 'wh_2', nextAttemptAt: 300, createdAt: 2 })).toBe('inserted');
      // Ids are deterministic: the same one again is expected, changes nothing and is not an error.
      expect(await store.insertWebhook({ ...hook, payload: '{"second":true}', nextAttemptAt: 1 })).toBe('exists');
      expect(await store.getWebhook('wh_1')).toMatchObject({ payload: '{}', nextAttemptAt: 100 });
      expect((await store.findWebhooksDue(200, 10)).map((w) => w.id)).toEqual(['wh_1']);
      const claimed = await store.updateWebhook(hook, { nextAttemptAt: 160, updatedAt: 2 });
      expect(claimed).toMatchObject({ version: 2 });
      expect(await store.updateWebhook(hook, { status: 'DEAD', updatedAt: 3 })).toBeNull(); // stale version
      expect(await store.updateWebhook(claimed!, { status: 'DELIVERED', attempts: 1, updatedAt: 3 })).toMatchObject({ status: 'DELIVERED', version: 3 });
      expect(await store.findWebhooksDue(1000, 10)).toHaveLength(1);
      expect((await store.listWebhooks({ orderNo: 'ORD000000001', limit: 10 })).map((w) => w.id)).toEqual(['wh_2', 'wh_1']);
      expect((await store.listWebhooks({ status: 'DELIVERED', limit: 10 })).map((w) => w.id)).toEqual(['wh_1']);
    });

    it('records logins, keeping the first login time', async () => {
      await store.recordLogin({ openid: 'o_x', appid: 'wx1', at: 1 });
      await store.recordLogin({ openid: 'o_x', appid: 'wx1', at: 5 });
      expect(await store.getUser('o_x')).toEqual({ openid: 'o_x', appid: 'wx1', firstLoginAt: 1, lastLoginAt: 5 });
    });
  });
}
