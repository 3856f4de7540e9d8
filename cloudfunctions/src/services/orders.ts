import { MONEY_TAKEN_STATUSES, type CancelResult, type CreateResult, type ListResult, type OrderView, type PreviewResult } from '@cashier/shared';
import { verifyCheckoutToken, type Checkout } from '../auth/checkout';
import { PayError } from '../domain/errors';
import { shanghaiDate } from '../domain/time';
import type { Order } from '../domain/types';
import { HuifuDuplicateRequestError, HuifuError } from '../providers/huifu/errors';
import { decodeCursor, DuplicateError, encodeCursor } from '../store/port';
import { newSerial, type Deps } from './deps';
import { closeOrder } from './close';
import { queryAndSettle } from './settle';
import { flagOrder, MAX_CAS_ATTEMPTS, moveOrder, reread } from './transitions';

export function toOrderView(order: Order): OrderView {
  return {
    orderNo: order.orderNo,
    ref: order.appRef,
    amountFen: order.amountFen,
    description: order.description,
    status: order.status,
    refundedFen: order.refundedFen,
    createdAt: order.createdAt,
    expiresAt: order.expiresAt,
    paidAt: order.paidAt,
  };
}

async function checkout(deps: Deps, token: string): Promise<Checkout> {
  return verifyCheckoutToken(token, deps.config.checkout.secret, deps.clock.now(), deps.config.checkout.maxFen);
}

/**
 * The order already placed for the checkout's ref, checked against the caller and the amount. Without a caller
 * (openid null: a preview before login) the order is not shown, but a different amount is refused all the same.
 */
async function existingOrder(deps: Deps, openid: string | null, checkout: Checkout): Promise<Order | null> {
  const order = await deps.store.getOrderByRef(checkout.ref);
  if (!order) return null;
  if (openid !== null && order.openid !== openid) throw new PayError('ORDER_TAKEN', `ref ${checkout.ref} belongs to another user's order ${order.orderNo}`);
  if (order.amountFen !== checkout.amountFen) {
    throw new PayError('CHECKOUT_AMOUNT_INVALID', `ref ${checkout.ref} was ordered for ${order.amountFen} fen; this token says ${checkout.amountFen} fen`);
  }
  return openid === null ? null : order;
}

/** The checkout as the token describes it; with the caller (a session), also the caller's order for its ref. */
export async function previewOrder(deps: Deps, openid: string | null, checkoutToken: string): Promise<PreviewResult> {
  const c = await checkout(deps, checkoutToken);
  const order = await existingOrder(deps, openid, c);
  return { ref: c.ref, amountFen: c.amountFen, description: c.description, tokenExpiresAt: c.expiresAt, existingOrder: order ? toOrderView(order) : null };
}

/**
 * Creates the order for the checkout token's ref and places its Huifu trade, idempotently: the same user coming back
 * gets the same order, and its pay_info again while the order is payable. A trade is never re-created under a new
 * req_seq_id; an order whose create answer was lost is re-sent with the same req_seq_id and payload.
 */
export async function createOrder(deps: Deps, openid: string, checkoutToken: string): Promise<CreateResult> {
  const c = await checkout(deps, checkoutToken);
  let order = await existingOrder(deps, openid, c);
  if (!order) {
    const now = deps.clock.now();
    const fresh: Order = {
      orderNo: newSerial('P', now),
      appRef: c.ref,
      openid,
      amountFen: c.amountFen,
      description: c.description,
      attach: c.attach,
      status: 'CREATED',
      version: 1,
      refundedFen: 0,
      refundReservedFen: 0,
      refundLedger: {},
      reqDate: shanghaiDate(now),
      expiresAt: now + deps.config.checkout.ttlMinutes * 60_000,
      hfSeqId: null,
      payInfo: null,
      outTransId: null,
      partyOrderId: null,
      feeFen: null,
      paidAt: null,
      closedAt: null,
      lastQueriedAt: null,
      flags: [],
      cancelRequestedAt: null,
      closeRequest: null,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await deps.store.insertOrder(fresh, { from: null, to: 'CREATED', source: 'api', at: now, detail: `checkout ref ${c.ref}` });
      deps.log.info('order created', { orderNo: fresh.orderNo, ref: c.ref, amountFen: c.amountFen });
      order = fresh;
    } catch (error) {
      if (!(error instanceof DuplicateError)) throw error;
      order = await existingOrder(deps, openid, c); // the same ref created concurrently: use that order
      if (!order) throw error;
    }
  }
  return resumeOrPlace(deps, order);
}

