/**
 * Fault and adversarial tests against the local stack over loopback HTTP (the test matrix of
 * ../shared/docs/reference/payments-practice.md §4.4).
 */
import fc from 'fast-check';
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { CreateResult } from '@cashier/shared';
import type { Order } from '../../cloudfunctions/src/domain/types';
import { verifyRsaSha256 } from '../../cloudfunctions/src/providers/huifu/sign';
import { handleHuifuNotification } from '../../cloudfunctions/src/services/notifications';
import { shanghaiDate } from '../../cloudfunctions/src/domain/time';
import { signRsaSha256 } from '../../cloudfunctions/src/providers/huifu/sign';
import { makeOrder, nextOrderNo } from '../support/fixtures';
import { notificationSigner, postNotification } from '../support/notifications';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let signer: ReturnType<typeof notificationSigner>;
let refs = 0;

beforeAll(async () => {
  stack = await startTestStack();
  signer = notificationSigner(stack);
});
afterAll(() => stack.stop());

/** An order PAYING at Huifu, placed through the real flow. */
async function payingOrder(amountFen = 100): Promise<string> {
  const sessionToken = await stack.loginAs('o_rel_user_1');
  const created = await stack.data<CreateResult>('order', { action: 'create', sessionToken, checkoutToken: await stack.checkout({ ref: `REL-${Date.now()}-${++refs}`, amountFen }) });
  return created.order.orderNo;
}

const rejectionCount = async (reason: string) =>
  (await stack.deps.store.listRejections()).counts.filter((c) => c.reason === reason).reduce((sum, c) => sum + c.count, 0);
const transitionsTo = async (orderNo: string, to: string) => (await stack.deps.store.listOrderEvents(orderNo)).filter((e) => e.to === to && e.from !== to).length;
const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('duplicates', () => {
  it('the same notification twice in a row: one transition, both acknowledged', async () => {
    const orderNo = await payingOrder();
    const body = signer.form(signer.payRespData({ orderNo, amountFen: 100 }));
    expect(await postNotification(stack, body)).toEqual({ status: 200, text: `RECV_ORD_ID_${orderNo}` });
    expect(await postNotification(stack, body)).toEqual({ status: 200, text: `RECV_ORD_ID_${orderNo}` });
    expect(await transitionsTo(orderNo, 'PAID')).toBe(1);
  });

  it('20 copies at once: one transition, every copy acknowledged', async () => {
    const orderNo = await payingOrder();
    const body = signer.form(signer.payRespData({ orderNo, amountFen: 100 }));
    const answers = await Promise.all(Array.from({ length: 20 }, () => postNotification(stack, body)));
    expect(answers.every((a) => a.status === 200 && a.text === `RECV_ORD_ID_${orderNo}`)).toBe(true);
    expect(await transitionsTo(orderNo, 'PAID')).toBe(1);
    expect((await stack.deps.store.listWebhooks({ orderNo, limit: 10 })).filter((w) => w.event === 'order.paid')).toHaveLength(1);
  });
});

describe('hostile or broken notifications: non-200, no state change, counted by reason (never stored one by one)', () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

  it.each([
    ['a tampered resp_data', (r: string, s: string) => signer.form(r.replace('"1.00"', '"0.01"'), s), 'form', 'bad_signature'],
    ['a signature from another key', (r: string) => signer.form(r, signRsaSha256(r, other)), 'form', 'bad_signature'],
    ['a missing sign', (r: string) => new URLSearchParams({ resp_data: r }).toString(), 'form', 'missing_sign'],
    ['a malformed sign', (r: string) => signer.form(r, '%%%not-base64%%%'), 'form', 'bad_signature'],
    ['the wrong content type', (r: string, s: string) => signer.form(r, s), 'text/xml', 'unsupported_content_type'],
    ['an oversized body', (r: string, s: string) => signer.form(r, s) + '&pad=' + 'x'.repeat(70 * 1024), 'form', 'too_large'],
  ])('%s', async (_what, build, type, reason) => {
    const orderNo = await payingOrder();
    const respData = signer.payRespData({ orderNo, amountFen: 100 });
    const body = build(respData, signer.sign(respData));
    const before = await rejectionCount(reason as string);
    const answer = await postNotification(stack, body, type === 'form' ? 'application/x-www-form-urlencoded' : type);
    expect(answer.status).not.toBe(200);
    expect((await stack.deps.store.getOrder(orderNo))!.status).toBe('PAYING');
    expect(await stack.deps.store.getNotification(sha(body))).toBeNull();
    expect(await stack.deps.store.getNotification(sha(respData))).toBeNull();
    expect(await rejectionCount(reason as string)).toBe(before + 1);
  });
});

