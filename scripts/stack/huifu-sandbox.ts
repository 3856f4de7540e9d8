/**
 * A faithful local stand-in for Huifu Dougong's gateway (v2 and v4 endpoints we use). It verifies the merchant's
 * request signatures, validates fields the way the gateway does, keeps trades / refunds / closes as state, signs
 * every answer with its own Huifu key, and sends form-encoded notifications with Huifu's retry rule.
 * Control routes under /_sandbox/ pay trades, shape notifications, inject faults and move the sandbox clock.
 * It is a development and test tool: loopback only, no persistence.
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { canonicalData, type HuifuData } from '../../cloudfunctions/src/providers/huifu/canonical';
import { signRsaSha256, verifyRsaSha256 } from '../../cloudfunctions/src/providers/huifu/sign';
import { fenToYuan, yuanToFen } from '../../cloudfunctions/src/domain/money';
import { parseShanghaiDateTime, shanghaiDate, shanghaiDateTime } from '../../cloudfunctions/src/domain/time';
import { closeServer, listen, readBody, send } from '../lib/http';

export interface HuifuSandboxOptions {
  port?: number;
  sysId: string;
  productId: string;
  huifuId: string;
  merchantPublicKey: KeyObject;
  huifuPrivateKey: KeyObject;
  /** Delay between notification attempts (Huifu's own is not published; keep it short locally). */
  notifyRetryDelayMs?: number;
  notifyTimeoutMs?: number;
  /** How long a refund stays P before it settles S on its own; null holds refunds until /_sandbox/refund/settle. */
  refundSettleMs?: number | null;
  /** Start the sandbox clock this many ms ahead of real time. */
  clockOffsetMs?: number;
  log?: (line: string) => void;
}

type Stat = 'P' | 'S' | 'F';

interface Trade {
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
  closed: boolean;
  refundedFen: number;
  pendingRefundFen: number;
  endTime: number | null;
  outTransId: string | null;
  partyOrderId: string;
  remark: string | null;
}

interface RefundRecord {
  reqSeqId: string;
  reqDate: string;
  hfSeqId: string;
  trade: Trade;
  amountFen: number;
  state: Stat;
  notifyUrl: string | null;
  refCut: number;
}

interface CloseRecord {
  reqSeqId: string;
  reqDate: string;
  trade: Trade;
  state: Stat;
}

export type FaultKind = 'http500' | 'timeout' | 'timeoutAfterAccept' | 'business' | 'badSignature';
export type Operation = 'create' | 'query' | 'refund' | 'refundQuery' | 'close' | 'closeQuery' | 'billQuery' | 'any';
interface Fault {
  operation: Operation;
  kind: FaultKind;
  remaining: number;
  respCode?: string;
  respDesc?: string;
}

export type NotifyMode = { kind: 'normal' } | { kind: 'drop' } | { kind: 'duplicate' } | { kind: 'delay'; ms: number } | { kind: 'badAck' };

export interface RequestLogEntry {
  at: number;
  path: string;
  operation: Operation | 'unknown';
  reqSeqId: string | null;
  signatureValid: boolean;
  httpStatus: number;
  respCode: string | null;
}
export interface NotificationLogEntry {
  at: number;
  url: string;
  kind: 'pay' | 'refund';
  reqSeqId: string;
  notifyType: number | null;
  attempt: number;
  outcome: 'acked' | 'bad_ack' | 'http_error' | 'timeout' | 'network_error' | 'dropped';
  httpStatus: number | null;
}

const ROUTES: Record<string, { operation: Operation; version: 'v2' | 'v4' | 'both' }> = {
  '/v2/trade/payment/jspay': { operation: 'create', version: 'v2' },
  '/v4/trade/payment/create': { operation: 'create', version: 'v4' },
  '/v2/trade/payment/scanpay/query': { operation: 'query', version: 'v2' },
  '/v4/trade/payment/scanpay/query': { operation: 'query', version: 'v4' },
  '/v2/trade/payment/scanpay/refund': { operation: 'refund', version: 'v2' },
  '/v4/trade/payment/scanpay/refund': { operation: 'refund', version: 'v4' },
  '/v2/trade/payment/scanpay/refundquery': { operation: 'refundQuery', version: 'v2' },
  '/v4/trade/payment/scanpay/refundquery': { operation: 'refundQuery', version: 'v4' },
  '/v2/trade/payment/scanpay/close': { operation: 'close', version: 'both' },
  '/v2/trade/payment/scanpay/closequery': { operation: 'closeQuery', version: 'both' },
  '/v2/trade/check/filequery': { operation: 'billQuery', version: 'both' },
};

/** A business refusal: signed like any answer, HTTP 200. */
class Refusal extends Error {
  constructor(
    readonly respCode: string,
    readonly respDesc: string,
  ) {
    super(respDesc);
  }
}

