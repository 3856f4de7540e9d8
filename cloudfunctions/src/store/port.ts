import type { OrderStatus, RefundStatus } from '@cashier/shared';
import { PayError } from '../domain/errors';
import type { AppWebhook, InboxNotification, Order, OrderEvent, Refund, User } from '../domain/types';

/**
 * What the services need from storage, and nothing more. Two adapters implement it: SQLite (local default, tests)
 * and the CloudBase document database (production). One conformance suite (test/store) runs against both.
 *
 * Every state change is a compare-and-set: `update*` resolves false when another writer moved the record first,
 * and then nothing was written.
 */
export interface Store {
  recordLogin(user: { openid: string; appid: string; at: number }): Promise<void>;
  getUser(openid: string): Promise<User | null>;

  /** Throws DuplicateError when the order number or the app ref already exists. */
  insertOrder(order: Order): Promise<void>;
  getOrder(orderNo: string): Promise<Order | null>;
  getOrderByRef(appRef: string): Promise<Order | null>;
  /** Applies `patch` only if the order is still at `expected`; bumps version and updatedAt. */
  updateOrder(orderNo: string, expected: Expected<OrderStatus>, patch: OrderPatch): Promise<boolean>;
  /**
   * Atomically holds `amountFen` of the order's refundable amount (paid − refunded − already reserved).
   * Resolves false, changing nothing, when the order has taken no money or not enough is left.
   */
  reserveRefund(orderNo: string, amountFen: number, at: number): Promise<boolean>;
  /** Atomically gives back a reservation (a refund that failed). Never goes below zero. */
  releaseRefund(orderNo: string, amountFen: number, at: number): Promise<void>;
  /** A user's orders, newest first. */
  listOrdersByOpenid(openid: string, page: { limit: number; before?: OrderCursor }): Promise<Order[]>;
  /** Work queries for reconcile: oldest first, bounded. */
  findOrders(query: OrderQuery): Promise<Order[]>;

  appendOrderEvent(event: OrderEvent): Promise<void>;
  listOrderEvents(orderNo: string): Promise<OrderEvent[]>;

  /** Throws DuplicateError when a notification with the same id (sha256 of resp_data) exists. */
  insertNotification(notification: InboxNotification): Promise<void>;
  getNotification(id: string): Promise<InboxNotification | null>;
  updateNotification(id: string, patch: Pick<InboxNotification, 'outcome' | 'processedAt'>): Promise<void>;
  listNotifications(query: { reqSeqId?: string; limit: number }): Promise<InboxNotification[]>;

  /** Throws DuplicateError when the refund number exists. */
  insertRefund(refund: Refund): Promise<void>;
  getRefund(refundNo: string): Promise<Refund | null>;
  listRefundsByOrder(orderNo: string): Promise<Refund[]>;
  updateRefund(refundNo: string, expected: Expected<RefundStatus>, patch: RefundPatch): Promise<boolean>;
  findRefunds(query: { statuses: RefundStatus[]; updatedBefore: number; limit: number }): Promise<Refund[]>;

  insertWebhook(webhook: AppWebhook): Promise<void>;
  getWebhook(id: string): Promise<AppWebhook | null>;
  updateWebhook(id: string, expectedVersion: number, patch: WebhookPatch): Promise<boolean>;
  /** PENDING webhooks whose next attempt is due, oldest first. */
  findWebhooksDue(now: number, limit: number): Promise<AppWebhook[]>;
  listWebhooks(query: { orderNo?: string; limit: number }): Promise<AppWebhook[]>;

  close(): Promise<void>;
}

export interface Expected<S extends string> {
  status: S;
  version: number;
}

type Immutable = 'orderNo' | 'appRef' | 'openid' | 'amountFen' | 'createdAt' | 'version' | 'updatedAt';
export type OrderPatch = Partial<Omit<Order, Immutable>> & { updatedAt: number };
export type RefundPatch = Partial<Omit<Refund, 'refundNo' | 'orderNo' | 'amountFen' | 'createdAt' | 'version' | 'updatedAt'>> & {
  updatedAt: number;
};
export type WebhookPatch = Partial<Omit<AppWebhook, 'id' | 'event' | 'orderNo' | 'payload' | 'createdAt' | 'version' | 'updatedAt'>> & {
  updatedAt: number;
};

export interface OrderCursor {
  createdAt: number;
  orderNo: string;
}

export interface OrderQuery {
  statuses: OrderStatus[];
  /** Only orders created before this time. */
  createdBefore?: number;
  /** Only orders whose payment window ended before this time. */
  expiresBefore?: number;
  /** Only orders not asked about since this time (null lastQueriedAt counts as never). */
  notQueriedSince?: number;
  limit: number;
}

/** An insert met an existing key or unique field. The existing record is unchanged. */
export class DuplicateError extends PayError {
  constructor(
    readonly collection: string,
    readonly field: string,
  ) {
    super('INTERNAL', `Duplicate ${collection}.${field}`, { retryable: false });
  }
}

/** The store could not be reached or failed; nothing is known to have been written. */
export class StoreUnavailableError extends PayError {
  constructor(message: string, cause?: unknown) {
    super('INTERNAL', message, { retryable: true, cause });
  }
}

/**
 * The invariants every order keeps, checked by both adapters before any write (SQLite also has CHECK constraints),
 * so a write that would break them fails whole and leaves the stored record as it was.
 */
export function assertOrderInvariants(order: Pick<Order, 'amountFen' | 'refundedFen' | 'refundReservedFen' | 'orderNo'>): void {
  const { amountFen, refundedFen, refundReservedFen } = order;
  if (!(Number.isSafeInteger(refundedFen) && Number.isSafeInteger(refundReservedFen))) {
    throw new PayError('INTERNAL', `Order ${order.orderNo}: refund amounts must be whole fen`);
  }
  if (refundedFen < 0 || refundReservedFen < 0 || refundedFen + refundReservedFen > amountFen) {
    throw new PayError(
      'INTERNAL',
      `Order ${order.orderNo}: refunded ${refundedFen} + reserved ${refundReservedFen} must stay within 0..${amountFen} fen`,
    );
  }
}

export const REFUNDABLE_STATUSES: readonly OrderStatus[] = ['PAID', 'PAID_AFTER_CLOSE', 'PARTIALLY_REFUNDED'];

export function encodeCursor(cursor: OrderCursor): string {
  return `${cursor.createdAt}.${cursor.orderNo}`;
}
export function decodeCursor(text: string): OrderCursor | null {
  const m = /^(\d{1,15})\.([A-Za-z0-9]{1,32})$/.exec(text);
  return m ? { createdAt: Number(m[1]), orderNo: m[2]! } : null;
}
