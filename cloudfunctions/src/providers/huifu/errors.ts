import type { ErrorCode } from '@cashier/shared';
import { PayError } from '../../domain/errors';

/** Every failure talking to Huifu. `ambiguous` means Huifu may have acted on the request: query, never re-create. */
export class HuifuError extends PayError {
  readonly ambiguous: boolean;
  constructor(code: ErrorCode, message: string, options: { retryable: boolean; ambiguous?: boolean; cause?: unknown }) {
    super(code, message, options);
    this.ambiguous = options.ambiguous ?? false;
  }
}

/** The response's signature did not verify with HUIFU_PUBLIC_KEY (or a success came unsigned). */
export class HuifuSignatureError extends HuifuError {
  constructor(message: string) {
    super('PAYMENT_CONFIG_ERROR', message, { retryable: false, ambiguous: true });
  }
}

/** No answer in time, or the connection broke after it was set up. Huifu may have processed the request. */
export class HuifuTimeoutError extends HuifuError {
  constructor(path: string, timeoutMs: number, cause?: unknown, code = 'TIMEOUT') {
    super(
      'PAYMENT_GATEWAY_UNAVAILABLE',
      code === 'TIMEOUT'
        ? `Huifu ${path} gave no answer within ${timeoutMs} ms; the outcome is unknown, query by req_seq_id before trying again`
        : `Huifu ${path}: the connection failed after the request may have been sent (${code}); the outcome is unknown, query by req_seq_id before trying again`,
      { retryable: true, ambiguous: true, cause },
    );
  }
}

/** The request never reached Huifu (DNS, refused connection, TLS): nothing happened there; safe to send again. */
export class HuifuUnreachableError extends HuifuError {
  constructor(baseUrl: string, path: string, code: string, detail: string, cause?: unknown) {
    super('PAYMENT_GATEWAY_UNAVAILABLE', `Huifu ${path} was not reached at ${baseUrl} (${code}: ${detail.slice(0, 120)}); nothing was sent. Check HUIFU_API_BASE and the network`, {
      retryable: true,
      ambiguous: false,
      cause,
    });
  }
}

/** The gateway answered with a non-200 HTTP status (its own codes: 922 signature, 911/914 rate limit, ...). */
export class HuifuGatewayError extends HuifuError {
  constructor(
    readonly httpStatus: number,
    code: ErrorCode,
    message: string,
    retryable: boolean,
    ambiguous: boolean,
  ) {
    super(code, message, { retryable, ambiguous });
  }
}

/** Huifu answered and refused the request (resp_code other than 00000000/00000100). */
export class HuifuBusinessError extends HuifuError {
  constructor(
    readonly respCode: string,
    readonly respDesc: string,
    code: ErrorCode,
    message: string,
    retryable: boolean,
  ) {
    super(code, message, { retryable });
  }
}

/** 20000000: this req_seq_id was used today already. */
export class HuifuDuplicateRequestError extends HuifuBusinessError {}
/** 23000003: the refund is over the refundable balance. */
export class HuifuOverRefundError extends HuifuBusinessError {}
/** Close refused because the trade is younger than a minute: retry later, it is not a failure. */
export class HuifuCloseTooEarlyError extends HuifuBusinessError {}
/** 23000001: Huifu has no such transaction. */
export class HuifuNotFoundError extends HuifuBusinessError {}
/** A close already exists for this trade ("不能重复关单"): follow it with close query, never close again. */
export class HuifuCloseExistsError extends HuifuBusinessError {}
/** 10000016: the original trade is already final; its outcome must be queried. */
export class HuifuTradeFinalError extends HuifuBusinessError {}

const GATEWAY_STATUS: Record<number, { code: ErrorCode; retryable: boolean; ambiguous: boolean; hint: string }> = {
  404: { code: 'PAYMENT_CONFIG_ERROR', retryable: false, ambiguous: false, hint: 'service not found: check HUIFU_API_BASE and HUIFU_API_VERSION (v2 or v4)' },
  412: { code: 'PAYMENT_GATEWAY_REJECTED', retryable: false, ambiguous: false, hint: 'the request body holds characters the gateway refuses' },
  500: { code: 'PAYMENT_GATEWAY_UNAVAILABLE', retryable: true, ambiguous: true, hint: 'gateway error; the outcome is unknown, query before trying again' },
  502: { code: 'PAYMENT_GATEWAY_UNAVAILABLE', retryable: true, ambiguous: true, hint: 'gateway could not reach its backend; query before trying again' },
  512: { code: 'PAYMENT_GATEWAY_UNAVAILABLE', retryable: true, ambiguous: false, hint: 'gateway is shutting down; try again shortly' },
  911: { code: 'RATE_LIMITED', retryable: true, ambiguous: false, hint: 'rate limited by IP, merchant or API key; slow down' },
  912: { code: 'PAYMENT_CONFIG_ERROR', retryable: false, ambiguous: false, hint: 'blocked by Huifu security; contact Huifu' },
  914: { code: 'RATE_LIMITED', retryable: true, ambiguous: false, hint: 'the API is over its total rate limit; slow down' },
  921: { code: 'PAYMENT_CONFIG_ERROR', retryable: false, ambiguous: false, hint: 'gateway authentication failed: check HUIFU_SYS_ID and HUIFU_PRODUCT_ID' },
  922: {
    code: 'PAYMENT_CONFIG_ERROR',
    retryable: false,
    ambiguous: false,
    hint: 'Huifu could not verify our request signature: HUIFU_MERCHANT_PRIVATE_KEY must match the public key uploaded in the Huifu console (开发设置 → 密钥管理)',
  },
  923: { code: 'PAYMENT_GATEWAY_UNAVAILABLE', retryable: true, ambiguous: true, hint: 'Huifu failed to sign its answer; query before trying again' },
};

