import { createHmac } from 'node:crypto';
import type { AppWebhook } from '../../../cloudfunctions/src/domain/types';
import { backoffMs, deliverDueWebhooks, deliverWebhook, enqueueOrderWebhook, enqueueRefundWebhook, MAX_ATTEMPTS } from '../../../cloudfunctions/src/services/webhooks';
import { makeRefund } from '../../support/fixtures';
import { startScripted, WEBHOOK_URL, type ScriptedServices } from '../../support/scripted';

/** The outbox to the app backend: what is written, how it is signed and sent, and how failures are retried. */
let s: ScriptedServices;
beforeEach(() => {
  s = startScripted();
});
afterEach(() => s.close());

async function hookFor(status: 'PAID' | 'CLOSED' = 'PAID'): Promise<AppWebhook> {
  const order = await s.order({ status, amountFen: 500, paidAt: status === 'PAID' ? s.clock.now() : null });
  await enqueueOrderWebhook(s.deps, order);
  return (await s.store.listWebhooks({ orderNo: order.orderNo, limit: 1 }))[0]!;
}
const stored = async (hook: AppWebhook) => (await s.store.getWebhook(hook.id))!;

describe('the outbox', () => {
  it('writes nothing when no APP_WEBHOOK_URL is configured', async () => {
    const quiet = startScripted({ APP_WEBHOOK_URL: undefined, APP_WEBHOOK_SECRET: undefined });
    try {
      const order = await quiet.order({ status: 'PAID' });
      await enqueueOrderWebhook(quiet.deps, order);
      expect(await quiet.store.listWebhooks({ orderNo: order.orderNo, limit: 5 })).toEqual([]);
    } finally {
      await quiet.close();
    }
  });

  it('dates the event in whole seconds and keeps the order fields the app needs', async () => {
    const hook = await hookFor('PAID');
    const body = JSON.parse(hook.payload);
    expect(body).toMatchObject({ id: hook.id, event: 'order.paid', created_at: Math.floor(s.clock.now() / 1000) });
    expect(Object.keys(body.data).sort()).toEqual(['amount_fen', 'attach', 'hf_seq_id', 'order_no', 'paid_at', 'ref', 'refunded_fen', 'status']);
  });

  it('says nothing about a refund still PENDING', async () => {
    const order = await s.order({ status: 'PAID' });
    await enqueueRefundWebhook(s.deps, makeRefund(order.orderNo, { status: 'PENDING' }), order);
    expect(await s.store.listWebhooks({ orderNo: order.orderNo, limit: 5 })).toEqual([]);
  });
});

