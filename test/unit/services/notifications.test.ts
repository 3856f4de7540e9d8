import { SessionError } from '../../../cloudfunctions/src/auth/session';
import type { LedgerEntry } from '../../../cloudfunctions/src/domain/types';
import { login } from '../../../cloudfunctions/src/services/login';
import { MAX_NOTIFICATION_BYTES } from '../../../cloudfunctions/src/providers/huifu/notify';
import { handleHuifuNotification } from '../../../cloudfunctions/src/services/notifications';
import { startScripted, type ScriptedServices } from '../../support/scripted';

/** Huifu's notifications handled in this process: what is answered, what is kept in the inbox, what changes. */
let s: ScriptedServices;
beforeEach(() => {
  s = startScripted();
});
afterEach(() => s.close());

const FORM = 'application/x-www-form-urlencoded';
const HUIFU_ID = () => s.deps.config.huifu.huifuId;
const yuan = (fen: number) => (fen / 100).toFixed(2);
const pay = (orderNo: string, fen: number, extra: Record<string, unknown> = {}) => ({ req_seq_id: orderNo, req_date: '20261205', huifu_id: HUIFU_ID(), trans_type: 'T_MINIAPP', trans_stat: 'S', trans_amt: yuan(fen), hf_seq_id: `HF${orderNo}`, notify_type: 1, ...extra });
const refundNote = (refundNo: string, orderNo: string, fen: number, extra: Record<string, unknown> = {}) => ({ req_seq_id: refundNo, req_date: '20261205', huifu_id: HUIFU_ID(), trans_type: 'TRANS_REFUND', org_req_seq_id: orderNo, trans_stat: 'S', ord_amt: yuan(fen), hf_seq_id: `HF${refundNo}`, ...extra });
const notify = (respData: Record<string, unknown>) => handleHuifuNotification(s.deps, s.notification(respData), FORM);
const inbox = async (reqSeqId: string) => (await s.store.listNotifications({ reqSeqId, limit: 10 })).map((n) => n.outcome);

async function refundable(refundNo: string, entry: Omit<LedgerEntry, 'at'>, refundStatus: 'PENDING' | 'SUCCEEDED' | 'FAILED', ledger: Record<string, LedgerEntry> = {}) {
  const full = { ...ledger, [refundNo]: { ...entry, at: 1 } };
  const refundedFen = Object.values(full).filter((e) => e.state === 'SUCCEEDED').reduce((t, e) => t + e.amountFen, 0);
  const refundReservedFen = Object.values(full).filter((e) => e.state === 'RESERVED').reduce((t, e) => t + e.amountFen, 0);
  const order = await s.order({ status: refundedFen > 0 ? 'PARTIALLY_REFUNDED' : 'PAID', amountFen: 1000, refundLedger: full, refundedFen, refundReservedFen });
  const refund = await s.refund(order.orderNo, { refundNo, amountFen: entry.amountFen, status: refundStatus });
  return { order, refund };
}

