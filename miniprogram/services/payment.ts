import { MONEY_TAKEN_STATUSES, type ErrorCode } from '@cashier/shared';
import type { OrderView, PayParams } from '@cashier/shared/contracts';
import { config } from '../config';
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
  | { kind: 'unconfirmed' }
  | { kind: 'failed'; code: ErrorCode | 'PAYMENT_FAILED' };

export type PayEvent =
  | { type: 'tap' }
  | { type: 'created' }
  | { type: 'createFailed'; code: ErrorCode }
  | { type: 'cashierClosed' }
  | { type: 'settled'; outcome: PayOutcome };

export type PayOutcome = 'paid' | 'cancelled' | 'failed' | 'unconfirmed';

/** Pure. A tap outside idle/cancelled/failed is ignored: that is the double-tap lock. */
export function nextPayState(state: PayState, event: PayEvent): PayState {
  switch (event.type) {
    case 'tap':
      return state.kind === 'idle' || state.kind === 'cancelled' || state.kind === 'failed' ? { kind: 'creating' } : state;
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

export const sandboxCashierPayer: Payer = (_params, orderNo) =>
  new Promise((resolve) => {
    let settled = false;
    const finish = (result: CashierResult) => {
      if (!settled) {
        settled = true;
        resolve(result);
      }
    };
    wx.navigateTo({
      url: `/pages/sandbox-cashier/index?orderNo=${encodeURIComponent(orderNo)}`,
      events: { result: (r: { result: CashierResult }) => finish(r.result) },
      fail: () => finish('fail'),
    });
  });

export function currentPayer(): Payer {
  return config.payer === 'wechat' ? wechatPayer : sandboxCashierPayer;
}

export interface ConfirmDeps {
  fetchOrder(orderNo: string): Promise<Result<OrderView>>;
  sleep(ms: number): Promise<void>;
  now(): number;
  intervalMs: number;
  windowMs: number;
}

/** What the server's order means for the payer; null while it is still waiting for payment. */
export function outcomeOf(order: OrderView): PayOutcome | null {
  if (MONEY_TAKEN_STATUSES.includes(order.status)) return 'paid';
  if (order.status === 'FAILED' || order.status === 'CLOSED') return 'failed';
  return null;
}

/**
 * After the cashier closes. "fail cancel" gets one silent server check (a dismissed signature error also ends as
 * cancel, and the user may have paid); success and other failures are confirmed by polling order.get every
 * intervalMs for up to windowMs. Never treats the client callback alone as paid.
 */
export async function confirmPayment(orderNo: string, cashier: CashierResult, deps: ConfirmDeps): Promise<PayOutcome> {
  if (cashier === 'cancel') {
    const answer = await deps.fetchOrder(orderNo);
    return answer.ok && outcomeOf(answer.data) === 'paid' ? 'paid' : 'cancelled';
  }
  const until = deps.now() + deps.windowMs;
  for (;;) {
    const answer = await deps.fetchOrder(orderNo);
    const outcome = answer.ok ? outcomeOf(answer.data) : null;
    if (outcome) return outcome;
    if (deps.now() + deps.intervalMs > until) return 'unconfirmed';
    await deps.sleep(deps.intervalMs);
  }
}

export const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
