import type { PayParams } from '@cashier/shared';

/**
 * What the services need from a payment provider, in our terms (fen, epoch ms, our order numbers). The Huifu
 * adapter owns its keys and wire format. Every call reuses the caller's ids: a retry after an ambiguous failure
 * sends the same req_seq_id, never a new one.
 */
export interface PaymentGateway {
  createMiniAppPayment(command: CreatePayment): Promise<PaymentCreated>;
  queryPayment(command: { orderNo: string; reqDate: string }): Promise<PaymentStatus>;
  refund(command: RefundCommand): Promise<RefundStatusResult>;
  queryRefund(command: { refundNo: string; reqDate: string }): Promise<RefundStatusResult>;
  close(command: CloseCommand): Promise<CloseResult>;
  queryClose(command: CloseCommand): Promise<CloseResult>;
  billFiles(command: { reqSeqId: string; reqDate: string; fileDate: string; billType?: string }): Promise<BillFiles>;
}

export interface CreatePayment {
  orderNo: string;
  reqDate: string;
  amountFen: number;
  description: string;
  appid: string;
  openid: string;
  expiresAt: number;
  notifyUrl: string;
  remark?: string;
  attach?: string;
}

export type TradeState = 'PROCESSING' | 'SUCCEEDED' | 'FAILED';

export interface PaymentCreated {
  hfSeqId: string | null;
  state: TradeState;
  payParams: PayParams;
  /** The appId inside pay_info: must be the mini-program's own. */
  payAppId: string;
}

/** A payment's outcome in our units, whether a query or a notification told us. */
export interface TradeOutcome {
  state: TradeState | 'INITIAL';
  amountFen: number;
  hfSeqId: string | null;
  outTransId: string | null;
  partyOrderId: string | null;
  feeFen: number | null;
  /** yyyyMMddHHmmss end_time parsed, when Huifu gives it. */
  paidAt: number | null;
}

export type PaymentStatus = { found: false } | ({ found: true } & TradeOutcome);

export interface RefundCommand {
  refundNo: string;
  reqDate: string;
  orderNo: string;
  orderReqDate: string;
  amountFen: number;
  notifyUrl: string;
  remark?: string;
}

export type RefundStatusResult =
  | { found: false }
  | { found: true; state: TradeState; hfSeqId: string | null; amountFen: number | null; failReason: string | null };

export interface CloseCommand {
  /** The close request's own req_seq_id. */
  reqSeqId: string;
  reqDate: string;
  orderNo: string;
  orderReqDate: string;
}

export interface CloseResult {
  /** The close itself. */
  closeState: TradeState;
  /** The original payment as Huifu saw it at close time. */
  tradeState: TradeState | 'INITIAL' | null;
}

export interface BillFiles {
  files: Array<{ fileName: string; downloadUrl: string; billType: string; fileDate: string }>;
  /** Generation tasks not finished yet (I/P/DP/FP): poll again later. */
  pending: boolean;
}
