import { PayError } from '../domain/errors';
import { ledgerTotals } from '../domain/refund-ledger';
import type { AppWebhook, InboxNotification, Order, OrderEvent, Refund, User } from '../domain/types';

/**
 * What the services need from storage, and nothing more. Two adapters implement it: SQLite (local default, tests)
 * and the CloudBase document database (production). One conformance suite (test/store) runs against both.
 *
 * Every state change is a compare-and-set: `update*` takes the record as the caller read it and writes only if it
 * is still stored that way (same status and version), resolving the stored result, or null when another writer moved
 * it first (then nothing was written and the caller reads again). Passing the record read earlier also saves the
 * adapter a read: on CloudBase every read is a network round trip.
 */
export interface Store {
  recordLogin(user: { openid: string; appid: string; at: number }): Promise<void>;
  getUser(openid: string): Promise<User | null>;

  /** Throws DuplicateError when the order number or the app ref already exists. `event` is written with it. */
  insertOrder(order: Order, event: OrderEventInput): Promise<void>;
  getOrder(orderNo: string): Promise<Order | null>;
  getOrderByRef(appRef: string): Promise<Order | null>;
  /**
   * Applies `patch` only if the order is still at `current`'s status and version; bumps version. `event`, when given,
   * is recorded in the same write, so a state change and its audit entry are never separated.
   */
  updateOrder(current: Order, patch: OrderPatch, event?: OrderEventInput): Promise<Order | null>;
  /** A user's orders, newest first. */
  listOrdersByOpenid(openid: string, page: { limit: number; before?: OrderCursor }): Promise<Order[]>;
  /** Reconcile's work: orders whose reconcileDueAt (domain/order-state.ts) has come, earliest first, bounded. */
  findDueOrders(now: number, limit: number): Promise<Order[]>;
  /** Orders holding a refund reservation whose last change is older than `before` (orphaned reservations). */
  findOrdersWithReservations(before: number, limit: number): Promise<Order[]>;
  /** Newest first, optionally by status or flag, for operators. */
  listOrders(query: { status?: Order['status']; flag?: string; limit: number; before?: OrderCursor }): Promise<Order[]>;

  /** Records something that changed no state (a late or suspicious event) on an existing order. */
  appendOrderEvent(event: OrderEvent): Promise<void>;
  listOrderEvents(orderNo: string): Promise<OrderEvent[]>;

  /** Keeps a notification once, keyed by its id (sha256 of resp_data): 'exists' when it was kept before. */
  insertNotification(notification: InboxNotification): Promise<'inserted' | 'exists'>;
  getNotification(id: string): Promise<InboxNotification | null>;
  /** Records the outcome only if the notification still has `expectedOutcome`; false when another copy got there first. */
  updateNotification(id: string, expectedOutcome: string, patch: Pick<InboxNotification, 'outcome' | 'processedAt'>): Promise<boolean>;
  listNotifications(query: { reqSeqId?: string; limit: number }): Promise<InboxNotification[]>;

  /**
   * Counts an unauthenticated notification by reason and hour, and keeps it as one of the last few samples of its
   * reason: storage stays bounded whatever an outsider sends (see services/rejections.ts).
   */
  recordRejection(rejection: Rejection, limits: RejectionLimits): Promise<void>;
  listRejections(): Promise<{ counts: RejectionCount[]; samples: RejectionSample[] }>;

  /** Throws DuplicateError when the refund number exists. */
  insertRefund(refund: Refund): Promise<void>;
  getRefund(refundNo: string): Promise<Refund | null>;
  listRefundsByOrder(orderNo: string): Promise<Refund[]>;
  updateRefund(current: Refund, patch: RefundPatch): Promise<Refund | null>;
  findRefunds(query: { statuses: Refund['status'][]; updatedBefore: number; limit: number }): Promise<Refund[]>;

  /** A webhook's id is deterministic: writing the same one twice is expected, and resolves 'exists'. */
  insertWebhook(webhook: AppWebhook): Promise<'inserted' | 'exists'>;
  getWebhook(id: string): Promise<AppWebhook | null>;
  updateWebhook(current: AppWebhook, patch: WebhookPatch): Promise<AppWebhook | null>;
  /** PENDING webhooks whose next attempt is due, oldest first. */
  findWebhooksDue(now: number, limit: number): Promise<AppWebhook[]>;
  listWebhooks(query: { orderNo?: string; status?: AppWebhook['status']; limit: number }): Promise<AppWebhook[]>;

