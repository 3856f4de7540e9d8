import * as z from '@cashier/shared/src/zod';
import { yuanToFen } from '../../domain/money';
import { parseShanghaiDateTime } from '../../domain/time';
import type { TradeState } from '../port';

/** Largest amount Huifu can carry: trans_amt is String(14), so at most 11 integer digits before ".00". */
const MAX_HUIFU_FEN = 99_999_999_999_99;

/**
 * Huifu yuan strings ("12.30") into fen; exactly two decimals, no leading zeros, zero allowed (fees, refunds of
 * nothing). A value the money rules refuse ("019.90", "1000000000000.00") is a schema issue, never an exception.
 */
export const YuanAsFen = z.pipe(
  z.string(),
  z.transform((v, ctx) => {
    try {
      return yuanToFen(v, { exactTwoDecimals: true, allowZero: true, maxFen: MAX_HUIFU_FEN });
    } catch (error) {
      ctx.issues.push({ code: 'custom', input: v, message: `not a Huifu yuan amount (${(error as Error).message})` });
      return z.NEVER;
    }
  }),
);

/** An optional text field: absent, null and "" all read as null. */
export const OptionalText = z.pipe(z.optional(z.nullable(z.string())), z.transform((v) => (v ? v : null)));
const TRADE_STATE: Record<string, TradeState | 'INITIAL'> = { P: 'PROCESSING', S: 'SUCCEEDED', F: 'FAILED', I: 'INITIAL' };
export const TransStat = z.pipe(z.enum(['P', 'S', 'F', 'I']), z.transform((s) => TRADE_STATE[s]!));
const DateTime = z.pipe(OptionalText, z.transform((v) => (v ? parseShanghaiDateTime(v) : null)));
const optionalString = z.optional(z.nullable(z.string()));
/** trans_stat of an answer that may leave it out: absent means still processing. */
const stateOrP = <const T extends readonly ['P', ...string[]]>(values: T) => z._default(z.optional(z.enum(values)), 'P' as T[number]);

/** Every response carries these; outcome is only ever read from trans_stat. */
export const BaseResponse = z.looseObject({ resp_code: z.string(), resp_desc: z._default(z.optional(z.string()), '') });

export const CreateResponse = z.looseObject({
  req_seq_id: z.optional(z.string()),
  hf_seq_id: OptionalText,
  trans_stat: stateOrP(['P', 'S', 'F']),
  pay_info: z.string().check(z.minLength(2, 'pay_info missing: is the trade_type T_MINIAPP and the AppID bound?')),
});

export const QueryResponse = z.looseObject({
  trans_stat: TransStat,
  trans_amt: YuanAsFen,
  hf_seq_id: OptionalText,
  org_hf_seq_id: OptionalText,
  out_trans_id: OptionalText,
  party_order_id: OptionalText,
  end_time: DateTime,
  fee_amt: optionalString,
  fee_amount: optionalString,
  payment_fee: optionalString,
});

export const RefundResponse = z.looseObject({
  trans_stat: stateOrP(['P', 'S', 'F', 'I']),
  hf_seq_id: OptionalText,
  org_hf_seq_id: OptionalText,
  ord_amt: z.optional(YuanAsFen),
  bank_message: OptionalText,
  resp_desc: z.optional(z.string()),
});

export const CloseResponse = z.looseObject({
  trans_stat: stateOrP(['P', 'S', 'F']),
  org_trans_stat: z.optional(z.nullable(z.enum(['P', 'S', 'F', 'I']))),
});

/** The bill query's lists, sent either as JSON text or as arrays. */
const DetailList = z.pipe(
  z.optional(z.union([z.string(), z.array(z.record(z.string(), z.unknown()))])),
  z.transform((v) => (typeof v === 'string' ? (JSON.parse(v) as Array<Record<string, unknown>>) : (v ?? []))),
);
export const BillResponse = z.looseObject({ file_details: DetailList, task_details: DetailList });