async function resumeOrPlace(deps: Deps, order: Order): Promise<CreateResult> {
  const now = deps.clock.now();
  switch (order.status) {
    case 'PAID':
    case 'PAID_AFTER_CLOSE':
    case 'PARTIALLY_REFUNDED':
    case 'REFUNDED':
      throw new PayError('ORDER_ALREADY_PAID', `order ${order.orderNo} is ${order.status}`);
    case 'FAILED':
    case 'CLOSED':
      throw new PayError('ORDER_NOT_PAYABLE', `order ${order.orderNo} is ${order.status}`);
    default:
  }
  if (order.cancelRequestedAt !== null) throw new PayError('ORDER_NOT_PAYABLE', `order ${order.orderNo} is being cancelled`);
  if (now >= order.expiresAt) throw new PayError('ORDER_EXPIRED', `order ${order.orderNo} expired at ${new Date(order.expiresAt).toISOString()}`);
  if (order.status === 'PAYING' && order.payInfo) return { order: toOrderView(order), payment: order.payInfo, resumed: true };
  return placeTrade(deps, order);
}

async function placeTrade(deps: Deps, order: Order): Promise<CreateResult> {
  const { config } = deps;
  let created;
  try {
    created = await deps.gateway.createMiniAppPayment({
      orderNo: order.orderNo,
      reqDate: order.reqDate,
      amountFen: order.amountFen,
      description: order.description,
      appid: config.wechat.appid,
      openid: order.openid,
      expiresAt: order.expiresAt,
      notifyUrl: config.huifuApi.notifyUrl,
      attach: order.attach ?? undefined,
      remark: order.appRef,
    });
  } catch (error) {
    if (error instanceof HuifuDuplicateRequestError) {
      // Huifu has this req_seq_id from an attempt whose answer we lost, and will not give its pay_info again.
      await flagOrder(deps, order, 'CREATE_ANSWER_LOST', 'api', 'Huifu already has this trade; pay_info unavailable');
      throw new PayError('PAYMENT_RESULT_UNKNOWN', `order ${order.orderNo}: Huifu already has the trade but its pay_info was lost; reconcile will settle or close it`, { retryable: false, cause: error });
    }
    // Only a request that may have reached Huifu leaves the outcome uncertain; one never sent (DNS, refused
    // connection, TLS) is simply retried with the same req_seq_id.
    if (error instanceof HuifuError && error.ambiguous) {
      await flagOrder(deps, order, 'CREATE_UNCERTAIN', 'api', error.message);
    }
    deps.log.warn('huifu create failed', { orderNo: order.orderNo, code: (error as PayError).code, ambiguous: (error as HuifuError).ambiguous ?? false });
    throw error;
  }
  if (created.payAppId !== config.wechat.appid) {
    throw new PayError('PAYMENT_CONFIG_ERROR', `Huifu pay_info is for AppID ${created.payAppId}, this mini-program is ${config.wechat.appid}`);
  }
  let current = order;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    if (current.status !== 'CREATED') {
      // A notification got here first (or the trade was already stored): hand out what is there.
      if (current.status === 'PAYING' && current.payInfo) return { order: toOrderView(current), payment: current.payInfo, resumed: true };
      if (current.status === 'PAYING') {
        const stored = await deps.store.updateOrder(current, { payInfo: created.payParams, hfSeqId: created.hfSeqId, updatedAt: deps.clock.now() });
        if (stored) return { order: toOrderView(stored), payment: created.payParams, resumed: false };
      } else {
        return resumeOrPlace(deps, current);
      }
    } else {
      // The create is settled now: an earlier uncertainty about it (a timeout, a 5xx) is resolved.
      const flags = current.flags.filter((f) => f !== 'CREATE_UNCERTAIN');
      const moved = await moveOrder(deps, current, 'PAYING', { hfSeqId: created.hfSeqId, payInfo: created.payParams, flags }, 'api', `Huifu trade ${created.hfSeqId ?? '(no hf_seq_id)'} placed`);
      if (moved) return { order: toOrderView(moved), payment: created.payParams, resumed: false };
    }
    current = await reread(deps, current);
  }
  throw new Error(`placeTrade ${order.orderNo}: still contended`);
}

