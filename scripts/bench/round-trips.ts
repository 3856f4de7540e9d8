/**
 * CloudBase database round trips per operation: the real adapter through the real @cloudbase/node-sdk against the
 * loopback stand-in, counting the requests the SDK sends (each is one network round trip in a cloud function).
 * Operations run as the functions run them, through the services, with the Huifu sandbox answering.
 */
import { mintCheckoutToken } from '../../cloudfunctions/src/auth/checkout';
import { handleHuifuNotification } from '../../cloudfunctions/src/services/notifications';
import { createOrder, getOrder, listOrders } from '../../cloudfunctions/src/services/orders';
import { requestRefund } from '../../cloudfunctions/src/services/refunds';
import { startServices } from '../../test/support/services';
import { payNotificationData } from '../stack/huifu/gateway';

export interface RoundTrip {
  operation: string;
  roundTrips: number;
  /** Each request as action:collection, in order. */
  requests: string[];
}

export async function measureRoundTrips(): Promise<RoundTrip[]> {
  const h = await startServices('cloudbase');
  const standin = h.standin!;
  const results: RoundTrip[] = [];
  const measure = async <T>(operation: string, work: () => Promise<T>): Promise<T> => {
    const before = standin.requests.length;
    const value = await work();
    const requests = standin.requests.slice(before).map((r) => `${r.action.replace('database.', '')}:${r.collection ?? ''}`);
    results.push({ operation, roundTrips: requests.length, requests });
    return value;
  };
  try {
    const openid = 'o_round_trip_user';
    const token = await mintCheckoutToken({ ref: `RT-${h.clock.now()}`, amountFen: 1230, description: 'round trips' }, h.deps.config.checkout.secret, h.clock.now());
    const created = await measure('order.create (new order, Huifu places it)', () => createOrder(h.deps, openid, token));
    await measure('order.create (again: the same order back)', () => createOrder(h.deps, openid, token));
    const orderNo = created.order.orderNo;
    await h.sandbox.pay(orderNo, 'S');
    const stored = (await h.store.getOrder(orderNo))!;
    const trade = { ...stored, reqSeqId: orderNo, state: 'S' as const, hfSeqId: stored.hfSeqId ?? '', outTransId: '4200000001', partyOrderId: '03', endTime: h.clock.now(), remark: stored.appRef, subAppid: h.deps.config.wechat.appid, subOpenid: openid };
    const pay = (notifyType: number) => h.notification(payNotificationData(trade, notifyType, h.deps.config.huifu.huifuId, h.clock.now()));
    const type1 = pay(1);
    await measure('notify (notify_type 1: PAYING → PAID)', () => handleHuifuNotification(h.deps, type1, 'application/x-www-form-urlencoded'));
    await measure('notify (notify_type 2 for the paid order)', () => handleHuifuNotification(h.deps, pay(2), 'application/x-www-form-urlencoded'));
    await measure('notify (a byte-identical retry)', () => handleHuifuNotification(h.deps, type1, 'application/x-www-form-urlencoded'));
    await measure('order.get (paid order)', () => getOrder(h.deps, openid, orderNo));
    await measure('order.list (first page)', () => listOrders(h.deps, openid, 20));
    await measure('merchant refund (new, Huifu accepts)', () => requestRefund(h.deps, { orderNo, refundNo: `RF${h.clock.now()}`, amountFen: 230, reason: null }));
    return results;
  } finally {
    await h.close();
  }
}

if (require.main === module) {
  measureRoundTrips().then((rows) => {
    for (const r of rows) process.stdout.write(`${String(r.roundTrips).padStart(3)}  ${r.operation}\n       ${r.requests.join(' → ')}\n`);
  });
}