  /**
   * Runs `work` as one unit where the store can: SQLite commits its writes together or not at all; CloudBase has no
   * multi-document transaction for compare-and-set writes, so there each write stands alone and the services make
   * every step idempotent and repair a half-done one on retry. `work` must only use this store (no other I/O).
   */
  inTransaction<T>(work: () => Promise<T>): Promise<T>;

  close(): Promise<void>;
}

type Immutable = 'orderNo' | 'appRef' | 'openid' | 'amountFen' | 'createdAt' | 'version' | 'updatedAt';
export type OrderPatch = Partial<Omit<Order, Immutable>> & { updatedAt: number };
export type RefundPatch = Partial<Omit<Refund, 'refundNo' | 'orderNo' | 'amountFen' | 'createdAt' | 'version' | 'updatedAt'>> & {
  updatedAt: number;
};
export type WebhookPatch = Partial<Omit<AppWebhook, 'id' | 'event' | 'orderNo' | 'payload' | 'createdAt' | 'version' | 'updatedAt'>> & {
  updatedAt: number;
};

/** An audit entry as written with an order change (the order number is the order's). */
export type OrderEventInput = Omit<OrderEvent, 'orderNo'>;

export interface OrderCursor {
  createdAt: number;
  orderNo: string;
}

export interface Rejection {
  reason: string;
  at: number;
  /** The start of the text received (already truncated by the caller), shown to operators escaped. */
  sample: string;
}
export interface RejectionLimits {
  /** Hourly counts older than this many hours are dropped. */
  keepHours: number;
  /** Samples kept per reason (a ring by second: an older one is overwritten). */
  samplesPerReason: number;
}
export interface RejectionCount {
  reason: string;
  /** Start of the hour (epoch ms). */
  hour: number;
  count: number;
}
export interface RejectionSample {
  reason: string;
  at: number;
  sample: string;
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
 * so a write that would break them fails whole and leaves the stored record as it was: the refunded and reserved
 * amounts are the ledger's sums, and never more than was paid.
 */
export function assertOrderInvariants(order: Pick<Order, 'amountFen' | 'refundedFen' | 'refundReservedFen' | 'refundLedger' | 'orderNo'>): void {
  const { amountFen, refundedFen, refundReservedFen } = order;
  if (!(Number.isSafeInteger(refundedFen) && Number.isSafeInteger(refundReservedFen))) {
    throw new PayError('INTERNAL', `Order ${order.orderNo}: refund amounts must be whole fen`);
  }
  if (refundedFen < 0 || refundReservedFen < 0 || refundedFen + refundReservedFen > amountFen) {
    throw new PayError('INTERNAL', `Order ${order.orderNo}: refunded ${refundedFen} + reserved ${refundReservedFen} must stay within 0..${amountFen} fen`);
  }
  const totals = ledgerTotals(order.refundLedger);
  if (totals.refundedFen !== refundedFen || totals.refundReservedFen !== refundReservedFen) {
    throw new PayError('INTERNAL', `Order ${order.orderNo}: refunded ${refundedFen} / reserved ${refundReservedFen} do not match its refund ledger (${totals.refundedFen} / ${totals.refundReservedFen})`);
  }
}

export function encodeCursor(cursor: OrderCursor): string {
  return `${cursor.createdAt}.${cursor.orderNo}`;
}
export function decodeCursor(text: string): OrderCursor | null {
  const m = /^(\d{1,15})\.([A-Za-z0-9]{1,32})$/.exec(text);
  return m ? { createdAt: Number(m[1]), orderNo: m[2]! } : null;
}

/** The hour an instant falls in (epoch ms), for rejection counts. */
export const hourOf = (at: number) => at - (at % 3_600_000);
/** Samples are a ring by the second they arrived: the last few seconds that saw a rejection of a reason are kept. */
export const sampleSlot = (at: number, samplesPerReason: number) => Math.floor(at / 1000) % samplesPerReason;
