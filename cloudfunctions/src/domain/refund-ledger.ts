import type { OrderStatus } from '@cashier/shared';
import { statusAfterRefunds } from './order-state';
import type { LedgerEntry, Order } from './types';

/**
 * The order's refund ledger (see LedgerEntry): pure functions from an order to the patch a refund step makes, for a
 * compare-and-set on the order. Every step is idempotent per refund number, so a retry after a crash or a lost write
 * finds the step already done and changes nothing.
 */
export const REFUNDABLE_STATUSES: readonly OrderStatus[] = ['PAID', 'PAID_AFTER_CLOSE', 'PARTIALLY_REFUNDED'];

export interface LedgerTotals {
  refundedFen: number;
  refundReservedFen: number;
}

export function ledgerTotals(ledger: Record<string, LedgerEntry>): LedgerTotals {
  let refundedFen = 0;
  let refundReservedFen = 0;
  for (const entry of Object.values(ledger)) {
    if (entry.state === 'SUCCEEDED') refundedFen += entry.amountFen;
    else if (entry.state === 'RESERVED') refundReservedFen += entry.amountFen;
  }
  return { refundedFen, refundReservedFen };
}

export type LedgerPatch = Pick<Order, 'refundLedger' | 'refundedFen' | 'refundReservedFen' | 'status'>;

export type LedgerStep =
  | { kind: 'change'; patch: LedgerPatch }
  /** Already in the wanted state: a retry. */
  | { kind: 'done' }
  | { kind: 'refused'; reason: 'not_refundable' | 'insufficient' | 'unknown_refund' | 'conflict' };

function withEntry(order: Order, refundNo: string, entry: LedgerEntry | null): LedgerPatch {
  const refundLedger = { ...order.refundLedger };
  if (entry) refundLedger[refundNo] = entry;
  else delete refundLedger[refundNo];
  const totals = ledgerTotals(refundLedger);
  return { refundLedger, ...totals, status: statusAfterRefunds(order.status, order.amountFen, totals.refundedFen) };
}

const available = (order: Order) => order.amountFen - order.refundedFen - order.refundReservedFen;

/** Holds `amountFen` for refund `refundNo`, if the order took money and that much is left. */
export function reserve(order: Order, refundNo: string, amountFen: number, at: number): LedgerStep {
  const existing = order.refundLedger[refundNo];
  if (existing) return existing.amountFen === amountFen ? { kind: 'done' } : { kind: 'refused', reason: 'conflict' };
  if (!REFUNDABLE_STATUSES.includes(order.status)) return { kind: 'refused', reason: 'not_refundable' };
  if (available(order) < amountFen) return { kind: 'refused', reason: 'insufficient' };
  return { kind: 'change', patch: withEntry(order, refundNo, { amountFen, state: 'RESERVED', at }) };
}

/** Gives back a reservation whose refund row could not be written (the refund never existed). */
export function unreserve(order: Order, refundNo: string): LedgerStep {
  const existing = order.refundLedger[refundNo];
  if (!existing) return { kind: 'done' };
  if (existing.state !== 'RESERVED') return { kind: 'refused', reason: 'conflict' };
  return { kind: 'change', patch: withEntry(order, refundNo, null) };
}

/**
 * Records Huifu's final answer for a refund on the order. RESERVED → SUCCEEDED counts it, RESERVED → FAILED gives it
 * back. FAILED → SUCCEEDED (Huifu completed a refund we had recorded as failed) takes the amount again if the balance
 * allows, else is refused as insufficient for a person to resolve. Any other move is a conflict.
 */
export function settle(order: Order, refundNo: string, outcome: 'SUCCEEDED' | 'FAILED', at: number): LedgerStep {
  const existing = order.refundLedger[refundNo];
  if (!existing) return { kind: 'refused', reason: 'unknown_refund' };
  if (existing.state === outcome) return { kind: 'done' };
  if (existing.state === 'RESERVED') return { kind: 'change', patch: withEntry(order, refundNo, { ...existing, state: outcome, at }) };
  if (existing.state === 'FAILED' && outcome === 'SUCCEEDED') {
    if (available(order) < existing.amountFen) return { kind: 'refused', reason: 'insufficient' };
    return { kind: 'change', patch: withEntry(order, refundNo, { ...existing, state: 'SUCCEEDED', at }) };
  }
  return { kind: 'refused', reason: 'conflict' };
}
