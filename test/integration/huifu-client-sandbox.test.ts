import { generateKeyPairSync } from 'node:crypto';
import { HuifuClient } from '../../cloudfunctions/src/providers/huifu/client';
import {
  HuifuBusinessError,
  HuifuCloseExistsError,
  HuifuCloseTooEarlyError,
  HuifuDuplicateRequestError,
  HuifuGatewayError,
  HuifuOverRefundError,
  HuifuSignatureError,
  HuifuTimeoutError,
} from '../../cloudfunctions/src/providers/huifu/errors';
import { classifyNotification, parseEnvelope, verifyEnvelope } from '../../cloudfunctions/src/providers/huifu/notify';
import { shanghaiDate } from '../../cloudfunctions/src/domain/time';
import type { HuifuSandbox } from '../../scripts/stack/huifu';
import { nextOrderNo } from '../support/fixtures';
import { clientFor, makeHuifuKeys, startNotifyReceiver, startTestSandbox, TEST_IDS, type NotifyReceiver } from '../support/huifu';

const keys = makeHuifuKeys();
let sandbox: HuifuSandbox;
let receiver: NotifyReceiver;

beforeAll(async () => {
  sandbox = await startTestSandbox(keys);
  receiver = await startNotifyReceiver();
});
afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});

function paymentCommand(overrides: Record<string, unknown> = {}) {
  const now = sandbox.now();
  return {
    orderNo: nextOrderNo('P'),
    reqDate: shanghaiDate(now),
    amountFen: 1230,
    description: '会员/年卡 <VIP> & 礼包',
    appid: 'wx0123456789abcdef',
    openid: 'o_sandbox_user',
    expiresAt: now + 30 * 60_000,
    notifyUrl: receiver.url,
    ...overrides,
  };
}

describe.each(['v2', 'v4'] as const)('Huifu client ↔ sandbox, API %s', (apiVersion) => {
  let client: HuifuClient;
  beforeAll(() => {
    client = clientFor(sandbox, keys, { apiVersion });
  });

  it('creates a T_MINIAPP order and returns the five requestPayment fields', async () => {
    const command = paymentCommand();
    const created = await client.createMiniAppPayment(command);
    expect(created.state).toBe('PROCESSING');
    expect(created.payAppId).toBe(command.appid);
    expect(created.payParams).toMatchObject({ signType: 'RSA', package: expect.stringMatching(/^prepay_id=/) });
    expect(typeof created.payParams.timeStamp).toBe('string');
    const path = apiVersion === 'v2' ? '/v2/trade/payment/jspay' : '/v4/trade/payment/create';
    expect(sandbox.requests.filter((r) => r.reqSeqId === command.orderNo).map((r) => [r.path, r.signatureValid])).toEqual([[path, true]]);
    expect(sandbox.trade(command.orderNo)).toMatchObject({ apiVersion, subOpenid: 'o_sandbox_user', goodsDesc: command.description });
  });

  it('queries P, then S after payment, and delivers signed notifications type 1 then 2', async () => {
    const command = paymentCommand();
    await client.createMiniAppPayment(command);
    expect(await client.queryPayment(command)).toMatchObject({ found: true, state: 'PROCESSING', amountFen: 1230 });
    const before = receiver.received.length;
    await sandbox.pay(command.orderNo, 'S');
    const status = await client.queryPayment(command);
    expect(status).toMatchObject({ found: true, state: 'SUCCEEDED', amountFen: 1230, feeFen: 0 });
    if (status.found) expect(status.outTransId).toMatch(/^42000/);
    const bodies = receiver.received.slice(before);
    expect(bodies).toHaveLength(2);
    const types = bodies.map((b) => {
      expect(b.contentType).toMatch(/application\/x-www-form-urlencoded/);
      const envelope = parseEnvelope(b.body, b.contentType);
      verifyEnvelope(envelope, keys.huifuPublicKey);
      return classifyNotification(envelope.respData);
    });
    expect(types.map((n) => [n.kind, n.notifyType, n.reqSeqId])).toEqual([
      ['pay', 1, command.orderNo],
      ['pay', 2, command.orderNo],
    ]);
  });

  it('reports an unknown trade as not found instead of failing', async () => {
    expect(await client.queryPayment({ orderNo: nextOrderNo('X'), reqDate: shanghaiDate(sandbox.now()) })).toEqual({ found: false });
  });

  it('refunds P → S with a cumulative guard, and queries the refund by its own serial', async () => {
    const command = paymentCommand({ amountFen: 100 });
    await client.createMiniAppPayment(command);
    await sandbox.pay(command.orderNo, 'S');
    const reqDate = shanghaiDate(sandbox.now());
    const refund = { refundNo: nextOrderNo('R'), reqDate, orderNo: command.orderNo, orderReqDate: command.reqDate, amountFen: 60, notifyUrl: receiver.url };
    expect(await client.refund(refund)).toMatchObject({ found: true, state: 'PROCESSING', amountFen: 60 });
    await expect(client.refund({ ...refund, refundNo: nextOrderNo('R'), amountFen: 41 })).rejects.toBeInstanceOf(HuifuOverRefundError);
    await sandbox.settleRefund(refund.refundNo, 'S');
    expect(await client.queryRefund({ refundNo: refund.refundNo, reqDate })).toMatchObject({ found: true, state: 'SUCCEEDED' });
    expect(await client.refund({ ...refund, refundNo: nextOrderNo('R'), amountFen: 40 })).toMatchObject({ state: 'PROCESSING' });
  });

  it('refuses to refund an unpaid trade', async () => {
    const command = paymentCommand();
    await client.createMiniAppPayment(command);
    const refund = { refundNo: nextOrderNo('R'), reqDate: command.reqDate, orderNo: command.orderNo, orderReqDate: command.reqDate, amountFen: 1, notifyUrl: receiver.url };
    await expect(client.refund(refund)).rejects.toMatchObject({ respCode: '23000000' });
  });
});

