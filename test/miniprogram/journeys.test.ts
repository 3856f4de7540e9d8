/**
 * The real pages under miniprogram-simulate (jsdom), talking to a real local stack in a child process: the `wx` of
 * support/wx.ts logs in at the WeChat sandbox, calls the function host over loopback HTTP, and pays at the Huifu
 * sandbox, which notifies payNotify as Huifu would.
 */
import path from 'node:path';
import simulate from 'miniprogram-simulate';
import { startLocalStack, type LocalStack } from './support/local-stack';
import { createTestWx, type TestWx } from './support/wx';

const mpRoot = path.resolve(__dirname, '../../miniprogram');
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
}, 60_000);
afterAll(() => stack.stop());

let userCounter = 0;
/** A fresh module registry per journey, the app launched in `scene`, and a wx for a new user. */
function launch(scene: number): TestWx {
  jest.resetModules();
  const { config } = require('../../miniprogram/config');
  Object.assign(config, { mode: 'local', localFunctionsUrl: stack.functionsUrl, localHuifuSandboxUrl: stack.huifuUrl, payer: 'wechat', confirmIntervalMs: 250, confirmWindowMs: 10_000 });
  const wx = createTestWx(stack, `o_mp_user_${Date.now()}_${++userCounter}`);
  wx.install();
  (globalThis as unknown as { App: (o: { onLaunch(x: { scene: number }): void; onShow(x: { scene: number }): void }) => void }).App = (options) => {
    options.onLaunch({ scene });
    options.onShow({ scene });
  };
  require('../../miniprogram/app');
  return wx;
}

type Page = ReturnType<typeof simulate.render>;
function loadPage(name: string): Page {
  const id = simulate.load(path.join(mpRoot, 'pages', name, 'index'), { rootPath: mpRoot });
  const page = simulate.render(id) as Page;
  page.attach(document.createElement('parent-wrapper'));
  return page;
}

function resultQuery(navigation: string | undefined): Record<string, string> {
  expect(navigation).toMatch(/^(redirectTo|navigateTo) \/pages\/result\/index\?/);
  return Object.fromEntries(new URLSearchParams(navigation!.split('?')[1]));
}

async function openCheckout(amount = '0.01'): Promise<Page> {
  const page = loadPage('checkout');
  await page.instance.onLoad({ t: encodeURIComponent(stack.checkoutToken(amount, '测试商品')) });
  expect(page.data).toMatchObject({ phase: 'ready', description: '测试商品' });
  return page;
}

async function orderFromServer(orderNo: string): Promise<{ status: string }> {
  const res = await fetch(`${stack.huifuUrl}/_sandbox/trades/${orderNo}`);
  return { status: ((await res.json()) as { state: string }).state };
}

