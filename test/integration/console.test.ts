/**
 * The console in a real browser: playwright-core driving Debian's Chromium against a real local stack (and a
 * production-mode console on loopback). Under CI=true these must run; elsewhere they are skipped, saying why, when no
 * Chromium is installed (`apt-get install chromium`, which scripts/install.sh does as root). Screenshots of the list
 * and of an order page go to test-output/console/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { CreateResult, FunctionResponse, LoginResult } from '@cashier/shared';
import { mintCheckoutToken } from '../../cloudfunctions/src/auth/checkout';
import { fenToYuan } from '../../cloudfunctions/src/domain/money';
import { silentLogger } from '../../cloudfunctions/src/services/deps';
import { startProductionConsole, type RunningConsole } from '../../scripts/console';
import { startStack, type Stack } from '../../scripts/stack';
import { notificationSigner } from '../support/notifications';
import { describeIf } from '../support/skip';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean) as string[];
const chromiumPath = CANDIDATES.find((p) => existsSync(p)) ?? null;
if (!chromiumPath && process.env.CI === 'true') {
  throw new Error(`CI=true needs Chromium for the console's browser tests: none at ${CANDIDATES.join(', ')}. scripts/install.sh installs it as root (apt-get install chromium); or set CHROMIUM_PATH.`);
}
const SHOTS = resolve(__dirname, '../../test-output/console');

describeIf(Boolean(chromiumPath), `no Chromium at ${CANDIDATES.join(', ')} (apt-get install chromium, or set CHROMIUM_PATH)`, 'the console in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  const dialogs: string[] = [];
  const strayRequests: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cashier-console-'));
    stack = await startStack({ dataDir, reconcileIntervalMs: 0, log: silentLogger, refundSettleMs: 50 });
    browser = await chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (!/^\/console\/(|app\.js|app\.css|api\/.*)$/.test(path)) strayRequests.push(r.url());
    });
    mkdirSync(SHOTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let refCounter = 0;
  async function placeOrder(amountFen: number): Promise<string> {
    const code = stack.wechat!.mintCode('o_console_user');
    const login = await stack.call<FunctionResponse<LoginResult>>('login', { code });
    if (!login.ok) throw new Error(login.error.code);
    const checkoutToken = await mintCheckoutToken({ ref: `CONSOLE-${Date.now()}-${++refCounter}`, amountFen, description: '控制台测试' }, stack.config.checkout.secret, Date.now());
    const created = await stack.call<FunctionResponse<CreateResult>>('order', { action: 'create', sessionToken: login.data.sessionToken, checkoutToken });
    if (!created.ok) throw new Error(created.error.code);
    return created.data.order.orderNo;
  }
  const row = (orderNo: string) => page.locator(`tr[data-order-no="${orderNo}"]`);
  /** Two clicks: the action, then its confirmation. */
  async function confirmAction(id: string) {
    await page.locator(`#${id}`).click();
    await page.locator(`#${id}-confirm`).click();
  }

  it('shows a new order on the list and turns it PAID without a reload', async () => {
    await page.goto(`${stack.urls.functions}/console/`);
    const orderNo = await placeOrder(1230);
    await row(orderNo).getByText('待支付').waitFor();
    await expect(row(orderNo).textContent()).resolves.toContain('¥12.30');
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await stack.huifu!.pay(orderNo, 'S');
    await row(orderNo).getByText('已支付').waitFor({ timeout: 10_000 });
    expect(navigations).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'orders.png'), fullPage: true });
  });

  it('opens the order\'s timeline, refunds part of it, and shows the refund and its webhooks', async () => {
    const orderNo = await placeOrder(1000);
    await stack.huifu!.pay(orderNo, 'S');
    await page.goto(`${stack.urls.functions}/console/#/orders`);
    await row(orderNo).locator('a').click();
    const timeline = page.locator('#timeline');
    await timeline.getByText('PAYING → PAID').waitFor();
    await expect(timeline.locator('li.t-notification').count()).resolves.toBe(2); // notify_type 1 and 2
    await page.locator('#refund-yuan').fill('0.40');
    await confirmAction('refund');
    await timeline.locator('li.t-refund').getByText('¥0.40').waitFor();
    await timeline.locator('li.t-webhook').getByText('refund.succeeded').waitFor({ timeout: 10_000 });
    await timeline.locator('li.t-webhook').getByText('order.partially_refunded').waitFor();
    expect((await stack.deps.store.getOrder(orderNo))!.refundedFen).toBe(40);
    await page.screenshot({ path: join(SHOTS, 'order.png'), fullPage: true });
  });

  it('replays a stored notification and reports it as a duplicate with no second effect', async () => {
    const orderNo = await placeOrder(500);
    await stack.huifu!.pay(orderNo, 'S');
    await page.goto(`${stack.urls.functions}/console/#/orders/${orderNo}`);
    await page.locator('h2').getByText(orderNo).waitFor();
    const first = page.locator('li.t-notification button.action').first();
    const id = await first.getAttribute('id');
    await confirmAction(id!);
    await page.getByText('已完成：duplicate').waitFor();
    const toPaid = (await stack.deps.store.listOrderEvents(orderNo)).filter((e) => e.from === 'PAYING' && e.to === 'PAID');
    expect(toPaid).toHaveLength(1);
  });

  it('never shows the previous order while the next one loads, so no action can land on the wrong order', async () => {
    const previous = await placeOrder(700);
    const next = await placeOrder(800);
    await stack.huifu!.pay(previous, 'S');
    await page.goto(`${stack.urls.functions}/console/#/orders/${previous}`);
    await page.locator('#refund-yuan').waitFor();
    let release!: () => void;
    const held = new Promise<void>((done) => (release = done));
    const nextApi = `**/console/api/orders/${next}`;
    await page.route(nextApi, async (route) => (await held, route.continue()));
    await page.evaluate((no) => void ((globalThis as unknown as { location: { hash: string } }).location.hash = `#/orders/${no}`), next);
    await page.getByText('加载中…').waitFor();
    // While the next order's answer is held back, nothing of the previous order may remain: its refund form acted on it.
    expect(await page.locator('#refund-yuan').count()).toBe(0);
    expect(await page.locator('h2').allTextContents()).not.toContainEqual(expect.stringContaining(previous));
    release();
    await page.locator('h2').getByText(next).waitFor();
    await page.unroute(nextApi);
  });

  it('resends a dead webhook from the outbox', async () => {
    const orderNo = await placeOrder(300);
    await stack.huifu!.pay(orderNo, 'S');
    const [hook] = await stack.deps.store.listWebhooks({ orderNo, limit: 5 });
    await stack.deps.store.updateWebhook(hook!, { status: 'DEAD', attempts: 8, lastError: 'HTTP 502 from the app backend', updatedAt: Date.now() });
    await page.goto(`${stack.urls.functions}/console/#/outbox`);
    const deadRow = page.locator(`tr[data-webhook-id="${hook!.id}"]`);
    await deadRow.getByText('HTTP 502 from the app backend').waitFor();
    await confirmAction(`resend-${hook!.id}`.replace(/[^A-Za-z0-9_-]/g, '\\$&'));
    await deadRow.waitFor({ state: 'detached', timeout: 10_000 });
    expect((await stack.deps.store.getWebhook(hook!.id))!.status).toBe('DELIVERED');
    expect(stack.appWebhooks.some((w) => w.body.includes(orderNo) && w.signatureValid)).toBe(true);
  });

  it('renders hostile stored text inert: no element, no script, no request, control characters visible', async () => {
    const hostile = '<img src=x onerror="window.__xss=1;alert(1)">\u202eDIAP\u001b[2J';
    const signer = notificationSigner(stack);
    const respData = JSON.stringify({ resp_code: '00000000', huifu_id: stack.config.huifu.huifuId, req_seq_id: hostile, req_date: '20261123', trans_stat: 'S', trans_amt: fenToYuan(100), notify_type: 1 });
    await fetch(stack.config.huifuApi.notifyUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: signer.form(respData) });
    await fetch(stack.config.huifuApi.notifyUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'resp_data=<script>window.__xss=2</script>&sign=AAAA' });
    await page.goto(`${stack.urls.functions}/console/#/inbox`);
    await page.locator('#notifications').getByText('<img src=x onerror=', { exact: false }).waitFor();
    await page.locator('#samples').getByText('<script>', { exact: false }).waitFor();
    expect(await page.locator('#notifications img, #samples script, #samples img').count()).toBe(0);
    expect(await page.locator('#notifications').textContent()).toContain('\\u202eDIAP\\x1b[2J');
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(strayRequests).toEqual([]);
  });

  it('refuses an action without the session\'s CSRF token, and a request naming another host', async () => {
    const status = await page.evaluate(async () => (await fetch('/console/api/actions/reconcile', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
    expect(status).toBe(403);
    const port = Number(new URL(stack.urls.functions).port);
    const rebound = await new Promise<number>((done, fail) => {
      httpRequest({ host: '127.0.0.1', port, path: '/console/api/session', headers: { host: `attacker.example:${port}` } }, (res) => (res.resume(), done(res.statusCode ?? 0))).on('error', fail).end();
    });
    expect(rebound).toBe(421);
  });

  describe('production mode', () => {
    let production: RunningConsole;
    beforeAll(async () => {
      production = await startProductionConsole({ deps: stack.deps, target: 'CloudBase environment prod-test', allowActions: false });
    });
    afterAll(() => production.close());

    it('opens only with its one-time link, and refuses every action without --allow-actions', async () => {
      const context = await browser.newContext();
      const prod = await context.newPage();
      await prod.goto(production.url);
      expect(new URL(prod.url()).search).toBe(''); // the token left the address bar
      await prod.locator('#read-only').waitFor();
      expect(await prod.locator('#reconcile').isDisabled()).toBe(true);
      const refused = await prod.evaluate(async () => {
        const s = (await (await fetch('/console/api/session')).json()) as { csrf: string };
        const res = await fetch('/console/api/actions/reconcile', { method: 'POST', headers: { 'content-type': 'application/json', 'x-console-csrf': s.csrf }, body: '{}' });
        return { status: res.status, body: await res.json() };
      });
      expect(refused).toEqual({ status: 403, body: { ok: false, error: expect.stringContaining('--allow-actions') } });
      const again = await (await browser.newContext()).newPage();
      const second = await again.goto(production.url);
      expect(second!.status()).toBe(401);
      await context.close();
    });
  });
});
