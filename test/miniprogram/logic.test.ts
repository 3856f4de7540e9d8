import { confirmPayment, nextPayState, type ConfirmDeps, type PayState } from '../../miniprogram/services/payment';
import { appParameter, canLaunchApp, recordScene, refOfToken } from '../../miniprogram/services/launch';
import { modeFor } from '../../miniprogram/config';
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

  it('a non-cancel failure with nothing paid is one check and "not paid", never 60 s of "maybe paid"', async () => {
    const d = deps(['PAYING']);
    await expect(confirmPayment('P1', 'fail', d)).resolves.toBe('notPaid');
    expect(d.calls).toBe(1);
    await expect(confirmPayment('P1', 'fail', deps(['PAID']))).resolves.toBe('paid');
    // Only when the server cannot be asked is the outcome left unconfirmed.
    await expect(confirmPayment('P1', 'fail', { ...deps(['PAYING']), fetchOrder: async () => ({ ok: false as const, error: { code: 'NETWORK_ERROR' as const, message: 'x', retryable: true } }) })).resolves.toBe('unconfirmed');
  });

  it('stops polling once the page that asked is gone', async () => {
    let gone = false;
    const d = deps(['PAYING']);
    const polling = confirmPayment('P1', 'ok', { ...d, sleep: async (ms) => { d.clock += ms; gone = true; }, abandoned: () => gone });
    await expect(polling).resolves.toBe('unconfirmed');
    expect(d.calls).toBe(2);
  });

  it('after "not paid" a tap starts again', () => {
    expect(nextPayState({ kind: 'confirming' }, { type: 'settled', outcome: 'notPaid' })).toEqual({ kind: 'notPaid' });
    expect(nextPayState({ kind: 'notPaid' }, { type: 'tap' })).toEqual({ kind: 'creating' });
  });
});

describe('where it runs decides the mode', () => {
  it('is local only in DevTools on a development build set to the local stack', () => {
    expect(modeFor({ platform: 'devtools', envVersion: 'develop' }, 'local')).toBe('local');
    expect(modeFor({ platform: 'devtools', envVersion: 'develop' }, 'cloud')).toBe('cloud');
    // Review builds run as develop on a phone: never local.
    expect(modeFor({ platform: 'ios', envVersion: 'develop' }, 'local')).toBe('cloud');
    expect(modeFor({ platform: 'android', envVersion: 'release' }, 'local')).toBe('cloud');
    expect(modeFor({ platform: 'devtools', envVersion: 'trial' }, 'local')).toBe('cloud');
  });
});

describe('app-parameter', () => {
  const token = (payload: object) => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
  it('reads the ref of a checkout token for 返回App, and nothing from a broken one', () => {
    expect(refOfToken(token({ ref: 'A-123_x', amount_fen: 1, description: '会员月卡' }))).toBe('A-123_x');
    expect(refOfToken(token({ ref: '<script>' }))).toBeNull();
    expect(refOfToken('not a token')).toBeNull();
    expect(refOfToken('a.%%%.b')).toBeNull();
  });
  it('is never empty', () => {
    expect(JSON.parse(appParameter(null, null))).toEqual({ ref: '', status: 'UNKNOWN' });
    expect(JSON.parse(appParameter('A1', 'PAID'))).toEqual({ ref: 'A1', status: 'PAID' });
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

describe('session', () => {
  /** A wx whose function host answers with `answer(fn, data)`, counting logins and calls. */
  function fakeWx(answer: (fn: string, data: Record<string, unknown>) => unknown) {
    const seen = { logins: 0, calls: [] as Array<{ fn: string; data: Record<string, unknown> }> };
    const storage = new Map<string, unknown>();
    (globalThis as unknown as { wx: unknown }).wx = {
      getAccountInfoSync: () => ({ miniProgram: { envVersion: 'develop' } }),
      getDeviceInfo: () => ({ platform: 'devtools' }),
      login: (o: { success(r: { code: string }): void }) => setTimeout(() => o.success({ code: `code-${++seen.logins}` }), 5),
      request: (o: { url: string; data: Record<string, unknown>; success(r: { statusCode: number; data: unknown }): void }) => {
        const fn = o.url.split('/').pop()!;
        seen.calls.push({ fn, data: o.data });
        setTimeout(() => o.success({ statusCode: 200, data: answer(fn, o.data) }), 5);
      },
      getStorageSync: (k: string) => storage.get(k) ?? '',
      setStorageSync: (k: string, v: unknown) => void storage.set(k, v),
      removeStorageSync: (k: string) => void storage.delete(k),
    };
    return seen;
  }
  const loggedIn = { ok: true, data: { sessionToken: 'token-'.padEnd(24, 'x'), expiresAt: Date.now() + 3_600_000 } };
  const refused = { ok: false, error: { code: 'UNAUTHENTICATED', message: '登录已失效，请重新进入', retryable: true } };

  beforeEach(() => jest.resetModules());

  it('concurrent calls share one login', async () => {
    const seen = fakeWx((fn) => (fn === 'login' ? loggedIn : { ok: true, data: {} }));
    const { callWithSession } = require('../../miniprogram/services/session');
    await Promise.all([callWithSession('order', { action: 'list' }), callWithSession('order', { action: 'list' }), callWithSession('order', { action: 'list' })]);
    expect(seen.logins).toBe(1);
    expect(seen.calls.filter((c) => c.fn === 'login')).toHaveLength(1);
  });

  it('renews once when the server refuses the session, and never sends an empty token', async () => {
    const seen = fakeWx((fn) => (fn === 'login' ? loggedIn : refused));
    const { callWithSession } = require('../../miniprogram/services/session');
    const answer = await callWithSession('order', { action: 'list' });
    expect(answer).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    const orderCalls = seen.calls.filter((c) => c.fn === 'order');
    expect(orderCalls).toHaveLength(2);
    for (const c of orderCalls) expect(String(c.data.sessionToken).length).toBeGreaterThan(0);
  });

  it('a login code WeChat calls used is replaced by one fresh wx.login, not more', async () => {
    const used = { ok: false, error: { code: 'LOGIN_CODE_USED', message: '登录凭证已使用，请重新进入小程序', retryable: true } };
    const seen = fakeWx((fn) => (fn === 'login' ? used : { ok: true, data: {} }));
    const { ensureSession } = require('../../miniprogram/services/session');
    expect(await ensureSession()).toMatchObject({ ok: false, error: { code: 'LOGIN_CODE_USED' } });
    expect(seen.logins).toBe(2);
  });
});
