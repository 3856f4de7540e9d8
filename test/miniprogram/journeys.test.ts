/**
 * The real pages under miniprogram-simulate (jsdom), talking to a real local stack in a child process: the `wx` of
 * support/wx.ts logs in at the WeChat sandbox, calls the function host over loopback HTTP, and pays at the Huifu
 * sandbox, which notifies payNotify as Huifu would. Journeys are driven through the rendered WXML (taps on the
 * components the user sees) and wait for what the page shows, never for a fixed time.
 */
import { createHmac } from 'node:crypto';
import path from 'node:path';
import simulate from 'miniprogram-simulate';
import { startLocalStack, type LocalStack } from './support/local-stack';
import { readLocalKeys } from '../../scripts/lib/local-keys';
import { createTestWx, sequentialCalls, type TestWx } from './support/wx';

/** A checkout token as the README tells an app backend to make it (HS256 JWT), written out by hand. */
function hs256(secret: string, claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

const mpRoot = path.resolve(__dirname, '../../miniprogram');
let stack: LocalStack;

beforeAll(async () => {
  // Orders live 90 minutes here: the orders page's countdown must show hours.
  stack = await startLocalStack({ ORDER_TTL_MINUTES: '90' });
}, 60_000);
afterAll(() => stack.stop());

let userCounter = 0;
/** A fresh module registry per journey, the app launched in `scene` inside DevTools (local mode), a wx for a new user. */
function launch(scene: number, options: { payer?: 'wechat' | 'sandbox-cashier'; confirmWindowMs?: number } = {}): TestWx {
  jest.resetModules();
  loaded = new Map();
  const { config } = require('../../miniprogram/config');
  Object.assign(config, { localFunctionsUrl: stack.functionsUrl, localHuifuSandboxUrl: stack.huifuUrl, confirmIntervalMs: 100, confirmWindowMs: options.confirmWindowMs ?? 10_000 });
  if ((options.payer ?? 'wechat') === 'wechat') require('../../miniprogram/config').useWechatPayerLocally();
  const wx = createTestWx(stack, `o_mp_user_${Date.now()}_${++userCounter}`);
  wx.install();
  (globalThis as unknown as { App: (o: { onLaunch(x: { scene: number }): void; onShow(x: { scene: number }): void }) => void }).App = (o) => {
    o.onLaunch({ scene });
    o.onShow({ scene });
  };
  require('../../miniprogram/app');
  return wx;
}

type Page = ReturnType<typeof simulate.render>;
/** simulate.load registers a page once per module registry; launch() starts a new registry. */
let loaded = new Map<string, string>();
function loadPage(name: string): Page {
  const id = loaded.get(name) ?? simulate.load(path.join(mpRoot, 'pages', name, 'index'), { rootPath: mpRoot });
  loaded.set(name, id);
  const page = simulate.render(id) as Page;
  page.attach(document.createElement('parent-wrapper'));
  return page;
}

/** Waits until `check` holds, polling; fails with what was last seen. */
async function until<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Taps a rendered component, as the user's finger would. */
function tap(page: Page, selector: string): void {
  const node = page.querySelector(selector);
  if (!node) throw new Error(`${selector} is not on the page:\n${page.dom!.innerHTML.slice(0, 2000)}`);
  node.dispatchEvent('tap');
}

function resultQuery(navigation: string | undefined): Record<string, string> {
  expect(navigation).toMatch(/^(redirectTo|navigateTo) \/pages\/result\/index\?/);
  return Object.fromEntries(new URLSearchParams(navigation!.split('?')[1]));
}

async function openCheckout(amount = '0.01', description = '测试商品'): Promise<Page> {
  const page = loadPage('checkout');
  page.instance.onLoad({ t: encodeURIComponent(stack.checkoutToken(amount, description)) });
  await until('the pay button', () => page.data.phase === 'ready' || page.data.phase === 'error');
  expect(page.data).toMatchObject({ phase: 'ready', description });
  return page;
}

/** The page's login call (started beside the preview) has had its answer. */
const loginAnswered = (wx: TestWx) => wx.calls.some((c) => c.fn === 'login' && c.end !== Number.POSITIVE_INFINITY);

const resultNavigation = (wx: TestWx) => until('the result page', () => wx.navigations.find((n) => n.includes('/pages/result/')));

async function orderFromServer(orderNo: string): Promise<{ status: string }> {
  const res = await fetch(`${stack.huifuUrl}/_sandbox/trades/${orderNo}`);
  return { status: ((await res.json()) as { state: string }).state };
}

describe('checkout journeys', () => {
  it('the default local path: the sandbox cashier page pays, and the result offers 返回App with the order', async () => {
    const wx = launch(1069, { payer: 'sandbox-cashier' });
    const checkout = await openCheckout('0.01');
    tap(checkout, '#pay-btn');
    await until('the sandbox cashier', () => wx.navigations.find((n) => n.startsWith('navigateTo /pages/sandbox-cashier/')));
    const cashier = loadPage('sandbox-cashier');
    const orderNo = new URLSearchParams(wx.navigations[0]!.split('?')[1]).get('orderNo')!;
    (cashier.instance as unknown as { getOpenerEventChannel(): unknown }).getOpenerEventChannel = () => ({ emit: (name: string, data: unknown) => wx.openerEvents![name]!(data) });
    cashier.instance.onLoad({ orderNo: encodeURIComponent(orderNo) });
    await until('the amount', () => cashier.data.amountText === '¥0.01');
    tap(cashier, '#sandbox-pay');
    const query = resultQuery(await resultNavigation(wx));
    expect(query).toMatchObject({ orderNo, outcome: 'paid' });
    expect(wx.payRequests).toBe(0); // no wx.requestPayment in local mode

    const result = loadPage('result');
    result.instance.onLoad(query);
    await until('the server\'s answer', () => result.data.amountText);
    expect(result.data).toMatchObject({ theme: 'success', title: '支付成功', showLaunchApp: true });
    expect(JSON.parse(result.data.appParameter as string)).toEqual({ ref: expect.stringMatching(/^DEMO/), status: 'PAID' });
    expect(result.dom!.innerHTML).toContain('返回App');
  });

  it('leaving the sandbox cashier by the back gesture reports a cancel: checkout never stays "paying"', async () => {
    const wx = launch(1069, { payer: 'sandbox-cashier' });
    const checkout = await openCheckout();
    tap(checkout, '#pay-btn');
    await until('the sandbox cashier', () => wx.openerEvents);
    const cashier = loadPage('sandbox-cashier');
    (cashier.instance as unknown as { getOpenerEventChannel(): unknown }).getOpenerEventChannel = () => ({ emit: (name: string, data: unknown) => wx.openerEvents![name]!(data) });
    cashier.detach();
    await until('the cancel', () => checkout.data.hint === '已取消支付');
    expect(checkout.data).toMatchObject({ busy: false, buttonText: '继续支付' });
  });

  it('scene 1069 with wx.requestPayment: the button after one round trip, the payment sheet after one more', async () => {
    const wx = launch(1069);
    const checkout = await openCheckout('0.01');
    // Preview and login started together: the button waited for one round trip (the preview), not two in a row.
    const shownAt = performance.now();
    const beforeButton = wx.calls.filter((c) => c.start <= shownAt);
    expect(wx.logins).toBe(1); // wx.login was under way; its function call may start after the button on a loaded machine
    expect(beforeButton.map((c) => c.action ?? c.fn)).toContain('preview');
    expect(sequentialCalls(beforeButton.map((c) => ({ ...c, end: Math.min(c.end, shownAt) })))).toBe(1);
    // A user reads the page before tapping: by then the background login is done, and the tap costs one round trip.
    await until('the background login', () => loginAnswered(wx));
    const tappedAt = performance.now();
    tap(checkout, '#pay-btn');
    const query = resultQuery(await resultNavigation(wx));
    expect(query.outcome).toBe('paid');
    expect(wx.payRequests).toBe(1);
    const beforeSheet = wx.calls.filter((c) => c.start >= tappedAt && c.action === 'create');
    expect(beforeSheet).toHaveLength(1);
    expect(wx.calls.filter((c) => c.start >= tappedAt && c.start < beforeSheet[0]!.end)).toHaveLength(1); // nothing else before the sheet
    expect(wx.logins).toBe(1);
  });

  it('ignores a second tap while the first payment is under way', async () => {
    const wx = launch(1069);
    const checkout = await openCheckout();
    tap(checkout, '#pay-btn');
    tap(checkout, '#pay-btn');
    await resultNavigation(wx);
    expect(wx.payRequests).toBe(1);
    expect(wx.navigations).toHaveLength(1);
  });

  it('cancel: one silent server check, then the page stays with "继续支付" on the same order', async () => {
    const wx = launch(1069);
    wx.cashier = 'cancel';
    const checkout = await openCheckout();
    tap(checkout, '#pay-btn');
    await until('the cancel hint', () => checkout.data.hint === '已取消支付');
    expect(wx.navigations).toEqual([]);
    expect(checkout.data).toMatchObject({ buttonText: '继续支付', busy: false });
    wx.cashier = 'pay';
    tap(checkout, '#pay-btn');
    expect(resultQuery(await resultNavigation(wx)).outcome).toBe('paid');
    expect(wx.payRequests).toBe(2);
  });

  it('a cancel reported after the money was taken still ends paid, because the server says so', async () => {
    const wx = launch(1069);
    wx.cashier = 'payThenCancelled';
    const checkout = await openCheckout();
    tap(checkout, '#pay-btn');
    expect(resultQuery(await resultNavigation(wx)).outcome).toBe('paid');
  });

  it('a payment sheet failure with nothing paid says so at once and lets the user pay again', async () => {
    const wx = launch(1069);
    wx.cashier = 'failNothingPaid';
    const checkout = await openCheckout();
    tap(checkout, '#pay-btn');
    await until('the "not paid" hint', () => checkout.data.hint === '支付未成功，未扣款，可重新支付');
    expect(wx.calls.filter((c) => c.action === 'get')).toHaveLength(1); // one check, not 60 s of polling
    expect(wx.navigations).toEqual([]);
    expect(checkout.dom!.innerHTML).not.toContain('请勿重复支付');
    wx.cashier = 'pay';
    tap(checkout, '#pay-btn');
    expect(resultQuery(await resultNavigation(wx)).outcome).toBe('paid');
  });

  it('a bank refusal → the failed result, whose words match what the user can do', async () => {
    const wx = launch(1069);
    wx.cashier = 'fail';
    const checkout = await openCheckout();
    tap(checkout, '#pay-btn');
    const query = resultQuery(await resultNavigation(wx));
    expect(query.outcome).toBe('failed');
    expect(await orderFromServer(query.orderNo!)).toEqual({ status: 'F' });
    const result = loadPage('result');
    result.instance.onLoad(query);
    await until('the server\'s answer', () => result.data.amountText);
    expect(result.data).toMatchObject({ theme: 'error', outcome: 'failed', description: '订单未支付成功，请返回 App 重新发起支付' });
    tap(result, '#orders-btn');
    await until('the orders page', () => wx.navigations.includes('navigateTo /pages/orders/index'));
  });

  it('money that never arrives is "确认中" with a refresh, never "paid"', async () => {
    const wx = launch(1069, { confirmWindowMs: 600 });
    wx.cashier = 'okNeverPaid';
    const checkout = await openCheckout();
    tap(checkout, '#pay-btn');
    const query = resultQuery(await resultNavigation(wx));
    expect(query.outcome).toBe('unconfirmed');
    const result = loadPage('result');
    result.instance.onLoad(query);
    await until('the server\'s answer', () => result.data.amountText);
    expect(result.data).toMatchObject({ theme: 'warning', title: '支付结果确认中' });
    expect(result.querySelector('#refresh-btn')).toBeTruthy();
    expect(JSON.parse(result.data.appParameter as string)).toMatchObject({ status: 'PAYING' });
  });

  it('a re-launch during confirmation is not replaced later by the previous order\'s result', async () => {
    const wx = launch(1069, { confirmWindowMs: 800 });
    wx.cashier = 'okNeverPaid';
    const first = await openCheckout('0.01', '第一单');
    tap(first, '#pay-btn');
    await until('confirming', () => (first.data.pay as { kind: string }).kind === 'confirming');
    first.detach(); // wx.reLaunch with a new token unloads it
    wx.cashier = 'pay';
    const second = await openCheckout('0.02', '第二单');
    tap(second, '#pay-btn');
    await resultNavigation(wx);
    await new Promise((r) => setTimeout(r, 1000)); // past the first page's confirmation window
    expect(wx.navigations).toHaveLength(1);
    expect(resultQuery(wx.navigations[0]).outcome).toBe('paid');
  });

  it('a network failure at preview offers a retry (and 返回App), and the retry succeeds', async () => {
    const wx = launch(1069);
    wx.failNext = { 'order.preview': 1, login: 1 };
    const page = loadPage('checkout');
    page.instance.onLoad({ t: encodeURIComponent(stack.checkoutToken('0.01', '重试')) });
    await until('the error page', () => page.data.phase === 'error');
    expect(page.data).toMatchObject({ errorMessage: '网络不稳定，请检查网络后重试', errorRetryable: true, showLaunchApp: true });
    expect(JSON.parse(page.data.appParameter as string)).toEqual({ ref: expect.stringMatching(/^DEMO/), status: 'UNKNOWN' });
    // The login runs beside the preview; on a loaded machine it may still be under way when the error shows.
    await until('the failed login', () => loginAnswered(wx));
    tap(page, '#retry-btn');
    await until('the pay button', () => page.data.phase === 'ready');
    tap(page, '#pay-btn');
    expect(resultQuery(await resultNavigation(wx)).outcome).toBe('paid');
    expect(wx.failNext).toEqual({ 'order.preview': 0, login: 0 });
  });

  it('a login code WeChat calls used is replaced by a fresh one once, silently', async () => {
    const wx = launch(1069);
    wx.staleCodes = 1;
    const checkout = await openCheckout();
    tap(checkout, '#pay-btn');
    expect(resultQuery(await resultNavigation(wx)).outcome).toBe('paid');
    expect(wx.logins).toBe(2);
  });

  it('an invalid checkout token shows a clear message, 返回App and no pay button', async () => {
    launch(1069);
    const page = loadPage('checkout');
    const token = stack.checkoutToken('0.01', '无效');
    page.instance.onLoad({ t: token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA') });
    await until('the error page', () => page.data.phase === 'error');
    expect(page.data).toMatchObject({ errorMessage: '支付链接无效，请返回 App 重新发起支付', errorRetryable: false });
    expect(page.dom!.innerHTML).not.toContain('立即支付');
    expect(page.dom!.innerHTML).toContain('返回App');
    expect(page.querySelector('#retry-btn')).toBeFalsy();
  });

  it('an expired checkout token says so', async () => {
    launch(1069);
    const page = loadPage('checkout');
    page.instance.onLoad({ t: stack.checkoutToken('0.01', '过期', { expired: true }) });
    await until('the error page', () => page.data.phase === 'error');
    expect(page.data.errorMessage).toBe('支付链接已过期，请返回 App 重新发起支付');
  });

  it('a malformed link (a broken %-escape) is an error page, not an endless spinner', async () => {
    launch(1069);
    const page = loadPage('checkout');
    page.instance.onLoad({ t: 'eyJhbGciOi%E0%A4%A' });
    expect(page.data).toMatchObject({ phase: 'error', errorMessage: '支付链接无效，请返回 App 重新发起支付' });
  });

  it('a launch without a token asks to go back to the app', async () => {
    launch(1069);
    const page = loadPage('checkout');
    page.instance.onLoad({});
    expect(page.data).toMatchObject({ phase: 'error', errorMessage: '缺少支付信息，请返回 App 重新发起支付' });
  });

  it('a lost notification is recovered before the confirm window ends', async () => {
    const wx = launch(1069);
    await fetch(`${stack.huifuUrl}/_sandbox/notify/mode`, { method: 'POST', body: JSON.stringify({ mode: 'drop', count: 2 }) });
    const checkout = await openCheckout();
    tap(checkout, '#pay-btn');
    const query = resultQuery(await resultNavigation(wx));
    expect(query.outcome).toBe('paid');
    const log = (await (await fetch(`${stack.huifuUrl}/_sandbox/log`)).json()) as { notifications: Array<{ reqSeqId: string; outcome: string }> };
    expect(log.notifications.filter((n) => n.reqSeqId === query.orderNo).map((n) => n.outcome)).toEqual(['dropped', 'dropped']);
  }, 20_000);

  it('opened from a non-app scene: no launchApp button, a plain instruction instead; decided again on show', async () => {
    const wx = launch(1001);
    const checkout = await openCheckout();
    tap(checkout, '#pay-btn');
    const result = loadPage('result');
    result.instance.onLoad(resultQuery(await resultNavigation(wx)));
    await until('the server\'s answer', () => result.data.amountText);
    expect(result.data).toMatchObject({ theme: 'success', showLaunchApp: false });
    expect(result.dom!.innerHTML).not.toContain('返回App');
    expect(result.dom!.innerHTML).toContain('请返回 App 查看订单状态');
    require('../../miniprogram/services/launch').recordScene(1069); // the app opens it again
    result.instance.onShow();
    expect(result.data.showLaunchApp).toBe(true);
  });

  it('a phone never runs in local mode: calls go to CloudBase and the sandbox cashier refuses to act', async () => {
    const wx = launch(1069);
    wx.runningIn = { platform: 'ios', envVersion: 'develop' }; // a review build
    jest.resetModules();
    const config = require('../../miniprogram/config');
    expect(config.mode()).toBe('cloud');
    expect(config.payerKind()).toBe('wechat');
    const cashier = loadPage('sandbox-cashier');
    cashier.instance.onLoad({ orderNo: 'P1' });
    expect(cashier.data.available).toBe(false);
    expect(cashier.querySelector('#sandbox-pay')).toBeFalsy();
  });
});

describe('orders page', () => {
  it('lists the user\'s orders and continues paying an unpaid one (same order), tapping its button', async () => {
    const wx = launch(1069);
    wx.cashier = 'cancel';
    const checkout = await openCheckout('0.02');
    tap(checkout, '#pay-btn');
    await until('the cancel', () => checkout.data.hint);
    const orders = loadPage('orders');
    orders.instance.onLoad();
    await until('the list', () => orders.data.phase === 'ready');
    const rows = orders.data.orders as Array<{ orderNo: string; payable: boolean; amountText: string; remainingMs: number; countdownFormat: string }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ payable: true, amountText: '¥0.02', countdownFormat: 'HH:mm:ss' });
    expect(rows[0]!.remainingMs).toBeGreaterThan(85 * 60_000);
    wx.cashier = 'pay';
    tap(orders, `#continue-${rows[0]!.orderNo}`);
    expect(resultQuery(await resultNavigation(wx))).toMatchObject({ orderNo: rows[0]!.orderNo, outcome: 'paid' });
  });

  it('pages through more than 20 orders with the cursor, and says when there are no more', async () => {
    const wx = launch(1069);
    wx.cashier = 'cancel';
    const login = (await (await fetch(`${stack.wechatUrl}/_sandbox/code`, { method: 'POST', body: JSON.stringify({ openid: wx.openid }) })).json()) as { code: string };
    const session = (await (await fetch(`${stack.functionsUrl}/fn/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: login.code }) })).json()) as { data: { sessionToken: string } };
    // Minted here with the stack's checkout secret, as an app backend would (21 runs of the CLI take most of the
    // timeout on a loaded machine), and placed at once.
    const { checkoutSecret } = readLocalKeys(stack.dataDir);
    const tokens = Array.from({ length: 21 }, (_, i) => hs256(checkoutSecret, { ref: `PAGING-${Date.now()}-${i}`, amount_fen: 1, description: `第${i}单`, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 900 }));
    await Promise.all(tokens.map((checkoutToken) => fetch(`${stack.functionsUrl}/fn/order`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'create', sessionToken: session.data.sessionToken, checkoutToken }) })));
    const orders = loadPage('orders');
    orders.instance.onLoad();
    await until('the list', () => orders.data.phase === 'ready');
    expect(orders.data.orders).toHaveLength(20);
    tap(orders, '#load-more');
    await until('the next page', () => (orders.data.orders as unknown[]).length === 21);
    expect(orders.data.nextCursor).toBeNull();
    expect(orders.dom!.innerHTML).toContain('没有更多订单了');
  }, 30_000);

  it('a failure to load is an error state with a retry, not "暂无订单"', async () => {
    const wx = launch(1069);
    wx.failNext = { login: 1 }; // so the list is never asked
    const orders = loadPage('orders');
    orders.instance.onLoad();
    await until('the error state', () => orders.data.phase === 'error');
    expect(orders.dom!.innerHTML).not.toContain('暂无订单');
    expect(orders.data.errorMessage).toBe('网络不稳定，请检查网络后重试');
    tap(orders, '#orders-retry');
    await until('the list', () => orders.data.phase === 'ready');
    expect(orders.querySelector('#empty')).toBeTruthy();
    expect(wx.failNext).toEqual({ login: 0 });
  });
});
