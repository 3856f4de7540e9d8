/**
 * The edges of reading a Huifu notification: what body shapes are accepted, what each refusal says, and how a
 * verified resp_data is classified. Everything here runs before or right after the signature check, on text anyone
 * can send.
 */
import {
  classifyNotification,
  MAX_NOTIFICATION_BYTES,
  NotificationRejectedError,
  parseEnvelope,
  peekReqSeqId,
} from '../../../cloudfunctions/src/providers/huifu/notify';

const FORM = 'application/x-www-form-urlencoded';
const reason = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(NotificationRejectedError);
    return { reason: (error as NotificationRejectedError).reason, message: (error as Error).message };
  }
  throw new Error('expected a rejection');
};

describe('parseEnvelope', () => {
  it('takes a body of exactly the limit, and refuses one byte more, counting bytes rather than characters', () => {
    const head = 'sign=abc&resp_data=';
    const exactly = head + 'a'.repeat(MAX_NOTIFICATION_BYTES - head.length);
    expect(parseEnvelope(exactly, FORM).respData).toHaveLength(MAX_NOTIFICATION_BYTES - head.length);
    expect(reason(() => parseEnvelope(`${exactly}a`, FORM)).reason).toBe('too_large');
    // Under the limit in characters, over it in UTF-8 bytes.
    const chinese = head + '中'.repeat(Math.ceil(MAX_NOTIFICATION_BYTES / 3));
    expect(chinese.length).toBeLessThan(MAX_NOTIFICATION_BYTES);
    expect(reason(() => parseEnvelope(chinese, FORM)).reason).toBe('too_large');
  });

  it('reads JSON whatever the case of its content type, and a body that looks like JSON when none is given', () => {
    const body = JSON.stringify({ resp_data: '{"a":1}', sign: 'xyz' });
    expect(parseEnvelope(body, 'Application/JSON; charset=UTF-8')).toEqual({ respData: '{"a":1}', sign: 'xyz' });
    expect(parseEnvelope(`  ${body}`, undefined)).toEqual({ respData: '{"a":1}', sign: 'xyz' });
    expect(parseEnvelope(body, '')).toEqual({ respData: '{"a":1}', sign: 'xyz' });
  });

  it('reads a form with no content type, and takes `data` when `resp_data` is absent', () => {
    expect(parseEnvelope('resp_data=%7B%7D&sign=s1', undefined)).toEqual({ respData: '{}', sign: 's1' });
    expect(parseEnvelope('data=%7B%22b%22%3A2%7D&sign=s2', `${FORM};charset=UTF-8`)).toEqual({ respData: '{"b":2}', sign: 's2' });
  });

  it.each([
    ['JSON that does not parse', '{"resp_data":', 'application/json', 'malformed', /JSON body does not parse/],
    ['JSON null', 'null', 'application/json', 'malformed', /JSON body is not an object/],
    ['a JSON number', '12', 'application/json', 'malformed', /JSON body is not an object/],
    ['a JSON string', '"resp_data"', 'application/json', 'malformed', /JSON body is not an object/],
    ['a JSON array', '[]', 'application/json', 'malformed', /no resp_data/],
    ['resp_data as an object', JSON.stringify({ resp_data: { a: 1 }, sign: 'x' }), 'application/json', 'malformed', /original JSON string/],
    ['an empty resp_data', 'resp_data=&sign=x', FORM, 'malformed', /no resp_data/],
    ['resp_data as a number', JSON.stringify({ resp_data: 5, sign: 'x' }), 'application/json', 'malformed', /no resp_data/],
    ['an empty sign', 'resp_data=%7B%7D&sign=', FORM, 'missing_sign', /no sign/],
    ['sign as a number', JSON.stringify({ resp_data: '{}', sign: 5 }), 'application/json', 'missing_sign', /no sign/],
  ])('refuses %s', (_what, body, type, expected, message) => {
    const refused = reason(() => parseEnvelope(body, type));
    expect(refused.reason).toBe(expected);
    expect(refused.message).toMatch(message);
  });

  it('refuses other content types, quoting at most 60 characters of it', () => {
    const type = `text/${'x'.repeat(100)}`;
    const refused = reason(() => parseEnvelope('resp_data=x&sign=y', type));
    expect(refused.reason).toBe('unsupported_content_type');
    expect(refused.message).toBe(`Huifu notification rejected (unsupported_content_type): content type ${type.slice(0, 60)}`);
  });

  it('a refusal is final for this body (Huifu retrying the same bytes would not help)', () => {
    expect(new NotificationRejectedError('malformed', 'x').retryable).toBe(false);
  });
});