const YUAN = /^(0|[1-9]\d{0,10})\.\d{2}$/;
const DATE = /^\d{8}$/;
const SEQ = /^[A-Za-z0-9_-]{1,64}$/;

export interface HuifuSandbox {
  url: string;
  port: number;
  now(): number;
  advanceClock(ms: number): void;
  pay(reqSeqId: string, result: 'S' | 'F', options?: { force?: boolean }): Promise<void>;
  resendNotification(reqSeqId: string, notifyType?: number): Promise<void>;
  setNotifyMode(mode: NotifyMode, count?: number): void;
  injectFault(fault: { operation: Operation; kind: FaultKind; count?: number; respCode?: string; respDesc?: string }): void;
  settleRefund(reqSeqId: string, result: 'S' | 'F'): Promise<void>;
  /** Times the automatic P → S settlement of new refunds; null holds them until settleRefund. */
  setRefundSettleMs(ms: number | null): void;
  trade(reqSeqId: string): Trade | undefined;
  requests: RequestLogEntry[];
  notifications: NotificationLogEntry[];
  /** Resolves once every notification delivery started so far has finished (acked or given up). */
  idle(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export async function startHuifuSandbox(options: HuifuSandboxOptions): Promise<HuifuSandbox> {
  const log = options.log ?? (() => undefined);
  const retryDelay = options.notifyRetryDelayMs ?? 1000;
  const notifyTimeout = options.notifyTimeoutMs ?? 5000;
  let refundSettleMs = options.refundSettleMs === undefined ? 300 : options.refundSettleMs;
  let clockOffset = options.clockOffsetMs ?? 0;
  const now = () => Date.now() + clockOffset;

  const trades = new Map<string, Trade>(); // key: req_date:req_seq_id
  const refunds = new Map<string, RefundRecord>();
  const closes = new Map<string, CloseRecord>();
  /** req_seq_id use per day: the digest of the first payload and the answer it got. */
  const idempotency = new Map<string, { digest: string; answer: Record<string, unknown> }>();
  const faults: Fault[] = [];
  let notifyModes: Array<{ mode: NotifyMode; remaining: number }> = [];
  const requests: RequestLogEntry[] = [];
  const notifications: NotificationLogEntry[] = [];
  const inFlight = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  let serial = 0;

  const hfSeq = (prefix: string) => `${prefix}${shanghaiDateTime(now()).slice(2)}P${String(++serial).padStart(6, '0')}${randomBytes(8).toString('hex')}`;
  const tradeKey = (reqDate: string, reqSeqId: string) => `${reqDate}:${reqSeqId}`;
  const findTrade = (reqSeqId: string, reqDate?: string | null): Trade | undefined => {
    if (reqDate) return trades.get(tradeKey(reqDate, reqSeqId));
    return [...trades.values()].find((t) => t.reqSeqId === reqSeqId);
  };

  /** Signs `data` as Huifu does and writes sign before data, as the real gateway's text does. */
  function signedBody(data: Record<string, unknown>): string {
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(data).sort()) sorted[k] = data[k];
    const text = JSON.stringify(sorted);
    return `{"sign":${JSON.stringify(signRsaSha256(text, options.huifuPrivateKey))},"data":${text}}`;
  }

  function require(data: Record<string, unknown>, ...fields: string[]): void {
    for (const f of fields) {
      if (data[f] === undefined || data[f] === null || data[f] === '') throw new Refusal('10000000', `${f}不能为空`);
    }
  }
  function checkFormat(ok: boolean, field: string, format: string): void {
    if (!ok) throw new Refusal('10000000', `${field}不符合${format}格式`);
  }
  function checkCommon(data: Record<string, unknown>): void {
    if (data.huifu_id !== options.huifuId) throw new Refusal('22000002', '商户信息不存在');
    if (data.req_date !== undefined) checkFormat(DATE.test(String(data.req_date)), 'req_date', 'yyyyMMdd');
    if (data.req_seq_id !== undefined) checkFormat(SEQ.test(String(data.req_seq_id)), 'req_seq_id', '流水号');
  }
  function parseWechat(text: unknown, field: string): { sub_appid: string; sub_openid: string } {
    let value: unknown;
    try {
      value = JSON.parse(String(text));
    } catch {
      throw new Refusal('10000000', `${field}不符合JSON格式`);
    }
    const w = value as Record<string, unknown>;
    if (typeof w?.sub_appid !== 'string' || !w.sub_appid) throw new Refusal('10000000', 'sub_appid不能为空');
    if (typeof w.sub_openid !== 'string' || !w.sub_openid) throw new Refusal('10000000', 'sub_openid不能为空');
    if (w.sub_appid.trim() !== w.sub_appid) throw new Refusal('10000000', 'sub_mch_id与sub_appid不匹配');
    return { sub_appid: w.sub_appid, sub_openid: w.sub_openid };
  }
  /** The same req_seq_id on the same day: replay the first answer for the same payload, refuse a different one. */
  function once(operation: string, data: Record<string, unknown>, run: () => Record<string, unknown>): Record<string, unknown> {
    const key = `${operation}:${data.req_date}:${data.req_seq_id}`;
    const digest = createHash('sha256').update(canonicalData(data as HuifuData).text).digest('hex');
    const seen = idempotency.get(key);
    if (seen) {
      if (seen.digest !== digest) throw new Refusal('20000000', '重复交易');
      return seen.answer;
    }
    const answer = run();
    idempotency.set(key, { digest, answer });
    return answer;
  }

  function create(data: Record<string, unknown>, version: 'v2' | 'v4'): Record<string, unknown> {
    require(data, 'req_date', 'req_seq_id', 'huifu_id', 'trade_type', 'trans_amt', 'goods_desc');
    checkCommon(data);
    const today = shanghaiDate(now());
    if (data.req_date !== today) throw new Refusal('10000000', '请求日期必须是当前日期');
    if (data.trade_type !== 'T_MINIAPP') throw new Refusal('23000004', '交易类型不支持');
    checkFormat(YUAN.test(String(data.trans_amt)), 'trans_amt', '金额');
    const amountFen = yuanToFen(String(data.trans_amt), { exactTwoDecimals: true, allowZero: true, maxFen: Number.MAX_SAFE_INTEGER });
    if (amountFen < 1) throw new Refusal('10000000', 'trans_amt最小为0.01');
    if (String(data.goods_desc).length > 127) throw new Refusal('10000000', 'goods_desc最大长度为127位');
    const channelField = version === 'v2' ? 'wx_data' : 'method_expand';
    require(data, channelField);
    const wechat = parseWechat(data[channelField], channelField);
    let timeExpire = now() + 2 * 60 * 60 * 1000;
    if (data.time_expire !== undefined) {
      const parsed = parseShanghaiDateTime(String(data.time_expire));
      if (parsed === null) throw new Refusal('10000000', 'time_expire 格式不正确');
      if (parsed <= now()) throw new Refusal('10000000', '订单已超时');
      timeExpire = parsed;
    }
    if (data.notify_url !== undefined) {
      const url = String(data.notify_url);
      checkFormat(/^https?:\/\//.test(url) && URL.canParse(url) && !url.includes('?'), 'notify_url', 'URL');
    }
    return once('pay', data, () => {
      const trade: Trade = {
        apiVersion: version,
        reqSeqId: String(data.req_seq_id),
        reqDate: String(data.req_date),
        hfSeqId: hfSeq('0029000'),
        amountFen,
        goodsDesc: String(data.goods_desc),
        subAppid: wechat.sub_appid,
        subOpenid: wechat.sub_openid,
        notifyUrl: data.notify_url ? String(data.notify_url) : null,
        timeExpire,
        createdAt: now(),
        state: 'P',
        closed: false,
        refundedFen: 0,
        pendingRefundFen: 0,
        endTime: null,
        outTransId: null,
        partyOrderId: `${shanghaiDate(now()).slice(2)}${randomBytes(6).toString('hex')}`,
        remark: data.remark ? String(data.remark) : null,
      };
      trades.set(tradeKey(trade.reqDate, trade.reqSeqId), trade);
      const payInfo = {
        appId: trade.subAppid,
        timeStamp: String(Math.floor(now() / 1000)),
        nonceStr: randomBytes(16).toString('hex'),
        package: `prepay_id=sandbox_${trade.hfSeqId}`,
        signType: 'RSA',
        paySign: randomBytes(128).toString('base64'),
      };
      return {
        resp_code: '00000100',
        resp_desc: '下单成功',
        req_date: trade.reqDate,
        req_seq_id: trade.reqSeqId,
        hf_seq_id: trade.hfSeqId,
        huifu_id: options.huifuId,
        trade_type: 'T_MINIAPP',
        trans_amt: fenToYuan(trade.amountFen, { maxFen: Number.MAX_SAFE_INTEGER }),
        trans_stat: 'P',
        bank_code: 'SUCCESS',
        delay_acct_flag: 'N',
        party_order_id: trade.partyOrderId,
        pay_info: JSON.stringify(payInfo),
        remark: trade.remark ?? '',
      };
    });
  }

  function tradeView(trade: Trade, version: 'v2' | 'v4'): Record<string, unknown> {
    const view: Record<string, unknown> = {
      resp_code: '00000000',
      resp_desc: '查询成功',
      huifu_id: options.huifuId,
      trans_amt: fenToYuan(trade.amountFen, { maxFen: Number.MAX_SAFE_INTEGER }),
      trans_stat: trade.state,
      out_trans_id: trade.outTransId ?? '',
      party_order_id: trade.partyOrderId,
      end_time: trade.endTime ? shanghaiDateTime(trade.endTime) : '',
      delay_acct_flag: 'N',
      // Huifu sends empty values; verification must keep them (see the reference, §1.5 "Measured").
      wx_user_id: '',
    };
    if (version === 'v2') {
      Object.assign(view, { org_req_date: trade.reqDate, org_req_seq_id: trade.reqSeqId, org_hf_seq_id: trade.hfSeqId, trans_type: 'T_MINIAPP', fee_amt: trade.state === 'S' ? '0.00' : '' });
    } else {
      Object.assign(view, {
        req_date: trade.reqDate,
        req_seq_id: trade.reqSeqId,
        hf_seq_id: trade.hfSeqId,
        trade_type: 'T_MINIAPP',
        payment_fee: trade.state === 'S' ? JSON.stringify({ fee_amount: '0.00' }) : '',
        method_expand: JSON.stringify({ sub_appid: trade.subAppid, sub_openid: trade.subOpenid }),
      });
    }
    return view;
  }

  function query(data: Record<string, unknown>, version: 'v2' | 'v4'): Record<string, unknown> {
    checkCommon({ ...data, req_seq_id: undefined, req_date: undefined });
    const seq = version === 'v2' ? data.org_req_seq_id : data.req_seq_id;
    const date = version === 'v2' ? data.org_req_date : data.req_date;
    const hf = version === 'v2' ? data.org_hf_seq_id : data.hf_seq_id;
    if (!seq && !hf) throw new Refusal('21000000', '原机构请求流水号、交易返回全局流水号不能同时为空');
    if (seq && !date) throw new Refusal('10000000', `${version === 'v2' ? 'org_req_date' : 'req_date'}不能为空`);
    const trade = hf ? [...trades.values()].find((t) => t.hfSeqId === hf) : findTrade(String(seq), String(date));
    if (!trade) throw new Refusal('23000001', '交易不存在');
    return tradeView(trade, version);
  }

  function refund(data: Record<string, unknown>): Record<string, unknown> {
    require(data, 'req_date', 'req_seq_id', 'huifu_id', 'ord_amt', 'org_req_date');
    checkCommon(data);
    if (!data.org_req_seq_id && !data.org_hf_seq_id && !data.org_party_order_id) {
      throw new Refusal('21000000', 'org_req_seq_id、org_hf_seq_id、org_party_order_id不能同时为空');
    }
    checkFormat(YUAN.test(String(data.ord_amt)), 'ord_amt', '金额');
    const amountFen = yuanToFen(String(data.ord_amt), { exactTwoDecimals: true, allowZero: true, maxFen: Number.MAX_SAFE_INTEGER });
    if (amountFen < 1) throw new Refusal('10000000', 'ord_amt最小为0.01');
    return once('refund', data, () => {
      const trade = data.org_req_seq_id
        ? findTrade(String(data.org_req_seq_id), String(data.org_req_date))
        : [...trades.values()].find((t) => t.hfSeqId === data.org_hf_seq_id || t.partyOrderId === data.org_party_order_id);
      if (!trade) throw new Refusal('23000001', '原交易不存在');
      if (trade.state !== 'S') throw new Refusal('23000000', '原交易未入账，不能发起退款');
      if (trade.refundedFen + trade.pendingRefundFen + amountFen > trade.amountFen) throw new Refusal('23000003', '申请退款金额大于可退余额');
      trade.pendingRefundFen += amountFen;
      const record: RefundRecord = {
        reqSeqId: String(data.req_seq_id),
        reqDate: String(data.req_date),
        hfSeqId: hfSeq('0031000'),
        trade,
        amountFen,
        state: 'P',
        notifyUrl: data.notify_url ? String(data.notify_url) : null,
        refCut: [...refunds.values()].filter((r) => r.trade === trade).length + 1,
      };
      refunds.set(tradeKey(record.reqDate, record.reqSeqId), record);
      if (refundSettleMs !== null) later(refundSettleMs, () => settle(record, 'S'));
      return { ...refundView(record), resp_code: '00000100', resp_desc: '退款处理中' };
    });
  }

  function refundView(r: RefundRecord): Record<string, unknown> {
    return {
      resp_code: '00000000',
      resp_desc: r.state === 'F' ? '退款失败' : '成功',
      huifu_id: options.huifuId,
      req_date: r.reqDate,
      req_seq_id: r.reqSeqId,
      hf_seq_id: r.hfSeqId,
      org_req_date: r.trade.reqDate,
      org_req_seq_id: r.trade.reqSeqId,
      trans_type: 'TRANS_REFUND',
      trans_stat: r.state,
      ord_amt: fenToYuan(r.amountFen, { maxFen: Number.MAX_SAFE_INTEGER }),
      actual_ref_amt: r.state === 'S' ? fenToYuan(r.amountFen, { maxFen: Number.MAX_SAFE_INTEGER }) : '0.00',
      total_ref_amt: fenToYuan(r.trade.refundedFen, { maxFen: Number.MAX_SAFE_INTEGER, allowZero: true }),
      ref_cut: r.refCut,
      bank_message: r.state === 'F' ? '余额不足，退款失败' : '',
    };
  }

  function refundQuery(data: Record<string, unknown>): Record<string, unknown> {
    checkCommon({ ...data, req_seq_id: undefined, req_date: undefined });
    if (!data.org_req_seq_id && !data.org_hf_seq_id) throw new Refusal('21000000', 'org_req_seq_id、org_hf_seq_id不能同时为空');
    const record = data.org_hf_seq_id
      ? [...refunds.values()].find((r) => r.hfSeqId === data.org_hf_seq_id)
      : refunds.get(tradeKey(String(data.org_req_date), String(data.org_req_seq_id)));
    if (!record) throw new Refusal('23000001', '原交易不存在');
    const view = refundView(record);
    return { ...view, org_req_seq_id: record.reqSeqId, org_req_date: record.reqDate, org_hf_seq_id: record.hfSeqId, resp_desc: '查询成功' };
  }

  function close(data: Record<string, unknown>): Record<string, unknown> {
    require(data, 'req_date', 'req_seq_id', 'huifu_id', 'org_req_date');
    checkCommon(data);
    if (!data.org_req_seq_id && !data.org_hf_seq_id) throw new Refusal('21000000', 'org_req_seq_id、org_hf_seq_id不能同时为空');
    const trade = data.org_req_seq_id
      ? findTrade(String(data.org_req_seq_id), String(data.org_req_date))
      : [...trades.values()].find((t) => t.hfSeqId === data.org_hf_seq_id);
    if (!trade) throw new Refusal('23000001', '原交易不存在');
    if (trade.state !== 'P') throw new Refusal('10000016', '原订单已为终态,请发起查询交易获取');
    if (now() - trade.createdAt < 60_000) throw new Refusal('20000001', '不允许关闭一分钟以内的订单');
    return once('close', data, () => {
      trade.closed = true;
      const record: CloseRecord = { reqSeqId: String(data.req_seq_id), reqDate: String(data.req_date), trade, state: 'S' };
      closes.set(tradeKey(trade.reqDate, trade.reqSeqId), record);
      return closeView(record);
    });
  }
  function closeView(c: CloseRecord): Record<string, unknown> {
    return {
      resp_code: '00000000',
      resp_desc: '关单成功',
      huifu_id: options.huifuId,
      req_date: c.reqDate,
      req_seq_id: c.reqSeqId,
      org_req_date: c.trade.reqDate,
      org_req_seq_id: c.trade.reqSeqId,
      org_hf_seq_id: c.trade.hfSeqId,
      org_trans_stat: c.trade.state,
      trans_stat: c.state,
    };
  }
  function closeQuery(data: Record<string, unknown>): Record<string, unknown> {
    require(data, 'huifu_id', 'org_req_date');
    checkCommon({ ...data, req_seq_id: undefined });
    const record = closes.get(tradeKey(String(data.org_req_date), String(data.org_req_seq_id)));
    if (!record) throw new Refusal('23000001', '交易不存在');
    return { ...closeView(record), resp_desc: '查询成功' };
  }
  function billQuery(data: Record<string, unknown>): Record<string, unknown> {
    require(data, 'req_date', 'req_seq_id', 'huifu_id', 'file_date');
    checkCommon(data);
    checkFormat(DATE.test(String(data.file_date)), 'file_date', 'yyyyMMdd');
    const billType = String(data.bill_type ?? 'TRADE_BILL');
    const fileName = `${data.file_date}_${options.huifuId}_order_1.csv`;
    return {
      resp_code: '00000000',
      resp_desc: '成功',
      req_date: data.req_date,
      req_seq_id: data.req_seq_id,
      file_details: [{ download_url: `${sandbox.url}/_sandbox/files/${fileName}`, file_date: data.file_date, file_id: '1', file_name: fileName, huifu_id: options.huifuId, bill_type: billType }],
      task_details: [{ data_date: data.file_date, task_stat: 'S', bill_type: billType, huifu_id: options.huifuId }],
    };
  }

  // ---------- notifications ----------
  function later(ms: number, fn: () => void | Promise<void>): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      track(Promise.resolve().then(fn));
    }, ms);
    timers.add(timer);
  }
  function track(p: Promise<void>): void {
    const wrapped = p.catch((e: unknown) => log(`huifu-sandbox: ${(e as Error).message}`)).finally(() => inFlight.delete(wrapped));
    inFlight.add(wrapped);
  }
  function nextNotifyMode(): NotifyMode {
    const current = notifyModes[0];
    if (!current) return { kind: 'normal' };
    current.remaining -= 1;
    if (current.remaining <= 0) notifyModes.shift();
    return current.mode;
  }

  function payNotificationData(trade: Trade, notifyType: number): Record<string, unknown> {
    return {
      resp_code: '00000000',
      resp_desc: trade.state === 'S' ? '交易成功' : '交易失败',
      huifu_id: options.huifuId,
      req_seq_id: trade.reqSeqId,
      req_date: trade.reqDate,
      trans_type: 'T_MINIAPP',
      hf_seq_id: trade.hfSeqId,
      out_trans_id: trade.outTransId ?? '',
      party_order_id: trade.partyOrderId,
      trans_amt: fenToYuan(trade.amountFen, { maxFen: Number.MAX_SAFE_INTEGER }),
      pay_amt: fenToYuan(trade.amountFen, { maxFen: Number.MAX_SAFE_INTEGER }),
      settlement_amt: fenToYuan(trade.amountFen, { maxFen: Number.MAX_SAFE_INTEGER }),
      end_time: trade.endTime ? shanghaiDateTime(trade.endTime) : '',
      acct_date: shanghaiDate(now()),
      trans_stat: trade.state,
      fee_amount: '0.00',
      is_div: '0',
      is_delay_acct: '0',
      acct_stat: notifyType === 2 ? 'S' : 'I',
      notify_type: notifyType,
      remark: trade.remark ?? '',
      wx_response: { sub_appid: trade.subAppid, sub_openid: trade.subOpenid, bank_type: 'OTHERS', cash_fee: fenToYuan(trade.amountFen, { maxFen: Number.MAX_SAFE_INTEGER }) },
    };
  }

  /** One notification with Huifu's rule: 5 s timeout, up to 3 retries unless answered 200 + exact ack. */
  async function deliver(url: string, kind: 'pay' | 'refund', reqSeqId: string, notifyType: number | null, data: Record<string, unknown>, mode: NotifyMode): Promise<void> {
    const respData = JSON.stringify(data);
    const body = new URLSearchParams({ resp_code: '00000000', resp_desc: '成功调用', resp_data: respData, sign: signRsaSha256(respData, options.huifuPrivateKey) }).toString();
    if (mode.kind === 'drop') {
      notifications.push({ at: now(), url, kind, reqSeqId, notifyType, attempt: 0, outcome: 'dropped', httpStatus: null });
      return;
    }
    if (mode.kind === 'delay') await new Promise((r) => later(mode.ms, () => r(undefined)));
    const expected = `RECV_ORD_ID_${reqSeqId}`;
    for (let attempt = 1; attempt <= 4; attempt++) {
      let outcome: NotificationLogEntry['outcome'];
      let httpStatus: number | null = null;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(notifyTimeout),
        });
        httpStatus = res.status;
        const text = (await res.text()).trim();
        outcome = res.status === 200 && text === expected && mode.kind !== 'badAck' ? 'acked' : res.status === 200 ? 'bad_ack' : 'http_error';
      } catch (e) {
        outcome = (e as Error).name === 'TimeoutError' ? 'timeout' : 'network_error';
      }
      notifications.push({ at: now(), url, kind, reqSeqId, notifyType, attempt, outcome, httpStatus });
      if (outcome === 'acked') return;
      if (attempt < 4) await new Promise((r) => setTimeout(r, retryDelay));
    }
  }

  function notify(url: string | null, kind: 'pay' | 'refund', reqSeqId: string, notifyType: number | null, data: Record<string, unknown>): Promise<void> {
    if (!url) return Promise.resolve();
    const mode = nextNotifyMode();
    const run = deliver(url, kind, reqSeqId, notifyType, data, mode);
    track(run);
    if (mode.kind === 'duplicate') track(deliver(url, kind, reqSeqId, notifyType, data, { kind: 'normal' }));
    return run;
  }

  async function payTrade(reqSeqId: string, result: 'S' | 'F', force = false): Promise<void> {
    const trade = findTrade(reqSeqId);
    if (!trade) throw new Error(`no trade ${reqSeqId}`);
    if (trade.state !== 'P') throw new Error(`trade ${reqSeqId} is already ${trade.state}`);
    if (trade.closed && !force) throw new Error(`trade ${reqSeqId} is closed (pass force to simulate money taken after close)`);
    if (now() > trade.timeExpire && !force) throw new Error(`trade ${reqSeqId} expired`);
    trade.state = result;
    trade.endTime = now();
    if (result === 'S') trade.outTransId = `42000${randomBytes(10).toString('hex')}`;
    // A success produces the channel notification (1) then the accounting one (2).
    await notify(trade.notifyUrl, 'pay', trade.reqSeqId, 1, payNotificationData(trade, 1));
    if (result === 'S') await notify(trade.notifyUrl, 'pay', trade.reqSeqId, 2, payNotificationData(trade, 2));
  }

  async function settle(record: RefundRecord, result: 'S' | 'F'): Promise<void> {
    if (record.state !== 'P') return;
    record.state = result;
    record.trade.pendingRefundFen -= record.amountFen;
    if (result === 'S') record.trade.refundedFen += record.amountFen;
    await notify(record.notifyUrl, 'refund', record.reqSeqId, null, refundView(record));
  }

  // ---------- HTTP ----------
  async function handleGateway(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = ROUTES[path];
    const entry: RequestLogEntry = { at: now(), path, operation: route?.operation ?? 'unknown', reqSeqId: null, signatureValid: false, httpStatus: 200, respCode: null };
    requests.push(entry);
    const reply = (status: number, body: string, respCode: string | null) => {
      entry.httpStatus = status;
      entry.respCode = respCode;
      send(res, status, body, 'application/json;charset=UTF-8');
    };
    if (!route) return reply(404, '{"data":{"resp_code":"404","resp_desc":"服务不存在"}}', null);
    const { text } = await readBody(req, 10 * 1024 * 1024);
    let envelope: { sys_id?: unknown; product_id?: unknown; data?: unknown; sign?: unknown };
    try {
      envelope = JSON.parse(text) as typeof envelope;
    } catch {
      return reply(200, signedBody({ resp_code: '10000000', resp_desc: '无效参数' }), '10000000');
    }
    const data = (envelope.data && typeof envelope.data === 'object' ? envelope.data : {}) as Record<string, unknown>;
    entry.reqSeqId = typeof data.req_seq_id === 'string' ? data.req_seq_id : typeof data.org_req_seq_id === 'string' ? data.org_req_seq_id : null;
    // The gateway re-canonicalises data (sorted, empties dropped) and verifies the merchant's signature over it.
    let signatureValid = false;
    try {
      signatureValid = typeof envelope.sign === 'string' && verifyRsaSha256(canonicalData(data as HuifuData).text, envelope.sign, options.merchantPublicKey);
    } catch {
      signatureValid = false;
    }
    entry.signatureValid = signatureValid;
    if (!signatureValid) return reply(922, '{"data":{"resp_code":"922","resp_desc":"验签不通过"}}', null);
    if (envelope.sys_id !== options.sysId || envelope.product_id !== options.productId) {
      return reply(200, signedBody({ resp_code: '10000000', resp_desc: '数据权限认证失败' }), '10000000');
    }
    const fault = faults.find((f) => f.operation === route.operation || f.operation === 'any');
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) faults.splice(faults.indexOf(fault), 1);
      if (fault.kind === 'http500') return reply(500, '{"data":{"resp_code":"500","resp_desc":"系统异常"}}', null);
      if (fault.kind === 'timeout') return; // never answer; the client's timeout fires
      if (fault.kind === 'business') {
        const code = fault.respCode ?? '90000000';
        return reply(200, signedBody({ resp_code: code, resp_desc: fault.respDesc ?? '业务执行失败' }), code);
      }
    }
    let answer: Record<string, unknown>;
    try {
      const version = route.version === 'both' ? 'v2' : route.version;
      answer = {
        create: () => create(data, version),
        query: () => query(data, version),
        refund: () => refund(data),
        refundQuery: () => refundQuery(data),
        close: () => close(data),
        closeQuery: () => closeQuery(data),
        billQuery: () => billQuery(data),
        any: () => ({}),
      }[route.operation]();
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      answer = { resp_code: error.respCode, resp_desc: error.respDesc, req_seq_id: data.req_seq_id ?? '', req_date: data.req_date ?? '' };
    }
    if (fault?.kind === 'timeoutAfterAccept') return; // processed, but the answer never arrives
    if (fault?.kind === 'badSignature') {
      return reply(200, `{"sign":${JSON.stringify(randomBytes(256).toString('base64'))},"data":${JSON.stringify(answer)}}`, String(answer.resp_code));
    }
    reply(200, signedBody(answer), String(answer.resp_code));
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const { text } = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return send(res, 400, { error: 'body must be JSON' });
    }
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
    try {
      switch (`${req.method} ${path}`) {
        case 'POST /_sandbox/pay': {
          // By req_seq_id, or by the wx.requestPayment package ("prepay_id=sandbox_<hf_seq_id>") as a cashier sees it.
          const prepay = str('prepay_id').replace(/^prepay_id=/, '').replace(/^sandbox_/, '');
          const reqSeqId = str('req_seq_id') || ([...trades.values()].find((t) => t.hfSeqId === prepay)?.reqSeqId ?? '');
          const result = body.result === 'F' ? 'F' : 'S';
          const done = payTrade(reqSeqId, result, body.force === true);
          if (body.wait === true) await done;
          else track(done);
          return send(res, 200, { ok: true, trade: sandbox.trade(reqSeqId) });
        }
        case 'POST /_sandbox/notify/resend':
          await sandbox.resendNotification(str('req_seq_id'), typeof body.notify_type === 'number' ? body.notify_type : undefined);
          return send(res, 200, { ok: true });
        case 'POST /_sandbox/notify/mode': {
          const kind = str('mode') as NotifyMode['kind'];
          if (!['normal', 'drop', 'duplicate', 'delay', 'badAck'].includes(kind)) return send(res, 400, { error: 'mode: normal|drop|duplicate|delay|badAck' });
          const mode = (kind === 'delay' ? { kind, ms: Number(body.ms ?? 1000) } : { kind }) as NotifyMode;
          sandbox.setNotifyMode(mode, typeof body.count === 'number' ? body.count : undefined);
          return send(res, 200, { ok: true });
        }
        case 'POST /_sandbox/faults':
          sandbox.injectFault({
            operation: (str('operation') || 'any') as Operation,
            kind: str('kind') as FaultKind,
            count: typeof body.count === 'number' ? body.count : 1,
            respCode: str('resp_code') || undefined,
            respDesc: str('resp_desc') || undefined,
          });
          return send(res, 200, { ok: true });
        case 'POST /_sandbox/clock/advance':
          sandbox.advanceClock(Number(body.ms ?? 0));
          return send(res, 200, { ok: true, now: now() });
        case 'POST /_sandbox/refund/settle':
          await sandbox.settleRefund(str('req_seq_id'), body.result === 'F' ? 'F' : 'S');
          return send(res, 200, { ok: true });
        case 'POST /_sandbox/reset':
          sandbox.reset();
          return send(res, 200, { ok: true });
        case 'GET /_sandbox/log':
          return send(res, 200, { requests, notifications });
        default:
          if (req.method === 'GET' && path.startsWith('/_sandbox/trades/')) {
            const trade = sandbox.trade(decodeURIComponent(path.slice('/_sandbox/trades/'.length)));
            return trade ? send(res, 200, trade) : send(res, 404, { error: 'no such trade' });
          }
          if (req.method === 'GET' && path.startsWith('/_sandbox/files/')) {
            return send(res, 200, '交易日期,交易流水号,交易金额\n', 'text/csv; charset=utf-8');
          }
          return send(res, 404, { error: `no control route ${req.method} ${path}` });
      }
    } catch (error) {
      return send(res, 409, { error: (error as Error).message });
    }
  }

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    const handler = path.startsWith('/_sandbox/') ? handleControl(req, res, path) : req.method === 'POST' ? handleGateway(req, res, path) : Promise.resolve(send(res, 405, { error: 'POST only' }));
    handler.catch((error: unknown) => {
      log(`huifu-sandbox: ${(error as Error).stack}`);
      if (!res.headersSent) send(res, 500, { error: 'sandbox error' });
    });
  });
  const port = await listen(server, options.port ?? 0);

  const sandbox: HuifuSandbox = {
    url: `http://127.0.0.1:${port}`,
    port,
    now,
    advanceClock: (ms) => {
      clockOffset += ms;
    },
    pay: (reqSeqId, result, o) => payTrade(reqSeqId, result, o?.force),
    async resendNotification(reqSeqId, notifyType) {
      const trade = findTrade(reqSeqId);
      if (trade) {
        if (trade.state === 'P') throw new Error(`trade ${reqSeqId} has no outcome to notify yet`);
        await notify(trade.notifyUrl, 'pay', trade.reqSeqId, notifyType ?? 1, payNotificationData(trade, notifyType ?? 1));
        return;
      }
      const record = [...refunds.values()].find((r) => r.reqSeqId === reqSeqId);
      if (!record) throw new Error(`no trade or refund ${reqSeqId}`);
      await notify(record.notifyUrl, 'refund', record.reqSeqId, null, refundView(record));
    },
    setNotifyMode(mode, count) {
      if (mode.kind === 'normal') notifyModes = [];
      else notifyModes.push({ mode, remaining: count ?? Number.POSITIVE_INFINITY });
    },
    injectFault: (f) => faults.push({ operation: f.operation, kind: f.kind, remaining: f.count ?? 1, respCode: f.respCode, respDesc: f.respDesc }),
    async settleRefund(reqSeqId, result) {
      const record = [...refunds.values()].find((r) => r.reqSeqId === reqSeqId);
      if (!record) throw new Error(`no refund ${reqSeqId}`);
      if (record.state !== 'P') throw new Error(`refund ${reqSeqId} is already ${record.state}`);
      await settle(record, result);
    },
    setRefundSettleMs(ms) {
      refundSettleMs = ms;
    },
    trade: (reqSeqId) => findTrade(reqSeqId),
    requests,
    notifications,
    async idle() {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
    reset() {
      trades.clear();
      refunds.clear();
      closes.clear();
      idempotency.clear();
      faults.length = 0;
      notifyModes = [];
      requests.length = 0;
      notifications.length = 0;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await closeServer(server);
    },
  };
  return sandbox;
}
