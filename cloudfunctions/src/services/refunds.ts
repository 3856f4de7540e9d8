import type { RefundView } from '@cashier/shared';
import { PayError } from '../domain/errors';
import { reserve, settle, unreserve, type LedgerStep } from '../domain/refund-ledger';
import { shanghaiDate } from '../domain/time';
import type { Order, OrderEventSource, Refund } from '../domain/types';
import { HuifuBusinessError, HuifuDuplicateRequestError, HuifuError } from '../providers/huifu/errors';
import type { RefundStatusResult } from '../providers/port';
import type { Deps } from './deps';
import { flagOrder, noteOrder, reread } from './transitions';
import { enqueueOrderWebhook, enqueueRefundReviewWebhook, enqueueRefundWebhook } from './webhooks';

/** Refund numbers are the app backend's idempotency key and our Huifu req_seq_id for the refund. */
export const REFUND_NO = /^[A-Za-z0-9]{6,32}$/;
/** Reservations whose refund row never appeared (a crash between the two writes) are given back after this long. */
export const ORPHAN_RESERVATION_MS = 10 * 60_000;
/** Each lost compare-and-set means another writer made progress; concurrent refunds on one order are few. */
const MAX_LEDGER_ATTEMPTS = 100;

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

type LedgerResult = { kind: 'changed' | 'done'; order: Order } | { kind: 'refused'; reason: Extract<LedgerStep, { kind: 'refused' }>['reason']; order: Order };

/**
 * Applies one ledger step (domain/refund-ledger.ts) to the order by compare-and-set, reading again when another writer
 * got there first. A change in the refunded amount is announced to the app backend.
 */
async function changeLedger(deps: Deps, order: Order, step: (current: Order) => LedgerStep, source: OrderEventSource, detail: string): Promise<LedgerResult> {
  let current = order;
  for (let attempt = 0; attempt < MAX_LEDGER_ATTEMPTS; attempt++) {
    const decided = step(current);
    if (decided.kind !== 'change') return decided.kind === 'done' ? { kind: 'done', order: current } : { kind: 'refused', reason: decided.reason, order: current };
    const at = deps.clock.now();
    const updated = await deps.store.updateOrder(current, { ...decided.patch, updatedAt: at }, { from: current.status, to: decided.patch.status, source, at, detail });
    if (updated) {
      if (updated.refundedFen !== current.refundedFen) await enqueueOrderWebhook(deps, updated);
      return { kind: 'changed', order: updated };
    }
    current = await reread(deps, current);
  }
  throw new Error(`order ${order.orderNo}: refund ledger still contended after ${MAX_LEDGER_ATTEMPTS} attempts`);
}

/**
 * Starts a refund. The same refund number with the same order and amount returns the same refund (a retry); with a
 * different amount it is a conflict. The amount is reserved on the order's ledger before Huifu is called, so
 * concurrent refunds can never add up to more than was paid; a refund that fails gives its reservation back.
 */
export async function requestRefund(deps: Deps, command: { orderNo: string; refundNo: string; amountFen: number; reason: string | null }): Promise<Refund> {
  if (!REFUND_NO.test(command.refundNo)) throw new PayError('INVALID_REQUEST', 'refund_no: 6-32 letters or digits');
  const existing = await deps.store.getRefund(command.refundNo);
  if (existing) return sameOrConflict(existing, command);
  const order = await deps.store.getOrder(command.orderNo);
  if (!order) throw new PayError('ORDER_NOT_FOUND', `no order ${command.orderNo}`);
  const now = deps.clock.now();
  const reserved = await changeLedger(deps, order, (o) => reserve(o, command.refundNo, command.amountFen, now), 'merchant', `refund ${command.refundNo}: ${command.amountFen} fen reserved`);
  if (reserved.kind === 'refused') {
    if (reserved.reason === 'not_refundable') throw new PayError('ORDER_NOT_REFUNDABLE', `order ${order.orderNo} is ${reserved.order.status}`);
    if (reserved.reason === 'conflict') throw new PayError('REFUND_CONFLICT', `refund ${command.refundNo} is already reserved on order ${order.orderNo} with another amount`);
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
    // Whatever the error, the row may exist: the same refund number inserted concurrently (DuplicateError), or a write
    // that failed after it landed (a CloudBase timeout). Then that refund owns the reservation, and reconcile sends it.
    const recorded = await deps.store.getRefund(command.refundNo).catch(() => undefined);
    if (recorded) return sameOrConflict(recorded, command);
    // Not recorded: the reservation must not stay held. Unknown (the read failed too): it stays, and
    // releaseOrphanReservations gives it back once no refund row has appeared for ORPHAN_RESERVATION_MS.
    if (recorded === null) {
      await changeLedger(deps, reserved.order, (o) => unreserve(o, command.refundNo), 'merchant', `refund ${command.refundNo}: reservation given back (the refund could not be recorded)`);
    }
    throw error;
  }
  deps.log.info('refund requested', { refundNo: refund.refundNo, orderNo: order.orderNo, amountFen: refund.amountFen });
  return submitRefund(deps, refund, reserved.order);
}

