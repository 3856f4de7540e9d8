import { generateKeyPairSync } from 'node:crypto';
import {
  businessError,
  gatewayError,
  HuifuCloseTooEarlyError,
  HuifuDuplicateRequestError,
  HuifuNotFoundError,
  HuifuOverRefundError,
} from '../../../cloudfunctions/src/providers/huifu/errors';
import {
  ackFor,
  classifyNotification,
  MAX_NOTIFICATION_BYTES,
  NotificationRejectedError,
  parseEnvelope,
  verifyEnvelope,
} from '../../../cloudfunctions/src/providers/huifu/notify';
import { parsePayInfo } from '../../../cloudfunctions/src/providers/huifu/pay-info';
import { signRsaSha256 } from '../../../cloudfunctions/src/providers/huifu/sign';

describe('Huifu error mapping', () => {
  it.each([
    [922, 'PAYMENT_CONFIG_ERROR', false, /HUIFU_MERCHANT_PRIVATE_KEY/],
    [911, 'RATE_LIMITED', true, /rate limited/],
    [914, 'RATE_LIMITED', true, /rate limit/],
    [404, 'PAYMENT_CONFIG_ERROR', false, /HUIFU_API_VERSION/],
    [500, 'PAYMENT_GATEWAY_UNAVAILABLE', true, /query before/],
    [777, 'PAYMENT_GATEWAY_UNAVAILABLE', true, /unexpected status/],
  ])('maps gateway HTTP %d to %s (retryable %s)', (status, code, retryable, message) => {
    const error = gatewayError('/v2/x', status);
    expect(error).toMatchObject({ httpStatus: status, code, retryable });
    expect(error.message).toMatch(message);
  });

  it.each([
    ['20000000', '重复交易', HuifuDuplicateRequestError, 'PAYMENT_GATEWAY_REJECTED', false],
    ['23000003', '申请退款金额大于可退余额', HuifuOverRefundError, 'REFUND_EXCEEDS_AVAILABLE', false],
    ['20000001', '不允许关闭一分钟以内的订单', HuifuCloseTooEarlyError, 'ORDER_CLOSE_DEFERRED', true],
    ['23000001', '交易不存在', HuifuNotFoundError, 'ORDER_NOT_FOUND', false],
  ])('maps business code %s %s to a typed error', (respCode, respDesc, type, code, retryable) => {
    const error = businessError('/v2/x', respCode, respDesc);
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ respCode, code, retryable });
  });

  it('turns configuration refusals into actionable PAYMENT_CONFIG_ERROR messages', () => {
    expect(businessError('/p', '10000000', '数据权限认证失败').message).toMatch(/HUIFU_SYS_ID/);
    expect(businessError('/p', '10000000', 'sub_mch_id与sub_appid不匹配').message).toMatch(/WX_APPID is not bound/);
    expect(businessError('/p', '22000002', '商户信息不存在').code).toBe('PAYMENT_CONFIG_ERROR');
    expect(businessError('/p', '99999999', '系统异常请重试').retryable).toBe(true);
    expect(businessError('/p', '90000000', '交易存在风险').code).toBe('PAYMENT_GATEWAY_REJECTED');
  });
});

describe('Huifu notifications', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pay = JSON.stringify({
    resp_code: '00000000', huifu_id: '6666', req_seq_id: 'P1', req_date: '20260101', trans_stat: 'S', trans_amt: '12.30',
    hf_seq_id: 'H1', notify_type: 1, end_time: '20260101120000', fee_amount: '0.07', wx_response: { sub_openid: 'o' },
  });
  const form = (respData: string, sign = signRsaSha256(respData, privateKey)) => new URLSearchParams({ resp_data: respData, sign }).toString();

  it('parses a form body, verifies over the raw resp_data and classifies a pay notification', () => {
    const envelope = parseEnvelope(form(pay), 'application/x-www-form-urlencoded;charset=UTF-8');
    expect(envelope.respData).toBe(pay);
    verifyEnvelope(envelope, publicKey);
    expect(classifyNotification(envelope.respData)).toMatchObject({ kind: 'pay', reqSeqId: 'P1', transStat: 'S', amountFen: 1230, notifyType: 1, feeFen: 7 });
  });

  it('tolerates a JSON body with resp_data as a string', () => {
    const envelope = parseEnvelope(JSON.stringify({ resp_data: pay, sign: 'x' }), 'application/json');
    expect(envelope.respData).toBe(pay);
  });

  it('rejects a re-serialised resp_data, a wrong key and a missing sign', () => {
    const sign = signRsaSha256(pay, privateKey);
    const reserialised = JSON.stringify(JSON.parse(pay), null, 1);
    expect(() => verifyEnvelope({ respData: reserialised, sign }, publicKey)).toThrow(/bad_signature/);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => verifyEnvelope({ respData: pay, sign: signRsaSha256(pay, other.privateKey) }, publicKey)).toThrow(NotificationRejectedError);
    expect(() => parseEnvelope(new URLSearchParams({ resp_data: pay }).toString(), 'application/x-www-form-urlencoded')).toThrow(/missing_sign/);
  });

  it('rejects oversized bodies, unknown content types and objects in place of resp_data', () => {
    expect(() => parseEnvelope('a'.repeat(MAX_NOTIFICATION_BYTES + 1), 'application/x-www-form-urlencoded')).toThrow(/too_large/);
    expect(() => parseEnvelope('resp_data=x&sign=y', 'text/xml')).toThrow(/unsupported_content_type/);
    expect(() => parseEnvelope(JSON.stringify({ resp_data: { a: 1 }, sign: 'x' }), 'application/json')).toThrow(/original JSON string/);
  });

  it('classifies refund and unfreeze notifications and refuses bad fields', () => {
    const refund = classifyNotification(JSON.stringify({ req_seq_id: 'R1', huifu_id: 'h', org_req_seq_id: 'P1', trans_type: 'TRANS_REFUND', trans_stat: 'F', ord_amt: '1.00', bank_message: '余额不足' }));
    expect(refund).toMatchObject({ kind: 'refund', reqSeqId: 'R1', orgReqSeqId: 'P1', amountFen: 100, failReason: '余额不足' });
    expect(classifyNotification(JSON.stringify({ req_seq_id: 'P1', huifu_id: 'h', notify_type: '3', unfreeze_amt: '1.00' }))).toMatchObject({ kind: 'unfreeze' });
    expect(() => classifyNotification(JSON.stringify({ req_seq_id: 'P1', huifu_id: 'h', trans_stat: 'S', trans_amt: '12.3' }))).toThrow(/invalid_fields/);
    expect(() => classifyNotification('not json')).toThrow(/malformed/);
  });

  it('acks with RECV_ORD_ID_ and the notified req_seq_id', () => {
    expect(ackFor('P20260101000000001abc')).toBe('RECV_ORD_ID_P20260101000000001abc');
  });
});

describe('pay_info', () => {
  it('parses the five requestPayment fields and keeps timeStamp a string', () => {
    const parsed = parsePayInfo('{"appId":"wx1","timeStamp":1701493917,"nonceStr":"n","package":"prepay_id=wx1","signType":"RSA","paySign":"s"}');
    expect(parsed).toEqual({ appId: 'wx1', payParams: { timeStamp: '1701493917', nonceStr: 'n', package: 'prepay_id=wx1', signType: 'RSA', paySign: 's' } });
    expect(() => parsePayInfo('{"appId":"wx1"}')).toThrow();
    expect(() => parsePayInfo('prepay_id=wx1')).toThrow('pay_info is not JSON');
  });
});
