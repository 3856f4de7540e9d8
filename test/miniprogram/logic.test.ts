import { confirmPayment, nextPayState, type ConfirmDeps, type PayState } from '../../miniprogram/services/payment';
import { canLaunchApp, recordScene } from '../../miniprogram/services/launch';
import type { OrderView } from '@cashier/shared';

describe('pay page state machine', () => {
  const idle: PayState = { kind: 'idle' };

  it('goes idle → creating → paying → confirming → paid', () => {
    let s = nextPayState(idle, { type: 'tap' });
    expect(s).toEqual({ kind: 'creating' });
    s = nextPayState(s, { type: 'created' });
    s = nextPayState(s, { type: 'cashierClosed' });
    expect(s).toEqual({ kind: 'confirming' });
    expect(nextPayState(s, { type: 'settled', outcome: 'paid' })).toEqual({ kind: 'paid' });
  });

  it('ignores taps while busy (the double-tap lock) and allows a retry after cancel or failure', () => {
    for (const busy of [{ kind: 'creating' }, { kind: 'paying' }, { kind: 'confirming' }, { kind: 'paid' }] as PayState[]) {
      expect(nextPayState(busy, { type: 'tap' })).toBe(busy);
    }
    expect(nextPayState({ kind: 'cancelled' }, { type: 'tap' })).toEqual({ kind: 'creating' });
    expect(nextPayState({ kind: 'creating' }, { type: 'createFailed', code: 'ORDER_EXPIRED' })).toEqual({ kind: 'failed', code: 'ORDER_EXPIRED' });
    expect(nextPayState({ kind: 'failed', code: 'PAYMENT_FAILED' }, { type: 'tap' })).toEqual({ kind: 'creating' });
  });

  it('ignores events that do not belong to the current state', () => {
    expect(nextPayState(idle, { type: 'settled', outcome: 'paid' })).toBe(idle);
    expect(nextPayState(idle, { type: 'created' })).toBe(idle);
  });
});

describe('confirmPayment', () => {
  const order = (status: OrderView['status']): OrderView => ({ orderNo: 'P1', ref: 'r', amountFen: 1, description: 'd', status, refundedFen: 0, createdAt: 0, expiresAt: 1, paidAt: null });
  function deps(statuses: Array<OrderView['status']>): ConfirmDeps & { calls: number; clock: number } {
    const state = {
      calls: 0,
      clock: 0,
      fetchOrder: async () => ({ ok: true as const, data: order(statuses[Math.min(state.calls++, statuses.length - 1)]!) }),
      sleep: async (ms: number) => void (state.clock += ms),
      now: () => state.clock,
      intervalMs: 2000,
      windowMs: 60_000,
    };
    return state;
  }

  it('polls every 2 s until the server says PAID', async () => {
    const d = deps(['PAYING', 'PAYING', 'PAID']);
    await expect(confirmPayment('P1', 'ok', d)).resolves.toBe('paid');
    expect(d.calls).toBe(3);
    expect(d.clock).toBe(4000);
  });

  it('gives up after 60 s as unconfirmed, never as paid', async () => {
    const d = deps(['PAYING']);
    await expect(confirmPayment('P1', 'ok', d)).resolves.toBe('unconfirmed');
    expect(d.clock).toBeLessThanOrEqual(60_000);
    expect(d.calls).toBe(31);
  });

  it('checks once, silently, after a cancel', async () => {
    const d = deps(['PAYING']);
    await expect(confirmPayment('P1', 'cancel', d)).resolves.toBe('cancelled');
    expect(d.calls).toBe(1);
    await expect(confirmPayment('P1', 'cancel', deps(['PAID']))).resolves.toBe('paid');
  });

  it('reports a failure the server confirms', async () => {
    await expect(confirmPayment('P1', 'fail', deps(['FAILED']))).resolves.toBe('failed');
  });
});

describe('launchApp scene rules', () => {
  it('allows it when opened from the app and through the scenes that keep the ability', () => {
    recordScene(1069);
    expect(canLaunchApp()).toBe(true);
    recordScene(1038);
    expect(canLaunchApp()).toBe(true);
    recordScene(1089);
    expect(canLaunchApp()).toBe(true);
  });

  it('loses it on any other scene, and does not regain it through a keeping scene', () => {
    recordScene(1069);
    recordScene(1011);
    expect(canLaunchApp()).toBe(false);
    recordScene(1038);
    expect(canLaunchApp()).toBe(false);
    recordScene(undefined);
    expect(canLaunchApp()).toBe(false);
  });
});
