/**
 * The console: a web page for developers and operators at /console/, served by the local stack (`pnpm dev`) and by
 * `pnpm console --env production`. Reads go through the store; every action goes through scripts/lib/operations.ts,
 * the same code `pnpm ops` runs.
 *
 * Safety: loopback only, and the Host header must name loopback (no DNS rebinding); a session cookie (HttpOnly,
 * SameSite=Strict) is required for every API call, and every POST also carries that session's CSRF token in a header;
 * production sessions start only from the one-time token printed by `pnpm console`, and act only with
 * --allow-actions. Responses are JSON rendered as text by the page (no HTML is ever built from stored data), under a
 * Content-Security-Policy that allows only the console's own script.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import * as z from 'zod';
import { checkoutPath, mintCheckoutToken, REF_PATTERN } from '../../../cloudfunctions/src/auth/checkout';
import { yuanToFen } from '../../../cloudfunctions/src/domain/money';
import { PayError } from '../../../cloudfunctions/src/domain/errors';
import type { Order } from '../../../cloudfunctions/src/domain/types';
import type { Deps } from '../../../cloudfunctions/src/services/deps';
import { writeDevtoolsCondition } from '../../checkout-link';
import { readBody, send } from '../../lib/http';
import { OperationError, orderTimeline, reconcileNow, refundOrder, replayNotification, resendWebhook } from '../../lib/operations';
import type { HuifuSandbox } from '../huifu';
import { consoleAssets } from './assets';

export interface ConsoleOptions {
  deps: Deps;
  mode: 'local' | 'production';
  /** What it acts on, shown in the page header. */
  target: string;
  /** Local: always. Production: only with --allow-actions. */
  allowActions: boolean;
  /** The local Huifu sandbox, for its actions (settle a trade, shape the next notification); null in production. */
  sandbox: HuifuSandbox | null;
  /** Production: the one-time token that opens the first session. Local: null (loopback, a cookie is enough). */
  oneTimeToken: string | null;
  /** Where "write the DevTools compile condition" writes; null hides it (production). */
  devtoolsProjectFile: string | null;
}

export interface Console {
  /** Handles /console and /console/...; false for anything else. */
  handle(req: IncomingMessage, res: ServerResponse, port: number): Promise<boolean>;
}

