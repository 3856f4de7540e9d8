import * as z from 'zod';
import { yuanToFen } from '../../domain/money';
import { parseShanghaiDateTime } from '../../domain/time';
import type { TradeState } from '../port';

/** Largest amount Huifu can carry: trans_amt is String(14), so at most 11 integer digits before ".00". */
const MAX_HUIFU_FEN = 99_999_999_999_99;

/**
 * Huifu yuan strings ("12.30") into fen; exactly two decimals, no leading zeros, zero allowed (fees, refunds of
 * nothing). A value the money rules refuse ("019.90", "1000000000000.00") is a schema issue, never an exception.
 */
export const YuanAsFen = z.string().transform((v, ctx) => {
  try {
    return yuanToFen(v, { exactTwoDecimals: true, allowZero: true, maxFen: MAX_HUIFU_FEN });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a Huifu yuan amount (${(error as Error).message})` });
    return z.NEVER;
  }
});

const optionalText = z.string().optional().nullable().transform((v) => (v ? v : null));
const TRADE_STATE: Record<string, TradeState | 'INITIAL'> = { P: 'PROCESSING', S: 'SUCCEEDED', F: 'FAILED', I: 'INITIAL' };
export const TransStat = z.enum(['P', 'S', 'F', 'I']).transform((s) => TRADE_STATE[s]!);
const DateTime = optionalText.transform((v) => (v ? parseShanghaiDateTime(v) : null));

/** Every response carries these; outcome is only ever read from trans_stat. */
export const BaseResponse = z.object({ resp_code: z.string(), resp_desc: z.string().optional().default('') }).passthrough();

export const CreateResponse = z
  .object({
    req_seq_id: z.string().optional(),
    hf_seq_id: optionalText,
    trans_stat: z.enum(['P', 'S', 'F']).optional().default('P'),
    pay_info: z.string().min(2, 'pay_info missing: is the trade_type T_MINIAPP and the AppID bound?'),
  })
  .passthrough();

export const QueryResponse = z
  .object({
    trans_stat: TransStat,
    trans_amt: YuanAsFen,
    hf_seq_id: optionalText,
    org_hf_seq_id: optionalText,
    out_trans_id: optionalText,
    party_order_id: optionalText,
    end_time: DateTime,
    fee_amt: z.string().optional().nullable(),
    fee_amount: z.string().optional().nullable(),
    payment_fee: z.string().optional().nullable(),
  })
  .passthrough();

export const RefundResponse = z
  .object({
    trans_stat: z.enum(['P', 'S', 'F', 'I']).optional().default('P'),
    hf_seq_id: optionalText,
    org_hf_seq_id: optionalText,
    ord_amt: YuanAsFen.optional(),
    bank_message: optionalText,
    resp_desc: z.string().optional(),
  })
  .passthrough();

export const CloseResponse = z
  .object({
    trans_stat: z.enum(['P', 'S', 'F']).optional().default('P'),
    org_trans_stat: z.enum(['P', 'S', 'F', 'I']).optional().nullable(),
  })
  .passthrough();

export const BillResponse = z
  .object({
    file_details: z
      .union([z.string(), z.array(z.record(z.string(), z.unknown()))])
      .optional()
      .transform((v) => (typeof v === 'string' ? (JSON.parse(v) as Array<Record<string, unknown>>) : (v ?? []))),
    task_details: z
      .union([z.string(), z.array(z.record(z.string(), z.unknown()))])
      .optional()
      .transform((v) => (typeof v === 'string' ? (JSON.parse(v) as Array<Record<string, unknown>>) : (v ?? []))),
  })
  .passthrough();