export function gatewayError(path: string, status: number): HuifuGatewayError {
  const known = GATEWAY_STATUS[status] ?? {
    code: 'PAYMENT_GATEWAY_UNAVAILABLE' as const,
    retryable: true,
    ambiguous: true,
    hint: 'unexpected status; query before trying again',
  };
  return new HuifuGatewayError(status, known.code, `Huifu ${path} answered HTTP ${status}: ${known.hint}`, known.retryable, known.ambiguous);
}

/** Maps a refused resp_code / resp_desc to a typed error with an actionable message. */
export function businessError(path: string, respCode: string, respDesc: string): HuifuBusinessError {
  const text = `Huifu ${path} refused (${respCode} ${respDesc})`;
  const desc = respDesc ?? '';
  if (desc.includes('一分钟以内') || respCode === '10000015') {
    return new HuifuCloseTooEarlyError(respCode, respDesc, 'ORDER_CLOSE_DEFERRED', `${text}: trades younger than a minute cannot be closed; try again later`, true);
  }
  // Checked before the general duplicate rule: "不能重复关单" is about the trade, not this req_seq_id.
  if (desc.includes('重复关单') || /close operation already exists/i.test(desc)) {
    return new HuifuCloseExistsError(respCode, respDesc, 'ORDER_CLOSE_DEFERRED', `${text}: a close already exists for this trade; follow it with close query`, true);
  }
  if (respCode === '10000016' || desc.includes('已为终态')) {
    return new HuifuTradeFinalError(respCode, respDesc, 'ORDER_ALREADY_PAID', `${text}: the trade is already final; query it`, false);
  }
  if (respCode === '20000000' || desc.includes('重复')) {
    return new HuifuDuplicateRequestError(respCode, respDesc, 'PAYMENT_GATEWAY_REJECTED', `${text}: this req_seq_id was already used today; query it instead of sending again`, false);
  }
  if (respCode === '23000003' || desc.includes('可退余额')) {
    return new HuifuOverRefundError(respCode, respDesc, 'REFUND_EXCEEDS_AVAILABLE', `${text}: the refund is over the refundable balance`, false);
  }
  if (respCode === '23000001' || desc.includes('交易不存在')) {
    return new HuifuNotFoundError(respCode, respDesc, 'ORDER_NOT_FOUND', `${text}: Huifu has no such transaction`, false);
  }
  if (desc.includes('数据权限认证失败')) {
    return new HuifuBusinessError(respCode, respDesc, 'PAYMENT_CONFIG_ERROR', `${text}: HUIFU_SYS_ID / HUIFU_PRODUCT_ID / HUIFU_ID do not belong together (merchant not under this sys_id, or wrong product)`, false);
  }
  if (desc.includes('sub_mch_id与sub_appid不匹配')) {
    return new HuifuBusinessError(respCode, respDesc, 'PAYMENT_CONFIG_ERROR', `${text}: WX_APPID is not bound to the merchant's WeChat sub-merchant; bind it in the Huifu console (check for stray spaces)`, false);
  }
  if (desc.includes('sub_appid与sub_openid不匹配')) {
    return new HuifuBusinessError(respCode, respDesc, 'PAYMENT_CONFIG_ERROR', `${text}: the openid was issued for a different AppID than WX_APPID`, false);
  }
  if (desc.includes('接口权限认证失败')) {
    return new HuifuBusinessError(respCode, respDesc, 'PAYMENT_CONFIG_ERROR', `${text}: HUIFU_SYS_ID has no permission for this API; ask Huifu to open it`, false);
  }
  if (respCode === '20000001' || desc.includes('频繁')) {
    return new HuifuBusinessError(respCode, respDesc, 'RATE_LIMITED', `${text}: too frequent or concurrent; retry later with the same req_seq_id`, true);
  }
  if (respCode === '91111119' || respCode === '98888888' || respCode === '99999999') {
    return new HuifuBusinessError(respCode, respDesc, 'PAYMENT_GATEWAY_UNAVAILABLE', `${text}: Huifu or the channel is failing; try again later`, true);
  }
  if (respCode.startsWith('22') ) {
    return new HuifuBusinessError(respCode, respDesc, 'PAYMENT_CONFIG_ERROR', `${text}: merchant or product configuration at Huifu`, false);
  }
  return new HuifuBusinessError(respCode, respDesc, 'PAYMENT_GATEWAY_REJECTED', text, false);
}
