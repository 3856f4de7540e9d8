import type { KeyObject } from 'node:crypto';
import type * as z from '@cashier/shared/src/zod';
import { fenToYuan } from '../../domain/money';
import { shanghaiDateTime } from '../../domain/time';
import type {
  BillFiles,
  CloseCommand,
  CloseResult,
  CreatePayment,
  PaymentCreated,
  PaymentGateway,
  PaymentStatus,
  RefundCommand,
  RefundStatusResult,
  TradeState,
} from '../port';
import { transportFailure } from '../transport';
import { canonicalData, sortedResponseText, type HuifuData } from './canonical';
import {
  businessError,
  gatewayError,
  HuifuError,
  HuifuNotFoundError,
  HuifuSignatureError,
  HuifuTimeoutError,
  HuifuUnreachableError,
} from './errors';
import { parsePayInfo } from './pay-info';
import { rawMemberText } from './raw-json';
import { BaseResponse, BillResponse, CloseResponse, CreateResponse, QueryResponse, RefundResponse, TransStat, YuanAsFen } from './schemas';
import { signRsaSha256, verifyRsaSha256 } from './sign';

/** Who we are at Huifu and the keys both ways; config.ts builds this from the environment. */
export interface HuifuIdentity {
  apiVersion: 'v2' | 'v4';
  sysId: string;
  productId: string;
  huifuId: string;
  merchantPrivateKey: KeyObject;
  huifuPublicKey: KeyObject;
}

export interface HuifuClientOptions extends HuifuIdentity {
  baseUrl: string;
  timeoutMs: number;
  /** HUIFU_SKILL_SOURCE: when set, every request carries jpt-x-skill-source and jpt-x-skill-huifu_id. */
  skillSource?: string | null;
  /** Called after each exchange with what is safe to log (path, status, serials; no bodies, no keys). */
  onExchange?: (entry: { path: string; httpStatus: number | null; respCode: string | null; reqSeqId: string | null; ms: number }) => void;
}

/** API paths per generation. Close, close query and the bill query are v2 paths in both generations. */
export const HUIFU_PATHS = {
  v2: {
    create: '/v2/trade/payment/jspay',
    query: '/v2/trade/payment/scanpay/query',
    refund: '/v2/trade/payment/scanpay/refund',
    refundQuery: '/v2/trade/payment/scanpay/refundquery',
  },
  v4: {
    create: '/v4/trade/payment/create',
    query: '/v4/trade/payment/scanpay/query',
    refund: '/v4/trade/payment/scanpay/refund',
    refundQuery: '/v4/trade/payment/scanpay/refundquery',
  },
  close: '/v2/trade/payment/scanpay/close',
  closeQuery: '/v2/trade/payment/scanpay/closequery',
  billQuery: '/v2/trade/check/filequery',
} as const;

const ACCEPTED = new Set(['00000000', '00000100']);

/**
 * Huifu's own SDKs send two tracking headers when a skill source is configured, and Huifu's local sandbox refuses
 * requests without them: the source, and the huifu_id of the request's data. Unset, neither is sent.
 */
export function requestHeaders(skillSource: string | null, data: HuifuData): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json;charset=UTF-8' };
  if (skillSource) {
    headers['jpt-x-skill-source'] = skillSource;
    headers['jpt-x-skill-huifu_id'] = String(data.huifu_id ?? '');
  }
  return headers;
}

/** Builds the request body: the sorted data object exactly as signed. */
export function buildRequestBody(options: Pick<HuifuClientOptions, 'sysId' | 'productId' | 'merchantPrivateKey'>, data: HuifuData): string {
  const { object, text } = canonicalData(data);
  const sign = signRsaSha256(text, options.merchantPrivateKey);
  return JSON.stringify({ sys_id: options.sysId, product_id: options.productId, data: object, sign });
}

/**
 * Verifies a synchronous response. The raw `data` text is tried first (what Huifu actually signed); the sorted
 * re-serialisation is the fallback the Java/PHP/Python SDKs use. Returns the parsed data.
 */
export function verifyResponse(rawBody: string, huifuPublicKey: KeyObject, path: string): Record<string, unknown> {
  let parsed: { data?: unknown; sign?: unknown };
  try {
    parsed = JSON.parse(rawBody) as typeof parsed;
  } catch {
    throw new HuifuSignatureError(`Huifu ${path} answered with a body that is not JSON`);
  }
  const data = parsed.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new HuifuSignatureError(`Huifu ${path} answered without a data object`);
  }
  const sign = typeof parsed.sign === 'string' ? parsed.sign : '';
  const record = data as Record<string, unknown>;
  if (!sign) {
    // An unsigned refusal can be reported (it changes nothing); an unsigned success cannot be trusted.
    const respCode = typeof record.resp_code === 'string' ? record.resp_code : '';
    if (respCode && !ACCEPTED.has(respCode)) throw businessError(path, respCode, String(record.resp_desc ?? ''));
    throw new HuifuSignatureError(`Huifu ${path} answered without a signature`);
  }
  const raw = rawMemberText(rawBody, 'data');
  if (raw !== null && verifyRsaSha256(raw, sign, huifuPublicKey)) return record;
  if (verifyRsaSha256(sortedResponseText(record), sign, huifuPublicKey)) return record;
  throw new HuifuSignatureError(
    `Huifu ${path}: the response signature did not verify with HUIFU_PUBLIC_KEY (tried the raw data text and the sorted form). ` +
      'Is HUIFU_PUBLIC_KEY the Huifu public key for this environment (sandbox, joint test and production differ), not your own?',
  );
}