describe('Huifu close, close query and bill files (v2 paths in both generations)', () => {
  const client = () => clientFor(sandbox, keys, { apiVersion: 'v4' });

  it('refuses a close within 60 s of creation; a close answers P, close query settles it S, and a second close is refused', async () => {
    const command = paymentCommand();
    await client().createMiniAppPayment(command);
    const close = { reqSeqId: nextOrderNo('C'), reqDate: command.reqDate, orderNo: command.orderNo, orderReqDate: command.reqDate };
    await expect(client().close(close)).rejects.toBeInstanceOf(HuifuCloseTooEarlyError);
    sandbox.advanceClock(61_000);
    expect(await client().close(close)).toEqual({ closeState: 'PROCESSING', tradeState: 'PROCESSING' });
    await expect(client().close({ ...close, reqSeqId: nextOrderNo('C') })).rejects.toBeInstanceOf(HuifuCloseExistsError);
    expect(await client().queryClose(close)).toMatchObject({ closeState: 'SUCCEEDED' });
    await expect(sandbox.pay(command.orderNo, 'S')).rejects.toThrow(/closed/);

    const paid = paymentCommand();
    await client().createMiniAppPayment(paid);
    await sandbox.pay(paid.orderNo, 'S');
    sandbox.advanceClock(61_000);
    await expect(client().close({ ...close, reqSeqId: nextOrderNo('C'), orderNo: paid.orderNo })).rejects.toMatchObject({ respCode: '10000016' });
  });

  it('lists bill files', async () => {
    const bills = await client().billFiles({ reqSeqId: nextOrderNo('B'), reqDate: shanghaiDate(sandbox.now()), fileDate: '20260101' });
    expect(bills.pending).toBe(false);
    expect(bills.files[0]).toMatchObject({ billType: 'TRADE_BILL', fileDate: '20260101' });
  });
});

