/**
 * Known answers for every Huifu failure we map: whether it may be retried and whether Huifu may have acted on the
 * request (ambiguous: query with the same req_seq_id, never re-create). These flags decide between sending again,
 * querying and giving up, so each row is pinned here rather than recomputed.
 */
import {
  businessError,
  gatewayError,
  HuifuBusinessError,
  HuifuCloseExistsError,
  HuifuCloseTooEarlyError,
  HuifuDuplicateRequestError,
  HuifuNotFoundError,
  HuifuOverRefundError,
  HuifuSignatureError,
  HuifuTimeoutError,
  HuifuTradeFinalError,
  HuifuUnreachableError,
} from '../../../cloudfunctions/src/providers/huifu/errors';

describe('gateway HTTP statuses', () => {
  it.each([
    // status, code, retryable, ambiguous (may Huifu have acted?)
    [404, 'PAYMENT_CONFIG_ERROR', false, false],
    [412, 'PAYMENT_GATEWAY_REJECTED', false, false],
    [500, 'PAYMENT_GATEWAY_UNAVAILABLE', true, true],
    [502, 'PAYMENT_GATEWAY_UNAVAILABLE', true, true],
    [512, 'PAYMENT_GATEWAY_UNAVAILABLE', true, false],
    [911, 'RATE_LIMITED', true, false],
    [912, 'PAYMENT_CONFIG_ERROR', false, false],
    [914, 'RATE_LIMITED', true, false],
    [921, 'PAYMENT_CONFIG_ERROR', false, false],
    [922, 'PAYMENT_CONFIG_ERROR', false, false],
    [923, 'PAYMENT_GATEWAY_UNAVAILABLE', true, true],
    [503, 'PAYMENT_GATEWAY_UNAVAILABLE', true, true],
  ] as const)('HTTP %d → %s, retryable %s, ambiguous %s', (status, code, retryable, ambiguous) => {
    expect(gatewayError('/v2/trade/payment/jspay', status)).toMatchObject({ httpStatus: status, code, retryable, ambiguous });
  });

  it('names what to check', () => {
    expect(gatewayError('/p', 921).message).toMatch(/HUIFU_SYS_ID and HUIFU_PRODUCT_ID/);
    expect(gatewayError('/p', 922).message).toMatch(/HUIFU_MERCHANT_PRIVATE_KEY must match the public key uploaded/);
    expect(gatewayError('/p', 503).message).toBe('Huifu /p answered HTTP 503: unexpected status; query before trying again');
  });
});

