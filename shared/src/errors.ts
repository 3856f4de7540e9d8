/**
 * The error catalogue shared by the functions and the mini-program. Codes are stable strings: clients branch on the
 * code, users see `message` (Chinese), and `retryable` tells whether trying the same call again may succeed.
 * This module has no runtime dependencies so the mini-program can ship it.
 */
export const ERROR_CATALOGUE = {
  INVALID_REQUEST: { message: '请求参数有误，请返回重试', retryable: false },
  UNAUTHENTICATED: { message: '登录已失效，请重新进入', retryable: true },
  FORBIDDEN: { message: '无权访问该订单', retryable: false },
  NOT_FOUND: { message: '请求的资源不存在', retryable: false },
  /** A function reached by a caller it does not serve (a mini-program user calling the notify URL's function). */
  FORBIDDEN_CALLER: { message: '无权调用该服务', retryable: false },

  LOGIN_CODE_INVALID: { message: '登录凭证无效，请重新进入小程序', retryable: false },
  LOGIN_CODE_USED: { message: '登录凭证已使用，请重新进入小程序', retryable: true },
  WECHAT_RATE_LIMITED: { message: '登录过于频繁，请稍后再试', retryable: true },
  WECHAT_UNAVAILABLE: { message: '微信服务繁忙，请稍后再试', retryable: true },
  /** jscode2session 40226: WeChat flags the account as high-risk; retrying will not help. */
  LOGIN_BLOCKED: { message: '当前微信账号存在安全风险，暂时无法登录支付', retryable: false },

  CHECKOUT_TOKEN_INVALID: { message: '支付链接无效，请返回 App 重新发起支付', retryable: false },
  CHECKOUT_TOKEN_EXPIRED: { message: '支付链接已过期，请返回 App 重新发起支付', retryable: false },
  CHECKOUT_AMOUNT_INVALID: { message: '订单金额有误，请返回 App 重新下单', retryable: false },

  ORDER_NOT_FOUND: { message: '订单不存在', retryable: false },
  ORDER_TAKEN: { message: '该订单已由其他微信用户发起支付', retryable: false },
  ORDER_NOT_PAYABLE: { message: '订单当前不可支付，请查看订单状态', retryable: false },
  ORDER_ALREADY_PAID: { message: '订单已支付，请勿重复支付', retryable: false },
  ORDER_EXPIRED: { message: '订单已过期，请返回 App 重新下单', retryable: false },
  ORDER_CLOSE_DEFERRED: { message: '订单正在关闭，请稍后查看', retryable: true },
  RATE_LIMITED: { message: '操作过于频繁，请稍后再试', retryable: true },

  PAYMENT_GATEWAY_UNAVAILABLE: { message: '支付服务繁忙，请稍后重试', retryable: true },
  PAYMENT_GATEWAY_REJECTED: { message: '支付下单失败，请稍后重试或联系商家', retryable: false },
  PAYMENT_CONFIG_ERROR: { message: '商户支付配置有误，请联系商家', retryable: false },
  PAYMENT_RESULT_UNKNOWN: { message: '支付结果确认中，请勿重复支付', retryable: true },

  REFUND_EXCEEDS_AVAILABLE: { message: '退款金额超过可退金额', retryable: false },
  REFUND_CONFLICT: { message: '退款单号已存在且金额不同', retryable: false },
  REFUND_NOT_FOUND: { message: '退款单不存在', retryable: false },
  ORDER_NOT_REFUNDABLE: { message: '订单当前不可退款', retryable: false },

  SIGNATURE_INVALID: { message: '签名校验失败', retryable: false },
  SIGNATURE_STALE: { message: '请求已过期，请校准时间后重试', retryable: false },

  CONFIG_INVALID: { message: '服务配置有误，请联系商家', retryable: false },
  NETWORK_ERROR: { message: '网络不稳定，请检查网络后重试', retryable: true },
  INTERNAL: { message: '系统繁忙，请稍后重试', retryable: true },
} as const satisfies Record<string, { message: string; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/**
 * What every function answers with when it fails. `message` is the catalogue's user-facing text. `detail` is for
 * developers calling the merchant API (what to check: a stale timestamp with the server's time, the string that was
 * verified); never secrets, never shown to mini-program users.
 */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  detail?: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, value);
}

/** The error body for a code; an unknown code (an older client meeting a newer server) falls back to INTERNAL. */
export function errorBody(code: string): ErrorBody {
  const known: ErrorCode = isErrorCode(code) ? code : 'INTERNAL';
  const entry = ERROR_CATALOGUE[known];
  return { code: known, message: entry.message, retryable: entry.retryable };
}
