/**
 * The Huifu sandbox's gateway: the v2 and v4 endpoints we use, as Huifu runs them. It verifies the merchant's request
 * signature (922 otherwise), validates fields like the gateway, applies Huifu's duplicate rule, signs every answer
 * with its own key (sign written before data, as the real gateway's text has it), and changes the sandbox's state:
 * a payment is P until paid, a refund P until it settles, a close P until it settles (after a delay or on close query)
 * and a second close of a trade is refused.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { canonicalData, type HuifuData } from '../../../cloudfunctions/src/providers/huifu/canonical';
import { signRsaSha256, verifyRsaSha256 } from '../../../cloudfunctions/src/providers/huifu/sign';
import { fenToYuan, yuanToFen } from '../../../cloudfunctions/src/domain/money';
import { parseShanghaiDateTime, shanghaiDate, shanghaiDateTime } from '../../../cloudfunctions/src/domain/time';
import { readBody, send } from '../../lib/http';
import type { Notifier } from './notifier';
import { Refusal, SandboxState, type CloseRecord, type RefundRecord, type Trade } from './state';

export type FaultKind = 'http500' | 'timeout' | 'timeoutAfterAccept' | 'business' | 'badSignature';
export const FAULT_KINDS: readonly FaultKind[] = ['http500', 'timeout', 'timeoutAfterAccept', 'business', 'badSignature'];
export type Operation = 'create' | 'query' | 'refund' | 'refundQuery' | 'close' | 'closeQuery' | 'billQuery' | 'any';
export const OPERATIONS: readonly Operation[] = ['create', 'query', 'refund', 'refundQuery', 'close', 'closeQuery', 'billQuery', 'any'];

export interface Fault {
  operation: Operation;
  kind: FaultKind;
  remaining: number;
  respCode?: string;
  respDesc?: string;
}

export interface RequestLogEntry {
  at: number;
  path: string;
  operation: Operation | 'unknown';
  reqSeqId: string | null;
  signatureValid: boolean;
  httpStatus: number;
  respCode: string | null;
  /** The jpt-x-skill-* headers as received. */
  skillSource: string | null;
  skillHuifuId: string | null;
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

const YUAN = /^(0|[1-9]\d{0,10})\.\d{2}$/;
const DATE = /^\d{8}$/;
const SEQ = /^[A-Za-z0-9_-]{1,64}$/;
const MAX = { maxFen: Number.MAX_SAFE_INTEGER };

export interface GatewayOptions {
  sysId: string;
  productId: string;
  huifuId: string;
  merchantPublicKey: KeyObject;
  huifuPrivateKey: KeyObject;
  /** How long a refund stays P before it settles S on its own; null holds refunds until settled by hand. */
  refundSettleMs: number | null;
  /** How long a close stays P before it settles; null holds it until a close query (or by hand). */
  closeSettleMs: number | null;
  /** When set, requests without jpt-x-skill-source equal to it (and jpt-x-skill-huifu_id = data.huifu_id) are refused, as Huifu's own local sandbox does. */
  requireSkillSource: string | null;
  /** Base URL of this sandbox, for bill download links. */
  url: () => string;
}

export class HuifuGateway {
  readonly requests: RequestLogEntry[] = [];
  readonly faults: Fault[] = [];

  constructor(
    readonly state: SandboxState,
    readonly notifier: Notifier,
    readonly options: GatewayOptions,
  ) {}

