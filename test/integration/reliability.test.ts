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

describe('hostile or broken notifications: non-200, no state change, recorded as rejected with the reason', () => {
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
    const answer = await postNotification(stack, body, type === 'form' ? 'application/x-www-form-urlencoded' : type);
    expect(answer.status).not.toBe(200);
    expect((await stack.deps.store.getOrder(orderNo))!.status).toBe('PAYING');
    const stored = await stack.deps.store.getNotification(sha(body));
    expect(stored?.outcome).toBe(`rejected:${reason}`);
  });
});

describe('notifications that do not match the order', () => {
  it('an amount that differs is refused and the order flagged', async () => {
    const orderNo = await payingOrder(100);
    const answer = await postNotification(stack, signer.form(signer.payRespData({ orderNo, amountFen: 1 })));
    expect(answer.status).toBe(409);
    expect(await stack.deps.store.getOrder(orderNo)).toMatchObject({ status: 'PAYING', flag: 'AMOUNT_MISMATCH' });
  });

  it('another merchant\'s huifu_id is refused and the order flagged', async () => {
    const orderNo = await payingOrder(100);
    const answer = await postNotification(stack, signer.form(signer.payRespData({ orderNo, amountFen: 100, huifuId: '6666000199999999' })));
    expect(answer.status).toBe(409);
    expect(await stack.deps.store.getOrder(orderNo)).toMatchObject({ status: 'PAYING', flag: 'NOTIFY_MISMATCH' });
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
    await stack.deps.store.insertOrder(order);
    expect((await postNotification(stack, signer.form(signer.payRespData({ orderNo: order.orderNo, amountFen: order.amountFen })))).status).toBe(200);
    expect((await stack.deps.store.getOrder(order.orderNo))!.status).toBe('PAID');
    expect(await stack.deps.store.updateOrder(order.orderNo, { status: 'CREATED', version: 1 }, { status: 'PAYING', updatedAt: 1 })).toBe(false);
  });

  it('a success after close: PAID_AFTER_CLOSE, flagged', async () => {
    const orderNo = await payingOrder();
    stack.advance(61_000);
    await stack.data('order', { action: 'cancel', sessionToken: await stack.loginAs('o_rel_user_1'), orderNo });
    expect((await postNotification(stack, signer.form(signer.payRespData({ orderNo, amountFen: 100 })))).status).toBe(200);
    expect(await stack.deps.store.getOrder(orderNo)).toMatchObject({ status: 'PAID_AFTER_CLOSE', flag: 'PAID_AFTER_CLOSE' });
  });
});

describe('crashes and failing storage', () => {
  it('the store failing in the middle of a notification gets a non-200, and the retry applies exactly once', async () => {
    const orderNo = await payingOrder();
    const body = signer.form(signer.payRespData({ orderNo, amountFen: 100 }));
    const store = stack.deps.store;
    const original = store.appendOrderEvent.bind(store);
    let failures = 1;
    store.appendOrderEvent = async (event) => {
      if (failures > 0 && event.to === 'PAID') {
        failures -= 1;
        throw new Error('disk I/O error');
      }
      return original(event);
    };
    try {
      expect((await postNotification(stack, body)).status).toBe(500); // the CAS won, then the write after it failed
      expect((await postNotification(stack, body)).status).toBe(200);
    } finally {
      store.appendOrderEvent = original;
    }
    expect((await store.getOrder(orderNo))!.status).toBe('PAID');
    // The retry saw PAID (no second transition) and wrote what the failed attempt could not: one event, one webhook.
    expect(await transitionsTo(orderNo, 'PAID')).toBe(1);
    expect((await store.listWebhooks({ orderNo, limit: 10 })).map((w) => w.event)).toEqual(['order.paid']);
    expect((await store.getNotification(sha(new URLSearchParams(body).get('resp_data')!)))?.outcome).toBe('duplicate');
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
    process.stdout.write(`fuzz: ${runs} bodies, ${acked} acknowledged (all with a valid signature), heap +${growthMb.toFixed(1)} MB\n`);
  }, 120_000);
});
