import { errorBody, LoginRequest, OrderRequest, PayParams, responseSchema, OrderView, ERROR_CATALOGUE } from '@cashier/shared';

describe('shared contracts', () => {
  const token = 'x'.repeat(40);

  it('parses each order action', () => {
    expect(OrderRequest.parse({ action: 'preview', sessionToken: token, checkoutToken: token }).action).toBe('preview');
    expect(OrderRequest.parse({ action: 'list', sessionToken: token })).toMatchObject({ limit: 20 });
    expect(OrderRequest.parse({ action: 'get', sessionToken: token, orderNo: 'P20260101123000123abcdefghij' }).action).toBe('get');
  });

  it('rejects unknown actions, unknown fields and bad order numbers with a clear issue path', () => {
    const unknown = OrderRequest.safeParse({ action: 'refund', sessionToken: token });
    expect(unknown.success).toBe(false);
    const extra = OrderRequest.safeParse({ action: 'get', sessionToken: token, orderNo: 'P123456789', openid: 'spoofed' });
    expect(extra.success).toBe(false);
    const badNo = OrderRequest.safeParse({ action: 'get', sessionToken: token, orderNo: '../../etc' });
    expect(badNo.success).toBe(false);
    if (!badNo.success) expect(badNo.error.issues[0]?.path).toEqual(['orderNo']);
  });

  it('rejects a login without a code', () => {
    expect(LoginRequest.safeParse({}).success).toBe(false);
    expect(LoginRequest.safeParse({ code: '' }).success).toBe(false);
  });

  it('requires pay params in the shape wx.requestPayment takes (timeStamp is a string)', () => {
    const ok = { timeStamp: '1701493917', nonceStr: 'n', package: 'prepay_id=wx1', signType: 'RSA', paySign: 's' };
    expect(PayParams.parse(ok)).toEqual(ok);
    expect(PayParams.safeParse({ ...ok, timeStamp: 1701493917 }).success).toBe(false);
    expect(PayParams.safeParse({ ...ok, package: 'wx1' }).success).toBe(false);
  });

  it('validates the response envelope with codes from the catalogue only', () => {
    const schema = responseSchema(OrderView);
    expect(schema.safeParse({ ok: false, error: errorBody('ORDER_NOT_FOUND') }).success).toBe(true);
    expect(schema.safeParse({ ok: false, error: { code: 'WHATEVER', message: 'x', retryable: false } }).success).toBe(false);
  });

  it('falls back to INTERNAL for an unknown code and gives every code a Chinese message', () => {
    expect(errorBody('NOT_A_CODE').code).toBe('INTERNAL');
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect([code, /[\u4e00-\u9fa5]/.test(entry.message)]).toEqual([code, true]);
    }
  });
});
