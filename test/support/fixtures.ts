import type { LedgerEntry, Order, Refund } from '../../cloudfunctions/src/domain/types';

let counter = 0;
/** A unique, Huifu-valid order number per call. */
export function nextOrderNo(prefix = 'T'): string {
  counter += 1;
  return `${prefix}${Date.now()}${String(counter).padStart(6, '0')}`;
}

export function makeOrder(overrides: Partial<Order> = {}): Order {
  const orderNo = overrides.orderNo ?? nextOrderNo();
  const createdAt = overrides.createdAt ?? 1_760_000_000_000;
  return {
    orderNo,
    appRef: `ref-${orderNo}`,
    openid: 'o_user_1',
    amountFen: 100,
    description: '测试商品',
    attach: null,
    status: 'CREATED',
    version: 1,
    refundedFen: 0,
    refundReservedFen: 0,
    refundLedger: {},
    reqDate: '20251009',
    expiresAt: createdAt + 30 * 60_000,
    hfSeqId: null,
    payInfo: null,
    outTransId: null,
    partyOrderId: null,
    feeFen: null,
    paidAt: null,
    closedAt: null,
    lastQueriedAt: null,
    flags: [],
    cancelRequestedAt: null,
    closeRequest: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  };
}

export function makeRefund(orderNo: string, overrides: Partial<Refund> = {}): Refund {
  return {
    refundNo: overrides.refundNo ?? nextOrderNo('R'),
    orderNo,
    amountFen: 10,
    status: 'PENDING',
    reason: null,
    reqDate: '20251009',
    hfSeqId: null,
    failReason: null,
    version: 1,
    createdAt: 1_760_000_000_000,
    updatedAt: 1_760_000_000_000,
    finishedAt: null,
    lastQueriedAt: null,
    ...overrides,
  };
}

/**
 * The refunded and reserved totals a ledger implies, summed here rather than by the domain's ledgerTotals, so a test
 * of code built on ledgerTotals still has an independent answer.
 */
export function ledgerSums(ledger: Record<string, LedgerEntry>): { refundedFen: number; refundReservedFen: number } {
  const sum = (state: LedgerEntry['state']) => Object.values(ledger).filter((e) => e.state === state).reduce((t, e) => t + e.amountFen, 0);
  return { refundedFen: sum('SUCCEEDED'), refundReservedFen: sum('RESERVED') };
}
