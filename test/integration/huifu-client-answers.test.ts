/**
 * The Huifu client against answers the sandbox never gives: a scripted loopback Huifu that signs whatever `data`
 * a test scripts, in the exact text the test chooses. What the client sends and how it reads each answer.
 */
import { createServer, type Server } from 'node:http';
import { DEFAULT_MAX_FEN } from '../../cloudfunctions/src/domain/money';
import type { HuifuClient, HuifuClientOptions } from '../../cloudfunctions/src/providers/huifu/client';
import { HuifuError, HuifuSignatureError } from '../../cloudfunctions/src/providers/huifu/errors';
import { signRsaSha256 } from '../../cloudfunctions/src/providers/huifu/sign';
import { closeServer, listen, readBody } from '../../scripts/lib/http';
import { clientFor, makeHuifuKeys } from '../support/huifu';

const keys = makeHuifuKeys();
/** The answer to the next request: a body text, given the request's data. */
let answer: (data: Record<string, unknown>) => string = () => '{}';
const received: Array<{ path: string; contentType: string | undefined; data: Record<string, unknown> }> = [];
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const { text } = await readBody(req);
    const data = (JSON.parse(text) as { data: Record<string, unknown> }).data;
    received.push({ path: req.url ?? '', contentType: req.headers['content-type'], data });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(answer(data));
  });
  baseUrl = `http://127.0.0.1:${await listen(server, 0)}`;
});
afterAll(() => closeServer(server));
beforeEach(() => {
  received.length = 0;
});

/** A body signed over exactly `dataText`, as Huifu signs its answers. */
const signed = (dataText: string) => `{"data":${dataText},"sign":"${signRsaSha256(dataText, keys.huifuPrivateKey)}"}`;
const signedData = (data: Record<string, unknown>) => signed(JSON.stringify(data));
const ok = { resp_code: '00000000', resp_desc: '成功' };
const client = (overrides: Partial<HuifuClientOptions> = {}) => clientFor({ url: baseUrl }, keys, overrides);
const query = () => client().queryPayment({ orderNo: 'P0000000001', reqDate: '20261205' });
const payInfo = JSON.stringify({ appId: 'wx0123456789abcdef', timeStamp: '1', nonceStr: 'n', package: 'prepay_id=wx1', signType: 'RSA', paySign: 's' });
const create = (overrides: Partial<Parameters<HuifuClient['createMiniAppPayment']>[0]> = {}) =>
  client().createMiniAppPayment({ orderNo: 'P0000000001', reqDate: '20261205', amountFen: 100, description: '会员', appid: 'wx0123456789abcdef', openid: 'o_user', expiresAt: Date.UTC(2026, 11, 5, 4), notifyUrl: 'https://pay.example.com/huifu/notify', ...overrides });

describe('reading answers', () => {
  it('verifies over the raw data text even when it is neither sorted nor in JSON.stringify\'s number format', () => {
    // Sorted and re-serialised this is {"resp_code":…,"trans_amt":"1.00","trans_stat":…,"z":1.5}: it would not verify.
    answer = () => signed(`{"trans_stat":"S","resp_code":"00000000","trans_amt":"1.00","z":1.50}`);
    return expect(query()).resolves.toMatchObject({ found: true, state: 'SUCCEEDED', amountFen: 100 });
  });

  it.each([
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"x"'],
  ])('refuses data that is %s', async (_what, dataText) => {
    answer = () => signed(dataText);
    await expect(query()).rejects.toThrow(new HuifuSignatureError('Huifu /v2/trade/payment/scanpay/query answered without a data object'));
  });

  it('reports an unsigned refusal with its own description, empty when there is none', async () => {
    answer = () => '{"data":{"resp_code":"10000000"}}';
    await expect(query()).rejects.toMatchObject({ respCode: '10000000', respDesc: '' });
  });

  it('a signed answer without resp_code is an unknown outcome', async () => {
    answer = () => signedData({ trans_stat: 'S' });
    await expect(query()).rejects.toMatchObject({ code: 'PAYMENT_GATEWAY_UNAVAILABLE', retryable: true, ambiguous: true, message: expect.stringMatching(/without resp_code/) });
  });

  it('an accepted answer with fields we cannot read is an unknown outcome, naming each field', async () => {
    answer = () => signedData({ ...ok, trans_stat: 'X', trans_amt: '1' });
    const error = (await query().catch((e: unknown) => e)) as HuifuError;
    expect(error).toBeInstanceOf(HuifuError);
    expect(error).toMatchObject({ code: 'PAYMENT_GATEWAY_UNAVAILABLE', retryable: true, ambiguous: true });
    expect(error.message).toMatch(/answered with unexpected fields: trans_stat: .*; trans_amt: /);
  });

  it('takes the trade serial from org_hf_seq_id when hf_seq_id is absent', async () => {
    answer = () => signedData({ ...ok, trans_stat: 'S', trans_amt: '1.00', org_hf_seq_id: 'H-ORG' });
    await expect(query()).resolves.toMatchObject({ hfSeqId: 'H-ORG' });
    answer = () => signedData({ ...ok, trans_stat: 'S', trans_amt: '1.00', hf_seq_id: 'H-OWN', org_hf_seq_id: 'H-ORG' });
    await expect(query()).resolves.toMatchObject({ hfSeqId: 'H-OWN' });
  });

  it('reads the fee from fee_amount, fee_amt or payment_fee, and none from a payment_fee that is not JSON', async () => {
    const base = { ...ok, trans_stat: 'S', trans_amt: '1.00' };
    for (const [fields, fee] of [
      [{ fee_amount: '0.01' }, 1],
      [{ fee_amt: '0.02' }, 2],
      [{ payment_fee: '{"fee_amount":"0.03"}' }, 3],
      [{ payment_fee: 'not json' }, null],
      [{}, null],
    ] as const) {
      answer = () => signedData({ ...base, ...fields });
      await expect(query()).resolves.toMatchObject({ feeFen: fee });
    }
  });
});

