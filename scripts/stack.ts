/**
 * The local stack in one process on loopback: the function host (POST /fn/<name> runs a function with the JSON
 * body as its event, as wx.cloud.callFunction does; POST /http/huifu/notify emulates CloudBase HTTP access for
 * payNotify), the WeChat and Huifu sandboxes, SQLite under .local/, and the reconcile timer.
 * Used by `pnpm dev`, `pnpm demo` and the integration tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { loadConfig, type Config } from '../cloudfunctions/src/config';
import { errorBody } from '@cashier/shared';
import { verifyWebhookSignature } from '../cloudfunctions/src/auth/hmac';
import type { Clock } from '../cloudfunctions/src/domain/time';
import { merchantHandler } from '../cloudfunctions/src/functions/merchant-api';
import { headerOf, loginHandler, orderHandler, payNotifyHandler, reconcileHandler, type GetDeps } from '../cloudfunctions/src/functions/handlers';
import { parsePrivateKey, parsePublicKey } from '../cloudfunctions/src/providers/huifu/keys';
import { loadOrCreateKeys, type KeyFile } from './lib/local-keys';
import { buildDeps } from '../cloudfunctions/src/runtime';
import { jsonLogger, type Deps, type Logger } from '../cloudfunctions/src/services/deps';
import { runReconcile } from '../cloudfunctions/src/services/reconcile';
import { openSqliteStore } from '../cloudfunctions/src/store/sqlite';
import { closeServer, listen, readBody, send } from './lib/http';
import { startHuifuSandbox, type HuifuSandbox } from './sandbox/huifu';
import { startWechatSandbox, type WechatSandbox } from './sandbox/wechat';

export interface StackOptions {
  /** Folder for keys, credentials and the SQLite file; default .local */
  dataDir?: string;
  /** ':memory:' for tests; default <dataDir>/cashier.db */
  sqlitePath?: string;
  cashierPort?: number;
  wechatPort?: number;
  huifuPort?: number;
  /** Reconcile interval; 0 disables the timer (tests run reconcile themselves). */
  reconcileIntervalMs?: number;
  /** Environment overrides (e.g. HUIFU_API_VERSION); real HUIFU_API_BASE / WX_API_BASE switch a sandbox off. */
  env?: Record<string, string | undefined>;
  /** Unknown login codes (WeChat DevTools' real ones) log in as this user; default o_dev_user. Null to refuse them. */
  devOpenid?: string | null;
  clock?: Clock;
  log?: Logger;
  notifyRetryDelayMs?: number;
  refundSettleMs?: number | null;
}

export interface Stack {
  /** Keys, credentials and (by default) the database live here. */
  dataDir: string;
  urls: { functions: string; wechat: string | null; huifu: string | null };
  config: Config;
  deps: Deps;
  huifu: HuifuSandbox | null;
  wechat: WechatSandbox | null;
  /** Webhooks the built-in stand-in for the app backend received, with their signature check. */
  appWebhooks: Array<{ event: string; body: string; signatureValid: boolean; receivedAt: number }>;
  /** Calls a function the way the mini-program does (through the function host, over HTTP). */
  call<T = unknown>(fn: string, event: unknown): Promise<T>;
  readyLine(): string;
  stop(): Promise<void>;
}

export const DEV_APPID = 'wx0000000000000dev';
const SANDBOX_IDS = { sysId: '6666000100000001', productId: 'PAYUN', huifuId: '6666000100000001' };


