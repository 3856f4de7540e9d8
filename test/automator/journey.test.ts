/**
 * The checkout journey in WeChat DevTools through miniprogram-automator: needs WECHAT_DEVTOOLS_CLI (the DevTools
 * `cli`, logged in, with "CLI/HTTP 调用" enabled in 设置 → 安全设置) and runs the local stack on its default ports,
 * which the mini-program's local mode talks to. WeChat DevTools does not exist for Linux, so this is skipped there.
 * Works on Windows and macOS: the CLI (cli.bat on Windows) is started through a shell only where Node requires one,
 * and when automator.launch cannot start DevTools, the CLI opens an automation port and we connect to it. It waits
 * for what the page shows, never for a fixed time.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import automator from 'miniprogram-automator';
import { startLocalStack, type LocalStack } from '../miniprogram/support/local-stack';
import { describeIf } from '../support/skip';

const cliPath = process.env.WECHAT_DEVTOOLS_CLI;
const projectPath = resolve(__dirname, '../..');
const AUTO_PORT = Number(process.env.WECHAT_DEVTOOLS_AUTO_PORT ?? 9420);

type MiniProgram = Awaited<ReturnType<typeof automator.launch>>;

/** automator.launch, or else `cli auto --auto-port` and automator.connect once the port answers. */
async function openDevTools(): Promise<MiniProgram> {
  try {
    return await automator.launch({ cliPath: cliPath!, projectPath, port: AUTO_PORT });
  } catch (launchError) {
    // Node ≥ 20.12 refuses to spawn .bat/.cmd without a shell (CVE-2024-27980); the arguments are ours, not input.
    const cli = spawn(cliPath!, ['auto', '--project', projectPath, '--auto-port', String(AUTO_PORT)], { shell: process.platform === 'win32', stdio: 'ignore', detached: false });
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        return await automator.connect({ wsEndpoint: `ws://127.0.0.1:${AUTO_PORT}` });
      } catch (connectError) {
        if (Date.now() > deadline || cli.exitCode !== null && cli.exitCode !== 0) {
          throw new Error(`could not start DevTools automation: launch said "${(launchError as Error).message}", connect to port ${AUTO_PORT} said "${(connectError as Error).message}"`);
        }
        await new Promise((r) => setTimeout(r, 500)); // polling the port DevTools is opening, not a fixed wait
      }
    }
  }
}

describeIf(Boolean(cliPath), 'WECHAT_DEVTOOLS_CLI is not set (WeChat DevTools is not available on this machine)', 'automator journey in WeChat DevTools', () => {
  let stack: LocalStack;
  let miniProgram: MiniProgram;

  beforeAll(async () => {
    stack = await startLocalStack({ CASHIER_PORT: '8787', WECHAT_SANDBOX_PORT: '8788', HUIFU_SANDBOX_PORT: '8789' });
    miniProgram = await openDevTools();
    // wx.requestPayment cannot open WeChat's cashier for a sandbox prepay_id: settle the trade at the Huifu sandbox.
    // Every path answers: a sandbox that cannot be reached is a payment failure, as WeChat would report one.
    await miniProgram.mockWxMethod('requestPayment', function (this: unknown, options: { package: string }) {
      return new Promise((done) => {
        wx.request({
          url: 'http://127.0.0.1:8789/_sandbox/pay',
          method: 'POST',
          data: { prepay_id: options.package, result: 'S', wait: true },
          success: (res) => done(res.statusCode === 200 ? { errMsg: 'requestPayment:ok' } : { errMsg: `requestPayment:fail sandbox answered ${res.statusCode}` }),
          fail: (err) => done({ errMsg: `requestPayment:fail ${err.errMsg}` }),
        });
      });
    });
  }, 180_000);

  afterAll(async () => {
    await miniProgram?.close();
    await stack?.stop();
  });

  it('pays from the checkout page and lands on the paid result', async () => {
    const token = stack.checkoutToken('0.01', '自动化测试');
    const page = (await miniProgram.reLaunch(`/pages/checkout/index?t=${token}&payer=wechat`))!;
    await page.waitFor(async () => (await page.data('phase')) === 'ready');
    expect(await page.data('amountText')).toBe('¥0.01');
    await (await page.$('#pay-btn'))!.tap();
    await page.waitFor(async () => (await miniProgram.currentPage())?.path === 'pages/result/index');
    const result = (await miniProgram.currentPage())!;
    await result.waitFor(async () => (await result.data('amountText')) === '¥0.01');
    expect(await result.data('title')).toBe('支付成功');
  }, 120_000);
});
