import { confirmPayment, nextPayState, type ConfirmDeps, type PayState } from '../../miniprogram/services/payment';
import { appParameter, canLaunchApp, recordScene, refOfToken } from '../../miniprogram/services/launch';
import { modeFor } from '../../miniprogram/config';
import { errorBody, type OrderView } from '@cashier/shared';

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
    // A late create failure or cashier close must not pull a page out of paying or confirming.
    const paying: PayState = { kind: 'paying' };
    const confirming: PayState = { kind: 'confirming' };
    expect(nextPayState(paying, { type: 'createFailed', code: 'NETWORK_ERROR' })).toBe(paying);
    expect(nextPayState(confirming, { type: 'cashierClosed' })).toBe(confirming);
    expect(nextPayState({ kind: 'creating' }, { type: 'settled', outcome: 'paid' })).toEqual({ kind: 'creating' });
  });

  it('settles from paying as from confirming (the cashier can report before the page moved on)', () => {
    expect(nextPayState({ kind: 'paying' }, { type: 'settled', outcome: 'cancelled' })).toEqual({ kind: 'cancelled' });
    expect(nextPayState({ kind: 'paying' }, { type: 'settled', outcome: 'failed' })).toEqual({ kind: 'failed', code: 'PAYMENT_FAILED' });
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
  const serverUnreachable = async () => ({ ok: false as const, error: errorBody('NETWORK_ERROR') });

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

  it('reports a failure the server confirms: the trade failed or the order closed', async () => {
    await expect(confirmPayment('P1', 'fail', deps(['FAILED']))).resolves.toBe('failed');
    await expect(confirmPayment('P1', 'fail', deps(['CLOSED']))).resolves.toBe('failed');
    await expect(confirmPayment('P1', 'ok', deps(['PAYING', 'CLOSED']))).resolves.toBe('failed');
  });

  it('a cancel stays a cancel when the server cannot be asked', async () => {
    await expect(confirmPayment('P1', 'cancel', { ...deps(['PAID']), fetchOrder: serverUnreachable })).resolves.toBe('cancelled');
  });

  it('a non-cancel failure with nothing paid is one check and "not paid", never 60 s of "maybe paid"', async () => {
    const d = deps(['PAYING']);
    await expect(confirmPayment('P1', 'fail', d)).resolves.toBe('notPaid');
    expect(d.calls).toBe(1);
    await expect(confirmPayment('P1', 'fail', deps(['PAID']))).resolves.toBe('paid');
    // Only when the server cannot be asked is the outcome left unconfirmed.
    await expect(confirmPayment('P1', 'fail', { ...deps(['PAYING']), fetchOrder: serverUnreachable })).resolves.toBe('unconfirmed');
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
    // The ref goes into app-parameter: all of it must be a ref, not just its start or its end.
    expect(refOfToken(token({ ref: 'A1"}<script>' }))).toBeNull();
    expect(refOfToken(token({ ref: '<script>A1' }))).toBeNull();
    expect(refOfToken(token({ ref: 'R'.repeat(64) }))).toBe('R'.repeat(64));
    expect(refOfToken(token({ ref: 'R'.repeat(65) }))).toBeNull();
  });

  it('reads only base64url: a character outside it breaks the token, even where the rest would decode', () => {
    const payload = Buffer.from('{"ref":"A1"}').toString('base64url'); // 12 bytes: 16 characters, no partial byte
    expect(refOfToken(`h.${payload}.s`)).toBe('A1');
    for (const stray of ['=', '+', '/', '!']) expect(refOfToken(`h.${payload}${stray}.s`)).toBeNull();
  });

  it('does not decode a payload longer than 4096 characters (a link is short; this runs on the phone)', () => {
    /** A payload of exactly `length` base64url characters (a multiple of 4) carrying ref A1. */
    const sized = (length: number) => {
      const bytes = (length / 4) * 3;
      const json = `{"ref":"A1","pad":"${'x'.repeat(bytes - 21)}"}`;
      const payload = Buffer.from(json).toString('base64url');
      expect(payload).toHaveLength(length);
      return `h.${payload}.s`;
    };
    expect(refOfToken(sized(4096))).toBe('A1');
    expect(refOfToken(sized(4100))).toBeNull();
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

/** A wx in DevTools (local mode) whose function host answers with `answer(fn, data)`, counting logins and calls. */
function fakeWx(answer: (fn: string, data: Record<string, unknown>) => unknown, stored?: unknown) {
  const seen = {
    logins: 0,
    calls: [] as Array<{ fn: string; data: Record<string, unknown> }>,
    storage: new Map<string, unknown>(stored === undefined ? [] : [['cashier.session', stored]]),
  };
  const { storage } = seen;
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

describe('session', () => {
  const loggedIn = { ok: true, data: { sessionToken: 'token-'.padEnd(24, 'x'), expiresAt: Date.now() + 3_600_000 } };
  const refused = { ok: false, error: { code: 'UNAUTHENTICATED', message: '登录已失效，请重新进入', retryable: true } };

  beforeEach(() => jest.resetModules());
  afterEach(() => jest.restoreAllMocks());
  const orderTokens = (seen: { calls: Array<{ fn: string; data: Record<string, unknown> }> }) => seen.calls.filter((c) => c.fn === 'order').map((c) => c.data.sessionToken);

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
    expect(seen.logins).toBe(2); // the refusal made a new login
    for (const c of orderCalls) expect(String(c.data.sessionToken).length).toBeGreaterThan(0);
  });

  it('uses the session kept in storage (a new launch) without logging in', async () => {
    const seen = fakeWx((fn) => (fn === 'login' ? loggedIn : { ok: true, data: {} }), { token: 'stored-token', expiresAt: Date.now() + 3_600_000 });
    const { callWithSession } = require('../../miniprogram/services/session');
    await callWithSession('order', { action: 'list' });
    expect(seen.logins).toBe(0);
    expect(orderTokens(seen)).toEqual(['stored-token']);
  });

  it('logs in instead of trusting anything else found in storage', async () => {
    const later = Date.now() + 3_600_000;
    for (const junk of ['', 'stored-token', null, { token: 5, expiresAt: later }, { token: 'stored-token', expiresAt: String(later) }, { expiresAt: later }, { token: 'stored-token' }]) {
      jest.resetModules();
      const seen = fakeWx((fn) => (fn === 'login' ? loggedIn : { ok: true, data: {} }), junk);
      const { callWithSession } = require('../../miniprogram/services/session');
      await callWithSession('order', { action: 'list' });
      expect({ junk, logins: seen.logins, sent: orderTokens(seen) }).toEqual({ junk, logins: 1, sent: [loggedIn.data.sessionToken] });
    }
  });

  it('renews a session that expires within a minute, before the server refuses it', async () => {
    const now = 1_900_000_000_000;
    jest.spyOn(Date, 'now').mockReturnValue(now);
    for (const [expiresAt, logins] of [[now + 60_000, 1], [now + 60_001, 0]] as const) {
      jest.resetModules();
      const seen = fakeWx((fn) => (fn === 'login' ? loggedIn : { ok: true, data: {} }), { token: 'stored-token', expiresAt });
      const { callWithSession } = require('../../miniprogram/services/session');
      await callWithSession('order', { action: 'list' });
      expect({ expiresAt, logins: seen.logins }).toEqual({ expiresAt, logins });
    }
  });

  it('keeps the session it made: a second ensureSession does not log in again', async () => {
    const seen = fakeWx((fn) => (fn === 'login' ? loggedIn : { ok: true, data: {} }));
    const { ensureSession } = require('../../miniprogram/services/session');
    expect(await ensureSession()).toEqual({ ok: true, data: loggedIn.data.sessionToken });
    expect(await ensureSession()).toEqual({ ok: true, data: loggedIn.data.sessionToken });
    expect(seen.logins).toBe(1);
  });

  it('a refused session is dropped for good, even when the new login fails', async () => {
    let logins = 0;
    const down = { ok: false, error: errorBody('WECHAT_UNAVAILABLE') };
    const seen = fakeWx((fn) => (fn === 'login' ? (++logins === 1 ? down : loggedIn) : refused), { token: 'refused-token', expiresAt: Date.now() + 3_600_000 });
    const { callWithSession, sessionAtHand } = require('../../miniprogram/services/session');
    expect(await callWithSession('order', { action: 'list' })).toMatchObject({ ok: false, error: { code: 'WECHAT_UNAVAILABLE' } });
    expect(orderTokens(seen)).toEqual(['refused-token']);
    expect(sessionAtHand()).toBeNull();
    expect(seen.storage.has('cashier.session')).toBe(false);
  });

  it('any other refusal is the answer: no renewal, no second call', async () => {
    const notFound = { ok: false, error: errorBody('ORDER_NOT_FOUND') };
    const seen = fakeWx((fn) => (fn === 'login' ? loggedIn : notFound));
    const { callWithSession } = require('../../miniprogram/services/session');
    expect(await callWithSession('order', { action: 'get', orderNo: 'P1' })).toEqual(notFound);
    expect(seen.logins).toBe(1);
    expect(orderTokens(seen)).toHaveLength(1);
  });

  it('an invalid login code is replaced by one fresh wx.login, like a used one', async () => {
    const invalid = { ok: false, error: errorBody('LOGIN_CODE_INVALID') };
    const seen = fakeWx((fn) => (fn === 'login' ? invalid : { ok: true, data: {} }));
    const { ensureSession } = require('../../miniprogram/services/session');
    expect(await ensureSession()).toEqual(invalid);
    expect(seen.logins).toBe(2);
  });

  it('a login code WeChat calls used is replaced by one fresh wx.login, not more', async () => {
    const used = { ok: false, error: { code: 'LOGIN_CODE_USED', message: '登录凭证已使用，请重新进入小程序', retryable: true } };
    const seen = fakeWx((fn) => (fn === 'login' ? used : { ok: true, data: {} }));
    const { ensureSession } = require('../../miniprogram/services/session');
    expect(await ensureSession()).toMatchObject({ ok: false, error: { code: 'LOGIN_CODE_USED' } });
    expect(seen.logins).toBe(2);
  });
});

describe('preview', () => {
  const previewed = { ok: true, data: { ref: 'A1', amountFen: 1, description: 'd', existingOrder: null } };
  const freshLogin = { ok: true, data: { sessionToken: 'fresh-token', expiresAt: Date.now() + 3_600_000 } };
  const previewWx = (stored?: unknown) => fakeWx((fn) => (fn === 'login' ? freshLogin : previewed), stored);
  const previewToken = (seen: ReturnType<typeof previewWx>) => seen.calls.find((c) => c.fn === 'order')!.data.sessionToken;
  beforeEach(() => jest.resetModules());

  it('is anonymous without a session at hand, so the page need not wait for the login', async () => {
    const seen = previewWx();
    const { fetchPreview } = require('../../miniprogram/services/orders');
    expect(await fetchPreview('t')).toEqual(previewed);
    expect(seen.logins).toBe(0);
    expect(previewToken(seen)).toBeUndefined();
  });

  it('carries the session at hand, so it can tell this user their existing order', async () => {
    const seen = previewWx({ token: 'stored-token', expiresAt: Date.now() + 3_600_000 });
    const { fetchPreview } = require('../../miniprogram/services/orders');
    await fetchPreview('t');
    expect(seen.logins).toBe(0);
    expect(previewToken(seen)).toBe('stored-token');
  });

  it('logs in first when asked to (after ORDER_ALREADY_PAID the page needs this user\'s order)', async () => {
    const seen = previewWx();
    const { fetchPreview } = require('../../miniprogram/services/orders');
    await fetchPreview('t', { needSession: true });
    expect(seen.logins).toBe(1);
    expect(previewToken(seen)).toBe('fresh-token');
  });
});

describe('transport', () => {
  beforeEach(() => jest.resetModules());
  /** A wx on a phone (cloud mode) whose wx.cloud.callFunction answers as told. */
  function cloudWx(reply: (o: { success(r: { result: unknown }): void; fail(e: unknown): void }) => void) {
    const sent: Array<{ name: string; data: unknown }> = [];
    (globalThis as unknown as { wx: unknown }).wx = {
      getAccountInfoSync: () => ({ miniProgram: { envVersion: 'release' } }),
      getDeviceInfo: () => ({ platform: 'ios' }),
      request: () => {
        throw new Error('wx.request must not be used in cloud mode');
      },
      cloud: {
        callFunction: (o: { name: string; data: unknown; success(r: { result: unknown }): void; fail(e: unknown): void }) => {
          sent.push({ name: o.name, data: o.data });
          setTimeout(() => reply(o), 1);
        },
      },
    };
    return sent;
  }
  const networkError = { ok: false, error: errorBody('NETWORK_ERROR') };

  it('calls the cloud function on a phone and hands back its answer', async () => {
    const answer = { ok: false, error: errorBody('ORDER_NOT_FOUND') };
    const sent = cloudWx((o) => o.success({ result: answer }));
    const { callFunction } = require('../../miniprogram/services/transport');
    expect(await callFunction('order', { action: 'get', orderNo: 'P1' })).toEqual(answer);
    expect(sent).toEqual([{ name: 'order', data: { action: 'get', orderNo: 'P1' } }]);
  });

  it('turns a failed cloud call, or an answer that is not ours, into NETWORK_ERROR', async () => {
    for (const reply of [(o: { fail(e: unknown): void }) => o.fail({ errMsg: 'cloud.callFunction:fail timeout' }), (o: { success(r: { result: unknown }): void }) => o.success({ result: null })]) {
      jest.resetModules();
      cloudWx(reply as never);
      const { callFunction } = require('../../miniprogram/services/transport');
      expect(await callFunction('order', {})).toEqual(networkError);
    }
  });

  it('accepts only a body with a boolean ok from the local host; anything else is NETWORK_ERROR', async () => {
    for (const body of [null, undefined, '', '<html>502 Bad Gateway</html>', 0, {}, { ok: 'true', data: {} }, { data: { order: {} } }]) {
      jest.resetModules();
      fakeWx(() => body);
      const { callFunction } = require('../../miniprogram/services/transport');
      expect({ body, answer: await callFunction('order', {}) }).toEqual({ body, answer: networkError });
    }
    jest.resetModules();
    fakeWx(() => ({ ok: true, data: { n: 1 } }));
    const { callFunction } = require('../../miniprogram/services/transport');
    expect(await callFunction('order', {})).toEqual({ ok: true, data: { n: 1 } });
  });
});

describe('sandbox cashier payer', () => {
  it('hears the first answer from the cashier page, and "fail" when the page cannot open', async () => {
    let open: { events: Record<string, (r: { result: string }) => void>; fail(): void } | null = null;
    (globalThis as unknown as { wx: unknown }).wx = { navigateTo: (o: typeof open) => void (open = o) };
    const { sandboxCashierPayer } = require('../../miniprogram/services/payment');
    const paid = sandboxCashierPayer({}, 'P1');
    open!.events.result!({ result: 'ok' });
    open!.events.result!({ result: 'cancel' }); // sent as the page unloads
    await expect(paid).resolves.toBe('ok');
    const refused = sandboxCashierPayer({}, 'P2');
    open!.fail();
    await expect(refused).resolves.toBe('fail');
  });
});

describe('toast', () => {
  afterEach(() => jest.dontMock('tdesign-miniprogram/toast/index'));

  it('shows the message in the page\'s #t-toast, and never throws when the page has none', () => {
    const shown: unknown[] = [];
    let broken = false;
    jest.resetModules();
    jest.doMock('tdesign-miniprogram/toast/index', () => ({
      __esModule: true,
      default: (options: unknown) => {
        if (broken) throw new Error('no #t-toast');
        shown.push(options);
      },
    }));
    const { toast } = require('../../miniprogram/services/toast');
    const page = { is: 'pages/checkout/index' };
    toast(page, '网络不稳定，请检查网络后重试', 'error');
    expect(shown).toEqual([{ context: page, selector: '#t-toast', message: '网络不稳定，请检查网络后重试', theme: 'error', duration: 2000 }]);
    broken = true;
    expect(() => toast(page, 'x')).not.toThrow();
  });
});
