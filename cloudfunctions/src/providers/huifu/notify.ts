import type { KeyObject } from 'node:crypto';
import * as z from '@cashier/shared/src/zod';
import { PayError } from '../../domain/errors';
import { parseShanghaiDateTime } from '../../domain/time';
import type { TradeOutcome } from '../port';
import { OptionalText, TransStat, YuanAsFen } from './schemas';
import { verifyRsaSha256 } from './sign';

/**
 * Huifu's asynchronous notifications: a form-urlencoded POST (JSON tolerated) with `resp_data` (a JSON string)
 * and `sign`. The signature covers the raw resp_data text exactly as received: verify first, parse second.
 */
export const MAX_NOTIFICATION_BYTES = 64 * 1024;

export type RejectReason = 'too_large' | 'unsupported_content_type' | 'malformed' | 'missing_sign' | 'bad_signature' | 'invalid_fields';

/** A notification we refuse (non-200, so a genuine one is retried by Huifu). */
export class NotificationRejectedError extends PayError {
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super('SIGNATURE_INVALID', `Huifu notification rejected (${reason}): ${detail}`);
  }
}

export interface NotificationEnvelope {
  respData: string;
  sign: string;
}

/** Splits the body into resp_data + sign without parsing resp_data. */
export function parseEnvelope(rawBody: string, contentType: string | undefined): NotificationEnvelope {
  if (Buffer.byteLength(rawBody, 'utf8') > MAX_NOTIFICATION_BYTES) {
    throw new NotificationRejectedError('too_large', `body over ${MAX_NOTIFICATION_BYTES} bytes`);
  }
  const type = (contentType ?? '').toLowerCase();
  let respData: unknown;
  let sign: unknown;
  if (type.includes('application/json') || (!type && rawBody.trimStart().startsWith('{'))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody);
    } catch {
      throw new NotificationRejectedError('malformed', 'JSON body does not parse');
    }
    if (!parsed || typeof parsed !== 'object') throw new NotificationRejectedError('malformed', 'JSON body is not an object');
    ({ resp_data: respData, sign } = parsed as Record<string, unknown>);
    // Some senders nest resp_data as an object; its original text is gone, so it cannot be verified.
    if (respData && typeof respData === 'object') throw new NotificationRejectedError('malformed', 'resp_data must be the original JSON string');
  } else if (type.includes('application/x-www-form-urlencoded') || !type) {
    const form = new URLSearchParams(rawBody);
    respData = form.get('resp_data') ?? form.get('data');
    sign = form.get('sign');
  } else {
    throw new NotificationRejectedError('unsupported_content_type', `content type ${type.slice(0, 60)}`);
  }
  if (typeof respData !== 'string' || respData.length === 0) throw new NotificationRejectedError('malformed', 'no resp_data');
  if (typeof sign !== 'string' || sign.length === 0) throw new NotificationRejectedError('missing_sign', 'no sign');
  return { respData, sign };
}

export function verifyEnvelope(envelope: NotificationEnvelope, huifuPublicKey: KeyObject): void {
  if (!verifyRsaSha256(envelope.respData, envelope.sign, huifuPublicKey)) {
    throw new NotificationRejectedError(
      'bad_signature',
      'the signature does not verify over the raw resp_data with HUIFU_PUBLIC_KEY (a re-serialised resp_data never verifies)',
    );
  }
}

const notifyType = z.optional(z.nullable(z.pipe(z.union([z.number(), z.string().check(z.regex(/^\d+$/))]), z.transform(Number))));
const text = OptionalText;
const nonEmpty = z.string().check(z.minLength(1));
const TradeStat = z.enum(['P', 'S', 'F', 'I']);

const PayFields = z.looseObject({
  req_seq_id: nonEmpty,
  req_date: text,
  huifu_id: nonEmpty,
  trans_stat: TradeStat,
  trans_amt: YuanAsFen,
  hf_seq_id: text,
  out_trans_id: text,
  party_order_id: text,
  end_time: text,
  fee_amount: text,
  notify_type: notifyType,
  trans_type: text,
});