describe('idempotency of req_seq_id', () => {
  it('replays the first answer for the same payload and refuses a different payload', async () => {
    const client = clientFor(sandbox, keys);
    const command = paymentCommand();
    const first = await client.createMiniAppPayment(command);
    const again = await client.createMiniAppPayment(command);
    expect(again.payParams).toEqual(first.payParams);
    await expect(client.createMiniAppPayment({ ...command, amountFen: 999 })).rejects.toBeInstanceOf(HuifuDuplicateRequestError);
  });

  it('validates formats like the gateway: two-decimal amounts, today\'s req_date', async () => {
    const client = clientFor(sandbox, keys);
    await expect(client.post('/v2/trade/payment/jspay', { req_date: shanghaiDate(sandbox.now()), req_seq_id: nextOrderNo('P'), huifu_id: TEST_IDS.huifuId, trade_type: 'T_MINIAPP', trans_amt: '1.5', goods_desc: 'x', wx_data: '{"sub_appid":"wx1","sub_openid":"o"}' })).rejects.toMatchObject({ respCode: '10000000', respDesc: 'trans_amt不符合金额格式' });
    await expect(client.createMiniAppPayment(paymentCommand({ reqDate: '20200101' }))).rejects.toMatchObject({ respDesc: '请求日期必须是当前日期' });
    await expect(client.post('/v2/trade/payment/jspay', { req_date: shanghaiDate(sandbox.now()), req_seq_id: nextOrderNo('P'), huifu_id: TEST_IDS.huifuId, trade_type: 'T_MINIAPP', trans_amt: '1.00', goods_desc: 'x' })).rejects.toMatchObject({ respDesc: 'wx_data不能为空' });
  });
});

describe('bad signatures both ways', () => {
  it('answers 922 when our request is signed with a key Huifu does not know', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const error = await clientFor(sandbox, keys, { merchantPrivateKey: stranger }).createMiniAppPayment(paymentCommand()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuifuGatewayError);
    expect(error).toMatchObject({ httpStatus: 922, code: 'PAYMENT_CONFIG_ERROR' });
    expect(sandbox.requests[sandbox.requests.length - 1]!.signatureValid).toBe(false);
  });

  it('refuses an answer that does not verify with HUIFU_PUBLIC_KEY', async () => {
    const wrongHuifuKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    await expect(clientFor(sandbox, keys, { huifuPublicKey: wrongHuifuKey }).createMiniAppPayment(paymentCommand())).rejects.toBeInstanceOf(HuifuSignatureError);
    sandbox.injectFault({ operation: 'query', kind: 'badSignature' });
    await expect(clientFor(sandbox, keys).queryPayment({ orderNo: nextOrderNo('X'), reqDate: shanghaiDate(sandbox.now()) })).rejects.toBeInstanceOf(HuifuSignatureError);
  });
});

describe('faults', () => {
  it('HTTP 500 is an ambiguous, retryable gateway error', async () => {
    sandbox.injectFault({ operation: 'create', kind: 'http500' });
    const error = await clientFor(sandbox, keys).createMiniAppPayment(paymentCommand()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuifuGatewayError);
    expect(error).toMatchObject({ httpStatus: 500, ambiguous: true, retryable: true });
  });

  it('a timeout is ambiguous; the trade it may have created is found by query, not created again', async () => {
    const client = clientFor(sandbox, keys, { timeoutMs: 300 });
    const command = paymentCommand();
    sandbox.injectFault({ operation: 'create', kind: 'timeoutAfterAccept' });
    const error = await client.createMiniAppPayment(command).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuifuTimeoutError);
    expect(error).toMatchObject({ ambiguous: true });
    expect(await client.queryPayment(command)).toMatchObject({ found: true, state: 'PROCESSING' });
    // Retrying with the same req_seq_id and payload is safe: the sandbox replays, no second trade exists.
    expect((await client.createMiniAppPayment(command)).state).toBe('PROCESSING');

    sandbox.injectFault({ operation: 'query', kind: 'timeout' });
    await expect(client.queryPayment(command)).rejects.toBeInstanceOf(HuifuTimeoutError);
  });

  it('a business failure is typed with its code', async () => {
    sandbox.injectFault({ operation: 'create', kind: 'business', respCode: '90000000', respDesc: '交易存在风险' });
    await expect(clientFor(sandbox, keys).createMiniAppPayment(paymentCommand())).rejects.toMatchObject({
      constructor: HuifuBusinessError,
      respCode: '90000000',
      code: 'PAYMENT_GATEWAY_REJECTED',
    });
  });
});