describe('create', () => {
  it('sends sub_appid, sub_openid and attach in wx_data (v2) or method_expand (v4)', async () => {
    answer = () => signedData({ ...ok, resp_code: '00000100', trans_stat: 'P', hf_seq_id: 'H1', pay_info: payInfo });
    await create({ attach: 'u=9' });
    expect(JSON.parse(String(received[0]!.data.wx_data))).toEqual({ sub_appid: 'wx0123456789abcdef', sub_openid: 'o_user', attach: 'u=9' });
    await client({ apiVersion: 'v4' }).createMiniAppPayment({ orderNo: 'P0000000002', reqDate: '20261205', amountFen: 100, description: 'x', appid: 'wx0123456789abcdef', openid: 'o_user', expiresAt: Date.UTC(2026, 11, 5, 4), notifyUrl: 'https://pay.example.com/n' });
    expect(JSON.parse(String(received[1]!.data.method_expand))).toEqual({ sub_appid: 'wx0123456789abcdef', sub_openid: 'o_user' });
    expect(received[1]!.data).not.toHaveProperty('wx_data');
    expect(received.map((r) => r.contentType)).toEqual(['application/json;charset=UTF-8', 'application/json;charset=UTF-8']);
  });

  it('carries amounts above the money module\'s default cap (MAX_ORDER_FEN may allow them)', async () => {
    answer = () => signedData({ ...ok, trans_stat: 'P', pay_info: payInfo });
    await create({ amountFen: DEFAULT_MAX_FEN + 1 });
    expect(received[0]!.data.trans_amt).toBe('1000000.01');
  });

  it('a pay_info that is not the five requestPayment fields: not retryable, and Huifu may have created the trade', async () => {
    answer = () => signedData({ ...ok, trans_stat: 'P', pay_info: '{"appId":"wx1"}' });
    await expect(create()).rejects.toMatchObject({ code: 'PAYMENT_GATEWAY_UNAVAILABLE', retryable: false, ambiguous: true, message: expect.stringMatching(/pay_info is not the five requestPayment fields/) });
  });
});

describe('close', () => {
  const close = () => client().close({ reqSeqId: 'C0000000001', reqDate: '20261205', orderNo: 'P0000000001', orderReqDate: '20261205' });

  it('reads a close answer without trans_stat as still processing, and the trade\'s state when given', async () => {
    answer = () => signedData(ok);
    await expect(close()).resolves.toEqual({ closeState: 'PROCESSING', tradeState: null });
    answer = () => signedData({ ...ok, trans_stat: 'F', org_trans_stat: 'S' });
    await expect(close()).resolves.toEqual({ closeState: 'FAILED', tradeState: 'SUCCEEDED' });
    answer = () => signedData({ ...ok, trans_stat: 'S', org_trans_stat: 'X' });
    await expect(close()).rejects.toMatchObject({ ambiguous: true, message: expect.stringMatching(/org_trans_stat/) });
  });
});

