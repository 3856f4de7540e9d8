import { DuplicateError, type Store } from '../../cloudfunctions/src/store/port';
import type { AppWebhook, InboxNotification } from '../../cloudfunctions/src/domain/types';
import { makeOrder, makeRefund } from '../support/fixtures';

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

    describe('orders', () => {
      it('stores an order and reads it back by number and by app ref', async () => {
        const order = makeOrder({ payInfo: { timeStamp: '1', nonceStr: 'n', package: 'prepay_id=x', signType: 'RSA', paySign: 's' } });
        await store.insertOrder(order);
        expect(await store.getOrder(order.orderNo)).toEqual(order);
        expect(await store.getOrderByRef(order.appRef)).toEqual(order);
        expect(await store.getOrder('NOPE0000000')).toBeNull();
      });

      it('rejects a duplicate order number or app ref with DuplicateError and keeps the first record', async () => {
        const first = makeOrder();
        await store.insertOrder(first);
        await expect(store.insertOrder(makeOrder({ orderNo: first.orderNo, appRef: 'other-ref' }))).rejects.toMatchObject({
          constructor: DuplicateError,
          field: 'orderNo',
        });
        await expect(store.insertOrder(makeOrder({ appRef: first.appRef, amountFen: 999 }))).rejects.toMatchObject({
          constructor: DuplicateError,
          field: 'appRef',
        });
        expect(await store.getOrder(first.orderNo)).toEqual(first);
        expect((await store.getOrderByRef(first.appRef))?.amountFen).toBe(first.amountFen);
      });

      it('compare-and-set wins once, then reports false for a stale version or status', async () => {
        const order = makeOrder();
        await store.insertOrder(order);
        expect(await store.updateOrder(order.orderNo, { status: 'CREATED', version: 1 }, { status: 'PAYING', updatedAt: 5 })).toBe(true);
        expect(await store.updateOrder(order.orderNo, { status: 'CREATED', version: 1 }, { status: 'CLOSED', updatedAt: 6 })).toBe(false);
        expect(await store.updateOrder(order.orderNo, { status: 'CREATED', version: 2 }, { status: 'CLOSED', updatedAt: 6 })).toBe(false);
        const stored = await store.getOrder(order.orderNo);
        expect(stored).toMatchObject({ status: 'PAYING', version: 2, updatedAt: 5 });
        expect(await store.updateOrder('MISSING000000', { status: 'CREATED', version: 1 }, { status: 'PAYING', updatedAt: 1 })).toBe(false);
      });

      it('lets exactly one of 50 concurrent compare-and-set attempts win', async () => {
        const order = makeOrder({ status: 'PAYING' });
        await store.insertOrder(order);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.updateOrder(order.orderNo, { status: 'PAYING', version: 1 }, { status: 'PAID', paidAt: i, updatedAt: i }),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const stored = await store.getOrder(order.orderNo);
        expect(stored).toMatchObject({ status: 'PAID', version: 2 });
        expect(stored!.paidAt).toBe(results.indexOf(true));
      });

      it('a write that would break an invariant fails whole and leaves the order as it was', async () => {
        const order = makeOrder({ status: 'PAID' });
        await store.insertOrder(order);
        await expect(
          store.updateOrder(order.orderNo, { status: 'PAID', version: 1 }, { status: 'REFUNDED', refundedFen: order.amountFen + 1, updatedAt: 9 }),
        ).rejects.toThrow();
        expect(await store.getOrder(order.orderNo)).toEqual(order);
        await expect(store.insertOrder(makeOrder({ refundedFen: -1 }))).rejects.toThrow();
      });
    });

    describe('refund reservations', () => {
      it('lets exactly 10 of 20 concurrent 10-fen reservations against 100 fen succeed', async () => {
        const order = makeOrder({ status: 'PAID', amountFen: 100 });
        await store.insertOrder(order);
        const results = await Promise.all(Array.from({ length: 20 }, () => store.reserveRefund(order.orderNo, 10, 7)));
        expect(results.filter(Boolean)).toHaveLength(10);
        const stored = await store.getOrder(order.orderNo);
        expect(stored!.refundReservedFen).toBe(100);
        expect(await store.reserveRefund(order.orderNo, 1, 8)).toBe(false);
      });

      it('counts refunded money as used and refuses orders that took no money', async () => {
        const paid = makeOrder({ status: 'PARTIALLY_REFUNDED', amountFen: 100, refundedFen: 60 });
        await store.insertOrder(paid);
        expect(await store.reserveRefund(paid.orderNo, 50, 1)).toBe(false);
        expect(await store.reserveRefund(paid.orderNo, 40, 1)).toBe(true);
        const unpaid = makeOrder({ status: 'PAYING' });
        await store.insertOrder(unpaid);
        expect(await store.reserveRefund(unpaid.orderNo, 1, 1)).toBe(false);
        expect((await store.getOrder(unpaid.orderNo))!.version).toBe(1);
      });

      it('releases a reservation, never below zero', async () => {
        const order = makeOrder({ status: 'PAID', amountFen: 100 });
        await store.insertOrder(order);
        await store.reserveRefund(order.orderNo, 30, 1);
        await store.releaseRefund(order.orderNo, 20, 2);
        expect((await store.getOrder(order.orderNo))!.refundReservedFen).toBe(10);
        await store.releaseRefund(order.orderNo, 50, 3);
        expect((await store.getOrder(order.orderNo))!.refundReservedFen).toBe(0);
      });
    });

    describe('order queries', () => {
      it("pages a user's orders newest first and shows no one else's", async () => {
        for (let i = 0; i < 5; i++) await store.insertOrder(makeOrder({ openid: 'o_a', createdAt: 1000 + i, orderNo: `PAGE0000000${i}` }));
        await store.insertOrder(makeOrder({ openid: 'o_b', createdAt: 2000 }));
        const first = await store.listOrdersByOpenid('o_a', { limit: 2 });
        expect(first.map((o) => o.createdAt)).toEqual([1004, 1003]);
        const last = first[first.length - 1]!;
        const second = await store.listOrdersByOpenid('o_a', { limit: 10, before: { createdAt: last.createdAt, orderNo: last.orderNo } });
        expect(second.map((o) => o.createdAt)).toEqual([1002, 1001, 1000]);
      });

      it('finds due orders by status, age, expiry and last query, oldest first, bounded', async () => {
        await store.insertOrder(makeOrder({ orderNo: 'DUE000000001', status: 'PAYING', createdAt: 100, expiresAt: 500 }));
        await store.insertOrder(makeOrder({ orderNo: 'DUE000000002', status: 'PAYING', createdAt: 200, expiresAt: 5000, lastQueriedAt: 900 }));
        await store.insertOrder(makeOrder({ orderNo: 'DUE000000003', status: 'PAID', createdAt: 50 }));
        await store.insertOrder(makeOrder({ orderNo: 'DUE000000004', status: 'CREATED', createdAt: 300, expiresAt: 600 }));
        const ids = (orders: { orderNo: string }[]) => orders.map((o) => o.orderNo);
        expect(ids(await store.findOrders({ statuses: ['PAYING'], createdBefore: 1000, limit: 10 }))).toEqual(['DUE000000001', 'DUE000000002']);
        expect(ids(await store.findOrders({ statuses: ['PAYING'], createdBefore: 1000, notQueriedSince: 800, limit: 10 }))).toEqual(['DUE000000001']);
        expect(ids(await store.findOrders({ statuses: ['CREATED', 'PAYING'], expiresBefore: 1000, limit: 10 }))).toEqual(['DUE000000001', 'DUE000000004']);
        expect(ids(await store.findOrders({ statuses: ['CREATED', 'PAYING', 'PAID'], limit: 2 }))).toEqual(['DUE000000003', 'DUE000000001']);
      });
    });

    it('appends order events and lists them in order', async () => {
      await store.appendOrderEvent({ orderNo: 'EV0000000001', from: 'CREATED', to: 'PAYING', source: 'api', at: 1, detail: 'created' });
      await store.appendOrderEvent({ orderNo: 'EV0000000001', from: 'PAYING', to: 'PAID', source: 'notify', at: 2, detail: 'S' });
      await store.appendOrderEvent({ orderNo: 'EV0000000002', from: null, to: null, source: 'api', at: 3, detail: 'other' });
      expect((await store.listOrderEvents('EV0000000001')).map((e) => [e.from, e.to, e.source])).toEqual([
        ['CREATED', 'PAYING', 'api'],
        ['PAYING', 'PAID', 'notify'],
      ]);
    });

    it('keeps each notification once, keyed by its hash', async () => {
      const n: InboxNotification = {
        id: 'a'.repeat(64), kind: 'pay', reqSeqId: 'P1', notifyType: 1, transStat: 'S', respData: '{"x":1}',
        sign: 'sig', outcome: 'received', receivedAt: 10, processedAt: null,
      };
      await store.insertNotification(n);
      await expect(store.insertNotification({ ...n, outcome: 'other' })).rejects.toBeInstanceOf(DuplicateError);
      await store.updateNotification(n.id, { outcome: 'applied', processedAt: 11 });
      expect(await store.getNotification(n.id)).toEqual({ ...n, outcome: 'applied', processedAt: 11 });
      expect((await store.listNotifications({ reqSeqId: 'P1', limit: 5 })).map((x) => x.id)).toEqual([n.id]);
    });

    it('stores refunds once per number, with compare-and-set and a due query', async () => {
      const refund = makeRefund('ORD000000001', { updatedAt: 100 });
      await store.insertRefund(refund);
      await expect(store.insertRefund({ ...refund, amountFen: 99 })).rejects.toBeInstanceOf(DuplicateError);
      expect(await store.getRefund(refund.refundNo)).toEqual(refund);
      expect((await store.findRefunds({ statuses: ['PENDING'], updatedBefore: 200, limit: 5 })).map((r) => r.refundNo)).toEqual([refund.refundNo]);
      expect(await store.updateRefund(refund.refundNo, { status: 'PENDING', version: 1 }, { status: 'SUCCEEDED', finishedAt: 150, updatedAt: 150 })).toBe(true);
      expect(await store.updateRefund(refund.refundNo, { status: 'PENDING', version: 1 }, { status: 'FAILED', updatedAt: 151 })).toBe(false);
      expect(await store.findRefunds({ statuses: ['PENDING'], updatedBefore: 200, limit: 5 })).toEqual([]);
      expect((await store.listRefundsByOrder('ORD000000001')).map((r) => r.status)).toEqual(['SUCCEEDED']);
    });

    it('queues app webhooks and hands out only those due', async () => {
      const hook: AppWebhook = {
        id: 'wh_1', event: 'order.paid', orderNo: 'ORD000000001', payload: '{}', status: 'PENDING', attempts: 0,
        nextAttemptAt: 100, lastError: null, version: 1, createdAt: 1, updatedAt: 1,
      };
      await store.insertWebhook(hook);
      await store.insertWebhook({ ...hook, id: 'wh_2', nextAttemptAt: 300 });
      expect((await store.findWebhooksDue(200, 10)).map((w) => w.id)).toEqual(['wh_1']);
      expect(await store.updateWebhook('wh_1', 1, { status: 'DELIVERED', attempts: 1, updatedAt: 2 })).toBe(true);
      expect(await store.updateWebhook('wh_1', 1, { status: 'DEAD', updatedAt: 3 })).toBe(false);
      expect(await store.findWebhooksDue(1000, 10)).toHaveLength(1);
      expect((await store.listWebhooks({ orderNo: 'ORD000000001', limit: 10 })).length).toBe(2);
    });

    it('records logins, keeping the first login time', async () => {
      await store.recordLogin({ openid: 'o_x', appid: 'wx1', at: 1 });
      await store.recordLogin({ openid: 'o_x', appid: 'wx1', at: 5 });
      expect(await store.getUser('o_x')).toEqual({ openid: 'o_x', appid: 'wx1', firstLoginAt: 1, lastLoginAt: 5 });
    });
  });
}