describe('business resp_codes', () => {
  it.each([
    // respCode, respDesc, class, code, retryable
    ['10000015', '交易处理中', HuifuCloseTooEarlyError, 'ORDER_CLOSE_DEFERRED', true],
    ['20000001', '不允许关闭一分钟以内的订单', HuifuCloseTooEarlyError, 'ORDER_CLOSE_DEFERRED', true],
    ['20000000', '不能重复关单', HuifuCloseExistsError, 'ORDER_CLOSE_DEFERRED', true],
    ['10000000', 'Close Operation Already Exists', HuifuCloseExistsError, 'ORDER_CLOSE_DEFERRED', true],
    ['10000016', '原订单已为终态,请发起查询交易获取', HuifuTradeFinalError, 'ORDER_ALREADY_PAID', false],
    ['10000016', '', HuifuTradeFinalError, 'ORDER_ALREADY_PAID', false],
    ['23000000', '原交易已为终态', HuifuTradeFinalError, 'ORDER_ALREADY_PAID', false],
    ['20000000', '', HuifuDuplicateRequestError, 'PAYMENT_GATEWAY_REJECTED', false],
    ['10000000', '重复交易', HuifuDuplicateRequestError, 'PAYMENT_GATEWAY_REJECTED', false],
    ['23000003', '', HuifuOverRefundError, 'REFUND_EXCEEDS_AVAILABLE', false],
    ['10000000', '申请退款金额大于可退余额', HuifuOverRefundError, 'REFUND_EXCEEDS_AVAILABLE', false],
    ['23000001', '', HuifuNotFoundError, 'ORDER_NOT_FOUND', false],
    ['10000000', '原交易不存在', HuifuNotFoundError, 'ORDER_NOT_FOUND', false],
    ['10000000', '数据权限认证失败', HuifuBusinessError, 'PAYMENT_CONFIG_ERROR', false],
    ['10000000', 'sub_mch_id与sub_appid不匹配', HuifuBusinessError, 'PAYMENT_CONFIG_ERROR', false],
    ['10000000', 'sub_appid与sub_openid不匹配', HuifuBusinessError, 'PAYMENT_CONFIG_ERROR', false],
    ['20003', '接口权限认证失败', HuifuBusinessError, 'PAYMENT_CONFIG_ERROR', false],
    ['20000001', '操作频繁', HuifuBusinessError, 'RATE_LIMITED', true],
    ['20000001', '', HuifuBusinessError, 'RATE_LIMITED', true],
    ['10000000', '当前huifuId请求过于频繁', HuifuBusinessError, 'RATE_LIMITED', true],
    ['91111119', '通道异常', HuifuBusinessError, 'PAYMENT_GATEWAY_UNAVAILABLE', true],
    ['98888888', '系统错误', HuifuBusinessError, 'PAYMENT_GATEWAY_UNAVAILABLE', true],
    ['99999999', '系统异常请重试', HuifuBusinessError, 'PAYMENT_GATEWAY_UNAVAILABLE', true],
    ['22000002', '商户信息不存在', HuifuBusinessError, 'PAYMENT_CONFIG_ERROR', false],
    ['22000005', '手续费费率未配置', HuifuBusinessError, 'PAYMENT_CONFIG_ERROR', false],
    ['90000000', '交易存在风险', HuifuBusinessError, 'PAYMENT_GATEWAY_REJECTED', false],
    ['12000000', '', HuifuBusinessError, 'PAYMENT_GATEWAY_REJECTED', false],
  ] as const)('%s %s → %p %s, retryable %s', (respCode, respDesc, type, code, retryable) => {
    const error = businessError('/v2/x', respCode, respDesc);
    expect(error.constructor).toBe(type);
    // Huifu answered: it decided, so a business refusal is never ambiguous.
    expect(error).toMatchObject({ respCode, respDesc, code, retryable, ambiguous: false });
    expect(error.message.startsWith(`Huifu /v2/x refused (${respCode} ${respDesc})`)).toBe(true);
  });

  it('tells the operator what to fix', () => {
    expect(businessError('/p', '10000000', 'sub_appid与sub_openid不匹配').message).toMatch(/openid was issued for a different AppID than WX_APPID/);
    expect(businessError('/p', '20003', '接口权限认证失败').message).toMatch(/HUIFU_SYS_ID has no permission for this API/);
    expect(businessError('/p', '22000002', '商户信息不存在').message).toMatch(/merchant or product configuration at Huifu/);
    expect(businessError('/p', '90000000', '交易存在风险').message).toBe('Huifu /p refused (90000000 交易存在风险)');
  });
});

describe('transport and signature failures', () => {
  it('a response that does not verify is a configuration problem, and Huifu may have acted', () => {
    expect(new HuifuSignatureError('x')).toMatchObject({ code: 'PAYMENT_CONFIG_ERROR', retryable: false, ambiguous: true });
  });

  it('a timeout may have reached Huifu; an unreachable gateway never did, and the message quotes at most 120 characters of the cause', () => {
    expect(new HuifuTimeoutError('/p', 500)).toMatchObject({ retryable: true, ambiguous: true, message: expect.stringMatching(/gave no answer within 500 ms/) });
    expect(new HuifuTimeoutError('/p', 500, undefined, 'ECONNRESET').message).toMatch(/connection failed after the request may have been sent \(ECONNRESET\)/);
    const unreachable = new HuifuUnreachableError('https://api.huifu.com', '/p', 'ENOTFOUND', 'x'.repeat(500));
    expect(unreachable).toMatchObject({ retryable: true, ambiguous: false });
    expect(unreachable.message).toContain(`(ENOTFOUND: ${'x'.repeat(120)}); nothing was sent`);
  });
});
