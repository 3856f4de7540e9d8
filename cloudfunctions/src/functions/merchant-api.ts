import { errorBody, type ErrorCode, type FunctionResponse } from '@cashier/shared';
import * as z from '@cashier/shared/src/zod';
import { verifyMerchantRequest } from '../auth/merchant-signature';
import { PayError } from '../domain/errors';
import { jsonLogger, type Deps, type Logger } from '../services/deps';
import { toOrderView } from '../services/orders';
import { REFUND_NO, requestRefund, toRefundView } from '../services/refunds';
import { headerOf, HttpAccessEvent, rawBodyOf, type GetDeps, type HttpAccessResponse } from './handlers';
import type { Caller } from './platform';
import { fail } from './respond';

/**
 * The merchant API for the app's backend (CloudBase HTTP access; locally POST/GET /http/merchant/...):
 *   GET  /orders/<order_no>            GET /orders/by-ref/<ref>        GET /orders/<order_no>/refunds
 *   POST /refunds {order_no | ref, refund_no, amount_fen, reason?}    GET /refunds/<refund_no>
 * Every request is signed (auth/merchant-signature.ts). Answers use the functions' envelope with an HTTP status.
 */
const RefundBody = z
  .strictObject({
    order_no: z.optional(z.string().check(z.minLength(1), z.maxLength(32))),
    ref: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    refund_no: z.string().check(z.regex(REFUND_NO, 'refund_no: 6-32 letters or digits')),
    amount_fen: z.int().check(z.positive()),
    reason: z.optional(z.string().check(z.maxLength(80))),
  })
  .check(z.refine((b) => Boolean(b.order_no) !== Boolean(b.ref), 'give exactly one of order_no or ref'));

const STATUS_FOR: Partial<Record<ErrorCode, number>> = {
  INVALID_REQUEST: 400,
  SIGNATURE_INVALID: 401,
  SIGNATURE_STALE: 401,
  FORBIDDEN_CALLER: 403,
  NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  REFUND_NOT_FOUND: 404,
  REFUND_CONFLICT: 409,
  REFUND_EXCEEDS_AVAILABLE: 409,
  ORDER_NOT_REFUNDABLE: 409,
  CONFIG_INVALID: 500,
  INTERNAL: 500,
};

function json(answer: FunctionResponse<unknown>): HttpAccessResponse {
  const statusCode = answer.ok ? 200 : (STATUS_FOR[answer.error.code] ?? 502);
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(answer), isBase64Encoded: false };
}

/**
 * Refusals whose developer message tells the app backend what to fix; it goes into the answer's `detail`. Our messages
 * hold no secrets; other failures (INTERNAL, configuration) keep their details in the log only.
 */
const DETAILED: ReadonlySet<ErrorCode> = new Set([
  'INVALID_REQUEST', 'SIGNATURE_INVALID', 'SIGNATURE_STALE', 'NOT_FOUND', 'ORDER_NOT_FOUND', 'REFUND_NOT_FOUND',
  'REFUND_CONFLICT', 'REFUND_EXCEEDS_AVAILABLE', 'ORDER_NOT_REFUNDABLE',
]);

function refusal(error: unknown, log: Logger, context: Record<string, unknown>): FunctionResponse<never> {
  const answer = fail(error, log, context);
  if (!answer.ok && error instanceof PayError && DETAILED.has(error.code)) answer.error.detail = error.message;
  return answer;
}

/** Path segments, percent-decoded; a malformed escape (%E0%A4%A) is the caller's mistake, answered 400. */
function segmentsOf(path: string): string[] {
  return path.split('/').filter(Boolean).map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new PayError('INVALID_REQUEST', `path segment "${segment.slice(0, 80)}" is not valid percent-encoding (UTF-8)`);
    }
  });
}

/**
 * The route below the merchant prefix. The HTTP access route passes the full path (`/merchant/orders/…`, path
 * transmission on); a route configured without it passes only what follows the prefix (`/orders/…`).
 */
