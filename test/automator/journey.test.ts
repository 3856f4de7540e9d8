/**
 * The checkout journey in WeChat DevTools through miniprogram-automator: needs WECHAT_DEVTOOLS_CLI (the DevTools
 * `cli`, logged in, with "CLI/HTTP 调用" enabled) and runs the local stack on its default ports, which the
 * mini-program's local mode talks to. WeChat DevTools does not exist for Linux, so this is skipped there.
 */
import { resolve } from 'node:path';
import automator from 'miniprogram-automator';
import { startLocalStack, type LocalStack } from '../miniprogram/support/local-stack';
import { describeIf } from '../support/skip';

const cliPath = process.env.WECHAT_DEVTOOLS_CLI;
const projectPath = resolve(__dirname, '../..');

describeIf(Boolean(cliPath), 'WECHAT_DEVTOOLS_CLI is not set (WeChat DevTools is not available on this machine)', 'automator journey in WeChat DevTools', () => {
  let stack: LocalStack;
  let miniProgram: Awaited<ReturnType<typeof automator.launch>>;

  beforeAll(async () => {
    stack = await startLocalStack({ CASHIER_PORT: '8787', WECHAT_SANDBOX_PORT: '8788', HUIFU_SANDBOX_PORT: '8789' });
    miniProgram = await automator.launch({ cliPath: cliPath!, projectPath });
    // wx.requestPayment cannot open WeChat's cashier for a sandbox prepay_id: settle the trade at the Huifu sandbox.
    await miniProgram.mockWxMethod(
      'requestPayment',
      function (this: unknown, options: { package: string }) {
        return new Promise((done) => {
          wx.request({
            url: 'http://127.0.0.1:8789/_sandbox/pay',
            method: 'POST',
            data: { prepay_id: options.package, result: 'S', wait: true },
            success: () => done({ errMsg: 'requestPayment:ok' }),
          });
        });
      },
    );
  }, 120_000);

  afterAll(async () => {
    await miniProgram?.close();
    await stack?.stop();
  });

  it('pays from the checkout page and lands on the paid result', async () => {
    const token = stack.checkoutToken('0.01', '自动化测试');
    const page = await miniProgram.reLaunch(`/pages/checkout/index?t=${token}&payer=wechat`);
    await page!.waitFor(2000);
    expect(await page!.data('amountText')).toBe('¥0.01');
    await (await page!.$('#pay-btn'))!.tap();
    await page!.waitFor(async () => (await miniProgram.currentPage())?.path === 'pages/result/index');
    const result = await miniProgram.currentPage();
    await result!.waitFor(1000);
    expect(await result!.data('title')).toBe('支付成功');
  }, 120_000);
});
