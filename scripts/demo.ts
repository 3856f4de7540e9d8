/**
 * `pnpm demo`: acts as the native app, its backend and the user against a fresh local stack (its own ports, so a
 * running `pnpm dev` is not disturbed) and prints a timeline of each step with the data that moved.
 * Exits 0 only if every step matched expectations.
 */
import { formatFen, type CreateResult, type FunctionResponse, type LoginResult, type OrderView, type PreviewResult } from '@cashier/shared';
import { checkoutPath, mintCheckoutToken } from '../cloudfunctions/src/auth/checkout';
import { silentLogger } from '../cloudfunctions/src/services/deps';
import { startStack, type Stack } from './stack';

let step = 0;
function line(actor: string, what: string, detail = ''): void {
  step += 1;
  process.stdout.write(`${String(step).padStart(2)}  ${actor.padEnd(18)} ${what.padEnd(34)} ${detail}\n`);
}
function expectThat(condition: boolean, message: string): void {
  if (!condition) throw new Error(`expectation failed: ${message}`);
}
const short = (text: string, n = 18) => (text.length > n ? `${text.slice(0, n)}…` : text);

async function call<T>(stack: Stack, fn: string, event: unknown): Promise<T> {
  const answer = await stack.call<FunctionResponse<T>>(fn, event);
  if (!answer.ok) throw new Error(`${fn} answered ${answer.error.code} (${answer.error.message})`);
  return answer.data;
}

async function waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runDemo(options: { dataDir?: string; out?: NodeJS.WritableStream } = {}): Promise<void> {
  const stack = await startStack({ dataDir: options.dataDir ?? '.local', sqlitePath: `${options.dataDir ?? '.local'}/demo.db`, reconcileIntervalMs: 0, log: silentLogger, notifyRetryDelayMs: 200, refundSettleMs: 300 });
  try {
    process.stdout.write(`local stack: functions ${stack.urls.functions}, WeChat sandbox ${stack.urls.wechat}, Huifu sandbox ${stack.urls.huifu} (${stack.config.huifu.apiVersion})\n\n`);
    const ref = `DEMO${Date.now()}`;
    const amountFen = 1230;
    const token = await mintCheckoutToken({ ref, amountFen, description: '会员月卡（演示）' }, stack.config.tokens.checkoutSecret, Date.now());
    line('App backend', 'mints checkout token (JWT HS256)', `ref=${ref} amount_fen=${amountFen} (${formatFen(amountFen)})`);
    line('Native app', 'WXLaunchMiniProgram', `path=${short(checkoutPath(token), 40)} (${checkoutPath(token).length} chars)`);

    const code = stack.wechat!.mintCode('o_demo_user_01');
    line('Mini-program', 'wx.login', `code=${short(code)} (WeChat sandbox)`);
    const session = await call<LoginResult>(stack, 'login', { code });
    expectThat(session.openidHint === 'o_d***01', 'login resolves the sandbox user');
    line('fn login', 'jscode2session → session token', `openid=${session.openidHint} token=${short(session.sessionToken, 12)} expires ${new Date(session.expiresAt).toISOString()}`);

    const preview = await call<PreviewResult>(stack, 'order', { action: 'preview', sessionToken: session.sessionToken, checkoutToken: token });
    expectThat(preview.amountFen === amountFen && preview.existingOrder === null, 'preview shows the amount and no existing order');
    line('fn order.preview', 'verifies the checkout token', `${formatFen(preview.amountFen)} "${preview.description}" existing order: none`);

    const created = await call<CreateResult>(stack, 'order', { action: 'create', sessionToken: session.sessionToken, checkoutToken: token });
    const orderNo = created.order.orderNo;
    expectThat(created.order.status === 'PAYING', 'the order is PAYING after create');
    line('fn order.create', 'Huifu T_MINIAPP order placed', `order=${orderNo} status=${created.order.status}`);
    line('', 'wx.requestPayment params', `timeStamp=${created.payment.timeStamp} package=${short(created.payment.package, 30)} signType=${created.payment.signType}`);

    await stack.huifu!.pay(orderNo, 'S');
    line('User', 'pays in the sandbox cashier', 'Huifu trade → S');
    await stack.huifu!.idle();
    const notes = stack.huifu!.notifications.filter((n) => n.reqSeqId === orderNo);
    for (const n of notes) line('Huifu → payNotify', `notify_type=${n.notifyType} attempt ${n.attempt}`, `${n.outcome} (HTTP ${n.httpStatus}, ack RECV_ORD_ID_${short(orderNo, 10)})`);
    expectThat(notes.length === 2 && notes.every((n) => n.outcome === 'acked'), 'both notifications were acknowledged');
    const inbox = await stack.deps.store.listNotifications({ reqSeqId: orderNo, limit: 10 });
    line('notifications inbox', 'one effect, duplicate recorded', inbox.map((n) => `type ${n.notifyType}: ${n.outcome}`).sort().join(', '));

    const order = await waitFor('PAID', async () => {
      const o = await call<OrderView>(stack, 'order', { action: 'get', sessionToken: session.sessionToken, orderNo });
      return o.status === 'PAID' ? o : null;
    });
    line('fn order.get', 'confirms with the server', `status=${order.status} paid at ${new Date(order.paidAt!).toISOString()}`);

    await call(stack, 'reconcile', {});
    const hooks = stack.appWebhooks.filter((h) => h.body.includes(orderNo));
    expectThat(hooks.some((h) => h.event === 'order.paid' && h.signatureValid), 'the app backend received a signed order.paid webhook');
    line('App backend', 'receives webhook', hooks.map((h) => `${h.event} (signature ${h.signatureValid ? 'valid' : 'INVALID'})`).join(', '));

    const events = await stack.deps.store.listOrderEvents(orderNo);
    process.stdout.write(`\norder ${orderNo} history:\n`);
    for (const e of events) process.stdout.write(`    ${new Date(e.at).toISOString()}  ${String(e.from ?? '-').padEnd(8)} → ${String(e.to ?? '-').padEnd(8)}  ${e.source.padEnd(9)} ${e.detail}\n`);
    process.stdout.write(`\ndemo passed: ${step} steps, order ${orderNo} ${order.status} for ${formatFen(order.amountFen)}\n`);
  } finally {
    await stack.stop();
  }
}

if (require.main === module) {
  runDemo().catch((error: unknown) => {
    process.stdout.write(`\ndemo FAILED: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