const COOKIE = 'cashier_console';
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const OrderQuery = z.object({
  status: z.enum(['CREATED', 'PAYING', 'PAID', 'FAILED', 'CLOSED', 'PAID_AFTER_CLOSE', 'PARTIALLY_REFUNDED', 'REFUNDED']).optional(),
  flag: z.string().regex(/^[A-Z_]{1,40}$/).optional(),
  q: z.string().trim().min(1).max(64).optional(),
  before: z.string().regex(/^\d{1,15}:[A-Za-z0-9_-]{1,64}$/).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const Actions = {
  refund: z.strictObject({ orderNo: z.string().min(1).max(64), yuan: z.string().min(1).max(20), refundNo: z.string().regex(/^[A-Za-z0-9]{6,32}$/).optional(), reason: z.string().max(80).optional() }),
  replay: z.strictObject({ notificationId: z.string().regex(/^[0-9a-f]{8,64}$/) }),
  'resend-webhook': z.strictObject({ id: z.string().min(1).max(120) }),
  reconcile: z.strictObject({}),
  'sandbox-pay': z.strictObject({ orderNo: z.string().min(1).max(64), result: z.enum(['S', 'F']) }),
  'notify-mode': z.strictObject({ mode: z.enum(['drop', 'duplicate', 'normal']), count: z.number().int().min(1).max(20).optional() }),
  'checkout-link': z.strictObject({
    yuan: z.string().min(1).max(20),
    description: z.string().trim().min(1).max(127),
    ref: z.string().regex(REF_PATTERN).optional(),
    ttlSeconds: z.number().int().min(60).max(86_400).default(900),
    devtools: z.boolean().default(false),
  }),
} as const;
type ActionName = keyof typeof Actions;
/** Actions that only exist against the local sandboxes. */
const SANDBOX_ACTIONS: ReadonlySet<ActionName> = new Set(['sandbox-pay', 'notify-mode']);

export function createConsole(options: ConsoleOptions): Console {
  const { deps } = options;
  const sessions = new Map<string, { csrf: string; createdAt: number }>();
  let tokenUsed = false;

  const cookieOf = (req: IncomingMessage): string | null => {
    const header = req.headers.cookie ?? '';
    const match = new RegExp(`(?:^|;\\s*)${COOKIE}=([A-Za-z0-9_-]{20,64})`).exec(header);
    return match ? match[1]! : null;
  };
  const sessionOf = (req: IncomingMessage) => {
    const id = cookieOf(req);
    return id ? (sessions.get(id) ?? null) : null;
  };
  const newSession = (res: ServerResponse): void => {
    const id = randomBytes(24).toString('base64url');
    sessions.set(id, { csrf: randomBytes(24).toString('base64url'), createdAt: Date.now() });
    res.setHeader('set-cookie', `${COOKIE}=${id}; Path=/console; HttpOnly; SameSite=Strict`);
  };
  const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  const json = (res: ServerResponse, status: number, body: unknown) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    send(res, status, body as object);
  };
  const refuse = (res: ServerResponse, status: number, message: string) => json(res, status, { ok: false, error: message });

  const orderRow = (o: Order) => ({
    orderNo: o.orderNo,
    ref: o.appRef,
    status: o.status,
    amountFen: o.amountFen,
    refundedFen: o.refundedFen,
    refundReservedFen: o.refundReservedFen,
    flags: o.flags,
    description: o.description,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    paidAt: o.paidAt,
    expiresAt: o.expiresAt,
  });

  async function listOrders(url: URL) {
    const query = OrderQuery.parse(Object.fromEntries(url.searchParams));
    if (query.q) {
      const found = (await deps.store.getOrder(query.q)) ?? (await deps.store.getOrderByRef(query.q));
      return { orders: found ? [orderRow(found)] : [], next: null };
    }
    const before = query.before ? { createdAt: Number(query.before.split(':')[0]), orderNo: query.before.split(':')[1]! } : undefined;
    const orders = await deps.store.listOrders({ status: query.status, flag: query.flag, limit: query.limit, before });
    const last = orders[orders.length - 1];
    return { orders: orders.map(orderRow), next: orders.length === query.limit && last ? `${last.createdAt}:${last.orderNo}` : null };
  }

  async function act(name: ActionName, input: unknown): Promise<unknown> {
    switch (name) {
      case 'refund': {
        const a = Actions.refund.parse(input);
        return refundOrder(deps, { orderNo: a.orderNo, yuan: a.yuan, refundNo: a.refundNo, reason: a.reason });
      }
      case 'replay':
        return replayNotification(deps, Actions.replay.parse(input).notificationId);
      case 'resend-webhook':
        return resendWebhook(deps, Actions['resend-webhook'].parse(input).id);
      case 'reconcile':
        Actions.reconcile.parse(input);
        return reconcileNow(deps);
      case 'sandbox-pay': {
        const a = Actions['sandbox-pay'].parse(input);
        try {
          options.sandbox!.gateway.payableTrade(a.orderNo);
        } catch (error) {
          throw new OperationError(`the sandbox cannot settle ${a.orderNo}: ${(error as Error).message}`);
        }
        await options.sandbox!.pay(a.orderNo, a.result);
        return { trade: options.sandbox!.trade(a.orderNo) };
      }
      case 'notify-mode': {
        const a = Actions['notify-mode'].parse(input);
        options.sandbox!.setNotifyMode({ kind: a.mode }, a.mode === 'normal' ? undefined : (a.count ?? 1));
        return { mode: a.mode, count: a.mode === 'normal' ? null : (a.count ?? 1) };
      }
      case 'checkout-link': {
        const a = Actions['checkout-link'].parse(input);
        let amountFen: number;
        try {
          amountFen = yuanToFen(a.yuan, { maxFen: deps.config.checkout.maxFen });
        } catch (error) {
          throw new OperationError(`amount: ${(error as Error).message}`);
        }
        const now = deps.clock.now();
        const ref = a.ref ?? `CONSOLE${now}`;
        const token = await mintCheckoutToken({ ref, amountFen, description: a.description, ttlSeconds: a.ttlSeconds }, deps.config.checkout.secret, now);
        let devtools: string | null = null;
        if (a.devtools) {
          if (!options.devtoolsProjectFile) throw new OperationError('the DevTools compile condition is written only by the local console');
          writeDevtoolsCondition(options.devtoolsProjectFile, '支付 checkout (scene 1069)', `t=${token}`);
          devtools = options.devtoolsProjectFile;
        }
        return { ref, amountFen, expiresAt: now + a.ttlSeconds * 1000, path: checkoutPath(token), devtools };
      }
    }
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL, session: { csrf: string }): Promise<void> {
    const path = url.pathname.slice('/console/api'.length);
    if (req.method === 'GET') {
      if (path === '/session') {
        return json(res, 200, { csrf: session.csrf, mode: options.mode, target: options.target, allowActions: options.allowActions, sandbox: options.sandbox !== null, devtools: options.devtoolsProjectFile !== null });
      }
      if (path === '/orders') return json(res, 200, await listOrders(url));
      if (path.startsWith('/orders/')) {
        const key = decodeURIComponent(path.slice('/orders/'.length));
        if (!key || key.length > 64) return refuse(res, 400, 'order number or ref: 1-64 characters');
        const timeline = await orderTimeline(deps, key);
        if (!timeline) return refuse(res, 404, `no order with number or ref ${key}`);
        const trade = options.sandbox?.trade(timeline.order.orderNo) ?? null;
        return json(res, 200, { ...timeline, order: { ...orderRow(timeline.order), hfSeqId: timeline.order.hfSeqId, outTransId: timeline.order.outTransId, reqDate: timeline.order.reqDate, closeRequest: timeline.order.closeRequest, cancelRequestedAt: timeline.order.cancelRequestedAt, refundLedger: timeline.order.refundLedger }, sandboxTrade: trade ? { state: trade.state, closed: trade.closed } : null });
      }
      if (path === '/inbox') {
        const [rejections, notifications] = await Promise.all([deps.store.listRejections(), deps.store.listNotifications({ limit: 50 })]);
        return json(res, 200, { rejections, notifications: notifications.map((n) => ({ ...n, sign: n.sign ? `${n.sign.slice(0, 12)}…` : '' })) });
      }
      if (path === '/outbox') {
        const [pending, dead] = await Promise.all([deps.store.listWebhooks({ status: 'PENDING', limit: 100 }), deps.store.listWebhooks({ status: 'DEAD', limit: 100 })]);
        return json(res, 200, { failing: pending.filter((w) => w.attempts > 0), dead });
      }
      return refuse(res, 404, 'no such console API');
    }
    if (req.method !== 'POST' || !path.startsWith('/actions/')) return refuse(res, 405, 'GET for reads, POST /console/api/actions/<name> for actions');
    const csrf = req.headers['x-console-csrf'];
    if (typeof csrf !== 'string' || !sameText(csrf, session.csrf)) return refuse(res, 403, 'missing or wrong CSRF token: reload the console');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return refuse(res, 415, 'actions take application/json');
    if (!options.allowActions) return refuse(res, 403, 'this console is read-only: start it with --allow-actions to act on production');
    const name = path.slice('/actions/'.length) as ActionName;
    if (!(name in Actions)) return refuse(res, 404, `no action ${name.slice(0, 40)}`);
    if (SANDBOX_ACTIONS.has(name) && !options.sandbox) return refuse(res, 403, `${name} exists only against the local sandbox`);
    const { text, tooLarge } = await readBody(req, 16 * 1024);
    if (tooLarge) return refuse(res, 413, 'action body over 16 KB');
    let input: unknown;
    try {
      input = JSON.parse(text || '{}');
    } catch {
      return refuse(res, 400, 'action body is not JSON');
    }
    try {
      const result = await act(name, input);
      deps.log.info('console action', { action: name, mode: options.mode });
      return json(res, 200, { ok: true, result });
    } catch (error) {
      if (error instanceof z.ZodError) return refuse(res, 400, error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
      if (error instanceof OperationError) return refuse(res, 400, error.message);
      if (error instanceof PayError) return refuse(res, 409, `${error.code}: ${error.message}`);
      throw error;
    }
  }

  return {
    async handle(req, res, port) {
      const url = new URL(req.url ?? '/', 'http://console');
      if (url.pathname !== '/console' && !url.pathname.startsWith('/console/')) return false;
      // Loopback by name too: a page on another site that rebinds its DNS to 127.0.0.1 sends its own Host.
      const host = String(req.headers.host ?? '');
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
        refuse(res, 421, `the console answers only to http://127.0.0.1:${port}/console/`);
        return true;
      }
      if (url.pathname === '/console') {
        res.writeHead(302, { location: '/console/' });
        res.end();
        return true;
      }
      const assets = await consoleAssets();
      if (url.pathname === '/console/app.js' || url.pathname === '/console/app.css') {
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
        const js = url.pathname.endsWith('.js');
        send(res, 200, js ? assets.js : assets.css, js ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
        return true;
      }
      let session = sessionOf(req);
      if (url.pathname === '/console/') {
        if (!session && options.oneTimeToken) {
          const offered = url.searchParams.get('token') ?? '';
          if (tokenUsed || !sameText(offered, options.oneTimeToken)) {
            for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
            send(res, 401, 'Open the console with the one-time link `pnpm console` printed (each link opens one session; start it again for a new one).');
            return true;
          }
          tokenUsed = true;
          newSession(res);
          res.writeHead(302, { location: '/console/' }); // the token leaves the address bar and the history
          res.end();
          return true;
        }
        if (!session) newSession(res);
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
        send(res, 200, assets.html, 'text/html; charset=utf-8');
        return true;
      }
      if (url.pathname.startsWith('/console/api/')) {
        session = sessionOf(req);
        if (!session) {
          refuse(res, 401, 'no console session: open /console/ first');
          return true;
        }
        try {
          await api(req, res, url, session);
        } catch (error) {
          if (error instanceof z.ZodError) refuse(res, 400, error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
          else throw error;
        }
        return true;
      }
      refuse(res, 404, 'not part of the console');
      return true;
    },
  };
}

export const DEVTOOLS_PROJECT_FILE = resolve(__dirname, '..', '..', '..', 'project.private.config.json');