describe('junk sent to the notify URL stays within a fixed bound', () => {
  const rows = async () => {
    const { counts, samples } = await stack.deps.store.listRejections();
    return { rows: counts.length + samples.length, sampleBytes: samples.reduce((n, x) => n + Buffer.byteLength(x.sample), 0) };
  };

  it('300 unsigned junk POSTs of one kind add a handful of rows, and nothing to the inbox', async () => {
    const inboxBefore = (await stack.deps.store.listNotifications({ limit: 10_000 })).length;
    const before = await rows();
    for (let i = 0; i < 300; i++) {
      const junk = new URLSearchParams({ resp_data: JSON.stringify({ req_seq_id: `JUNK${i}`, pad: 'x'.repeat(3000) }), sign: 'AAAA' }).toString();
      expect((await postNotification(stack, junk)).status).toBe(400);
    }
    const after = await rows();
    expect(after.rows - before.rows).toBeLessThanOrEqual(6); // one hourly count + at most 5 samples of the reason
    expect((await stack.deps.store.listNotifications({ limit: 10_000 })).length).toBe(inboxBefore);
  }, 60_000);

  it('10,000 junk requests of every kind over days never grow the store past its cap; a genuine one still gets through', async () => {
    const kinds = [
      (i: number) => [new URLSearchParams({ resp_data: `{"req_seq_id":"J${i}"}`, sign: 'AAAA' }).toString(), 'application/x-www-form-urlencoded'],
      (i: number) => [new URLSearchParams({ resp_data: `{"req_seq_id":"J${i}"}` }).toString(), 'application/x-www-form-urlencoded'],
      (i: number) => [`<xml>${i}</xml>`, 'text/xml'],
      (i: number) => [`{not json ${i}`, 'application/json'],
      (i: number) => ['x'.repeat(70 * 1024), 'application/x-www-form-urlencoded'],
    ];
    for (let i = 0; i < 10_000; i++) {
      const [body, type] = kinds[i % kinds.length]!(i);
      const answer = await handleHuifuNotification(stack.deps, body!, type);
      expect(answer.statusCode).not.toBe(200);
      if (i % 400 === 399) stack.advance(3_600_000); // 25 simulated hours
    }
    const { counts, samples } = await stack.deps.store.listRejections();
    const reasons = new Set(counts.map((c) => c.reason));
    // The cap: per reason, the hourly counts kept (48 h + the current hour) and 5 samples of at most 512 bytes.
    expect(counts.length).toBeLessThanOrEqual(reasons.size * 49);
    expect(samples.length).toBeLessThanOrEqual(reasons.size * 5);
    expect(samples.every((x) => Buffer.byteLength(x.sample) <= 512 * 3)).toBe(true);
    expect(counts.reduce((n, c) => n + c.count, 0)).toBeGreaterThanOrEqual(10_000);
    const orderNo = await payingOrder();
    expect((await postNotification(stack, signer.form(signer.payRespData({ orderNo, amountFen: 100 })))).status).toBe(200);
  }, 120_000);
});