export class HuifuClient implements PaymentGateway {
  constructor(private readonly options: HuifuClientOptions) {}

  /** Signs, sends and verifies one request; returns the verified `data` of an accepted answer. */
  async post(path: string, data: HuifuData): Promise<Record<string, unknown>> {
    const body = buildRequestBody(this.options, data);
    const started = Date.now();
    const reqSeqId = typeof data.req_seq_id === 'string' ? data.req_seq_id : null;
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.options.baseUrl + path, {
        method: 'POST',
        headers: requestHeaders(this.options.skillSource ?? null, data),
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      this.options.onExchange?.({ path, httpStatus: null, respCode: null, reqSeqId, ms: Date.now() - started });
      const failure = transportFailure(error);
      if (!failure.sent) throw new HuifuUnreachableError(this.options.baseUrl, path, failure.code, failure.detail, error);
      throw new HuifuTimeoutError(path, this.options.timeoutMs, error, failure.code);
    }
    if (response.status !== 200) {
      this.options.onExchange?.({ path, httpStatus: response.status, respCode: null, reqSeqId, ms: Date.now() - started });
      throw gatewayError(path, response.status);
    }
    const verified = verifyResponse(text, this.options.huifuPublicKey, path);
    const base = BaseResponse.safeParse(verified);
    const respCode = base.success ? base.data.resp_code : null;
    this.options.onExchange?.({ path, httpStatus: 200, respCode, reqSeqId, ms: Date.now() - started });
    if (!base.success) throw new HuifuError('PAYMENT_GATEWAY_UNAVAILABLE', `Huifu ${path} answered without resp_code`, { retryable: true, ambiguous: true });
    if (!ACCEPTED.has(base.data.resp_code)) throw businessError(path, base.data.resp_code, base.data.resp_desc);
    return verified;
  }

  private parse<T extends z.ZodMiniType>(schema: T, data: unknown, path: string): z.output<T> {
    const result = schema.safeParse(data);
    if (!result.success) {
      const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new HuifuError('PAYMENT_GATEWAY_UNAVAILABLE', `Huifu ${path} answered with unexpected fields: ${issues}`, {
        retryable: true,
        ambiguous: true,
      });
    }
    return result.data;
  }

  private get paths() {
    return HUIFU_PATHS[this.options.apiVersion];
  }

  async createMiniAppPayment(command: CreatePayment): Promise<PaymentCreated> {
    const wechat = JSON.stringify({ sub_appid: command.appid, sub_openid: command.openid, ...(command.attach ? { attach: command.attach } : {}) });
    const data: HuifuData = {
      req_date: command.reqDate,
      req_seq_id: command.orderNo,
      huifu_id: this.options.huifuId,
      trade_type: 'T_MINIAPP',
      trans_amt: fenToYuan(command.amountFen, { maxFen: Number.MAX_SAFE_INTEGER }),
      goods_desc: command.description,
      time_expire: shanghaiDateTime(command.expiresAt),
      notify_url: command.notifyUrl,
      remark: command.remark,
      // v2 carries WeChat's parameters in wx_data, v4 in method_expand; both are JSON strings.
      [this.options.apiVersion === 'v2' ? 'wx_data' : 'method_expand']: wechat,
    };
    const path = this.paths.create;
    const created = this.parse(CreateResponse, await this.post(path, data), path);
    let payInfo: ReturnType<typeof parsePayInfo>;
    try {
      payInfo = parsePayInfo(created.pay_info);
    } catch (error) {
      throw new HuifuError('PAYMENT_GATEWAY_UNAVAILABLE', `Huifu ${path}: pay_info is not the five requestPayment fields (${(error as Error).message})`, {
        retryable: false,
        ambiguous: true,
      });
    }
    const state = TransStat.parse(created.trans_stat);
    return { hfSeqId: created.hf_seq_id, state: state === 'INITIAL' ? 'PROCESSING' : state, payParams: payInfo.payParams, payAppId: payInfo.appId };
  }

