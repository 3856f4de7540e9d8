import { ORDER_STATUSES, type OrderStatus } from '@cashier/shared';
import { IllegalTransitionError, PayError, ValidationError } from '../../cloudfunctions/src/domain/errors';
import {
  canTransitionOrder,
  isFinalOrderStatus,
  statusAfterRefunds,
  transitionOrder,
  CLOSE_MIN_AGE_MS,
  QUERY_INTERVAL_MS,
  reconcileDueAt,
  transitionRefund,
  withFlag,
} from '../../cloudfunctions/src/domain/order-state';

const ALLOWED: Array<[OrderStatus, OrderStatus]> = [
  ['CREATED', 'PAYING'],
  ['CREATED', 'PAID'],
  ['CREATED', 'FAILED'],
  ['CREATED', 'CLOSED'],
  ['PAYING', 'PAID'],
  ['PAYING', 'FAILED'],
  ['PAYING', 'CLOSED'],
  ['CLOSED', 'PAID_AFTER_CLOSE'],
  ['PAID', 'PARTIALLY_REFUNDED'],
  ['PAID', 'REFUNDED'],
  ['PARTIALLY_REFUNDED', 'PARTIALLY_REFUNDED'],
  ['PARTIALLY_REFUNDED', 'REFUNDED'],
  ['PAID_AFTER_CLOSE', 'PARTIALLY_REFUNDED'],
  ['PAID_AFTER_CLOSE', 'REFUNDED'],
];

describe('order state machine', () => {
  it('allows exactly the transitions of ARCHITECTURE.md §5 (plus CREATED → PAID/FAILED for early notifications)', () => {
    for (const from of ORDER_STATUSES) {
      for (const to of ORDER_STATUSES) {
        const expected = ALLOWED.some(([f, t]) => f === from && t === to);
        expect([from, to, canTransitionOrder(from, to)]).toEqual([from, to, expected]);
      }
    }
  });

  it('throws a typed error naming both states for an illegal transition', () => {
    expect(() => transitionOrder('PAID', 'CLOSED')).toThrow(IllegalTransitionError);
    try {
      transitionOrder('REFUNDED', 'PAID');
    } catch (e) {
      expect(e).toMatchObject({ machine: 'order', from: 'REFUNDED', to: 'PAID', code: 'INTERNAL' });
    }
  });

  it('never lets a closed order become plainly PAID: money after close is flagged', () => {
    expect(() => transitionOrder('CLOSED', 'PAID')).toThrow(IllegalTransitionError);
    expect(transitionOrder('CLOSED', 'PAID_AFTER_CLOSE')).toBe('PAID_AFTER_CLOSE');
  });

  it('marks FAILED and REFUNDED as final', () => {
    expect(ORDER_STATUSES.filter(isFinalOrderStatus)).toEqual(['FAILED', 'REFUNDED']);
  });

  it('derives the refund status from totals', () => {
    expect(statusAfterRefunds('PAID', 1000, 300)).toBe('PARTIALLY_REFUNDED');
    expect(statusAfterRefunds('PARTIALLY_REFUNDED', 1000, 1000)).toBe('REFUNDED');
    expect(statusAfterRefunds('PAID', 1000, 0)).toBe('PAID');
    expect(() => statusAfterRefunds('PAYING', 1000, 10)).toThrow(IllegalTransitionError);
  });
});

describe('refund state machine', () => {
  it('goes PENDING → SUCCEEDED | FAILED and nowhere else', () => {
    expect(transitionRefund('PENDING', 'SUCCEEDED')).toBe('SUCCEEDED');
    expect(transitionRefund('PENDING', 'FAILED')).toBe('FAILED');
    expect(() => transitionRefund('SUCCEEDED', 'FAILED')).toThrow(IllegalTransitionError);
    expect(() => transitionRefund('FAILED', 'PENDING')).toThrow(IllegalTransitionError);
  });

  it('lets a refund recorded as failed turn SUCCEEDED when Huifu reports it completed after all', () => {
    expect(transitionRefund('FAILED', 'SUCCEEDED')).toBe('SUCCEEDED');
  });
});

describe('reconcileDueAt after a failed close', () => {
  const created = 1_760_000_000_000;
  const base = { status: 'PAYING' as const, createdAt: created, expiresAt: created + 30 * 60_000, lastQueriedAt: null, cancelRequestedAt: null };
  it('tries again one query interval after the failed close, never before the order may be closed', () => {
    const late = created + 10 * 60_000;
    expect(reconcileDueAt({ ...base, closeRequest: { reqSeqId: 'C1', reqDate: '20251009', state: 'FAILED', at: late } })).toBe(late + QUERY_INTERVAL_MS);
    const early = created + 1_000;
    expect(reconcileDueAt({ ...base, closeRequest: { reqSeqId: 'C1', reqDate: '20251009', state: 'FAILED', at: early } })).toBe(Math.max(early + QUERY_INTERVAL_MS, created + CLOSE_MIN_AGE_MS));
  });
});

describe('withFlag', () => {
  it('adds a flag once and never drops the others', () => {
    expect(withFlag(['A'], 'B')).toEqual(['A', 'B']);
    expect(withFlag(['A', 'B'], 'A')).toEqual(['A', 'B']);
  });
});

describe('errors', () => {
  it('an illegal transition is not retryable, though INTERNAL errors are by default', () => {
    expect(new IllegalTransitionError('order', 'PAID', 'PAYING').retryable).toBe(false);
    expect(new PayError('INTERNAL', 'x').retryable).toBe(true);
  });

  it('keeps the cause for the logs', () => {
    const cause = new Error('socket hang up');
    expect(new PayError('INTERNAL', 'x', { cause }).cause).toBe(cause);
  });

  it('a validation error lists its issues after the message, and none when it has none', () => {
    expect(new ValidationError('bad event')).toMatchObject({ code: 'INVALID_REQUEST', message: 'bad event', issues: [] });
    expect(new ValidationError('bad event', ['amount: too big', 'ref: missing'])).toMatchObject({ message: 'bad event: amount: too big; ref: missing' });
  });
});
