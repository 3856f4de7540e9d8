import Decimal from 'decimal.js';
import { MoneyError } from './errors';

/**
 * Yuan strings ⇄ integer fen. This is the only place yuan exist: Huifu speaks yuan strings with two decimals
 * ("0.01", "100.50"), everything of ours speaks integer fen. decimal.js does the scaling so no binary float ever
 * touches an amount (Number("19.90") * 100 === 1989.9999999999998).
 */
export const DEFAULT_MAX_FEN = 100_000_000; // ¥1,000,000.00

/** Plain decimal notation only: no sign, exponent, spaces or leading zeros, at most two decimals. */
const LOOSE_YUAN = /^(0|[1-9]\d{0,12})(\.\d{1,2})?$/;
/** Exactly two decimals, as Huifu sends and requires. */
const HUIFU_YUAN = /^(0|[1-9]\d{0,11})\.\d{2}$/;

export interface YuanOptions {
  /** Require exactly two decimals (Huifu wire format). Default false: "1", "1.5" and "1.50" are all accepted. */
  exactTwoDecimals?: boolean;
  /** Largest amount accepted, in fen. Default DEFAULT_MAX_FEN. */
  maxFen?: number;
  /** Allow zero. Default false: payments and refunds are at least 0.01. */
  allowZero?: boolean;
}

export function yuanToFen(yuan: string, options: YuanOptions = {}): number {
  if (typeof yuan !== 'string') throw new MoneyError(`Amount must be a yuan string, got ${typeof yuan}`);
  const pattern = options.exactTwoDecimals ? HUIFU_YUAN : LOOSE_YUAN;
  if (!pattern.test(yuan)) {
    throw new MoneyError(
      `"${yuan.slice(0, 32)}" is not a yuan amount; expected digits with ${options.exactTwoDecimals ? 'exactly' : 'at most'} two decimals, e.g. "12.30"`,
    );
  }
  const fen = new Decimal(yuan).times(100);
  // The pattern already guarantees an integer; the check keeps that true if the pattern is ever loosened.
  if (!fen.isInteger()) throw new MoneyError(`"${yuan}" has fractions of a fen`);
  return checkFen(fen.toNumber(), options);
}

export function fenToYuan(fen: number, options: Omit<YuanOptions, 'exactTwoDecimals'> = {}): string {
  checkFen(fen, options);
  return new Decimal(fen).dividedBy(100).toFixed(2);
}

/** Checks that a fen amount is a whole, non-negative, bounded number. Returns it for chaining. */
export function checkFen(fen: number, options: Omit<YuanOptions, 'exactTwoDecimals'> = {}): number {
  const max = options.maxFen ?? DEFAULT_MAX_FEN;
  if (!Number.isSafeInteger(fen)) throw new MoneyError(`Amount must be a whole number of fen, got ${fen}`);
  if (fen < 0) throw new MoneyError(`Amount must not be negative, got ${fen} fen`);
  if (fen === 0 && !options.allowZero) throw new MoneyError('Amount must be at least 0.01 yuan (1 fen)');
  if (fen > max) throw new MoneyError(`Amount ${fen} fen is over the maximum of ${max} fen`);
  return fen;
}