describe('checkout journeys', () => {
  it('scene 1069 → pay → PAID → result with the launchApp app-parameter', async () => {
    const wx = launch(1069);
    const checkout = await openCheckout('0.01');
    expect(checkout.data.amountText).toBe('¥0.01');
    await checkout.instance.onPay();
    expect(wx.payRequests).toBe(1);
    const query = resultQuery(wx.navigations[0]);
    expect(query.outcome).toBe('paid');

    const result = loadPage('result');
    await result.instance.onLoad(query);
    expect(result.data).toMatchObject({ theme: 'success', title: '支付成功', outcome: 'paid', showLaunchApp: true, amountText: '¥0.01' });
    expect(JSON.parse(result.data.appParameter as string)).toEqual({ ref: expect.stringMatching(/^DEMO/), status: 'PAID' });
    expect(result.dom!.innerHTML).toContain('返回App');
    await result.instance.onLaunchAppError();
    expect(result.data.launchFailed).toBe(true);
    expect(result.dom!.innerHTML).toContain('请手动返回 App 查看订单');
  });

  it('ignores a second tap while the first payment is under way', async () => {
    const wx = launch(1069);
    const checkout = await openCheckout();
    await Promise.all([checkout.instance.onPay(), checkout.instance.onPay()]);
    expect(wx.payRequests).toBe(1);
    expect(wx.navigations).toHaveLength(1);
  });

  it('cancel: one silent server check, then the page stays with "继续支付" on the same order', async () => {
    const wx = launch(1069);
    wx.cashier = 'cancel';
    const checkout = await openCheckout();
    await checkout.instance.onPay();
    expect(wx.navigations).toEqual([]);
    expect(checkout.data).toMatchObject({ hint: '已取消支付', buttonText: '继续支付', busy: false });
    wx.cashier = 'pay';
    await checkout.instance.onPay();
    expect(resultQuery(wx.navigations[0]).outcome).toBe('paid');
    expect(wx.payRequests).toBe(2);
  });

  it('a cancel reported after the money was taken still ends paid, because the server says so', async () => {
    const wx = launch(1069);
    wx.cashier = 'payThenCancelled';
    const checkout = await openCheckout();
    await checkout.instance.onPay();
    expect(resultQuery(wx.navigations[0]).outcome).toBe('paid');
  });

  it('payment failure → the failed result', async () => {
    const wx = launch(1069);
    wx.cashier = 'fail';
    const checkout = await openCheckout();
    await checkout.instance.onPay();
    const query = resultQuery(wx.navigations[0]);
    expect(query.outcome).toBe('failed');
    expect(await orderFromServer(query.orderNo!)).toEqual({ status: 'F' });
    const result = loadPage('result');
    await result.instance.onLoad(query);
    expect(result.data).toMatchObject({ theme: 'error', outcome: 'failed' });
  });

  it('an invalid checkout token shows a clear message and no pay button', async () => {
    launch(1069);
    const page = loadPage('checkout');
    const token = stack.checkoutToken('0.01', '无效');
    await page.instance.onLoad({ t: token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA') });
    expect(page.data).toMatchObject({ phase: 'error', errorMessage: '支付链接无效，请返回 App 重新发起支付' });
    expect(page.dom!.innerHTML).not.toContain('立即支付');
  });

  it('an expired checkout token says so', async () => {
    launch(1069);
    const page = loadPage('checkout');
    const token = stack.checkoutToken('0.01', '过期', { expired: true });
    await page.instance.onLoad({ t: token });
    expect(page.data).toMatchObject({ phase: 'error', errorMessage: '支付链接已过期，请返回 App 重新发起支付' });
  });

  it('a launch without a token asks to go back to the app', async () => {
    launch(1069);
    const page = loadPage('checkout');
    await page.instance.onLoad({});
    expect(page.data).toMatchObject({ phase: 'error', errorMessage: '缺少支付信息，请返回 App 重新发起支付' });
  });

  it('a lost notification is recovered before the confirm window ends', async () => {
    const wx = launch(1069);
    await fetch(`${stack.huifuUrl}/_sandbox/notify/mode`, { method: 'POST', body: JSON.stringify({ mode: 'drop', count: 2 }) });
    const checkout = await openCheckout();
    await checkout.instance.onPay();
    const query = resultQuery(wx.navigations[0]);
    expect(query.outcome).toBe('paid');
    const log = (await (await fetch(`${stack.huifuUrl}/_sandbox/log`)).json()) as { notifications: Array<{ reqSeqId: string; outcome: string }> };
    expect(log.notifications.filter((n) => n.reqSeqId === query.orderNo).map((n) => n.outcome)).toEqual(['dropped', 'dropped']);
  }, 20_000);

  it('opened from a non-app scene: no launchApp button, a plain instruction instead', async () => {
    const wx = launch(1001);
    const checkout = await openCheckout();
    await checkout.instance.onPay();
    const result = loadPage('result');
    await result.instance.onLoad(resultQuery(wx.navigations[0]));
    expect(result.data).toMatchObject({ theme: 'success', showLaunchApp: false });
    expect(result.dom!.innerHTML).not.toContain('返回App');
    expect(result.dom!.innerHTML).toContain('请返回 App 查看订单状态');
  });
});

describe('orders page', () => {
  it('lists the user\'s orders and continues paying an unpaid one (same order)', async () => {
    const wx = launch(1069);
    wx.cashier = 'cancel';
    const checkout = await openCheckout('0.02');
    await checkout.instance.onPay();
    const orders = loadPage('orders');
    await orders.instance.onLoad();
    const rows = orders.data.orders as Array<{ orderNo: string; payable: boolean; amountText: string; remainingMs: number }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ payable: true, amountText: '¥0.02' });
    expect(rows[0]!.remainingMs).toBeGreaterThan(25 * 60_000);
    wx.cashier = 'pay';
    await orders.instance.onContinue({ currentTarget: { dataset: { orderNo: rows[0]!.orderNo } } });
    const query = resultQuery(wx.navigations[0]);
    expect(query).toMatchObject({ orderNo: rows[0]!.orderNo, outcome: 'paid' });
  });
});