describe('notification delivery rule', () => {
  it('retries up to 3 times until answered 200 with the exact ack', async () => {
    const client = clientFor(sandbox, keys);
    const command = paymentCommand();
    await client.createMiniAppPayment(command);
    let calls = 0;
    receiver.answer = (body) => {
      calls += 1;
      const id = (JSON.parse(new URLSearchParams(body).get('resp_data')!) as { req_seq_id: string }).req_seq_id;
      return calls < 3 ? { status: 500, text: 'busy' } : { status: 200, text: `RECV_ORD_ID_${id}` };
    };
    sandbox.setNotifyMode({ kind: 'normal' });
    await sandbox.pay(command.orderNo, 'F');
    const attempts = sandbox.notifications.filter((n) => n.reqSeqId === command.orderNo);
    expect(attempts.map((a) => a.outcome)).toEqual(['http_error', 'http_error', 'acked']);

    const other = paymentCommand();
    await client.createMiniAppPayment(other);
    receiver.answer = () => ({ status: 200, text: 'success' }); // a wrong ack is a failure
    await sandbox.pay(other.orderNo, 'F');
    expect(sandbox.notifications.filter((n) => n.reqSeqId === other.orderNo).map((a) => a.outcome)).toEqual(['bad_ack', 'bad_ack', 'bad_ack', 'bad_ack']);
  });
});

describe('sandbox control routes refuse what they do not know, with 4xx and what is accepted', () => {
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${sandbox.url}/_sandbox/${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as { ok?: boolean; error?: string } };
  };

  it.each([
    ['pay', { req_seq_id: 'NO_SUCH_TRADE' }, 404, /no trade NO_SUCH_TRADE/],
    ['pay', { prepay_id: 'prepay_id=sandbox_nope' }, 404, /no trade/],
    ['refund/settle', { req_seq_id: 'NO_SUCH_REFUND' }, 404, /no refund/],
    ['close/settle', { req_seq_id: 'NO_SUCH_TRADE' }, 404, /no close/],
    ['faults', { operation: 'create', kind: 'explode' }, 400, /kind must be one of http500\|timeout/],
    ['faults', { operation: 'launch', kind: 'http500' }, 400, /operation must be one of/],
    ['notify/mode', { mode: 'shout' }, 400, /mode must be one of normal\|drop/],
    ['notify/mode', { mode: 'drop', count: -1 }, 400, /count must be a whole number/],
    ['duplicates', { mode: 'sometimes' }, 400, /replay or refuse/],
    ['clock/advance', { ms: -5 }, 400, /ms must be/],
  ])('%s %j → %d', async (path, body, status, error) => {
    const answer = await control(path as string, body);
    expect(answer.status).toBe(status);
    expect(answer.json.error).toMatch(error as RegExp);
    expect(answer.json.ok).toBeUndefined();
  });

  it('refuses to pay a closed or already settled trade, saying why', async () => {
    const command = paymentCommand();
    await clientFor(sandbox, keys).createMiniAppPayment(command);
    expect((await control('pay', { req_seq_id: command.orderNo, result: 'S', wait: true })).status).toBe(200);
    expect(await control('pay', { req_seq_id: command.orderNo })).toMatchObject({ status: 409, json: { error: expect.stringMatching(/already S/) } });
    expect(await control('pay', { req_seq_id: command.orderNo, result: 'maybe' })).toMatchObject({ status: 400 });
  });
});
