import type { OrderStatus, RefundStatus } from '@cashier/shared';
import { IllegalTransitionError } from './errors';
import type { Order } from './types';

/**
 * The order state machine (ARCHITECTURE.md §5). One deliberate addition: CREATED → PAID and CREATED → FAILED,
 * because Huifu's notification can arrive before the create call's answer has been stored (the order is stored as
 * CREATED before Huifu is called, so nothing is lost either way).
 */
const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  CREATED: ['PAYING', 'PAID', 'FAILED', 'CLOSED'],
  PAYING: ['PAID', 'FAILED', 'CLOSED'],
  PAID: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  FAILED: [],
  CLOSED: ['PAID_AFTER_CLOSE'],
  // Money taken after we closed: it stays flagged, and refunds of it move it like a paid order.
  PAID_AFTER_CLOSE: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  PARTIALLY_REFUNDED: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  REFUNDED: [],
};

export function canTransitionOrder(from: OrderStatus, to: OrderStatus): boolean {
  return ORDER_TRANSITIONS[from].includes(to);
}

/** Returns `to` when the transition is allowed; throws IllegalTransitionError otherwise. */
export function transitionOrder(from: OrderStatus, to: OrderStatus): OrderStatus {
  if (!canTransitionOrder(from, to)) throw new IllegalTransitionError('order', from, to);
  return to;
}

export function isFinalOrderStatus(status: OrderStatus): boolean {
  return ORDER_TRANSITIONS[status].length === 0;
}

/** The status an order with money taken has after refunds totalling `refundedFen` of `amountFen`. */
export function statusAfterRefunds(current: OrderStatus, amountFen: number, refundedFen: number): OrderStatus {
  if (refundedFen <= 0) return current;
  return transitionOrder(current, refundedFen >= amountFen ? 'REFUNDED' : 'PARTIALLY_REFUNDED');
}

/**
 * FAILED → SUCCEEDED is a correction: Huifu completed a refund we had recorded as failed (the money went back to the
 * user), so the record follows Huifu.
 */
const REFUND_TRANSITIONS: Readonly<Record<RefundStatus, readonly RefundStatus[]>> = {
  PENDING: ['SUCCEEDED', 'FAILED'],
  SUCCEEDED: [],
  FAILED: ['SUCCEEDED'],
};

export function transitionRefund(from: RefundStatus, to: RefundStatus): RefundStatus {
  if (!REFUND_TRANSITIONS[from].includes(to)) throw new IllegalTransitionError('refund', from, to);
  return to;
}

export function canTransitionRefund(from: RefundStatus, to: RefundStatus): boolean {
  return REFUND_TRANSITIONS[from].includes(to);
}

/** How long reconcile waits between looks at an order waiting for payment (Huifu retries a notification 3 times). */
export const QUERY_INTERVAL_MS = 60_000;
/** Huifu refuses to close a trade younger than a minute. */
export const CLOSE_MIN_AGE_MS = 60_000;
/** How often a close Huifu answered P is followed up with close query. */
export const CLOSE_FOLLOW_MS = 15_000;

/**
 * When reconcile should next look at an order, or null when there is nothing left to do (a final status). Every
 * order write stores this, so reconcile reads only what is due (an index on it), whatever the table size:
 * - a close in progress is followed up every CLOSE_FOLLOW_MS; a failed close is retried a minute later;
 * - a cancelled order is closed as soon as Huifu allows (a minute after creation);
 * - otherwise the order is queried a minute after it was created or last queried, and closed when it expires.
 */
export function reconcileDueAt(order: Pick<Order, 'status' | 'createdAt' | 'expiresAt' | 'lastQueriedAt' | 'cancelRequestedAt' | 'closeRequest'>): number | null {
  if (order.status !== 'CREATED' && order.status !== 'PAYING') return null;
  const close = order.closeRequest;
  if (close?.state === 'PROCESSING') return close.at + CLOSE_FOLLOW_MS;
  const earliestClose = order.createdAt + CLOSE_MIN_AGE_MS;
  if (close?.state === 'FAILED') return Math.max(close.at + QUERY_INTERVAL_MS, earliestClose);
  if (order.cancelRequestedAt !== null) return Math.max(order.cancelRequestedAt, earliestClose);
  const nextQuery = (order.lastQueriedAt ?? order.createdAt) + QUERY_INTERVAL_MS;
  return Math.min(Math.max(order.expiresAt, earliestClose), nextQuery);
}

/** Adds a review flag to a set of flags (flags are never replaced by another). */
export function withFlag(flags: readonly string[], flag: string): string[] {
  return flags.includes(flag) ? [...flags] : [...flags, flag];
}
