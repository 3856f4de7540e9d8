import type { CreateResult } from '@cashier/shared';
import { runOps } from '../../scripts/ops';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

async function ops(...argv: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await runOps(stack.deps, argv, (l) => lines.push(l));
  return { code, text: lines.join('\n') };
}

describe('pnpm ops', () => {
  let orderNo: string;
  beforeAll(async () => {
    const sessionToken = await stack.loginAs('o_ops_user_1');
    const created = await stack.data<CreateResult>('order', { action: 'create', sessionToken, checkoutToken: await stack.checkout({ ref: `OPS-${Date.now()}`, amountFen: 200 }) });
    orderNo = created.order.orderNo;
    await stack.huifu!.pay(orderNo, 'S');
    await stack.huifu!.idle();
  });

  it('shows an order by number or ref with its history, notifications and webhooks', async () => {
    const { code, text } = await ops('order', orderNo);
    expect(code).toBe(0);
    expect(text).toMatch(new RegExp(`order ${orderNo} .* PAID +¥2\\.00`));
    expect(text).toMatch(/PAYING → PAID +notify/);
    expect(text).toMatch(/notification [0-9a-f]{12} +type 1 +S +applied/);
    expect(text).toMatch(/webhook wh_.* order\.paid +PENDING/);
    expect((await ops('order', 'NO-SUCH-REF')).code).toBe(1);
  });

  it('refunds, replays a stored notification (acknowledged as a duplicate), resends a webhook and reconciles', async () => {
    const refund = await ops('refund', orderNo, '0.50', '--refund-no', 'OPSR000001', '--reason', 'test');
    expect(refund.code).toBe(0);
    expect(JSON.parse(refund.text)).toMatchObject({ refundNo: 'OPSR000001', amountFen: 50, status: 'PENDING' });

    const [stored] = await stack.deps.store.listNotifications({ reqSeqId: orderNo, limit: 1 });
    const replay = await ops('replay', stored!.id.slice(0, 16));
    expect(replay).toMatchObject({ code: 0, text: expect.stringMatching(new RegExp(`HTTP 200 RECV_ORD_ID_${orderNo}`)) });
    expect((await stack.deps.store.listOrderEvents(orderNo)).filter((e) => e.from === 'PAYING' && e.to === 'PAID')).toHaveLength(1);

    const [hook] = await stack.deps.store.listWebhooks({ orderNo, limit: 1 });
    expect(await ops('resend-webhook', hook!.id)).toMatchObject({ code: 0, text: `webhook ${hook!.id}: DELIVERED` });
    expect(stack.appWebhooks.some((h) => h.body.includes(hook!.id))).toBe(true);

    const reconcile = await ops('reconcile');
    expect(JSON.parse(reconcile.text)).toHaveProperty('webhooksDelivered');
    expect((await ops('explode')).code).toBe(2);
  });
});