describe('classifyNotification', () => {
  const pay = { req_seq_id: 'P1', huifu_id: 'h', trans_stat: 'S', trans_amt: '1.00' };

  it.each([
    ['null', /resp_data is not an object/],
    ['1', /resp_data is not an object/],
    ['[]', /resp_data is not an object/],
    ['"x"', /resp_data is not an object/],
    ['{"a":', /resp_data is not JSON/],
  ])('refuses resp_data %s as malformed', (text, message) => {
    const refused = reason(() => classifyNotification(text));
    expect(refused.reason).toBe('malformed');
    expect(refused.message).toMatch(message);
  });

  it('reads notify_type as a whole number, given as a number or digits only', () => {
    expect(classifyNotification(JSON.stringify({ ...pay, notify_type: '12' }))).toMatchObject({ kind: 'pay', notifyType: 12 });
    expect(classifyNotification(JSON.stringify({ ...pay, notify_type: 2 }))).toMatchObject({ notifyType: 2 });
    expect(classifyNotification(JSON.stringify(pay))).toMatchObject({ notifyType: null });
    for (const bad of ['1a', 'a1', ' 1', '']) {
      const refused = reason(() => classifyNotification(JSON.stringify({ ...pay, notify_type: bad })));
      expect(refused).toMatchObject({ reason: 'invalid_fields', message: expect.stringContaining('notify_type') });
    }
  });

  it('names each field it refuses, with its path', () => {
    const refused = reason(() => classifyNotification(JSON.stringify({ ...pay, trans_amt: '1', trans_stat: 'X' })));
    expect(refused.message).toMatch(/trans_stat: .*; trans_amt: /);
  });

  it('tells refunds from payments by trans_type, or by an ord_amt without a trans_amt', () => {
    const refund = { req_seq_id: 'R1', huifu_id: 'h', trans_stat: 'S', ord_amt: '1.00' };
    expect(classifyNotification(JSON.stringify({ ...refund, trans_type: 'TRANS_REFUND' }))).toMatchObject({ kind: 'refund', amountFen: 100 });
    expect(classifyNotification(JSON.stringify(refund))).toMatchObject({ kind: 'refund', amountFen: 100 });
    expect(classifyNotification(JSON.stringify({ ...refund, trans_type: 'T_MINIAPP' }))).toMatchObject({ kind: 'refund' });
    // trans_type TRANS_REFUND decides even when a trans_amt comes with it.
    expect(classifyNotification(JSON.stringify({ ...refund, trans_type: 'TRANS_REFUND', trans_amt: '1.00' }))).toMatchObject({ kind: 'refund', amountFen: 100 });
    // A payment that also carries ord_amt is still a payment.
    expect(classifyNotification(JSON.stringify({ ...pay, ord_amt: '1.00' }))).toMatchObject({ kind: 'pay', amountFen: 100 });
    expect(classifyNotification(JSON.stringify({ ...pay, trans_type: 'T_MINIAPP' }))).toMatchObject({ kind: 'pay' });
    // With neither amount it is a payment missing its trans_amt, and the refusal says so.
    const { trans_amt: _dropped, ...amountless } = pay;
    expect(reason(() => classifyNotification(JSON.stringify(amountless))).message).toMatch(/trans_amt: (?!.*ord_amt)/);
  });

  it('gives a fail reason only for a failed refund: the bank\'s message, else Huifu\'s description', () => {
    const refund = { req_seq_id: 'R1', huifu_id: 'h', trans_type: 'TRANS_REFUND', ord_amt: '1.00' };
    expect(classifyNotification(JSON.stringify({ ...refund, trans_stat: 'S', bank_message: '成功', resp_desc: 'ok' }))).toMatchObject({ state: 'SUCCEEDED', failReason: null });
    expect(classifyNotification(JSON.stringify({ ...refund, trans_stat: 'F', resp_desc: '余额不足' }))).toMatchObject({ state: 'FAILED', failReason: '余额不足' });
    expect(classifyNotification(JSON.stringify({ ...refund, trans_stat: 'F', bank_message: '卡已注销', resp_desc: 'x' }))).toMatchObject({ failReason: '卡已注销' });
  });

  it('keeps the fee only when it is a yuan amount, and the payment time from end_time', () => {
    expect(classifyNotification(JSON.stringify({ ...pay, fee_amount: '0.06', end_time: '20260101120000' }))).toMatchObject({ feeFen: 6, paidAt: Date.UTC(2026, 0, 1, 4) });
    expect(classifyNotification(JSON.stringify({ ...pay, fee_amount: 'n/a' }))).toMatchObject({ feeFen: null, paidAt: null });
  });
});

describe('peekReqSeqId (for logging a refused notification)', () => {
  it('returns at most 64 characters of a string req_seq_id, and null otherwise', () => {
    expect(peekReqSeqId(JSON.stringify({ req_seq_id: 'A'.repeat(100) }))).toBe('A'.repeat(64));
    expect(peekReqSeqId(JSON.stringify({ req_seq_id: 5 }))).toBeNull();
    expect(peekReqSeqId('not json')).toBeNull();
  });
});