function sameOrConflict(existing: Refund, command: { orderNo: string; amountFen: number }): Refund {
  if (existing.orderNo !== command.orderNo || existing.amountFen !== command.amountFen) {
    throw new PayError('REFUND_CONFLICT', `refund ${existing.refundNo} exists for order ${existing.orderNo} with ${existing.amountFen} fen`);
  }
  return existing;
}

/** Sends (or re-sends, with the same refund number and payload) the refund to Huifu and applies a final answer. */
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
    if (error instanceof HuifuDuplicateRequestError) {
      // Huifu already has this refund number (an earlier attempt whose answer was lost): it may well complete it.
      // Never a failure: refund query settles it.
      deps.log.warn('refund already at Huifu; refund query will settle it', { refundNo: refund.refundNo, orderNo: order.orderNo });
      return refund;
    }
    if (error instanceof HuifuError && (error.ambiguous || error.retryable)) {
      deps.log.warn('refund not settled yet; reconcile will query or resend it', { refundNo: refund.refundNo, orderNo: order.orderNo, code: error.code });
      return refund;
    }
    if (error instanceof HuifuBusinessError) {
      await finishRefund(deps, refund, { state: 'FAILED', hfSeqId: null, failReason: `${error.respCode} ${error.respDesc}` }, 'merchant');
      return (await deps.store.getRefund(refund.refundNo)) ?? refund;
    }
    throw error;
  }
  if (!result.found || result.state === 'PROCESSING') {
    if (result.found && result.hfSeqId && !refund.hfSeqId) {
      return (await deps.store.updateRefund(refund, { hfSeqId: result.hfSeqId, updatedAt: deps.clock.now() })) ?? ((await deps.store.getRefund(refund.refundNo)) ?? refund);
    }
    return refund;
  }
  await finishRefund(deps, refund, result, 'merchant');
  return (await deps.store.getRefund(refund.refundNo)) ?? refund;
}

export type FinishResult = 'applied' | 'duplicate' | 'corrected' | 'review' | 'ignored';

/**
 * Applies a refund's final outcome. The order's ledger is written first, then the refund; both steps are idempotent,
 * so any retry (Huifu's next notification, reconcile's refund query) completes whatever a crash or a failed write
 * left undone. A success for a refund recorded FAILED takes the amount again when the balance allows, else flags the
 * order for a person; either way the app backend is told.
 */
