import type { RefundView } from '@cashier/shared';
import { PayError } from '../domain/errors';
import { statusAfterRefunds } from '../domain/order-state';
import { shanghaiDate } from '../domain/time';
import type { Order, Refund } from '../domain/types';
import { HuifuBusinessError, HuifuError } from '../providers/huifu/errors';
import type { RefundStatusResult } from '../providers/port';
import { DuplicateError, REFUNDABLE_STATUSES } from '../store/port';
import type { Deps } from './deps';
import { MAX_CAS_ATTEMPTS, moveOrder } from './transitions';
import { enqueueRefundWebhook } from './webhooks';

/** Refund numbers are the app backend's idempotency key and our Huifu req_seq_id for the refund. */
export const REFUND_NO = /^[A-Za-z0-9]{6,32}$/;

export function toRefundView(refund: Refund): RefundView {
  return {
    refundNo: refund.refundNo,
    orderNo: refund.orderNo,
    amountFen: refund.amountFen,
    status: refund.status,
    reason: refund.reason,
    createdAt: refund.createdAt,
    finishedAt: refund.finishedAt,
  };
}

/**
 * Starts a refund. The same refund number with the same order and amount returns the same refund (a retry); with a
 * different amount it is a conflict. The amount is reserved atomically before Huifu is called, so concurrent
 * refunds can never add up to more than was paid; a refund that fails gives its reservation back.
 */
export async function requestRefund(deps: Deps, command: { orderNo: string; refundNo: string; amountFen: number; reason: string | null }): Promise<Refund> {
  if (!REFUND_NO.test(command.refundNo)) throw new PayError('INVALID_REQUEST', 'refund_no: 6-32 letters or digits');
  const existing = await deps.store.getRefund(command.refundNo);
  if (existing) return sameOrConflict(existing, command);
  const order = await deps.store.getOrder(command.orderNo);
  if (!order) throw new PayError('ORDER_NOT_FOUND', `no order ${command.orderNo}`);
  if (!REFUNDABLE_STATUSES.includes(order.status)) throw new PayError('ORDER_NOT_REFUNDABLE', `order ${order.orderNo} is ${order.status}`);
  const now = deps.clock.now();
  if (!(await deps.store.reserveRefund(order.orderNo, command.amountFen, now))) {
    throw new PayError('REFUND_EXCEEDS_AVAILABLE', `order ${order.orderNo}: ${command.amountFen} fen is more than the refundable balance`);
  }
  const refund: Refund = {
    refundNo: command.refundNo,
    orderNo: order.orderNo,
    amountFen: command.amountFen,
    status: 'PENDING',
    reason: command.reason,
    reqDate: shanghaiDate(now),
    hfSeqId: null,
    failReason: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    lastQueriedAt: null,
  };
  try {
    await deps.store.insertRefund(refund);
  } catch (error) {
    await deps.store.releaseRefund(order.orderNo, command.amountFen, deps.clock.now());
    if (error instanceof DuplicateError) {
      const raced = await deps.store.getRefund(command.refundNo);
      if (raced) return sameOrConflict(raced, command);
    }
    throw error;
  }
  deps.log.info('refund requested', { refundNo: refund.refundNo, orderNo: order.orderNo, amountFen: refund.amountFen });
  return submitRefund(deps, refund, order);
}

function sameOrConflict(existing: Refund, command: { orderNo: string; amountFen: number }): Refund {
  if (existing.orderNo !== command.orderNo || existing.amountFen !== command.amountFen) {
    throw new PayError('REFUND_CONFLICT', `refund ${existing.refundNo} exists for order ${existing.orderNo} with ${existing.amountFen} fen`);
  }
  return existing;
}

