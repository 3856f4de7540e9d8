import { errorBody, LoginRequest, OrderRequest, type FunctionResponse } from '@cashier/shared';
import * as z from '@cashier/shared/src/zod';
import { verifySessionToken } from '../auth/session';
import { PayError } from '../domain/errors';
import { jsonLogger, type Deps, type Logger } from '../services/deps';
import { handleHuifuNotification } from '../services/notifications';
import { login } from '../services/login';
import { cancelOrder, createOrder, getOrder, listOrders, previewOrder, resumePayment } from '../services/orders';
import { runReconcile, type ReconcileReport } from '../services/reconcile';
import type { Caller } from './platform';
import { fail, invalid, ok } from './respond';

/**
 * The thin entries: check the caller, parse the event, call the service, map the answer. The same handlers run on
 * CloudBase (deps from the function's own variables, the caller from the platform) and in the local function host
 * and tests (caller `local`).
 */
export type GetDeps = () => Promise<Deps>;

/** Used before the deps exist: a bad event is answered without touching configuration or storage. */
const fallbackLog = jsonLogger();

/** Builds the deps, answering CONFIG_INVALID (listing the variables in the log) when the environment is wrong. */
async function withDeps<T>(getDeps: GetDeps, fn: string, run: (deps: Deps) => Promise<FunctionResponse<T>>): Promise<FunctionResponse<T>> {
  let deps: Deps;
  try {
    deps = await getDeps();
  } catch (error) {
    return fail(error, fallbackLog, { fn });
  }
  return run(deps);
}

/** login and order serve mini-program users: on CloudBase a call without one is refused. */
function refuseWithoutUser(caller: Caller, fn: string): FunctionResponse<never> | null {
  if (caller.kind !== 'platform') return null;
  fallbackLog.warn('refused: no mini-program user in the invocation context', { fn });
  return { ok: false, error: errorBody('FORBIDDEN_CALLER') };
}

/** payNotify, merchant and reconcile serve HTTP access and the timer: a mini-program user is refused. */
function isMiniprogramCaller(caller: Caller, fn: string, log: Logger = fallbackLog): boolean {
  if (caller.kind !== 'miniprogram') return false;
  log.warn('refused: a mini-program user called a function that only HTTP access or the timer may call', { fn });
  return true;
}

export async function loginHandler(getDeps: GetDeps, event: unknown, caller: Caller): Promise<FunctionResponse<unknown>> {
  const refused = refuseWithoutUser(caller, 'login');
  if (refused) return refused;
  const input = LoginRequest.safeParse(stripPlatformFields(event));
  if (!input.success) return invalid(input.error, fallbackLog, { fn: 'login' });
  return withDeps(getDeps, 'login', async (deps) => {
    try {
      return ok(await login(deps, input.data.code, caller.kind === 'miniprogram' ? caller.openid : null));
    } catch (error) {
      return fail(error, deps.log, { fn: 'login' });
    }
  });
}

export async function orderHandler(getDeps: GetDeps, event: unknown, caller: Caller): Promise<FunctionResponse<unknown>> {
  const refused = refuseWithoutUser(caller, 'order');
  if (refused) return refused;
  const platformOpenid = caller.kind === 'miniprogram' ? caller.openid : null;
  const input = OrderRequest.safeParse(stripPlatformFields(event));
  if (!input.success) return invalid(input.error, fallbackLog, { fn: 'order' });
  const request = input.data;
  return withDeps(getDeps, 'order', async (deps): Promise<FunctionResponse<unknown>> => {
    try {
      if (request.action === 'preview' && request.sessionToken === undefined) return ok(await previewOrder(deps, null, request.checkoutToken));
      const openid = await verifySessionToken(request.sessionToken!, deps.config.session.secret, deps.clock.now(), platformOpenid);
      switch (request.action) {
        case 'preview':
          return ok(await previewOrder(deps, openid, request.checkoutToken));
        case 'create':
          return ok(await createOrder(deps, openid, request.checkoutToken));
        case 'get':
          return ok(await getOrder(deps, openid, request.orderNo));
        case 'list':
          return ok(await listOrders(deps, openid, request.limit, request.cursor));
        case 'cancel':
          return ok(await cancelOrder(deps, openid, request.orderNo));
        case 'pay':
          return ok(await resumePayment(deps, openid, request.orderNo));
      }
    } catch (error) {
      return fail(error, deps.log, { fn: 'order', action: request.action });
    }
  });
}

/** wx.cloud.callFunction adds `userInfo` ({appId, openId}) to the event; it is not part of our contract. */
function stripPlatformFields(event: unknown): unknown {
  if (event && typeof event === 'object' && 'userInfo' in event) {
    const { userInfo: _ignored, ...rest } = event as Record<string, unknown>;
    return rest;
  }
  return event;
}

/** CloudBase HTTP access event (integration request). */
export const HttpAccessEvent = z.object({
  httpMethod: z.string(),
  path: z.optional(z.string()),
  headers: z._default(z.optional(z.record(z.string(), z.optional(z.string()))), {}),
  body: z.optional(z.nullable(z.string())),
  isBase64Encoded: z._default(z.optional(z.boolean()), false),
});
export type HttpAccessEvent = z.infer<typeof HttpAccessEvent>;

export interface HttpAccessResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

const text = (statusCode: number, body: string): HttpAccessResponse => ({ statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body, isBase64Encoded: false });

export function headerOf(headers: Record<string, string | undefined>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key ? headers[key] : undefined;
}

export function rawBodyOf(event: HttpAccessEvent): string {
  const body = event.body ?? '';
  return event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}

export async function payNotifyHandler(getDeps: GetDeps, event: unknown, caller: Caller): Promise<HttpAccessResponse> {
  if (isMiniprogramCaller(caller, 'payNotify')) return text(403, 'forbidden');
  const input = HttpAccessEvent.safeParse(event);
  if (!input.success) return text(400, 'bad request');
  if (input.data.httpMethod.toUpperCase() !== 'POST') return text(405, 'POST only');
  let deps: Deps;
  try {
    deps = await getDeps();
  } catch (error) {
    // Not configured: a non-200 makes Huifu retry, and the log says which variables to fix (names, never values).
    fallbackLog.error('payNotify is not configured; Huifu will retry', {
      code: error instanceof PayError ? error.code : 'INTERNAL',
      problems: (error as { problems?: string[] }).problems ?? [(error as Error).message],
    });
    return text(500, 'unavailable');
  }
  try {
    const answer = await handleHuifuNotification(deps, rawBodyOf(input.data), headerOf(input.data.headers, 'content-type'));
    return text(answer.statusCode, answer.body);
  } catch (error) {
    // Nothing durable was confirmed: a non-200 makes Huifu send it again.
    deps.log.error('notification not recorded; Huifu will retry', { error: (error as Error).message });
    return text(500, 'retry');
  }
}

export async function reconcileHandler(getDeps: GetDeps, event: unknown, caller: Caller): Promise<FunctionResponse<ReconcileReport>> {
  if (isMiniprogramCaller(caller, 'reconcile')) return { ok: false, error: errorBody('FORBIDDEN_CALLER') };
  const input = z.looseObject({ batch: z.optional(z.int().check(z.minimum(1), z.maximum(200))) }).safeParse(event ?? {});
  if (!input.success) return invalid(input.error, fallbackLog, { fn: 'reconcile' });
  return withDeps(getDeps, 'reconcile', async (deps) => {
    try {
      return ok(await runReconcile(deps, { batch: input.data.batch }));
    } catch (error) {
      return fail(error, deps.log, { fn: 'reconcile' });
    }
  });
}
