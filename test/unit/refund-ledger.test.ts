import { reserve, settle, unreserve, type LedgerStep } from '../../cloudfunctions/src/domain/refund-ledger';
import type { LedgerEntry, Order } from '../../cloudfunctions/src/domain/types';
import { ledgerSums, makeOrder } from '../support/fixtures';

// Mutation testing (mutation/results.md) found these rules reached only through services that check first; the
// ledger is the last guard of the refundable balance, so it is held here directly, with 1-fen near misses.

const AT = 1_760_000_000_000;

/** A paid 100-fen order whose totals agree with its ledger, as the stores keep them. */
function paidOrder(ledger: Record<string, LedgerEntry> = {}): Order {
  const sums = ledgerSums(ledger);
  return makeOrder({ status: sums.refundedFen > 0 ? 'PARTIALLY_REFUNDED' : 'PAID', amountFen: 100, refundLedger: ledger, ...sums });
}

const patchOf = (step: LedgerStep) => {
  if (step.kind !== 'change') throw new Error(`expected a change, got ${JSON.stringify(step)}`);
  return step.patch;
};

describe('refund ledger', () => {
  it('reserve counts refunds still reserved: 30 reserved and 40 refunded leave exactly 30', () => {
    const order = paidOrder({ r1: { amountFen: 30, state: 'RESERVED', at: AT }, r2: { amountFen: 40, state: 'SUCCEEDED', at: AT } });
    expect(reserve(order, 'r3', 31, AT)).toEqual({ kind: 'refused', reason: 'insufficient' });
    const patch = patchOf(reserve(order, 'r3', 30, AT));
    expect(patch).toMatchObject({ refundedFen: 40, refundReservedFen: 60 });
  });

  it('reserve refuses 1 fen over the whole amount and takes the whole amount', () => {
    expect(reserve(paidOrder(), 'r1', 101, AT)).toEqual({ kind: 'refused', reason: 'insufficient' });
    expect(patchOf(reserve(paidOrder(), 'r1', 100, AT))).toMatchObject({ refundReservedFen: 100, refundedFen: 0, status: 'PAID' });
  });

  it('reserve is idempotent per refund number, and the same number with another amount is a conflict', () => {
    const order = paidOrder({ r1: { amountFen: 30, state: 'RESERVED', at: AT } });
    expect(reserve(order, 'r1', 30, AT)).toEqual({ kind: 'done' });
    expect(reserve(order, 'r1', 29, AT)).toEqual({ kind: 'refused', reason: 'conflict' });
    expect(reserve(order, 'r1', 31, AT)).toEqual({ kind: 'refused', reason: 'conflict' });
  });

  it('reserve refuses an order that took no money', () => {
    expect(reserve(makeOrder({ status: 'PAYING' }), 'r1', 1, AT)).toEqual({ kind: 'refused', reason: 'not_refundable' });
  });

  it('unreserve gives back only a reservation, never a finished refund', () => {
    const order = paidOrder({ r1: { amountFen: 30, state: 'RESERVED', at: AT }, r2: { amountFen: 40, state: 'SUCCEEDED', at: AT } });
    expect(patchOf(unreserve(order, 'r1'))).toMatchObject({ refundReservedFen: 0, refundedFen: 40 });
    expect(unreserve(order, 'r2')).toEqual({ kind: 'refused', reason: 'conflict' });
    expect(unreserve(order, 'r9')).toEqual({ kind: 'done' });
  });

  it('a late success of a refund recorded as failed takes the amount again only if it is still there', () => {
    const room = paidOrder({ r1: { amountFen: 60, state: 'FAILED', at: AT }, r2: { amountFen: 40, state: 'SUCCEEDED', at: AT } });
    expect(patchOf(settle(room, 'r1', 'SUCCEEDED', AT + 1))).toMatchObject({ refundedFen: 100, status: 'REFUNDED' });
    const oneShort = paidOrder({ r1: { amountFen: 60, state: 'FAILED', at: AT }, r2: { amountFen: 41, state: 'SUCCEEDED', at: AT } });
    expect(settle(oneShort, 'r1', 'SUCCEEDED', AT + 1)).toEqual({ kind: 'refused', reason: 'insufficient' });
  });

  it('settle: a repeat is done, a succeeded refund cannot fail, an unknown refund is refused', () => {
    const order = paidOrder({ r1: { amountFen: 30, state: 'SUCCEEDED', at: AT }, r2: { amountFen: 20, state: 'RESERVED', at: AT } });
    expect(settle(order, 'r1', 'SUCCEEDED', AT)).toEqual({ kind: 'done' });
    expect(settle(order, 'r1', 'FAILED', AT)).toEqual({ kind: 'refused', reason: 'conflict' });
    expect(settle(order, 'r9', 'SUCCEEDED', AT)).toEqual({ kind: 'refused', reason: 'unknown_refund' });
    expect(patchOf(settle(order, 'r2', 'FAILED', AT))).toMatchObject({ refundedFen: 30, refundReservedFen: 0 });
  });
});