export function merchantRoute(path: string): string {
  const route = path === '/merchant' || path.startsWith('/merchant/') ? path.slice('/merchant'.length) : path;
  return route === '' ? '/' : route;
}

async function route(deps: Deps, method: string, path: string, body: string): Promise<unknown> {
  const segments = segmentsOf(path);
  const notFound = () => new PayError('NOT_FOUND', `no merchant route ${method} ${path}`);
  const order = async (orderNo: string) => {
    const found = await deps.store.getOrder(orderNo);
    if (!found) throw new PayError('ORDER_NOT_FOUND', `no order ${orderNo}`);
    return found;
  };
  if (method === 'GET' && segments[0] === 'orders') {
    if (segments[1] === 'by-ref' && segments[2] && segments.length === 3) {
      const found = await deps.store.getOrderByRef(segments[2]);
      if (!found) throw new PayError('ORDER_NOT_FOUND', `no order for ref ${segments[2]}`);
      return { ...toOrderView(found), flags: found.flags };
    }
    if (segments[1] && segments.length === 2) {
      const found = await order(segments[1]);
      return { ...toOrderView(found), flags: found.flags };
    }
    if (segments[1] && segments[2] === 'refunds' && segments.length === 3) {
      await order(segments[1]);
      return (await deps.store.listRefundsByOrder(segments[1])).map(toRefundView);
    }
    throw notFound();
  }
  if (method === 'GET' && segments[0] === 'refunds' && segments[1] && segments.length === 2) {
    const refund = await deps.store.getRefund(segments[1]);
    if (!refund) throw new PayError('REFUND_NOT_FOUND', `no refund ${segments[1]}`);
    return toRefundView(refund);
  }
  if (method === 'POST' && segments.length === 1 && segments[0] === 'refunds') {
    let parsedJson: unknown;
    try {
      parsedJson = JSON.parse(body);
    } catch {
      throw new PayError('INVALID_REQUEST', 'body must be JSON');
    }
    const input = RefundBody.safeParse(parsedJson);
    if (!input.success) throw new PayError('INVALID_REQUEST', input.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const orderNo = input.data.order_no ?? (await deps.store.getOrderByRef(input.data.ref!))?.orderNo;
    if (!orderNo) throw new PayError('ORDER_NOT_FOUND', `no order for ref ${input.data.ref}`);
    const refund = await requestRefund(deps, { orderNo, refundNo: input.data.refund_no, amountFen: input.data.amount_fen, reason: input.data.reason ?? null });
    return toRefundView(refund);
  }
  throw notFound();
}

export async function merchantHandler(getDeps: GetDeps, event: unknown, caller: Caller): Promise<HttpAccessResponse> {
  if (caller.kind === 'miniprogram') {
    jsonLogger().warn('refused: a mini-program user called the merchant API function', { fn: 'merchant' });
    return json({ ok: false, error: errorBody('FORBIDDEN_CALLER') });
  }
  const input = HttpAccessEvent.safeParse(event);
  if (!input.success) return json({ ok: false, error: errorBody('INVALID_REQUEST') });
  let deps: Deps;
  try {
    deps = await getDeps();
  } catch (error) {
    return json(fail(error, jsonLogger(), { fn: 'merchant' }));
  }
  const method = input.data.httpMethod.toUpperCase();
  const path = merchantRoute(input.data.path ?? '/');
  const body = rawBodyOf(input.data);
  try {
    verifyMerchantRequest(
      deps.config.merchantApi.secret,
      { method, path, body, timestamp: headerOf(input.data.headers, 'x-cashier-timestamp'), signature: headerOf(input.data.headers, 'x-cashier-signature') },
      deps.clock.now(),
    );
    return json({ ok: true, data: await route(deps, method, path, body) });
  } catch (error) {
    return json(refusal(error, deps.log, { fn: 'merchant', method, path: path.slice(0, 200) }));
  }
}
