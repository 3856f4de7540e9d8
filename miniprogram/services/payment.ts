import { MONEY_TAKEN_STATUSES, type ErrorCode } from '@cashier/shared';
import type { OrderView, PayParams } from '@cashier/shared/contracts';
import { config, payerKind } from '../config';
import { isGone } from './lifetime';
import { fetchOrder } from './orders';
import type { Result } from './transport';

/**
 * The pay page is a state machine, not a lock flag. A successful wx.requestPayment only means the user finished in
 * WeChat, so "paid" is only ever what the server confirms.
 */
export type PayState =
  | { kind: 'idle' }
  | { kind: 'creating' }
  | { kind: 'paying' }
  | { kind: 'confirming' }
  | { kind: 'paid' }
  | { kind: 'cancelled' }
  | { kind: 'notPaid' }
  | { kind: 'unconfirmed' }
  | { kind: 'failed'; code: ErrorCode | 'PAYMENT_FAILED' };

export type PayEvent =
  | { type: 'tap' }
  | { type: 'created' }
  | { type: 'createFailed'; code: ErrorCode }
  | { type: 'cashierClosed' }
  | { type: 'settled'; outcome: PayOutcome };

/**
 * paid: the server has the money. cancelled: the user closed the cashier. notPaid: the cashier failed (a signature or
 * permission error, say) and the server confirms nothing was paid; the order can still be paid. failed: the order
 * itself failed or closed. unconfirmed: the server could not confirm in time; the money may be in flight.
 */
export type PayOutcome = 'paid' | 'cancelled' | 'notPaid' | 'failed' | 'unconfirmed';

const TAPPABLE: ReadonlyArray<PayState['kind']> = ['idle', 'cancelled', 'notPaid', 'failed'];

/** Pure. A tap outside idle/cancelled/notPaid/failed is ignored: that is the double-tap lock. */
export function nextPayState(state: PayState, event: PayEvent): PayState {
  switch (event.type) {
    case 'tap':
      return TAPPABLE.includes(state.kind) ? { kind: 'creating' } : state;
    case 'created':
      return state.kind === 'creating' ? { kind: 'paying' } : state;
    case 'createFailed':
      return state.kind === 'creating' ? { kind: 'failed', code: event.code } : state;
    case 'cashierClosed':
      return state.kind === 'paying' ? { kind: 'confirming' } : state;
    case 'settled':
      if (state.kind !== 'paying' && state.kind !== 'confirming') return state;
      if (event.outcome === 'failed') return { kind: 'failed', code: 'PAYMENT_FAILED' };
      return { kind: event.outcome };
  }
}

export type CashierResult = 'ok' | 'cancel' | 'fail';

/** Opens the cashier for these params: WeChat's, or the sandbox cashier page in local mode. */
export type Payer = (params: PayParams, orderNo: string) => Promise<CashierResult>;

export const wechatPayer: Payer = (params) =>
  new Promise((resolve) => {
    wx.requestPayment({
      ...params,
      signType: params.signType as 'RSA',
      success: () => resolve('ok'),
      fail: (err) => resolve(/cancel/.test(err.errMsg) ? 'cancel' : 'fail'),
    });
  });

/** The sandbox cashier page answers on this channel event; it also answers `cancel` when it is left some other way. */
export const SANDBOX_RESULT_EVENT = 'result';

/** The first answer counts (a promise settles once): a `cancel` sent as the page unloads after a result is ignored. */
export const sandboxCashierPayer: Payer = (_params, orderNo) =>
  new Promise((resolve) => {
    wx.navigateTo({
      url: `/pages/sandbox-cashier/index?orderNo=${encodeURIComponent(orderNo)}`,
      events: { [SANDBOX_RESULT_EVENT]: (r: { result: CashierResult }) => resolve(r.result) },
      fail: () => resolve('fail'),
    });
  });

export function currentPayer(): Payer {
  return payerKind() === 'wechat' ? wechatPayer : sandboxCashierPayer;
}

export interface ConfirmDeps {
  fetchOrder(orderNo: string): Promise<Result<OrderView>>;
  sleep(ms: number): Promise<void>;
  now(): number;
  intervalMs: number;
  windowMs: number;
  /** True once the page that asked is gone: polling stops (its answer is then not used). */
  abandoned?(): boolean;
}

/** What the server's order means for the payer; null while it is still waiting for payment. */
export function outcomeOf(order: OrderView): PayOutcome | null {
  if (MONEY_TAKEN_STATUSES.includes(order.status)) return 'paid';
  if (order.status === 'FAILED' || order.status === 'CLOSED') return 'failed';
  return null;
}

/**
 * After the cashier closes; never treats the client callback alone as paid.
 * - cancel: one silent server check (a dismissed signature error also ends as cancel, and the user may have paid).
 * - fail (not a cancel: a signature, permission or appid error): one server check. Nothing can be in flight, so
 *   unless the server has the money or the order failed, the payment simply did not go through: notPaid.
 * - ok: poll order.get every intervalMs for up to windowMs; the notification may still be on its way.
 */
export async function confirmPayment(orderNo: string, cashier: CashierResult, deps: ConfirmDeps): Promise<PayOutcome> {
  if (cashier === 'cancel' || cashier === 'fail') {
    const answer = await deps.fetchOrder(orderNo);
    if (!answer.ok) return cashier === 'cancel' ? 'cancelled' : 'unconfirmed';
    const outcome = outcomeOf(answer.data);
    if (outcome === 'paid') return 'paid';
    if (cashier === 'cancel') return 'cancelled';
    return outcome ?? 'notPaid';
  }
  const until = deps.now() + deps.windowMs;
  for (;;) {
    const answer = await deps.fetchOrder(orderNo);
    const outcome = answer.ok ? outcomeOf(answer.data) : null;
    if (outcome) return outcome;
    if (deps.abandoned?.() || deps.now() + deps.intervalMs > until) return 'unconfirmed';
    await deps.sleep(deps.intervalMs);
  }
}

export const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** confirmPayment with the app's settings, for a page: it stops when the page is gone. */
export function confirmForPage(orderNo: string, cashier: CashierResult, page: object): Promise<PayOutcome> {
  return confirmPayment(orderNo, cashier, {
    fetchOrder,
    sleep: realSleep,
    now: () => Date.now(),
    intervalMs: config.confirmIntervalMs,
    windowMs: config.confirmWindowMs,
    abandoned: () => isGone(page),
  });
}