  /** Signs `data` as Huifu does and writes sign before data, as the real gateway's text does. */
  signedBody(data: Record<string, unknown>): string {
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(data).sort()) sorted[k] = data[k];
    const text = JSON.stringify(sorted);
    return `{"sign":${JSON.stringify(signRsaSha256(text, this.options.huifuPrivateKey))},"data":${text}}`;
  }

  private require(data: Record<string, unknown>, ...fields: string[]): void {
    for (const f of fields) {
      if (data[f] === undefined || data[f] === null || data[f] === '') throw new Refusal('10000000', `${f}不能为空`);
    }
  }
  private checkFormat(ok: boolean, field: string, format: string): void {
    if (!ok) throw new Refusal('10000000', `${field}不符合${format}格式`);
  }
  private checkCommon(data: Record<string, unknown>): void {
    if (data.huifu_id !== this.options.huifuId) throw new Refusal('22000002', '商户信息不存在');
    if (data.req_date !== undefined) this.checkFormat(DATE.test(String(data.req_date)), 'req_date', 'yyyyMMdd');
    if (data.req_seq_id !== undefined) this.checkFormat(SEQ.test(String(data.req_seq_id)), 'req_seq_id', '流水号');
  }
  private parseWechat(text: unknown, field: string): { sub_appid: string; sub_openid: string } {
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

  // ---------- payments ----------
  create(data: Record<string, unknown>, version: 'v2' | 'v4'): Record<string, unknown> {
    const now = this.state.now();
    this.require(data, 'req_date', 'req_seq_id', 'huifu_id', 'trade_type', 'trans_amt', 'goods_desc');
    this.checkCommon(data);
    if (data.req_date !== shanghaiDate(now)) throw new Refusal('10000000', '请求日期必须是当前日期');
    if (data.trade_type !== 'T_MINIAPP') throw new Refusal('23000004', '交易类型不支持');
    this.checkFormat(YUAN.test(String(data.trans_amt)), 'trans_amt', '金额');
    const amountFen = yuanToFen(String(data.trans_amt), { exactTwoDecimals: true, allowZero: true, ...MAX });
    if (amountFen < 1) throw new Refusal('10000000', 'trans_amt最小为0.01');
    if (String(data.goods_desc).length > 127) throw new Refusal('10000000', 'goods_desc最大长度为127位');
    const channelField = version === 'v2' ? 'wx_data' : 'method_expand';
    this.require(data, channelField);
    const wechat = this.parseWechat(data[channelField], channelField);
    let timeExpire = now + 2 * 60 * 60 * 1000;
    if (data.time_expire !== undefined) {
      const parsed = parseShanghaiDateTime(String(data.time_expire));
      if (parsed === null) throw new Refusal('10000000', 'time_expire 格式不正确');
      if (parsed <= now) throw new Refusal('10000000', '订单已超时');
      timeExpire = parsed;
    }
    if (data.notify_url !== undefined) {
      const url = String(data.notify_url);
      this.checkFormat(/^https?:\/\//.test(url) && URL.canParse(url) && !url.includes('?'), 'notify_url', 'URL');
    }
    return this.state.once('pay', data, () => {
      const trade: Trade = {
        apiVersion: version,
        reqSeqId: String(data.req_seq_id),
        reqDate: String(data.req_date),
        hfSeqId: this.state.hfSeq('0029000'),
        amountFen,
        goodsDesc: String(data.goods_desc),
        subAppid: wechat.sub_appid,
        subOpenid: wechat.sub_openid,
        notifyUrl: data.notify_url ? String(data.notify_url) : null,
        timeExpire,
        createdAt: now,
        state: 'P',
        closed: false,
        refundedFen: 0,
        pendingRefundFen: 0,
        endTime: null,
        outTransId: null,
        partyOrderId: `${shanghaiDate(now).slice(2)}${randomBytes(6).toString('hex')}`,
        remark: data.remark ? String(data.remark) : null,
      };
      this.state.trades.set(SandboxState.key(trade.reqDate, trade.reqSeqId), trade);
      const payInfo = {
        appId: trade.subAppid,
        timeStamp: String(Math.floor(now / 1000)),
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
        huifu_id: this.options.huifuId,
        trade_type: 'T_MINIAPP',
        trans_amt: fenToYuan(trade.amountFen, MAX),
        trans_stat: 'P',
        bank_code: 'SUCCESS',
        delay_acct_flag: 'N',
        party_order_id: trade.partyOrderId,
        pay_info: JSON.stringify(payInfo),
        remark: trade.remark ?? '',
      };
    });
  }

  tradeView(trade: Trade, version: 'v2' | 'v4'): Record<string, unknown> {
    const view: Record<string, unknown> = {
      resp_code: '00000000',
      resp_desc: '查询成功',
      huifu_id: this.options.huifuId,
      trans_amt: fenToYuan(trade.amountFen, MAX),
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

  query(data: Record<string, unknown>, version: 'v2' | 'v4'): Record<string, unknown> {
    this.checkCommon({ ...data, req_seq_id: undefined, req_date: undefined });
    const seq = version === 'v2' ? data.org_req_seq_id : data.req_seq_id;
    const date = version === 'v2' ? data.org_req_date : data.req_date;
    const hf = version === 'v2' ? data.org_hf_seq_id : data.hf_seq_id;
    if (!seq && !hf) throw new Refusal('21000000', '原机构请求流水号、交易返回全局流水号不能同时为空');
    if (seq && !date) throw new Refusal('10000000', `${version === 'v2' ? 'org_req_date' : 'req_date'}不能为空`);
    const trade = hf ? [...this.state.trades.values()].find((t) => t.hfSeqId === hf) : this.state.findTrade(String(seq), String(date));
    if (!trade) throw new Refusal('23000001', '交易不存在');
    return this.tradeView(trade, version);
  }

  payNotificationData(trade: Trade, notifyType: number): Record<string, unknown> {
    return payNotificationData(trade, notifyType, this.options.huifuId, this.state.now());
  }

  /** The user pays (or fails to) in WeChat's cashier. A trade whose close is still P can be paid: the close then fails. */
  /** The trade, if it can be paid now; a Refusal (404 / 409) saying why not otherwise. */
  payableTrade(reqSeqId: string, force = false): Trade {
    const trade = this.state.findTrade(reqSeqId);
    if (!trade) throw new Refusal('404', `no trade ${reqSeqId}`);
    if (trade.state !== 'P') throw new Refusal('409', `trade ${reqSeqId} is already ${trade.state}`);
    if (trade.closed && !force) throw new Refusal('409', `trade ${reqSeqId} is closed (pass force to simulate money taken after close)`);
    if (this.state.now() > trade.timeExpire && !force) throw new Refusal('409', `trade ${reqSeqId} expired`);
    return trade;
  }

  async payTrade(reqSeqId: string, result: 'S' | 'F', force = false): Promise<void> {
    const trade = this.payableTrade(reqSeqId, force);
    trade.state = result;
    trade.endTime = this.state.now();
    if (result === 'S') trade.outTransId = `42000${randomBytes(10).toString('hex')}`;
    const close = this.state.closeOf(trade);
    if (close?.state === 'P' && result === 'S') close.state = 'F';
    // A success produces the channel notification (1) then the accounting one (2).
    await this.notifier.notify(trade.notifyUrl, 'pay', trade.reqSeqId, 1, this.payNotificationData(trade, 1));
    if (result === 'S') await this.notifier.notify(trade.notifyUrl, 'pay', trade.reqSeqId, 2, this.payNotificationData(trade, 2));
  }

  // ---------- refunds ----------
  refund(data: Record<string, unknown>): Record<string, unknown> {
    this.require(data, 'req_date', 'req_seq_id', 'huifu_id', 'ord_amt', 'org_req_date');
    this.checkCommon(data);
    if (!data.org_req_seq_id && !data.org_hf_seq_id && !data.org_party_order_id) {
      throw new Refusal('21000000', 'org_req_seq_id、org_hf_seq_id、org_party_order_id不能同时为空');
    }
    this.checkFormat(YUAN.test(String(data.ord_amt)), 'ord_amt', '金额');
    const amountFen = yuanToFen(String(data.ord_amt), { exactTwoDecimals: true, allowZero: true, ...MAX });
    if (amountFen < 1) throw new Refusal('10000000', 'ord_amt最小为0.01');
    return this.state.once('refund', data, () => {
      const trade = data.org_req_seq_id
        ? this.state.findTrade(String(data.org_req_seq_id), String(data.org_req_date))
        : [...this.state.trades.values()].find((t) => t.hfSeqId === data.org_hf_seq_id || t.partyOrderId === data.org_party_order_id);
      if (!trade) throw new Refusal('23000001', '原交易不存在');
      if (trade.state !== 'S') throw new Refusal('23000000', '原交易未入账，不能发起退款');
      if (trade.refundedFen + trade.pendingRefundFen + amountFen > trade.amountFen) throw new Refusal('23000003', '申请退款金额大于可退余额');
      trade.pendingRefundFen += amountFen;
      const record: RefundRecord = {
        reqSeqId: String(data.req_seq_id),
        reqDate: String(data.req_date),
        hfSeqId: this.state.hfSeq('0031000'),
        trade,
        amountFen,
        state: 'P',
        notifyUrl: data.notify_url ? String(data.notify_url) : null,
        refCut: [...this.state.refunds.values()].filter((r) => r.trade === trade).length + 1,
      };
      this.state.refunds.set(SandboxState.key(record.reqDate, record.reqSeqId), record);
      if (this.options.refundSettleMs !== null) this.notifier.later(this.options.refundSettleMs, () => this.settleRefund(record, 'S'));
      return { ...this.refundView(record), resp_code: '00000100', resp_desc: '退款处理中' };
    });
  }

  refundView(r: RefundRecord): Record<string, unknown> {
    return {
      resp_code: '00000000',
      resp_desc: r.state === 'F' ? '退款失败' : '成功',
      huifu_id: this.options.huifuId,
      req_date: r.reqDate,
      req_seq_id: r.reqSeqId,
      hf_seq_id: r.hfSeqId,
      org_req_date: r.trade.reqDate,
      org_req_seq_id: r.trade.reqSeqId,
      trans_type: 'TRANS_REFUND',
      trans_stat: r.state,
      ord_amt: fenToYuan(r.amountFen, MAX),
      actual_ref_amt: r.state === 'S' ? fenToYuan(r.amountFen, MAX) : '0.00',
      total_ref_amt: fenToYuan(r.trade.refundedFen, { ...MAX, allowZero: true }),
      ref_cut: r.refCut,
      bank_message: r.state === 'F' ? '余额不足，退款失败' : '',
    };
  }

  refundQuery(data: Record<string, unknown>): Record<string, unknown> {
    this.checkCommon({ ...data, req_seq_id: undefined, req_date: undefined });
    if (!data.org_req_seq_id && !data.org_hf_seq_id) throw new Refusal('21000000', 'org_req_seq_id、org_hf_seq_id不能同时为空');
    const record = data.org_hf_seq_id
      ? [...this.state.refunds.values()].find((r) => r.hfSeqId === data.org_hf_seq_id)
      : this.state.refunds.get(SandboxState.key(String(data.org_req_date), String(data.org_req_seq_id)));
    if (!record) throw new Refusal('23000001', '原交易不存在');
    const view = this.refundView(record);
    return { ...view, org_req_seq_id: record.reqSeqId, org_req_date: record.reqDate, org_hf_seq_id: record.hfSeqId, resp_desc: '查询成功' };
  }

  async settleRefund(record: RefundRecord, result: 'S' | 'F'): Promise<void> {
    if (record.state !== 'P') return;
    record.state = result;
    record.trade.pendingRefundFen -= record.amountFen;
    if (result === 'S') record.trade.refundedFen += record.amountFen;
    await this.notifier.notify(record.notifyUrl, 'refund', record.reqSeqId, null, this.refundView(record));
  }

  // ---------- closes ----------
  close(data: Record<string, unknown>): Record<string, unknown> {
    this.require(data, 'req_date', 'req_seq_id', 'huifu_id', 'org_req_date');
    this.checkCommon(data);
    if (!data.org_req_seq_id && !data.org_hf_seq_id) throw new Refusal('21000000', 'org_req_seq_id、org_hf_seq_id不能同时为空');
    return this.state.once('close', data, () => {
      const trade = data.org_req_seq_id
        ? this.state.findTrade(String(data.org_req_seq_id), String(data.org_req_date))
        : [...this.state.trades.values()].find((t) => t.hfSeqId === data.org_hf_seq_id);
      if (!trade) throw new Refusal('23000001', '原交易不存在');
      if (trade.state !== 'P') throw new Refusal('10000016', '原订单已为终态,请发起查询交易获取');
      if (this.state.now() - trade.createdAt < 60_000) throw new Refusal('20000001', '不允许关闭一分钟以内的订单');
      if (this.state.closeOf(trade)) throw new Refusal('10000000', '不能重复关单');
      const record: CloseRecord = { reqSeqId: String(data.req_seq_id), reqDate: String(data.req_date), trade, state: 'P', createdAt: this.state.now() };
      this.state.closes.set(SandboxState.key(trade.reqDate, trade.reqSeqId), record);
      if (this.options.closeSettleMs !== null) this.notifier.later(this.options.closeSettleMs, () => this.settleClose(record));
      return this.closeView(record);
    });
  }

  /** A close in progress finishes: S (the trade can no longer be paid), or F if the trade was paid meanwhile. */
  settleClose(record: CloseRecord): void {
    if (record.state !== 'P') return;
    if (record.trade.state === 'S') {
      record.state = 'F';
      return;
    }
    record.state = 'S';
    record.trade.closed = true;
  }

  closeView(c: CloseRecord): Record<string, unknown> {
    return {
      resp_code: '00000000',
      resp_desc: c.state === 'S' ? '关单成功' : c.state === 'P' ? '关单处理中' : '关单失败',
      huifu_id: this.options.huifuId,
      req_date: c.reqDate,
      req_seq_id: c.reqSeqId,
      org_req_date: c.trade.reqDate,
      org_req_seq_id: c.trade.reqSeqId,
      org_hf_seq_id: c.trade.hfSeqId,
      org_trans_stat: c.trade.state,
      trans_stat: c.state,
    };
  }

  /** Close query is keyed by the original trade; asking settles a close still in progress (it has had its time). */
  closeQuery(data: Record<string, unknown>): Record<string, unknown> {
    this.require(data, 'huifu_id', 'org_req_date');
    this.checkCommon({ ...data, req_seq_id: undefined });
    const trade = this.state.findTrade(String(data.org_req_seq_id), String(data.org_req_date));
    const record = trade ? this.state.closeOf(trade) : undefined;
    if (!record) throw new Refusal('23000001', '交易不存在');
    this.settleClose(record);
    return { ...this.closeView(record), resp_desc: '查询成功' };
  }

  billQuery(data: Record<string, unknown>): Record<string, unknown> {
    this.require(data, 'req_date', 'req_seq_id', 'huifu_id', 'file_date');
    this.checkCommon(data);
    this.checkFormat(DATE.test(String(data.file_date)), 'file_date', 'yyyyMMdd');
    const billType = String(data.bill_type ?? 'TRADE_BILL');
    const fileName = `${data.file_date}_${this.options.huifuId}_order_1.csv`;
    return {
      resp_code: '00000000',
      resp_desc: '成功',
      req_date: data.req_date,
      req_seq_id: data.req_seq_id,
      file_details: [{ download_url: `${this.options.url()}/_sandbox/files/${fileName}`, file_date: data.file_date, file_id: '1', file_name: fileName, huifu_id: this.options.huifuId, bill_type: billType }],
      task_details: [{ data_date: data.file_date, task_stat: 'S', bill_type: billType, huifu_id: this.options.huifuId }],
    };
  }

  // ---------- HTTP ----------
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = ROUTES[path];
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : null;
    };
    const entry: RequestLogEntry = {
      at: this.state.now(), path, operation: route?.operation ?? 'unknown', reqSeqId: null, signatureValid: false, httpStatus: 200, respCode: null,
      skillSource: header('jpt-x-skill-source'), skillHuifuId: header('jpt-x-skill-huifu_id'),
    };
    this.requests.push(entry);
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
      return reply(200, this.signedBody({ resp_code: '10000000', resp_desc: '无效参数' }), '10000000');
    }
    const data = (envelope.data && typeof envelope.data === 'object' ? envelope.data : {}) as Record<string, unknown>;
    entry.reqSeqId = typeof data.req_seq_id === 'string' ? data.req_seq_id : typeof data.org_req_seq_id === 'string' ? data.org_req_seq_id : null;
    // The gateway re-canonicalises data (sorted, empties dropped) and verifies the merchant's signature over it.
    let signatureValid = false;
    try {
      signatureValid = typeof envelope.sign === 'string' && verifyRsaSha256(canonicalData(data as HuifuData).text, envelope.sign, this.options.merchantPublicKey);
    } catch {
      signatureValid = false;
    }
    entry.signatureValid = signatureValid;
    if (!signatureValid) return reply(922, '{"data":{"resp_code":"922","resp_desc":"验签不通过"}}', null);
    const required = this.options.requireSkillSource;
    if (required && (entry.skillSource !== required || entry.skillHuifuId !== data.huifu_id)) {
      return reply(200, this.signedBody({ resp_code: '10000000', resp_desc: '缺少或错误的请求头 jpt-x-skill-source / jpt-x-skill-huifu_id' }), '10000000');
    }
    if (envelope.sys_id !== this.options.sysId || envelope.product_id !== this.options.productId) {
      return reply(200, this.signedBody({ resp_code: '10000000', resp_desc: '数据权限认证失败' }), '10000000');
    }
    const fault = this.faults.find((f) => f.operation === route.operation || f.operation === 'any');
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
      if (fault.kind === 'http500') return reply(500, '{"data":{"resp_code":"500","resp_desc":"系统异常"}}', null);
      if (fault.kind === 'timeout') return; // never answer; the client's timeout fires
      if (fault.kind === 'business') {
        const code = fault.respCode ?? '90000000';
        return reply(200, this.signedBody({ resp_code: code, resp_desc: fault.respDesc ?? '业务执行失败' }), code);
      }
    }
    let answer: Record<string, unknown>;
    try {
      const version = route.version === 'both' ? 'v2' : route.version;
      answer = {
        create: () => this.create(data, version),
        query: () => this.query(data, version),
        refund: () => this.refund(data),
        refundQuery: () => this.refundQuery(data),
        close: () => this.close(data),
        closeQuery: () => this.closeQuery(data),
        billQuery: () => this.billQuery(data),
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
    reply(200, this.signedBody(answer), String(answer.resp_code));
  }
}

/**
 * What Huifu POSTs about a finished trade: notify_type 1 (the channel's result) and then notify_type 2 (after
 * accounting, acct_stat S). The bench sends the same bodies.
 */
export function payNotificationData(trade: Pick<Trade, 'amountFen' | 'state' | 'reqSeqId' | 'reqDate' | 'hfSeqId' | 'outTransId' | 'partyOrderId' | 'endTime' | 'remark' | 'subAppid' | 'subOpenid'>, notifyType: number, huifuId: string, now: number): Record<string, unknown> {
  const yuan = fenToYuan(trade.amountFen, MAX);
  return {
    resp_code: '00000000',
    resp_desc: trade.state === 'S' ? '交易成功' : '交易失败',
    huifu_id: huifuId,
    req_seq_id: trade.reqSeqId,
    req_date: trade.reqDate,
    trans_type: 'T_MINIAPP',
    hf_seq_id: trade.hfSeqId,
    out_trans_id: trade.outTransId ?? '',
    party_order_id: trade.partyOrderId,
    trans_amt: yuan,
    pay_amt: yuan,
    settlement_amt: yuan,
    end_time: trade.endTime ? shanghaiDateTime(trade.endTime) : '',
    acct_date: shanghaiDate(now),
    trans_stat: trade.state,
    fee_amount: '0.00',
    is_div: '0',
    is_delay_acct: '0',
    acct_stat: notifyType === 2 ? 'S' : 'I',
    notify_type: notifyType,
    remark: trade.remark ?? '',
    wx_response: { sub_appid: trade.subAppid, sub_openid: trade.subOpenid, bank_type: 'OTHERS', cash_fee: yuan },
  };
}
