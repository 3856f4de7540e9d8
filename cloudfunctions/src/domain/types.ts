import type { OrderStatus, PayParams, RefundStatus } from '@cashier/shared';

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
  /** Set when a person must look at the order (e.g. PAID_AFTER_CLOSE, amount mismatch). */
  flag: string | null;
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