describe('refunds', () => {
  const refundQuery = () => client().queryRefund({ refundNo: 'R0000000001', reqDate: '20261205' });

  it('a refund query Huifu cannot find is "not found"; any other refusal is thrown', async () => {
    answer = () => signedData({ resp_code: '23000001', resp_desc: '原交易不存在' });
    await expect(refundQuery()).resolves.toEqual({ found: false });
    answer = () => signedData({ resp_code: '22000002', resp_desc: '商户信息不存在' });
    await expect(refundQuery()).rejects.toMatchObject({ code: 'PAYMENT_CONFIG_ERROR' });
  });

  it('carries refunds above the money module\'s default cap too (an order may be that large)', async () => {
    answer = () => signedData({ ...ok, trans_stat: 'P', ord_amt: '1000000.01' });
    await client().refund({ refundNo: 'R0000000001', reqDate: '20261205', orderNo: 'P0000000001', orderReqDate: '20261205', amountFen: DEFAULT_MAX_FEN + 1, notifyUrl: 'https://pay.example.com/n' });
    expect(received.at(-1)!.data.ord_amt).toBe('1000000.01');
  });

  it('gives a fail reason only for a failed refund', async () => {
    answer = () => signedData({ ...ok, trans_stat: 'S', bank_message: '成功', ord_amt: '1.00' });
    await expect(refundQuery()).resolves.toMatchObject({ state: 'SUCCEEDED', failReason: null, amountFen: 100 });
    answer = () => signedData({ ...ok, trans_stat: 'F', resp_desc: '余额不足' });
    await expect(refundQuery()).resolves.toMatchObject({ state: 'FAILED', failReason: '余额不足', amountFen: null });
  });
});

describe('bill files', () => {
  const bills = (billType?: string) => client().billFiles({ reqSeqId: 'B0000000001', reqDate: '20261205', fileDate: '20261204', billType });

  it('asks for the trade bill unless told otherwise', async () => {
    answer = () => signedData({ ...ok, file_details: [], task_details: [] });
    await bills();
    await bills('SETTLE_BILL');
    expect(received.map((r) => r.data.bill_type)).toEqual(['TRADE_BILL', 'SETTLE_BILL']);
  });

  it('reads file details in either spelling, and is pending while any task is', async () => {
    answer = () =>
      signedData({
        ...ok,
        file_details: JSON.stringify([{ file_Name: 'a.csv', download_url: 'https://x/a', bill_type: 'TRADE_BILL', file_date: '20261204' }, { file_name: 'b.csv' }]),
        task_details: [{ task_stat: 'S' }, { task_stat: 'DP' }],
      });
    await expect(bills()).resolves.toEqual({
      files: [
        { fileName: 'a.csv', downloadUrl: 'https://x/a', billType: 'TRADE_BILL', fileDate: '20261204' },
        { fileName: 'b.csv', downloadUrl: '', billType: '', fileDate: '' },
      ],
      pending: true,
    });
    answer = () => signedData({ ...ok, file_details: [], task_details: [{ task_stat: 'S' }, { task_stat: 'F' }] });
    await expect(bills()).resolves.toMatchObject({ pending: false });
  });
});

describe('exchange log', () => {
  it('reports how long each exchange took, whether it was answered, refused at HTTP level, or never sent', async () => {
    const entries: Array<{ httpStatus: number | null; ms: number }> = [];
    const onExchange = (e: { httpStatus: number | null; ms: number }) => entries.push(e);
    answer = () => signedData({ ...ok, trans_stat: 'S', trans_amt: '1.00' });
    await client({ onExchange }).queryPayment({ orderNo: 'P0000000001', reqDate: '20261205' });
    const refusing = createServer((_req, res) => res.writeHead(503).end());
    const refusingUrl = `http://127.0.0.1:${await listen(refusing, 0)}`;
    await client({ onExchange, baseUrl: refusingUrl }).queryPayment({ orderNo: 'P0000000001', reqDate: '20261205' }).catch(() => undefined);
    await closeServer(refusing);
    await client({ onExchange, baseUrl: refusingUrl }).queryPayment({ orderNo: 'P0000000001', reqDate: '20261205' }).catch(() => undefined);
    expect(entries.map((e) => e.httpStatus)).toEqual([200, 503, null]);
    for (const e of entries) expect(e.ms).toBeGreaterThanOrEqual(0);
    for (const e of entries) expect(e.ms).toBeLessThan(5000);
  });
});
