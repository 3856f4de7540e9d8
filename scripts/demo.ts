/**
 * `pnpm demo`: acts as the native app, its backend and the user against a fresh local stack and prints a timeline of
 * each step with the data that moved. It has its own ports and its own data folder (<CASHIER_DATA_DIR>/demo), so a
 * running `pnpm dev` and its files are never touched. It always uses the built-in sandboxes; of .env.local it takes
 * only what the sandboxes support (HUIFU_API_VERSION). Exits 0 only if every step matched expectations.
 */
import { formatFen, type CancelResult, type CreateResult, type FunctionResponse, type LoginResult, type OrderView, type PreviewResult, type RefundView } from '@cashier/shared';
import { signMerchantRequest } from '../cloudfunctions/src/auth/merchant-signature';
import { checkoutPath, mintCheckoutToken } from '../cloudfunctions/src/auth/checkout';
import { silentLogger } from '../cloudfunctions/src/services/deps';
import { join } from 'node:path';
import { environmentVariables } from './lib/env-file';
import { startStack, type Stack } from './stack';

let step = 0;
let write: (text: string) => void = (text) => process.stdout.write(text);
function line(actor: string, what: string, detail = ''): void {
  step += 1;
  write(`${String(step).padStart(2)}  ${actor.padEnd(19)} ${what.padEnd(34)} ${detail}\n`);
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

export async function runDemo(options: { dataDir?: string; write?: (text: string) => void; env?: Record<string, string> } = {}): Promise<void> {
  step = 0;
  if (options.write) write = options.write;
  const dataDir = options.dataDir ?? join(process.env.CASHIER_DATA_DIR ?? '.local', 'demo');
  const env = options.env?.HUIFU_API_VERSION ? { HUIFU_API_VERSION: options.env.HUIFU_API_VERSION } : {};
  // One clock for our functions and both sandboxes, so the demo can skip ahead past Huifu's one-minute close rule.
  let skipped = 0;
  const clock = { now: () => Date.now() + skipped };
  const stack = await startStack({ dataDir, sqlitePath: join(dataDir, 'demo.db'), env, reconcileIntervalMs: 0, log: silentLogger, notifyRetryDelayMs: 200, refundSettleMs: 300, clock });
  const skip = (ms: number) => {
    skipped += ms;
    stack.huifu!.advanceClock(ms);
    stack.wechat!.advanceClock(ms);
  };
  try {
    write(`local stack: functions ${stack.urls.functions}, WeChat sandbox ${stack.urls.wechat}, Huifu sandbox ${stack.urls.huifu} (${stack.config.huifuApi.apiVersion})\n\n`);
    const ref = `DEMO${Date.now()}`;
    const amountFen = 1230;
    const token = await mintCheckoutToken({ ref, amountFen, description: '会员月卡（演示）' }, stack.config.checkout.secret, clock.now());
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
    const paidHooks = stack.appWebhooks.filter((h) => h.body.includes(orderNo));
    expectThat(paidHooks.some((h) => h.event === 'order.paid' && h.signatureValid), 'the app backend received a signed order.paid webhook');
    line('App backend', 'receives webhook', paidHooks.map((h) => `${h.event} (signature ${h.signatureValid ? 'valid' : 'INVALID'})`).join(', '));

    // The app backend refunds part of the order through the signed merchant API.
    const refundNo = `RF${Date.now()}`;
    const body = JSON.stringify({ order_no: orderNo, refund_no: refundNo, amount_fen: 500, reason: '演示部分退款' });
    const res = await fetch(`${stack.urls.functions}/http/merchant/refunds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signMerchantRequest(stack.config.merchantApi.secret, 'POST', '/refunds', body, Date.now()) },
      body,
    });
    const refundAnswer = (await res.json()) as FunctionResponse<RefundView>;
    expectThat(res.status === 200 && refundAnswer.ok && refundAnswer.data.status === 'PENDING', 'the merchant API accepts the refund as PENDING');
    line('App backend', 'POST /merchant/refunds (HMAC)', `refund=${refundNo} amount=${formatFen(500)} → PENDING`);
    const refund = await waitFor('refund SUCCEEDED', async () => {
      const r = await stack.deps.store.getRefund(refundNo);
      return r?.status === 'SUCCEEDED' ? r : null;
    });
    await stack.huifu!.idle();
    const refundNote = stack.huifu!.notifications.find((n) => n.reqSeqId === refundNo);
    line('Huifu → payNotify', 'refund notification', `trans_stat S, ${refundNote?.outcome ?? 'not sent'} → refund ${refund.status}`);
    const refunded = await call<OrderView>(stack, 'order', { action: 'get', sessionToken: session.sessionToken, orderNo });
    expectThat(refunded.status === 'PARTIALLY_REFUNDED' && refunded.refundedFen === 500, 'the order is PARTIALLY_REFUNDED by 500 fen');
    line('fn order.get', 'order after the refund', `status=${refunded.status} refunded=${formatFen(refunded.refundedFen)} of ${formatFen(refunded.amountFen)}`);
    await call(stack, 'reconcile', {});
    const hooks = stack.appWebhooks.filter((h) => h.body.includes(orderNo));
    const events = new Set(hooks.map((h) => h.event));
    expectThat(['order.paid', 'order.partially_refunded', 'refund.succeeded'].every((e) => events.has(e)) && hooks.every((h) => h.signatureValid), 'the app backend received every signed webhook');
    line('App backend', 'webhooks received (all)', hooks.map((h) => `${h.event}${h.signatureValid ? ' ✓' : ' INVALID'}`).join(', '));

    // A second order the user abandons: Huifu closes asynchronously (P), and reconcile follows the same close request
    // with close query until S, never sending a second close.
    const otherRef = `DEMO${Date.now()}B`;
    const otherToken = await mintCheckoutToken({ ref: otherRef, amountFen: 990, description: '季卡（演示，未支付）' }, stack.config.checkout.secret, clock.now());
    const other = await call<CreateResult>(stack, 'order', { action: 'create', sessionToken: session.sessionToken, checkoutToken: otherToken });
    line('fn order.create', 'a second order, left unpaid', `order=${other.order.orderNo} ${formatFen(990)} status=${other.order.status}`);
    skip(61_000);
    line('(clock)', 'skips 61 s', 'Huifu refuses closing a trade younger than a minute');
    const cancelled = await call<CancelResult>(stack, 'order', { action: 'cancel', sessionToken: session.sessionToken, orderNo: other.order.orderNo });
    const closeRequest = (await stack.deps.store.getOrder(other.order.orderNo))!.closeRequest!;
    expectThat(cancelled.state === 'CLOSING' && closeRequest.state === 'PROCESSING', 'Huifu answers the close P and the order is CLOSING');
    line('fn order.cancel', 'close sent to Huifu → P', `close=${closeRequest.reqSeqId} answer: ${cancelled.state}, order still ${cancelled.order.status}`);
    skip(15_000);
    await call(stack, 'reconcile', {});
    const closed = (await stack.deps.store.getOrder(other.order.orderNo))!;
    const huifuCalls = stack.huifu!.requests.filter((r) => r.reqSeqId === closeRequest.reqSeqId && (r.operation === 'close' || r.operation === 'closeQuery'));
    expectThat(closed.status === 'CLOSED' && closed.closeRequest?.reqSeqId === closeRequest.reqSeqId && huifuCalls.map((r) => r.operation).join(',') === 'close,closeQuery', 'reconcile follows the same close with close query until S, and the order is CLOSED');
    line('fn reconcile', 'close query, same request → S', `Huifu calls: ${huifuCalls.map((r) => r.operation).join(' → ')}; order ${closed.status}`);

    for (const [label, no] of [['paid and partly refunded', orderNo], ['cancelled', other.order.orderNo]] as const) {
      write(`\norder ${no} (${label}) history:\n`);
      for (const e of await stack.deps.store.listOrderEvents(no)) write(`    ${new Date(e.at).toISOString()}  ${String(e.from ?? '-').padEnd(8)} → ${String(e.to ?? '-').padEnd(8)}  ${e.source.padEnd(9)} ${e.detail}\n`);
    }
    write(`\ndemo passed: ${step} steps, order ${orderNo} paid ${formatFen(order.amountFen)}, refunded ${formatFen(refunded.refundedFen)}\n`);
  } finally {
    await stack.stop();
  }
}

if (require.main === module) {
  runDemo({ env: environmentVariables('local').variables }).catch((error: unknown) => {
    process.stdout.write(`\ndemo FAILED: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
