import type { OrderStatus, PayParams, RefundStatus } from '@cashier/shared';

/** Where a Huifu request stands, in our words (P / S / F). */
export type RequestState = 'PROCESSING' | 'SUCCEEDED' | 'FAILED';

/**
 * The order's close at Huifu, kept so it is followed, never repeated: a close answered P (or lost in transit) is
 * followed with close query on the same request until S or F. A close Huifu refused or failed is FAILED, and a new
 * one may be sent a minute later.
 */
export interface CloseRequest {
  reqSeqId: string;
  reqDate: string;
  state: RequestState;
  /** When it was sent, or last followed up. */
  at: number;
}

/**
 * What each refund did to the order's refundable balance, keyed by refund number: RESERVED while Huifu works on it,
 * then SUCCEEDED (counted in refundedFen) or FAILED (given back). Changed only by compare-and-set on the order, so
 * applying the same refund outcome twice changes nothing, whichever write a crash interrupted.
 */
export interface LedgerEntry {
  amountFen: number;
  state: 'RESERVED' | 'SUCCEEDED' | 'FAILED';
  at: number;
}

/** Times are epoch milliseconds; money is integer fen. */
export interface Order {
  /** Our order number, also Huifu's req_seq_id for the payment. */
  orderNo: string;
  /** The app's own order id (checkout token `ref`); one order per ref. */
  appRef: string;
  openid: string;
  amountFen: number;
  description: string;
  attach: string | null;
  status: OrderStatus;
  version: number;
  refundedFen: number;
  /** Amount held by refunds that Huifu has not finished yet. */
  refundReservedFen: number;
  /** refundedFen and refundReservedFen are the sums of this ledger's SUCCEEDED and RESERVED entries. */
  refundLedger: Record<string, LedgerEntry>;
  /** Huifu req_date (yyyyMMdd, Asia/Shanghai) of the payment request. */
  reqDate: string;
  /** When the order stops being payable; sent to Huifu as time_expire. */
  expiresAt: number;
  hfSeqId: string | null;
  payInfo: PayParams | null;
  outTransId: string | null;
  partyOrderId: string | null;
  feeFen: number | null;
  paidAt: number | null;
  closedAt: number | null;
  /** Last time the server asked Huifu about this order (rate limit for order.get). */
  lastQueriedAt: number | null;
  /** Reasons a person must look at the order (PAID_AFTER_CLOSE, AMOUNT_MISMATCH, ...): a set, never overwritten. */
  flags: string[];
  /** The user asked to cancel: reconcile closes the order at Huifu, then locally. Kept apart from the flags. */
  cancelRequestedAt: number | null;
  closeRequest: CloseRequest | null;
  createdAt: number;
  updatedAt: number;
}

export type OrderEventSource = 'api' | 'notify' | 'query' | 'reconcile' | 'merchant';

export interface OrderEvent {
  orderNo: string;
  from: OrderStatus | null;
  to: OrderStatus | null;
  source: OrderEventSource;
  at: number;
  detail: string;
}

export type NotificationKind = 'pay' | 'refund' | 'unknown';

/** The inbox of Huifu notifications, keyed by sha256 of the raw resp_data. */
export interface InboxNotification {
  id: string;
  kind: NotificationKind;
  reqSeqId: string | null;
  notifyType: number | null;
  transStat: string | null;
  /** The raw resp_data text exactly as received, and its signature. */
  respData: string;
  sign: string;
  /** received → applied | duplicate | ignored | rejected:<reason> */
  outcome: string;
  receivedAt: number;
  processedAt: number | null;
}

export interface Refund {
  /** Our refund number, also Huifu's req_seq_id for the refund; supplied by the app backend (idempotency key). */
  refundNo: string;
  orderNo: string;
  amountFen: number;
  status: RefundStatus;
  reason: string | null;
  reqDate: string;
  hfSeqId: string | null;
  failReason: string | null;
  version: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  lastQueriedAt: number | null;
}

export type WebhookStatus = 'PENDING' | 'DELIVERED' | 'DEAD';

/** Outbox of state changes to tell the app backend about. */
export interface AppWebhook {
  id: string;
  event: string;
  orderNo: string;
  /** The exact JSON body that will be signed and sent. */
  payload: string;
  status: WebhookStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface User {
  openid: string;
  appid: string;
  firstLoginAt: number;
  lastLoginAt: number;
}