describe('notifications that do not match the order', () => {
  it.each([
    ['1 fen of 100', 100, 1],
    ['1 fen short', 100, 99],
    ['1 fen over', 100, 101],
    ['1 fen short of a whole yuan amount', 1000, 999],
  ])('an amount that differs (%s) is refused, the order flagged and otherwise unchanged', async (_what, orderFen, notifiedFen) => {
    const orderNo = await payingOrder(orderFen);
    const before = await stack.deps.store.getOrder(orderNo);
    const answer = await postNotification(stack, signer.form(signer.payRespData({ orderNo, amountFen: notifiedFen })));
    expect(answer.status).toBe(409);
    const after = await stack.deps.store.getOrder(orderNo);
    expect(after).toMatchObject({ status: 'PAYING', flags: ['AMOUNT_MISMATCH'], paidAt: null, hfSeqId: before!.hfSeqId });
    expect(await stack.deps.store.listWebhooks({ orderNo, limit: 5 })).toEqual([]);
  });

  it.each([
    ['a leading zero', '019.90'],
    ['more digits than Huifu carries', '1000000000000.00'],
  ])('a validly signed notification with an amount the schema refuses (%s) is kept as rejected and answered 4xx, not 500', async (_what, amount) => {
    const orderNo = await payingOrder(1990);
    const respData = signer.payRespData({ orderNo, amountFen: 1990 }).replace('"19.90"', `"${amount}"`);
    expect(respData).toContain(amount);
    const answer = await postNotification(stack, signer.form(respData));
    expect(answer.status).toBe(400);
    expect((await stack.deps.store.getNotification(sha(respData)))?.outcome).toBe('rejected:invalid_fields');
    expect((await stack.deps.store.getOrder(orderNo))!.status).toBe('PAYING');
  });

  it('another merchant\'s huifu_id is refused and the order flagged', async () => {
    const orderNo = await payingOrder(100);
    const answer = await postNotification(stack, signer.form(signer.payRespData({ orderNo, amountFen: 100, huifuId: '6666000199999999' })));
    expect(answer.status).toBe(409);
    expect(await stack.deps.store.getOrder(orderNo)).toMatchObject({ status: 'PAYING', flags: ['NOTIFY_MISMATCH'] });
  });

  it('an unknown req_seq_id is refused and recorded', async () => {
    const respData = signer.payRespData({ orderNo: nextOrderNo('P'), amountFen: 100 });
    expect((await postNotification(stack, signer.form(respData))).status).toBe(409);
    expect((await stack.deps.store.getNotification(sha(respData)))?.outcome).toBe('rejected:unknown_order');
  });
});

describe('out of order', () => {
  it('notify_type 2 before 1: PAID once', async () => {
    const orderNo = await payingOrder();
    expect((await postNotification(stack, signer.form(signer.payRespData({ orderNo, amountFen: 100, notifyType: 2 })))).status).toBe(200);
    expect((await postNotification(stack, signer.form(signer.payRespData({ orderNo, amountFen: 100, notifyType: 1 })))).status).toBe(200);
    expect(await transitionsTo(orderNo, 'PAID')).toBe(1);
  });

  it('a success arriving before the create answer was stored: CREATED → PAID, and the late create answer changes nothing', async () => {
    const order: Order = makeOrder({ orderNo: nextOrderNo('P'), openid: 'o_rel_user_1', createdAt: stack.clock.now(), expiresAt: stack.clock.now() + 600_000, reqDate: shanghaiDate(stack.clock.now()) });
    await stack.deps.store.insertOrder(order, { from: null, to: 'CREATED', source: 'api', at: order.createdAt, detail: 'created' });
    expect((await postNotification(stack, signer.form(signer.payRespData({ orderNo: order.orderNo, amountFen: order.amountFen })))).status).toBe(200);
    expect((await stack.deps.store.getOrder(order.orderNo))!.status).toBe('PAID');
    expect(await stack.deps.store.updateOrder(order, { status: 'PAYING', updatedAt: 1 })).toBeNull();
  });

  it('a success after close: PAID_AFTER_CLOSE, flagged', async () => {
    const orderNo = await payingOrder();
    stack.advance(61_000);
    await stack.data('order', { action: 'cancel', sessionToken: await stack.loginAs('o_rel_user_1'), orderNo });
    stack.advance(15_000);
    await stack.reconcile();
    expect((await stack.deps.store.getOrder(orderNo))!.status).toBe('CLOSED');
    expect((await postNotification(stack, signer.form(signer.payRespData({ orderNo, amountFen: 100 })))).status).toBe(200);
    expect(await stack.deps.store.getOrder(orderNo)).toMatchObject({ status: 'PAID_AFTER_CLOSE', flags: ['PAID_AFTER_CLOSE'] });
  });
});