describe('deliverWebhook', () => {
  it('POSTs the payload signed t=<seconds>,v1=HMAC-SHA256(secret, "<t>.<payload>") and marks it delivered', async () => {
    const hook = await hookFor();
    expect(await deliverWebhook(s.deps, hook)).toBe('DELIVERED');
    const [post] = s.posts;
    const t = Math.floor(s.clock.now() / 1000);
    const v1 = createHmac('sha256', 'w'.repeat(40)).update(`${t}.${hook.payload}`).digest('hex');
    expect(post).toEqual({ url: WEBHOOK_URL, body: hook.payload, headers: { 'content-type': 'application/json', 'x-cashier-event': 'order.paid', 'x-cashier-signature': `t=${t},v1=${v1}` } });
    expect(await stored(hook)).toMatchObject({ status: 'DELIVERED', attempts: 1, lastError: null });
    expect(s.logs.filter((l) => l.level !== 'info')).toEqual([]);
  });

  it('claims the row while sending: a second run at the same moment does not find it due', async () => {
    const hook = await hookFor();
    let dueWhileSending: AppWebhook[] = [];
    s.answerWebhooks(async () => {
      dueWhileSending = await s.store.findWebhooksDue(s.clock.now() + 59_999, 10);
      return { status: 204 };
    });
    await deliverWebhook(s.deps, hook);
    expect(dueWhileSending).toEqual([]);
  });

  it('a row claimed by another run is skipped, not sent', async () => {
    const hook = await hookFor();
    await s.store.updateWebhook(hook, { nextAttemptAt: s.clock.now() + 60_000, updatedAt: s.clock.now() });
    expect(await deliverWebhook(s.deps, hook)).toBe('SKIPPED');
    expect(s.posts).toEqual([]);
  });

  it('counts only 2xx as delivered', async () => {
    for (const [status, outcome] of [[200, 'DELIVERED'], [299, 'DELIVERED'], [199, 'RETRY'], [300, 'RETRY'], [500, 'RETRY']] as const) {
      const hook = await hookFor();
      s.answerWebhooks(() => ({ status }));
      expect([status, await deliverWebhook(s.deps, hook)]).toEqual([status, outcome]);
      if (outcome === 'RETRY') expect((await stored(hook)).lastError).toBe(`HTTP ${status}`);
    }
  });

  it('names a timeout and a network error, backs off, and logs a retry as a warning with the order number', async () => {
    const timeout = await hookFor();
    s.answerWebhooks(() => Promise.reject(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' })));
    expect(await deliverWebhook(s.deps, timeout)).toBe('RETRY');
    expect(await stored(timeout)).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'timeout', nextAttemptAt: s.clock.now() + backoffMs(1) });

    const refused = await hookFor();
    s.answerWebhooks(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:9')));
    await deliverWebhook(s.deps, refused);
    expect((await stored(refused)).lastError).toBe('network error: connect ECONNREFUSED 127.0.0.1:9');
    const long = await hookFor();
    s.answerWebhooks(() => Promise.reject(new Error('x'.repeat(500))));
    await deliverWebhook(s.deps, long);
    expect((await stored(long)).lastError).toBe(`network error: ${'x'.repeat(500)}`.slice(0, 200));
    s.logs.pop();
    expect(s.logs.filter((l) => l.level === 'warn').map((l) => l.fields)).toEqual([
      { webhookId: timeout.id, orderNo: timeout.orderNo, event: 'order.paid', attempts: 1, error: 'timeout' },
      { webhookId: refused.id, orderNo: refused.orderNo, event: 'order.paid', attempts: 1, error: 'network error: connect ECONNREFUSED 127.0.0.1:9' },
    ]);
  });

  it(`is DEAD after ${MAX_ATTEMPTS} attempts, logged as an error`, async () => {
    let hook = await hookFor();
    s.answerWebhooks(() => ({ status: 503 }));
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const outcome = await deliverWebhook(s.deps, hook);
      expect([attempt, outcome]).toEqual([attempt, attempt < MAX_ATTEMPTS ? 'RETRY' : 'DEAD']);
      hook = await stored(hook);
    }
    expect(hook).toMatchObject({ status: 'DEAD', attempts: MAX_ATTEMPTS });
    expect(s.logs.filter((l) => l.level === 'error')).toEqual([{ level: 'error', message: 'app webhook dead after retries', fields: { webhookId: hook.id, orderNo: hook.orderNo, event: 'order.paid', attempts: MAX_ATTEMPTS, error: 'HTTP 503' } }]);
    expect(s.logs.filter((l) => l.level === 'warn')).toHaveLength(MAX_ATTEMPTS - 1);
  });
});

describe('deliverDueWebhooks', () => {
  it('counts delivered and failed rows, and leaves rows not yet due alone', async () => {
    const ok = await hookFor('PAID');
    const failing = await hookFor('CLOSED');
    const later = await hookFor('PAID');
    await s.store.updateWebhook(later, { nextAttemptAt: s.clock.now() + 1, updatedAt: s.clock.now() });
    const answers = new Map([[ok.id, 200], [failing.id, 500]]);
    s.answerWebhooks((n) => ({ status: answers.get(JSON.parse(s.posts[n - 1]!.body).id) ?? 0 }));
    expect(await deliverDueWebhooks(s.deps, 10)).toEqual({ delivered: 1, failed: 1 });
    expect(s.posts.map((p) => JSON.parse(p.body).id).sort()).toEqual([ok.id, failing.id].sort());
  });

  it('a row another run claimed after it was found is skipped: neither delivered nor failed', async () => {
    const hook = await hookFor();
    jest.spyOn(s.store, 'findWebhooksDue').mockResolvedValueOnce([hook]);
    await s.store.updateWebhook(hook, { nextAttemptAt: s.clock.now() + 60_000, updatedAt: s.clock.now() });
    expect(await deliverDueWebhooks(s.deps, 10)).toEqual({ delivered: 0, failed: 0 });
    expect(s.posts).toEqual([]);
  });
});