/** Sends (or re-sends, with the same refund number) the refund to Huifu and applies a final answer. */
export async function submitRefund(deps: Deps, refund: Refund, order: Order): Promise<Refund> {
  let result: RefundStatusResult;
  try {
    result = await deps.gateway.refund({
      refundNo: refund.refundNo,
      reqDate: refund.reqDate,
      orderNo: order.orderNo,
      orderReqDate: order.reqDate,
      amountFen: refund.amountFen,
      notifyUrl: deps.config.huifuApi.notifyUrl,
      remark: refund.reason ?? undefined,
    });
  } catch (error) {
    if (error instanceof HuifuError && error.ambiguous) {
      deps.log.warn('refund outcome unknown; reconcile will query it', { refundNo: refund.refundNo, orderNo: order.orderNo });
      return refund;
    }
    if (error instanceof HuifuBusinessError && !error.retryable) {
      return (await finishRefund(deps, refund.refundNo, { state: 'FAILED', hfSeqId: null, failReason: `${error.respCode} ${error.respDesc}` }, 'merchant')) ?? refund;
    }
    throw error;
  }
  if (!result.found || result.state === 'PROCESSING') {
    if (result.found && result.hfSeqId) {
      await deps.store.updateRefund(refund.refundNo, { status: 'PENDING', version: refund.version }, { hfSeqId: result.hfSeqId, updatedAt: deps.clock.now() });
    }
    return (await deps.store.getRefund(refund.refundNo)) ?? refund;
  }
  return (await finishRefund(deps, refund.refundNo, result, 'merchant')) ?? refund;
}

/**
 * Applies a refund's final outcome once: the refund moves by compare-and-set, and only the winner moves the money
 * on the order (refunded up and reservation down on success; reservation released on failure).
 */
export async function finishRefund(
  deps: Deps,
  refundNo: string,
  outcome: { state: 'SUCCEEDED' | 'FAILED' | 'PROCESSING'; hfSeqId: string | null; failReason: string | null },
  source: 'notify' | 'query' | 'reconcile' | 'merchant',
): Promise<Refund | null> {
  if (outcome.state === 'PROCESSING') return deps.store.getRefund(refundNo);
  const refund = await deps.store.getRefund(refundNo);
  if (!refund) return null;
  if (refund.status !== 'PENDING') return refund;
  const now = deps.clock.now();
  const won = await deps.store.updateRefund(refundNo, { status: 'PENDING', version: refund.version }, {
    status: outcome.state,
    hfSeqId: outcome.hfSeqId ?? refund.hfSeqId,
    failReason: outcome.failReason,
    finishedAt: now,
    updatedAt: now,
  });
  if (!won) return deps.store.getRefund(refundNo);
  const finished: Refund = { ...refund, status: outcome.state, failReason: outcome.failReason, finishedAt: now, version: refund.version + 1 };
  let order: Order | null = null;
  if (outcome.state === 'FAILED') {
    await deps.store.releaseRefund(refund.orderNo, refund.amountFen, now);
    order = await deps.store.getOrder(refund.orderNo);
  } else {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS && !order; attempt++) {
      const current = await deps.store.getOrder(refund.orderNo);
      if (!current) break;
      const refundedFen = current.refundedFen + refund.amountFen;
      const status = statusAfterRefunds(current.status, current.amountFen, refundedFen);
      order = await moveOrder(deps, current, status, { refundedFen, refundReservedFen: Math.max(current.refundReservedFen - refund.amountFen, 0) }, source === 'merchant' ? 'merchant' : source, `refund ${refundNo} of ${refund.amountFen} fen succeeded`);
    }
    if (!order) throw new Error(`refund ${refundNo}: could not record it on order ${refund.orderNo}`);
  }
  deps.log.info('refund finished', { refundNo, orderNo: refund.orderNo, status: outcome.state, source });
  if (order) await enqueueRefundWebhook(deps, finished, order);
  return finished;
}

/** Follows a PENDING refund at Huifu: query by its own serial; one that never reached Huifu is re-sent as is. */
export async function followRefund(deps: Deps, refund: Refund): Promise<void> {
  const now = deps.clock.now();
  const claimed = await deps.store.updateRefund(refund.refundNo, { status: 'PENDING', version: refund.version }, { lastQueriedAt: now, updatedAt: now });
  if (!claimed) return;
  const status = await deps.gateway.queryRefund({ refundNo: refund.refundNo, reqDate: refund.reqDate });
  if (status.found) {
    await finishRefund(deps, refund.refundNo, status, 'reconcile');
    return;
  }
  const order = await deps.store.getOrder(refund.orderNo);
  const current = await deps.store.getRefund(refund.refundNo);
  if (order && current) await submitRefund(deps, current, order);
}