/** The functions' environment on a local stack: its keys, its URLs, the sandbox's Huifu identity. */
export function localStackEnv(
  keys: KeyFile,
  at: { appid: string; functionsUrl: string; huifuUrl?: string; wechatUrl?: string; sqlitePath: string },
): Record<string, string | undefined> {
  return {
    WX_APPID: at.appid,
    WX_SECRET: 'sandbox-secret',
    WX_API_BASE: at.wechatUrl,
    HUIFU_API_BASE: at.huifuUrl,
    HUIFU_API_VERSION: 'v2',
    HUIFU_SYS_ID: SANDBOX_IDS.sysId,
    HUIFU_PRODUCT_ID: SANDBOX_IDS.productId,
    HUIFU_ID: SANDBOX_IDS.huifuId,
    HUIFU_MERCHANT_PRIVATE_KEY: keys.merchantPrivateKey,
    HUIFU_PUBLIC_KEY: keys.huifuPublicKey,
    HUIFU_NOTIFY_URL: `${at.functionsUrl}/http/huifu/notify`,
    SESSION_SECRET: keys.sessionSecret,
    CHECKOUT_SECRET: keys.checkoutSecret,
    MERCHANT_API_SECRET: keys.merchantApiSecret,
    APP_WEBHOOK_URL: `${at.functionsUrl}/_app/webhooks`,
    APP_WEBHOOK_SECRET: keys.appWebhookSecret,
    STORE: 'sqlite',
    SQLITE_PATH: at.sqlitePath,
    QUERY_AFTER_SECONDS: '3',
    QUERY_MIN_INTERVAL_SECONDS: '2',
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dataDir = options.dataDir ?? '.local';
  mkdirSync(dataDir, { recursive: true });
  const keys = loadOrCreateKeys(dataDir);
  const env = { ...options.env };
  const log = options.log ?? jsonLogger();
  const useHuifuSandbox = !env.HUIFU_API_BASE;
  const useWechatSandbox = !env.WX_API_BASE;

  const huifu = useHuifuSandbox
    ? await startHuifuSandbox({
        ...SANDBOX_IDS,
        port: options.huifuPort ?? 0,
        merchantPublicKey: parsePublicKey(keys.merchantPublicKey),
        huifuPrivateKey: parsePrivateKey(keys.huifuPrivateKey),
        notifyRetryDelayMs: options.notifyRetryDelayMs ?? 1000,
        refundSettleMs: options.refundSettleMs === undefined ? 500 : options.refundSettleMs,
        log: (line) => log.warn(line),
      })
    : null;
  const appid = env.WX_APPID ?? DEV_APPID;
  const wechat = useWechatSandbox
    ? await startWechatSandbox({ appid, secret: 'sandbox-secret', port: options.wechatPort ?? 0, devOpenid: options.devOpenid === undefined ? 'o_dev_user' : options.devOpenid })
    : null;

  // The function host's port must be known before the config (notify URL, webhook URL), so bind first.
  let handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async (_req, res) => send(res, 503, 'starting');
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error('function host error', { error: (error as Error).stack });
      if (!res.headersSent) send(res, 500, { ok: false, error: errorBody('INTERNAL') });
    });
  });
  const port = await listen(server, options.cashierPort ?? 0);
  const functionsUrl = `http://127.0.0.1:${port}`;

  const config = loadConfig({
    ...localStackEnv(keys, { appid, functionsUrl, huifuUrl: huifu?.url, wechatUrl: wechat?.url, sqlitePath: options.sqlitePath ?? join(dataDir, 'cashier.db') }),
    ...env,
  });
  if (huifu) {
    writeFileSync(
      join(dataDir, 'sandbox-credentials.json'),
      JSON.stringify({ baseUrl: huifu.url, ...SANDBOX_IDS, merchantPrivateKey: keys.merchantPrivateKey, merchantPublicKey: keys.merchantPublicKey, huifuPrivateKey: keys.huifuPrivateKey, huifuPublicKey: keys.huifuPublicKey }, null, 2),
      { mode: 0o600 },
    );
  }
  const store = config.store.kind === 'sqlite' ? openSqliteStore({ path: config.store.path }) : undefined;
  const deps = buildDeps(config, { store, clock: options.clock, log });
  const getDeps: GetDeps = async () => deps;
  const appWebhooks: Stack['appWebhooks'] = [];

  const functions: Record<string, (event: unknown) => Promise<unknown>> = {
    login: (event) => loginHandler(getDeps, event),
    order: (event) => orderHandler(getDeps, event),
    reconcile: (event) => reconcileHandler(getDeps, event),
  };

  handle = async (req, res) => {
    const url = new URL(req.url ?? '/', functionsUrl);
    const path = url.pathname;
    if (req.method === 'POST' && path.startsWith('/fn/')) {
      const fn = functions[path.slice(4)];
      if (!fn) return send(res, 404, { ok: false, error: errorBody('NOT_FOUND') });
      const { text, tooLarge } = await readBody(req, 256 * 1024);
      let event: unknown;
      try {
        event = JSON.parse(text || '{}');
      } catch {
        event = undefined;
      }
      if (tooLarge || event === undefined) return send(res, 400, { ok: false, error: errorBody('INVALID_REQUEST') });
      return send(res, 200, (await fn(event)) as object);
    }
    if (req.method === 'POST' && path === '/http/huifu/notify') {
      // As CloudBase HTTP access does: the raw body, base64-encoded, plus the headers.
      const { text } = await readBody(req, 1024 * 1024);
      const answer = await payNotifyHandler(getDeps, {
        httpMethod: 'POST',
        path,
        headers: req.headers as Record<string, string>,
        body: Buffer.from(text, 'utf8').toString('base64'),
        isBase64Encoded: true,
      });
      return send(res, answer.statusCode, answer.body, answer.headers['content-type']);
    }
    if (path.startsWith('/http/merchant/')) {
      const { text } = await readBody(req, 256 * 1024);
      const answer = await merchantHandler(getDeps, {
        httpMethod: req.method ?? 'GET',
        path,
        headers: req.headers as Record<string, string>,
        body: Buffer.from(text, 'utf8').toString('base64'),
        isBase64Encoded: true,
      });
      return send(res, answer.statusCode, answer.body, answer.headers['content-type']);
    }
    if (path === '/_app/webhooks') {
      if (req.method === 'GET') return send(res, 200, appWebhooks);
      const { text } = await readBody(req);
      const reason = verifyWebhookSignature(keys.appWebhookSecret, text, headerOf(req.headers as Record<string, string>, 'x-cashier-signature') ?? '', deps.clock.now());
      appWebhooks.push({ event: headerOf(req.headers as Record<string, string>, 'x-cashier-event') ?? '?', body: text, signatureValid: reason === null, receivedAt: deps.clock.now() });
      return send(res, reason === null ? 200 : 400, reason ?? 'ok');
    }
    if (path === '/healthz') return send(res, 200, { ok: true });
    return send(res, 404, { ok: false, error: errorBody('NOT_FOUND') });
  };

  let timer: NodeJS.Timeout | null = null;
  let running = false;
  if (options.reconcileIntervalMs !== 0) {
    timer = setInterval(async () => {
      if (running) return;
      running = true;
      try {
        await runReconcile(deps);
      } catch (error) {
        log.error('reconcile run failed', { error: (error as Error).message });
      } finally {
        running = false;
      }
    }, options.reconcileIntervalMs ?? 5000);
  }

  const stack: Stack = {
    dataDir,
    urls: { functions: functionsUrl, wechat: wechat?.url ?? null, huifu: huifu?.url ?? null },
    config,
    deps,
    huifu,
    wechat,
    appWebhooks,
    async call<T>(fn: string, event: unknown): Promise<T> {
      const res = await fetch(`${functionsUrl}/fn/${fn}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
      return (await res.json()) as T;
    },
    readyLine: () =>
      `cashier ready: functions ${functionsUrl}/fn/<name>  notify ${config.huifu.notifyUrl}  wechat ${wechat?.url ?? config.wechat.apiBase}  huifu ${huifu?.url ?? config.huifu.apiBase} (${config.huifu.apiVersion})  db ${config.store.kind === 'sqlite' ? config.store.path : config.store.env}`,
    async stop() {
      if (timer) clearInterval(timer);
      await closeServer(server);
      await huifu?.close();
      await wechat?.close();
      await deps.store.close();
    },
  };
  return stack;
}