const RefundFields = z.looseObject({
  req_seq_id: nonEmpty,
  req_date: text,
  huifu_id: nonEmpty,
  org_req_seq_id: text,
  trans_stat: TradeStat,
  ord_amt: YuanAsFen,
  hf_seq_id: text,
  bank_message: text,
  resp_desc: text,
  notify_type: notifyType,
});

const UnfreezeFields = z.looseObject({ req_seq_id: nonEmpty, huifu_id: nonEmpty, notify_type: z.literal(3) });

export type HuifuNotification =
  | ({ kind: 'pay'; reqSeqId: string; huifuId: string; notifyType: number | null; transStat: 'P' | 'S' | 'F' | 'I' } & TradeOutcome)
  | {
      kind: 'refund';
      reqSeqId: string;
      huifuId: string;
      notifyType: number | null;
      orgReqSeqId: string | null;
      transStat: 'P' | 'S' | 'F' | 'I';
      state: TradeOutcome['state'];
      amountFen: number;
      hfSeqId: string | null;
      failReason: string | null;
    }
  | { kind: 'unfreeze'; reqSeqId: string; huifuId: string; notifyType: 3 };

function issues(error: z.core.$ZodError): string {
  return error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

/** Classifies a verified resp_data: pay (notify_type 1 channel / 2 accounting), refund, or notify_type 3 unfreeze. */
export function classifyNotification(respData: string): HuifuNotification {
  let json: unknown;
  try {
    json = JSON.parse(respData);
  } catch {
    throw new NotificationRejectedError('malformed', 'resp_data is not JSON');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new NotificationRejectedError('malformed', 'resp_data is not an object');
  const record = json as Record<string, unknown>;
  if (Number(record.notify_type) === 3) {
    const u = UnfreezeFields.safeParse({ ...record, notify_type: 3 });
    if (!u.success) throw new NotificationRejectedError('invalid_fields', issues(u.error));
    return { kind: 'unfreeze', reqSeqId: u.data.req_seq_id, huifuId: u.data.huifu_id, notifyType: 3 };
  }
  const isRefund = record.trans_type === 'TRANS_REFUND' || (record.ord_amt !== undefined && record.trans_amt === undefined);
  if (isRefund) {
    const r = RefundFields.safeParse(record);
    if (!r.success) throw new NotificationRejectedError('invalid_fields', issues(r.error));
    return {
      kind: 'refund',
      reqSeqId: r.data.req_seq_id,
      huifuId: r.data.huifu_id,
      notifyType: r.data.notify_type ?? null,
      orgReqSeqId: r.data.org_req_seq_id,
      transStat: r.data.trans_stat,
      state: TransStat.parse(r.data.trans_stat),
      amountFen: r.data.ord_amt,
      hfSeqId: r.data.hf_seq_id,
      failReason: r.data.trans_stat === 'F' ? (r.data.bank_message ?? r.data.resp_desc) : null,
    };
  }
  const p = PayFields.safeParse(record);
  if (!p.success) throw new NotificationRejectedError('invalid_fields', issues(p.error));
  const fee = p.data.fee_amount ? YuanAsFen.safeParse(p.data.fee_amount) : null;
  return {
    kind: 'pay',
    reqSeqId: p.data.req_seq_id,
    huifuId: p.data.huifu_id,
    notifyType: p.data.notify_type ?? null,
    transStat: p.data.trans_stat,
    state: TransStat.parse(p.data.trans_stat),
    amountFen: p.data.trans_amt,
    hfSeqId: p.data.hf_seq_id,
    outTransId: p.data.out_trans_id,
    partyOrderId: p.data.party_order_id,
    feeFen: fee?.success ? fee.data : null,
    paidAt: p.data.end_time ? parseShanghaiDateTime(p.data.end_time) : null,
  };
}

/** The exact plain-text answer Huifu expects once a notification is durably recorded. */
export function ackFor(reqSeqId: string): string {
  return `RECV_ORD_ID_${reqSeqId}`;
}

/** Best effort, for logging a rejected notification: its req_seq_id if resp_data parses. */
export function peekReqSeqId(respData: string): string | null {
  try {
    const v = (JSON.parse(respData) as Record<string, unknown>).req_seq_id;
    return typeof v === 'string' ? v.slice(0, 64) : null;
  } catch {
    return null;
  }
}
