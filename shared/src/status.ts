/** Order and refund statuses; the transitions between them live in cloudfunctions/src/domain. */
export const ORDER_STATUSES = [
  'CREATED',
  'PAYING',
  'PAID',
  'FAILED',
  'CLOSED',
  'PAID_AFTER_CLOSE',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const REFUND_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** Statuses in which money has been taken from the user. */
export const MONEY_TAKEN_STATUSES: readonly OrderStatus[] = ['PAID', 'PAID_AFTER_CLOSE', 'PARTIALLY_REFUNDED', 'REFUNDED'];

/** Statuses in which the user may still pay (the same order, the same Huifu trade). */
export const PAYABLE_STATUSES: readonly OrderStatus[] = ['CREATED', 'PAYING'];
