/**
 * The Huifu sandbox's state: trades, refunds and closes, the per-day req_seq_id registry, and its clock. Plain data
 * and the rules that change it; no HTTP here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { canonicalData, type HuifuData } from '../../../cloudfunctions/src/providers/huifu/canonical';
import { shanghaiDateTime } from '../../../cloudfunctions/src/domain/time';

export type Stat = 'P' | 'S' | 'F';

export interface Trade {
  apiVersion: 'v2' | 'v4';
  reqSeqId: string;
  reqDate: string;
  hfSeqId: string;
  amountFen: number;
  goodsDesc: string;
  subAppid: string;
  subOpenid: string;
  notifyUrl: string | null;
  timeExpire: number;
  createdAt: number;
  state: Stat;
  /** True once a close of this trade has succeeded: it can no longer be paid (unless forced). */
  closed: boolean;
  refundedFen: number;
  pendingRefundFen: number;
  endTime: number | null;
  outTransId: string | null;
  partyOrderId: string;
  remark: string | null;
}

export interface RefundRecord {
  reqSeqId: string;
  reqDate: string;
  hfSeqId: string;
  trade: Trade;
  amountFen: number;
  state: Stat;
  notifyUrl: string | null;
  refCut: number;
}

/** A close of a trade: P until it settles (a delay, or a close query), then S; F if the trade was paid meanwhile. */
export interface CloseRecord {
  reqSeqId: string;
  reqDate: string;
  trade: Trade;
  state: Stat;
  createdAt: number;
}

/** A business refusal: signed like any answer, HTTP 200. */
export class Refusal extends Error {
  constructor(
    readonly respCode: string,
    readonly respDesc: string,
  ) {
    super(respDesc);
  }
}

/**
 * How a reused req_seq_id is treated. `refuse` is Huifu's own rule (20000000 重复交易 for any reuse the same day);
 * `replay` answers an identical retry with the first answer, which is friendlier for local development.
 */
export type DuplicateRule = 'replay' | 'refuse';

export class SandboxState {
  readonly trades = new Map<string, Trade>(); // key: req_date:req_seq_id
  readonly refunds = new Map<string, RefundRecord>();
  /** One close per trade (Huifu refuses a second), keyed like the trade. */
  readonly closes = new Map<string, CloseRecord>();
  private readonly used = new Map<string, { digest: string; answer: Record<string, unknown> }>();
  private serial = 0;
  private clockOffset: number;

  constructor(
    clockOffsetMs = 0,
    public duplicateRule: DuplicateRule = 'replay',
  ) {
    this.clockOffset = clockOffsetMs;
  }

  now(): number {
    return Date.now() + this.clockOffset;
  }
  advanceClock(ms: number): void {
    this.clockOffset += ms;
  }

  hfSeq(prefix: string): string {
    return `${prefix}${shanghaiDateTime(this.now()).slice(2)}P${String(++this.serial).padStart(6, '0')}${randomBytes(8).toString('hex')}`;
  }
  static key(reqDate: string, reqSeqId: string): string {
    return `${reqDate}:${reqSeqId}`;
  }
  findTrade(reqSeqId: string, reqDate?: string | null): Trade | undefined {
    if (reqDate) return this.trades.get(SandboxState.key(reqDate, reqSeqId));
    return [...this.trades.values()].find((t) => t.reqSeqId === reqSeqId);
  }
  findRefund(reqSeqId: string): RefundRecord | undefined {
    return [...this.refunds.values()].find((r) => r.reqSeqId === reqSeqId);
  }
  closeOf(trade: Trade): CloseRecord | undefined {
    return this.closes.get(SandboxState.key(trade.reqDate, trade.reqSeqId));
  }

  /** The same req_seq_id on the same day: by the duplicate rule, replay the first answer or refuse with 20000000. */
  once(operation: string, data: Record<string, unknown>, run: () => Record<string, unknown>): Record<string, unknown> {
    const key = `${operation}:${data.req_date}:${data.req_seq_id}`;
    const digest = createHash('sha256').update(canonicalData(data as HuifuData).text).digest('hex');
    const seen = this.used.get(key);
    if (seen) {
      if (seen.digest !== digest || this.duplicateRule === 'refuse') throw new Refusal('20000000', '重复交易');
      return seen.answer;
    }
    const answer = run();
    this.used.set(key, { digest, answer });
    return answer;
  }

  reset(): void {
    this.trades.clear();
    this.refunds.clear();
    this.closes.clear();
    this.used.clear();
  }
}
