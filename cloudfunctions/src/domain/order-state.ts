import type { OrderStatus, RefundStatus } from '@cashier/shared';
import { IllegalTransitionError } from './errors';

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

const REFUND_TRANSITIONS: Readonly<Record<RefundStatus, readonly RefundStatus[]>> = {
  PENDING: ['SUCCEEDED', 'FAILED'],
  SUCCEEDED: [],
  FAILED: [],
};

export function transitionRefund(from: RefundStatus, to: RefundStatus): RefundStatus {
  if (!REFUND_TRANSITIONS[from].includes(to)) throw new IllegalTransitionError('refund', from, to);
  return to;
}