describe('pay notifications', () => {
  it('applies a payment and acks with RECV_ORD_ID_<req_seq_id> only after the inbox row is written', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    expect(await notify(pay(order.orderNo, 500))).toEqual({ statusCode: 200, body: `RECV_ORD_ID_${order.orderNo}` });
    expect(await inbox(order.orderNo)).toEqual(['applied']);
    expect(s.logs).toContainEqual({ level: 'info', message: 'notification processed', fields: { reqSeqId: order.orderNo, kind: 'pay', notifyType: 1, outcome: 'applied' } });
  });

  it('refuses an amount one fen short or over: 409, kept as amount_mismatch, the order unpaid and flagged', async () => {
    for (const fen of [499, 501]) {
      const order = await s.order({ status: 'PAYING', amountFen: 500 });
      expect((await notify(pay(order.orderNo, fen))).statusCode).toBe(409);
      expect(await inbox(order.orderNo)).toEqual(['rejected:amount_mismatch']);
      expect((await s.store.getOrder(order.orderNo))!).toMatchObject({ status: 'PAYING', flags: ['AMOUNT_MISMATCH'] });
    }
  });

  it("another merchant's notification flags the order it names, but a refund notification flags no order", async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    expect((await notify(pay(order.orderNo, 500, { huifu_id: '6666000199999999' }))).statusCode).toBe(409);
    expect((await s.store.getOrder(order.orderNo))!).toMatchObject({ status: 'PAYING', flags: ['NOTIFY_MISMATCH'] });

    // A refund number may equal an order number (the app backend picks refund numbers): that order is not touched.
    const namesake = await s.order({ status: 'PAID', amountFen: 500 });
    expect((await notify(refundNote(namesake.orderNo, 'P_ANY', 500, { huifu_id: '6666000199999999' }))).statusCode).toBe(409);
    expect((await s.store.getOrder(namesake.orderNo))!.flags).toEqual([]);
  });

  it('a notification for an unknown order is kept refused, and upgraded when a copy later applies', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    const early = pay('P_NOT_YET_STORED', 500);
    expect((await notify(early)).statusCode).toBe(409);
    expect((await notify(early)).statusCode).toBe(409);
    expect(await inbox('P_NOT_YET_STORED')).toEqual(['rejected:unknown_order']);

    // The same resp_data refused once (the order was mid-write elsewhere) and applied on Huifu's retry.
    const body = pay(order.orderNo, 500);
    const getOrder = s.store.getOrder.bind(s.store);
    jest.spyOn(s.store, 'getOrder').mockResolvedValueOnce(null);
    expect((await notify(body)).statusCode).toBe(409);
    expect(await inbox(order.orderNo)).toEqual(['rejected:unknown_order']);
    (s.store.getOrder as jest.Mock).mockImplementation(getOrder);
    expect((await notify(body)).statusCode).toBe(200);
    expect(await inbox(order.orderNo)).toEqual(['applied']);
    expect((await notify(body)).statusCode).toBe(200);
    expect(await inbox(order.orderNo)).toEqual(['applied']);
  });

  it('when another copy records its outcome first, the stored outcome is the one reported', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    const body = pay(order.orderNo, 500);
    jest.spyOn(s.store, 'getOrder').mockResolvedValueOnce(null);
    await notify(body); // kept as rejected:unknown_order
    const update = s.store.updateNotification.bind(s.store);
    jest.spyOn(s.store, 'updateNotification').mockImplementationOnce(async (id, expected) => {
      await update(id, expected, { outcome: 'duplicate', processedAt: s.clock.now() }); // the other copy
      return false;
    });
    expect((await notify(body)).statusCode).toBe(200);
    expect(s.logs.filter((l) => l.message === 'notification processed').at(-1)!.fields.outcome).toBe('duplicate');
  });

  it('an inbox row that exists but cannot be read is an error, never an ack', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    jest.spyOn(s.store, 'insertNotification').mockResolvedValueOnce('exists');
    jest.spyOn(s.store, 'getNotification').mockResolvedValueOnce(null);
    await expect(notify(pay(order.orderNo, 500))).rejects.toThrow(/^notification [0-9a-f]{12} exists but cannot be read$/);
  });

  it('signed fields it cannot use are kept and logged with the req_seq_id and reason, answered 400', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    expect((await notify(pay(order.orderNo, 500, { trans_amt: '5.0' }))).statusCode).toBe(400);
    const [error] = s.logs.filter((l) => l.level === 'error');
    expect(error!.fields.reqSeqId).toBe(order.orderNo);
    expect(error!.fields.reason).toContain('trans_amt');
    expect((await s.store.getOrder(order.orderNo))!.status).toBe('PAYING');
  });

  it('junk that fails verification is answered 400 and logged with its reason and size only', async () => {
    const body = s.notification(pay('P_ANY', 500)).replace(/sign=[^&]+/, 'sign=AAAA');
    expect((await handleHuifuNotification(s.deps, body, FORM)).statusCode).toBe(400);
    expect(s.logs).toContainEqual({ level: 'warn', message: 'notification rejected before verification', fields: { reason: 'bad_signature', bytes: Buffer.byteLength(body) } });
  });

  it('a body over the size limit is answered 413, at the limit it is read', async () => {
    expect((await handleHuifuNotification(s.deps, 'x'.repeat(MAX_NOTIFICATION_BYTES + 1), FORM)).statusCode).toBe(413);
    expect((await handleHuifuNotification(s.deps, 'x'.repeat(MAX_NOTIFICATION_BYTES), FORM)).statusCode).toBe(400);
  });

  it('keeps the logged reason for unusable signed fields to 200 characters', async () => {
    const order = await s.order({ status: 'PAYING', amountFen: 500 });
    await notify(pay(order.orderNo, 500, { trans_amt: '5.0', trans_stat: 'X', req_date: 1, hf_seq_id: 2, out_trans_id: 3, party_order_id: 4, end_time: 5, fee_amount: 6, trans_type: 7 }));
    const reason = s.logs.find((l) => l.level === 'error')!.fields.reason as string;
    expect(reason).toHaveLength(200);
  });

  it('an unfreeze notification is acked and changes nothing', async () => {
    expect(await notify({ req_seq_id: 'U000001', huifu_id: HUIFU_ID(), notify_type: 3 })).toEqual({ statusCode: 200, body: 'RECV_ORD_ID_U000001' });
    expect(await inbox('U000001')).toEqual(['ignored']);
  });
});