describe('crashes and failing storage', () => {
  it('the ack waits for the inbox write: when recording the notification fails, Huifu gets a non-200 and its retry the ack', async () => {
    const orderNo = await payingOrder();
    const body = signer.form(signer.payRespData({ orderNo, amountFen: 100 }));
    const store = stack.deps.store;
    const original = store.insertNotification.bind(store);
    let failures = 1;
    store.insertNotification = async (row) => {
      if (failures > 0) {
        failures -= 1;
        throw new Error('disk I/O error');
      }
      return original(row);
    };
    try {
      const first = await postNotification(stack, body);
      expect(first.status).not.toBe(200);
      expect(first.text).not.toContain('RECV_ORD_ID_');
      const retry = await postNotification(stack, body);
      expect(retry).toEqual({ status: 200, text: `RECV_ORD_ID_${orderNo}` });
    } finally {
      store.insertNotification = original;
    }
    expect((await store.getOrder(orderNo))!.status).toBe('PAID');
    expect(await transitionsTo(orderNo, 'PAID')).toBe(1);
    expect(await store.listNotifications({ reqSeqId: orderNo, limit: 5 })).toHaveLength(1);
  });

  it('the store failing in the middle of a notification gets a non-200, and the retry applies exactly once', async () => {
    const orderNo = await payingOrder();
    const body = signer.form(signer.payRespData({ orderNo, amountFen: 100 }));
    const store = stack.deps.store;
    const original = store.insertWebhook.bind(store);
    let failures = 1;
    store.insertWebhook = async (hook) => {
      if (failures > 0) {
        failures -= 1;
        throw new Error('disk I/O error');
      }
      return original(hook);
    };
    try {
      expect((await postNotification(stack, body)).status).toBe(500);
      // SQLite ran the notification as one transaction: nothing of the failed attempt stayed.
      expect((await store.getOrder(orderNo))!.status).toBe('PAYING');
      expect((await postNotification(stack, body)).status).toBe(200);
    } finally {
      store.insertWebhook = original;
    }
    expect((await store.getOrder(orderNo))!.status).toBe('PAID');
    expect(await transitionsTo(orderNo, 'PAID')).toBe(1);
    expect((await store.listWebhooks({ orderNo, limit: 10 })).map((w) => w.event)).toEqual(['order.paid']);
    expect((await store.getNotification(sha(new URLSearchParams(body).get('resp_data')!)))?.outcome).toBe('applied');
  });

  it('a process killed after Huifu took the money but before anything was stored: the next reconcile converges', async () => {
    const orderNo = await payingOrder();
    stack.huifu!.setNotifyMode({ kind: 'drop' }, 2); // the notifications hit a dead process
    await stack.huifu!.pay(orderNo, 'S');
    stack.advance(61_000);
    await stack.reconcile();
    expect((await stack.deps.store.getOrder(orderNo))!.status).toBe('PAID');
  });
});

describe('fuzzing notifications', () => {
  it('never answers 200 to an invalid body and never throws, over 10,000 random and mutated bodies', async () => {
    const orderNo = await payingOrder();
    const respData = signer.payRespData({ orderNo, amountFen: 100 });
    const valid = signer.form(respData);
    const publicKey = stack.config.huifu.huifuPublicKey;
    const mutate = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.tuple(fc.nat(valid.length - 1), fc.string({ minLength: 1, maxLength: 3 })).map(([i, s]) => valid.slice(0, i) + s + valid.slice(i + 1)),
      fc.tuple(fc.nat(respData.length - 1), fc.string({ minLength: 1, maxLength: 1 })).map(([i, c]) => signer.form(respData.slice(0, i) + c + respData.slice(i + 1), signer.sign(respData))),
      fc.json().map((j) => signer.form(j, signer.sign(respData))),
      fc.json().map((j) => JSON.stringify({ resp_data: j, sign: 'x' })),
    );
    const types = fc.constantFrom('application/x-www-form-urlencoded', 'application/json', undefined, 'text/plain');
    const heapBefore = process.memoryUsage().heapUsed;
    let runs = 0;
    let acked = 0;
    await fc.assert(
      fc.asyncProperty(mutate, types, async (body, type) => {
        runs += 1;
        const answer = await handleHuifuNotification(stack.deps, body, type);
        if (answer.statusCode === 200) {
          acked += 1;
          // Only a genuinely signed resp_data may be acknowledged (a mutation of the unsigned outer fields is one).
          const form = new URLSearchParams(body);
          const json = (() => { try { return JSON.parse(body) as Record<string, unknown>; } catch { return {}; } })();
          const r = form.get('resp_data') ?? (json.resp_data as string);
          const s = form.get('sign') ?? (json.sign as string);
          expect(verifyRsaSha256(String(r), String(s), publicKey)).toBe(true);
        }
      }),
      { numRuns: 10_000 },
    );
    expect(runs).toBe(10_000);
    const growthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    expect(growthMb).toBeLessThan(256);
    // The order moved only if a genuinely signed notification got through.
    expect((await stack.deps.store.getOrder(orderNo))!.status).toBe(acked > 0 ? 'PAID' : 'PAYING');
    console.log(`fuzz: ${runs} bodies, ${acked} acknowledged (all with a valid signature), heap +${growthMb.toFixed(1)} MB`);
  }, 120_000);
});
