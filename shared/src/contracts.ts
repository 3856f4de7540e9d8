/**
 * The calls between the mini-program and the cloud functions. The functions parse every event with these schemas;
 * the mini-program imports only the inferred types (`import type`), so zod never ships in the mini-program.
 */
import * as z from './zod';
import { ERROR_CODES, type ErrorBody } from './errors';
import { ORDER_STATUSES, REFUND_STATUSES } from './status';

const Token = z.string().check(z.minLength(10), z.maxLength(2048));
/** Our order numbers double as Huifu req_seq_id: 32 characters at most, letters and digits only. */
export const OrderNo = z.string().check(z.regex(/^[A-Za-z0-9]{8,32}$/, 'order number: 8-32 letters or digits'));
export const Fen = z.int().check(z.nonnegative(), z.maximum(Number.MAX_SAFE_INTEGER));

// ---------- login ----------
export const LoginRequest = z.strictObject({ code: z.string().check(z.minLength(1), z.maxLength(256)) });
export type LoginRequest = z.infer<typeof LoginRequest>;
export const LoginResult = z.strictObject({
  sessionToken: z.string(),
  expiresAt: z.int(),
  /** First and last characters only, for display and logs. */
  openidHint: z.string(),
});
export type LoginResult = z.infer<typeof LoginResult>;

// ---------- orders ----------
export const OrderStatusSchema = z.enum(ORDER_STATUSES);
export const RefundStatusSchema = z.enum(REFUND_STATUSES);

export const OrderView = z.strictObject({
  orderNo: z.string(),
  ref: z.string(),
  amountFen: Fen,
  description: z.string(),
  status: OrderStatusSchema,
  refundedFen: Fen,
  createdAt: z.int(),
  /** When the order stops being payable (Huifu time_expire). */
  expiresAt: z.int(),
  paidAt: z.nullable(z.int()),
});
export type OrderView = z.infer<typeof OrderView>;

/** The five fields wx.requestPayment needs, exactly as Huifu's pay_info gives them. */
export const PayParams = z.strictObject({
  timeStamp: z.string().check(z.minLength(1)),
  nonceStr: z.string().check(z.minLength(1)),
  package: z.string().check(z.startsWith('prepay_id=')),
  signType: z.enum(['RSA', 'MD5', 'HMAC-SHA256']),
  paySign: z.string().check(z.minLength(1)),
});
export type PayParams = z.infer<typeof PayParams>;

const WithSession = { sessionToken: Token };

/** The session is optional: the page asks for the preview while it logs in, so the pay button shows after one round trip. */
export const PreviewRequest = z.strictObject({ action: z.literal('preview'), sessionToken: z.optional(Token), checkoutToken: Token });
export const CreateRequest = z.strictObject({ action: z.literal('create'), ...WithSession, checkoutToken: Token });
export const GetRequest = z.strictObject({ action: z.literal('get'), ...WithSession, orderNo: OrderNo });
export const ListRequest = z.strictObject({
  action: z.literal('list'),
  ...WithSession,
  limit: z._default(z.int().check(z.minimum(1), z.maximum(50)), 20),
  /** Opaque cursor from the previous page. */
  cursor: z.optional(z.string().check(z.maxLength(64))),
});
export const CancelRequest = z.strictObject({ action: z.literal('cancel'), ...WithSession, orderNo: OrderNo });
/** Continue paying one of the caller's unpaid orders (from the order list): the same order, the same Huifu trade. */
export const PayRequest = z.strictObject({ action: z.literal('pay'), ...WithSession, orderNo: OrderNo });

export const OrderRequest = z.discriminatedUnion('action', [
  PreviewRequest,
  CreateRequest,
  GetRequest,
  ListRequest,
  CancelRequest,
  PayRequest,
]);
export type OrderRequest = z.infer<typeof OrderRequest>;
export type OrderAction = OrderRequest['action'];

export const PreviewResult = z.strictObject({
  ref: z.string(),
  amountFen: Fen,
  description: z.string(),
  /** When the checkout token itself expires. */
  tokenExpiresAt: z.int(),
  /** The caller's order for this ref; always null for a preview without a session. */
  existingOrder: z.nullable(OrderView),
});
export type PreviewResult = z.infer<typeof PreviewResult>;

export const CreateResult = z.strictObject({
  order: OrderView,
  payment: PayParams,
  /** True when an earlier trade's pay_info was handed out again instead of creating a new one. */
  resumed: z.boolean(),
});
export type CreateResult = z.infer<typeof CreateResult>;

export const ListResult = z.strictObject({ orders: z.array(OrderView), nextCursor: z.nullable(z.string()) });
export type ListResult = z.infer<typeof ListResult>;

/** CLOSED: over unpaid (closed at Huifu and here, or the trade failed meanwhile; order.status tells which). CLOSING: Huifu is closing it; the order stays unpayable-by-intent and reconcile finishes. */
export const CancelResult = z.strictObject({ order: OrderView, state: z.enum(['CLOSED', 'CLOSING']) });
export type CancelResult = z.infer<typeof CancelResult>;

/** What each order action answers with on success. */
export interface OrderResults {
  preview: PreviewResult;
  create: CreateResult;
  get: OrderView;
  list: ListResult;
  cancel: CancelResult;
  pay: CreateResult;
}

// ---------- the envelope every function answers with ----------
export const ErrorBodySchema = z.strictObject({
  code: z.enum(ERROR_CODES as [string, ...string[]]),
  message: z.string(),
  retryable: z.boolean(),
  detail: z.optional(z.string()),
});
export type FunctionResponse<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };

export function responseSchema<T extends z.ZodMiniType>(data: T) {
  return z.discriminatedUnion('ok', [
    z.strictObject({ ok: z.literal(true), data }),
    z.strictObject({ ok: z.literal(false), error: ErrorBodySchema }),
  ]);
}

// ---------- refunds (merchant API, used by the app backend and the ops CLI) ----------
export const RefundView = z.strictObject({
  refundNo: z.string(),
  orderNo: z.string(),
  amountFen: Fen,
  status: RefundStatusSchema,
  reason: z.nullable(z.string()),
  createdAt: z.int(),
  finishedAt: z.nullable(z.int()),
});
export type RefundView = z.infer<typeof RefundView>;