describe('refund notifications', () => {
  it('S for a reserved refund: applied and acked', async () => {
    const { order } = await refundable('RN000001', { amountFen: 100, state: 'RESERVED' }, 'PENDING');
    expect((await notify(refundNote('RN000001', order.orderNo, 100))).statusCode).toBe(200);
    expect(await inbox('RN000001')).toEqual(['applied']);
    expect((await s.store.getRefund('RN000001'))!.status).toBe('SUCCEEDED');
  });

  it('S for a refund recorded failed, with balance: corrected, kept as applied', async () => {
    const { order } = await refundable('RN000002', { amountFen: 100, state: 'FAILED' }, 'FAILED');
    expect((await notify(refundNote('RN000002', order.orderNo, 100))).statusCode).toBe(200);
    expect(await inbox('RN000002')).toEqual(['applied']);
    expect((await s.store.getRefund('RN000002'))!.status).toBe('SUCCEEDED');
  });

  it('S again for a refund already succeeded: duplicate', async () => {
    const { order } = await refundable('RN000003', { amountFen: 100, state: 'SUCCEEDED' }, 'SUCCEEDED');
    expect((await notify(refundNote('RN000003', order.orderNo, 100))).statusCode).toBe(200);
    expect(await inbox('RN000003')).toEqual(['duplicate']);
  });

  it('F for a refund recorded succeeded goes to a person, and is acked as ignored (retrying would not help)', async () => {
    const { order } = await refundable('RN000004', { amountFen: 100, state: 'SUCCEEDED' }, 'SUCCEEDED');
    expect((await notify(refundNote('RN000004', order.orderNo, 100, { trans_stat: 'F' }))).statusCode).toBe(200);
    expect(await inbox('RN000004')).toEqual(['ignored']);
    expect((await s.store.getOrder(order.orderNo))!.flags).toEqual(['REFUND_STATE_CONFLICT']);
  });

  it('P changes nothing and is acked as ignored', async () => {
    const { order } = await refundable('RN000005', { amountFen: 100, state: 'RESERVED' }, 'PENDING');
    expect((await notify(refundNote('RN000005', order.orderNo, 100, { trans_stat: 'P' }))).statusCode).toBe(200);
    expect(await inbox('RN000005')).toEqual(['ignored']);
    expect((await s.store.getRefund('RN000005'))!.status).toBe('PENDING');
  });

  it('an amount one fen off, or another original order, is refused and logged; nothing is booked', async () => {
    const { order } = await refundable('RN000006', { amountFen: 100, state: 'RESERVED' }, 'PENDING');
    for (const body of [refundNote('RN000006', order.orderNo, 99), refundNote('RN000006', order.orderNo, 101), refundNote('RN000006', 'P_ANOTHER', 100)]) {
      expect((await notify(body)).statusCode).toBe(409);
    }
    expect(await inbox('RN000006')).toEqual(['rejected:refund_mismatch', 'rejected:refund_mismatch', 'rejected:refund_mismatch']);
    expect((await s.store.getOrder(order.orderNo))!).toMatchObject({ refundedFen: 0, refundReservedFen: 100 });
    expect(s.logs.filter((l) => l.level === 'error')[0]).toEqual({ level: 'error', message: 'refund notification does not match the refund', fields: { refundNo: 'RN000006', orderNo: order.orderNo, notifiedFen: 99, refundFen: 100 } });
  });

  it('a notification for an unknown refund is refused', async () => {
    expect((await notify(refundNote('RN_NONE01', 'P_ANY', 100))).statusCode).toBe(409);
    expect(await inbox('RN_NONE01')).toEqual(['rejected:unknown_refund']);
  });
});

describe('login', () => {
  const withSession = (openid: string) => ({ ...s.deps, exchangeCode: async () => ({ openid, unionid: null }) });

  it('refuses a code that belongs to someone other than the platform-reported caller, recording nothing', async () => {
    await expect(login(withSession('o_victim_openid'), 'code', 'o_attacker_openid')).rejects.toBeInstanceOf(SessionError);
    expect(await s.store.getUser('o_victim_openid')).toBeNull();
  });

  it('logs in the same caller, or any caller where the platform reports none, and logs only a masked openid', async () => {
    expect((await login(withSession('o_user_openid1'), 'code', 'o_user_openid1')).openidHint).toBe('o_u***d1');
    expect((await login(withSession('o_user_openid2'), 'code', null)).openidHint).toBe('o_u***d2');
    expect(await s.store.getUser('o_user_openid1')).not.toBeNull();
    expect(s.logs.filter((l) => l.message === 'login').map((l) => l.fields)).toEqual([{ openid: 'o_u***d1' }, { openid: 'o_u***d2' }]);
  });
});