/** Continue paying the caller's unpaid order: its pay_info again while valid, never a new trade. */
export async function resumePayment(deps: Deps, openid: string, orderNo: string): Promise<CreateResult> {
  return resumeOrPlace(deps, await ownOrder(deps, openid, orderNo));
}

async function ownOrder(deps: Deps, openid: string, orderNo: string): Promise<Order> {
  const order = await deps.store.getOrder(orderNo);
  // Someone else's order answers exactly like a missing one, so order numbers cannot be probed.
  if (!order || order.openid !== openid) throw new PayError('ORDER_NOT_FOUND', `no order ${orderNo} for this user`);
  return order;
}

/**
 * The caller's order. When it has been waiting for payment longer than QUERY_AFTER_SECONDS, Huifu is asked first
 * (at most every QUERY_MIN_INTERVAL_SECONDS per order), so a lost notification does not leave the user waiting.
 */
export async function getOrder(deps: Deps, openid: string, orderNo: string): Promise<OrderView> {
  let order = await ownOrder(deps, openid, orderNo);
  const { queryAfterSeconds, queryMinIntervalSeconds } = deps.config.checkout;
  if ((order.status === 'PAYING' || order.status === 'CREATED') && deps.clock.now() - order.createdAt >= queryAfterSeconds * 1000) {
    try {
      order = await queryAndSettle(deps, order, 'query', queryMinIntervalSeconds * 1000);
    } catch (error) {
      deps.log.warn('order query failed; answering with the stored state', { orderNo, code: (error as PayError).code });
    }
  }
  return toOrderView(order);
}

export async function listOrders(deps: Deps, openid: string, limit: number, cursor?: string): Promise<ListResult> {
  const before = cursor ? decodeCursor(cursor) : undefined;
  if (cursor && !before) throw new PayError('INVALID_REQUEST', 'cursor is not one this API issued');
  const orders = await deps.store.listOrdersByOpenid(openid, { limit, before: before ?? undefined });
  const last = orders[orders.length - 1];
  return { orders: orders.map(toOrderView), nextCursor: orders.length === limit && last ? encodeCursor(last) : null };
}

/**
 * The caller asks to cancel an unpaid order: the request is stored (apart from any review flags), then the order is
 * closed at Huifu first. Huifu may take a while (a close answered P, or refused within a minute of creation):
 * the answer then says CLOSING, and reconcile finishes the close. A trade paid meanwhile is reported as paid.
 */
export async function cancelOrder(deps: Deps, openid: string, orderNo: string): Promise<CancelResult> {
  let order = await ownOrder(deps, openid, orderNo);
  if (order.status === 'CLOSED') return { order: toOrderView(order), state: 'CLOSED' };
  if (order.status !== 'CREATED' && order.status !== 'PAYING') {
    throw new PayError(order.status === 'FAILED' ? 'ORDER_NOT_PAYABLE' : 'ORDER_ALREADY_PAID', `order ${orderNo} is ${order.status}`);
  }
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS && order.cancelRequestedAt === null; attempt++) {
    const at = deps.clock.now();
    const stored = await deps.store.updateOrder(order, { cancelRequestedAt: at, updatedAt: at }, { from: order.status, to: order.status, source: 'api', at, detail: 'the user asked to cancel' });
    order = stored ?? (await reread(deps, order));
  }
  const { outcome, order: after } = await closeOrder(deps, order, 'api', 'cancelled by the user');
  if (outcome === 'paid' || MONEY_TAKEN_STATUSES.includes(after.status)) throw new PayError('ORDER_ALREADY_PAID', `order ${orderNo} was paid before it could be closed`);
  // A trade that failed meanwhile is over too: nothing can be paid and reconcile has nothing left to finish.
  return { order: toOrderView(after), state: after.status === 'CLOSED' || after.status === 'FAILED' ? 'CLOSED' : 'CLOSING' };
}