  async queryPayment(command: { orderNo: string; reqDate: string }): Promise<PaymentStatus> {
    const path = this.paths.query;
    const data: HuifuData =
      this.options.apiVersion === 'v2'
        ? { huifu_id: this.options.huifuId, org_req_date: command.reqDate, org_req_seq_id: command.orderNo }
        : { huifu_id: this.options.huifuId, req_date: command.reqDate, req_seq_id: command.orderNo };
    let answer: Record<string, unknown>;
    try {
      answer = await this.post(path, data);
    } catch (error) {
      if (error instanceof HuifuNotFoundError) return { found: false };
      throw error;
    }
    const q = this.parse(QueryResponse, answer, path);
    return {
      found: true,
      state: q.trans_stat,
      amountFen: q.trans_amt,
      hfSeqId: q.hf_seq_id ?? q.org_hf_seq_id,
      outTransId: q.out_trans_id,
      partyOrderId: q.party_order_id,
      feeFen: feeFen(q),
      paidAt: q.end_time,
    };
  }

  async refund(command: RefundCommand): Promise<RefundStatusResult> {
    const path = this.paths.refund;
    const answer = await this.post(path, {
      req_date: command.reqDate,
      req_seq_id: command.refundNo,
      huifu_id: this.options.huifuId,
      ord_amt: fenToYuan(command.amountFen, { maxFen: Number.MAX_SAFE_INTEGER }),
      org_req_date: command.orderReqDate,
      org_req_seq_id: command.orderNo,
      notify_url: command.notifyUrl,
      remark: command.remark,
    });
    return refundResult(this.parse(RefundResponse, answer, path));
  }

  async queryRefund(command: { refundNo: string; reqDate: string }): Promise<RefundStatusResult> {
    const path = this.paths.refundQuery;
    let answer: Record<string, unknown>;
    try {
      // In a refund query, org_req_seq_id is the refund's own serial, not the payment's.
      answer = await this.post(path, { huifu_id: this.options.huifuId, org_req_date: command.reqDate, org_req_seq_id: command.refundNo });
    } catch (error) {
      if (error instanceof HuifuNotFoundError) return { found: false };
      throw error;
    }
    return refundResult(this.parse(RefundResponse, answer, path));
  }

  close(command: CloseCommand): Promise<CloseResult> {
    return this.closeRequest(HUIFU_PATHS.close, command);
  }

  queryClose(command: CloseCommand): Promise<CloseResult> {
    return this.closeRequest(HUIFU_PATHS.closeQuery, command);
  }

  /** Close and close query take the same fields: the close's own serial and the original payment's. */
  private async closeRequest(path: string, command: CloseCommand): Promise<CloseResult> {
    const answer = await this.post(path, {
      req_date: command.reqDate,
      req_seq_id: command.reqSeqId,
      huifu_id: this.options.huifuId,
      org_req_date: command.orderReqDate,
      org_req_seq_id: command.orderNo,
    });
    return closeResult(this.parse(CloseResponse, answer, path));
  }

  async billFiles(command: { reqSeqId: string; reqDate: string; fileDate: string; billType?: string }): Promise<BillFiles> {
    const path = HUIFU_PATHS.billQuery;
    const answer = await this.post(path, {
      req_date: command.reqDate,
      req_seq_id: command.reqSeqId,
      huifu_id: this.options.huifuId,
      file_date: command.fileDate,
      bill_type: command.billType ?? 'TRADE_BILL',
    });
    const bill = this.parse(BillResponse, answer, path);
    return {
      files: bill.file_details.map((f) => ({
        fileName: String(f.file_name ?? f.file_Name ?? ''),
        downloadUrl: String(f.download_url ?? ''),
        billType: String(f.bill_type ?? ''),
        fileDate: String(f.file_date ?? ''),
      })),
      pending: bill.task_details.some((t) => ['I', 'P', 'DP', 'FP'].includes(String(t.task_stat))),
    };
  }
}

function feeFen(q: z.output<typeof QueryResponse>): number | null {
  let text = q.fee_amount ?? q.fee_amt ?? null;
  if (!text && q.payment_fee) {
    try {
      text = (JSON.parse(q.payment_fee) as { fee_amount?: string }).fee_amount ?? null;
    } catch {
      text = null;
    }
  }
  const parsed = text ? YuanAsFen.safeParse(text) : null;
  return parsed?.success ? parsed.data : null;
}

function refundResult(r: z.output<typeof RefundResponse>): RefundStatusResult {
  const state = TransStat.parse(r.trans_stat);
  return {
    found: true,
    state: state === 'INITIAL' ? 'PROCESSING' : state,
    hfSeqId: r.hf_seq_id ?? r.org_hf_seq_id,
    amountFen: r.ord_amt ?? null,
    failReason: state === 'FAILED' ? (r.bank_message ?? r.resp_desc ?? null) : null,
  };
}

function closeResult(c: z.output<typeof CloseResponse>): CloseResult {
  const closeState = TransStat.parse(c.trans_stat) as TradeState;
  return { closeState, tradeState: c.org_trans_stat ? TransStat.parse(c.org_trans_stat) : null };
}
