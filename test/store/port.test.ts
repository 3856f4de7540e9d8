/**
 * The store port's own rules, which both adapters apply: order invariants (the last guard before a refund total is
 * written), the list cursor, the rejection-count buckets, and what its errors say about retrying.
 */
import type { LedgerEntry } from '../../cloudfunctions/src/domain/types';
import {
  assertOrderInvariants,
  decodeCursor,
  DuplicateError,
  encodeCursor,
  hourOf,
  sampleSlot,
  StoreUnavailableError,
} from '../../cloudfunctions/src/store/port';
import { ledgerSums } from '../support/fixtures';

const entry = (amountFen: number, state: LedgerEntry['state']): LedgerEntry => ({ amountFen, state, at: 1 });
/** An order whose refunded and reserved amounts are exactly its ledger's sums, so only the rule under test can fail. */
const order = (amountFen: number, ledger: Record<string, LedgerEntry>) => ({ orderNo: 'P1', amountFen, ...ledgerSums(ledger), refundLedger: ledger });

describe('assertOrderInvariants', () => {
  it('accepts refunds and reservations up to exactly the amount paid', () => {
    expect(() => assertOrderInvariants(order(100, {}))).not.toThrow();
    expect(() => assertOrderInvariants(order(100, { R1: entry(60, 'SUCCEEDED'), R2: entry(40, 'RESERVED'), R3: entry(100, 'FAILED') }))).not.toThrow();
    expect(() => assertOrderInvariants(order(100, { R1: entry(100, 'SUCCEEDED') }))).not.toThrow();
    expect(() => assertOrderInvariants(order(100, { R1: entry(100, 'RESERVED') }))).not.toThrow();
  });

  it.each([
    ['1 fen refunded over the amount', { R1: entry(101, 'SUCCEEDED') }],
    ['1 fen reserved over the amount', { R1: entry(101, 'RESERVED') }],
    ['refunded and reserved together 1 fen over', { R1: entry(60, 'SUCCEEDED'), R2: entry(41, 'RESERVED') }],
    ['a negative refund', { R1: entry(-1, 'SUCCEEDED') }],
    ['a negative reservation', { R1: entry(-1, 'RESERVED') }],
  ])('refuses %s', (_what, ledger) => {
    expect(() => assertOrderInvariants(order(100, ledger))).toThrow(/must stay within 0\.\.100 fen/);
  });

  it.each([
    ['a fractional refund', { R1: entry(1.5, 'SUCCEEDED') }],
    ['a fractional reservation', { R1: entry(0.5, 'RESERVED') }],
  ])('refuses %s', (_what, ledger) => {
    expect(() => assertOrderInvariants(order(100, ledger))).toThrow(/must be whole fen/);
  });

  it('refuses totals that are not the ledger\'s sums, either one', () => {
    const ledger = { R1: entry(30, 'SUCCEEDED'), R2: entry(20, 'RESERVED') };
    expect(() => assertOrderInvariants({ ...order(100, ledger), refundedFen: 31 })).toThrow(/do not match its refund ledger \(30 \/ 20\)/);
    expect(() => assertOrderInvariants({ ...order(100, ledger), refundReservedFen: 19 })).toThrow(/do not match its refund ledger/);
  });
});

describe('order list cursor', () => {
  it('round-trips the position of the last order shown', () => {
    expect(decodeCursor(encodeCursor({ createdAt: 1_765_000_000_000, orderNo: 'P20261205abc' }))).toEqual({ createdAt: 1_765_000_000_000, orderNo: 'P20261205abc' });
    expect(decodeCursor(`${'9'.repeat(15)}.${'A'.repeat(32)}`)).toEqual({ createdAt: 999_999_999_999_999, orderNo: 'A'.repeat(32) });
  });

  it.each(['', 'abc', '1.', '.P1', '1.P1!', ' 1.P1', '1.P1 ', 'x1.P1', `${'9'.repeat(16)}.P1`, `1.${'A'.repeat(33)}`, 'a.P1', '1.P-1'])('refuses %j', (text) => {
    expect(decodeCursor(text)).toBeNull();
  });
});

describe('rejection buckets', () => {
  it('counts by the hour an instant falls in', () => {
    expect(hourOf(Date.UTC(2026, 11, 5, 13, 59, 59, 999))).toBe(Date.UTC(2026, 11, 5, 13));
    expect(hourOf(Date.UTC(2026, 11, 5, 14))).toBe(Date.UTC(2026, 11, 5, 14));
  });

  it('keeps samples in a ring by the second they arrived', () => {
    expect(sampleSlot(12_999, 5)).toBe(2);
    expect(sampleSlot(13_000, 5)).toBe(3);
    expect(sampleSlot(14_000, 5)).toBe(4);
    expect(sampleSlot(15_000, 5)).toBe(0);
  });
});

describe('store errors', () => {
  it('a duplicate is final; an unavailable store may succeed on retry, keeping its cause', () => {
    expect(new DuplicateError('orders', 'appRef')).toMatchObject({ retryable: false, message: 'Duplicate orders.appRef' });
    const cause = new Error('socket hang up');
    expect(new StoreUnavailableError('down', cause)).toMatchObject({ retryable: true, cause });
  });
});