export async function finishRefund(
  deps: Deps,
  refund: Refund,
  outcome: { state: 'SUCCEEDED' | 'FAILED' | 'PROCESSING'; hfSeqId: string | null; failReason: string | null },
  source: OrderEventSource,
): Promise<FinishResult> {
  if (outcome.state === 'PROCESSING') return 'ignored';
  const target = outcome.state;
  let current = refund;
  for (let attempt = 0; attempt < MAX_LEDGER_ATTEMPTS; attempt++) {
    const order = await deps.store.getOrder(current.orderNo);
    if (!order) throw new Error(`refund ${current.refundNo}: order ${current.orderNo} is missing`);
    if (current.status === 'SUCCEEDED' && target === 'FAILED') {
      await flagOrder(deps, order, 'REFUND_STATE_CONFLICT', source, `Huifu reports refund ${current.refundNo} failed, but it is recorded as succeeded`);
      return 'review';
    }
    const correction = current.status === 'FAILED' && target === 'SUCCEEDED';
    const ledger = await changeLedger(deps, order, (o) => settle(o, current.refundNo, target, deps.clock.now()), source, `refund ${current.refundNo} of ${current.amountFen} fen ${target === 'SUCCEEDED' ? 'succeeded' : 'failed'}${correction ? ' (Huifu completed it after it was recorded failed)' : ''}`);
    if (ledger.kind === 'refused') {
      if (correction && ledger.reason === 'insufficient') {
        const flagged = await flagOrder(deps, ledger.order, 'REFUND_SUCCEEDED_AFTER_FAILURE', source, `Huifu completed refund ${current.refundNo} (${current.amountFen} fen), recorded failed, and the balance no longer covers it`);
        await enqueueRefundReviewWebhook(deps, current, flagged);
        deps.log.error('refund succeeded after it was recorded failed; the order needs a person', { refundNo: current.refundNo, orderNo: current.orderNo });
        return 'review';
      }
      await flagOrder(deps, ledger.order, 'REFUND_STATE_CONFLICT', source, `refund ${current.refundNo}: the order's ledger refuses ${target} (${ledger.reason})`);
      return 'review';
    }
    if (current.status === target) {
      // The refund was recorded before; the order now has it too (a crash had separated the two writes).
      if (ledger.kind === 'changed') await noteOrder(deps, ledger.order, source, `refund ${current.refundNo}: recorded on the order on a retry`);
      await enqueueRefundWebhook(deps, current, ledger.order);
      return 'duplicate';
    }
    const now = deps.clock.now();
    const finished = await deps.store.updateRefund(current, {
      status: target,
      hfSeqId: outcome.hfSeqId ?? current.hfSeqId,
      failReason: target === 'FAILED' ? outcome.failReason : null,
      finishedAt: now,
      updatedAt: now,
    });
    if (!finished) {
      current = (await deps.store.getRefund(current.refundNo)) ?? current;
      continue;
    }
    deps.log.info('refund finished', { refundNo: current.refundNo, orderNo: current.orderNo, status: target, source, corrected: correction });
    await enqueueRefundWebhook(deps, finished, ledger.order);
    return correction ? 'corrected' : 'applied';
  }
  throw new Error(`refund ${refund.refundNo}: still contended after ${MAX_LEDGER_ATTEMPTS} attempts`);
}

/** Follows a PENDING refund at Huifu: query by its own serial; one that never reached Huifu is re-sent as it was. */
export async function followRefund(deps: Deps, refund: Refund): Promise<void> {
  const now = deps.clock.now();
  const claimed = await deps.store.updateRefund(refund, { lastQueriedAt: now, updatedAt: now });
  if (!claimed) return;
  const status = await deps.gateway.queryRefund({ refundNo: claimed.refundNo, reqDate: claimed.reqDate });
  if (status.found) {
    await finishRefund(deps, claimed, status, 'reconcile');
    return;
  }
  const order = await deps.store.getOrder(claimed.orderNo);
  if (order) await submitRefund(deps, claimed, order);
}

/**
 * Gives back reservations whose refund row never appeared (the process stopped between reserving and recording the
 * refund, and the app backend did not retry the refund number). Resolves how many were released.
 */
export async function releaseOrphanReservations(deps: Deps, order: Order): Promise<number> {
  const cutoff = deps.clock.now() - ORPHAN_RESERVATION_MS;
  let released = 0;
  let current = order;
  for (const [refundNo, entry] of Object.entries(order.refundLedger)) {
    if (entry.state !== 'RESERVED' || entry.at > cutoff) continue;
    if (await deps.store.getRefund(refundNo)) continue;
    const result = await changeLedger(deps, current, (o) => unreserve(o, refundNo), 'reconcile', `refund ${refundNo}: reservation given back (no refund was ever recorded)`);
    current = result.order;
    if (result.kind === 'changed') released++;
  }
  return released;
}
