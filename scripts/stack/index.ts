/**
 * The local stack in one process on loopback: the function host (POST /fn/<name> runs a function with the JSON body
 * as its event, as wx.cloud.callFunction does; /http/<route> emulates CloudBase HTTP access for payNotify and the
 * merchant API), the WeChat and Huifu sandboxes, SQLite under the data folder, and the reconcile timer.
 * Each function runs with only the variables the manifest gives it, as on CloudBase.
 * Used by `pnpm dev`, `pnpm demo` and the integration tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { errorBody } from '@cashier/shared';
import { loadConfig, type Config } from '../../cloudfunctions/src/config';
import { verifyWebhookSignature } from '../../cloudfunctions/src/auth/hmac';
import type { Clock } from '../../cloudfunctions/src/domain/time';
import { headerOf, loginHandler, orderHandler, payNotifyHandler, reconcileHandler, type GetDeps } from '../../cloudfunctions/src/functions/handlers';
import { FUNCTION_NAMES, httpRoutes, type FunctionName } from '../../cloudfunctions/src/functions/manifest';
import { merchantHandler } from '../../cloudfunctions/src/functions/merchant-api';
import type { Caller } from '../../cloudfunctions/src/functions/platform';
import { parsePrivateKey, parsePublicKey } from '../../cloudfunctions/src/providers/huifu/keys';
import { buildDeps } from '../../cloudfunctions/src/runtime';
import { jsonLogger, type Deps, type Logger } from '../../cloudfunctions/src/services/deps';
import { runReconcile } from '../../cloudfunctions/src/services/reconcile';
import { openSqliteStore } from '../../cloudfunctions/src/store/sqlite';
import { closeServer, listen, readBody, send } from '../lib/http';
import { loadOrCreateKeys } from '../lib/local-keys';
import { writeStackState } from '../lib/stack-state';
import { DEV_APPID, localStackEnv, SANDBOX_IDS, usesRealHuifu, usesRealWechat } from './env';
import { startHuifuSandbox, type HuifuSandbox } from './huifu';
import { createConsole, DEVTOOLS_PROJECT_FILE } from './console/server';
import { startWechatSandbox, type WechatSandbox } from './wechat-sandbox';

export { DEV_APPID, localStackEnv } from './env';

export interface StackOptions {
  /** Folder for keys, credentials, the state file and the SQLite file; default .local */
  dataDir?: string;
  /** ':memory:' for tests; default <dataDir>/cashier.db */
  sqlitePath?: string;
  cashierPort?: number;
  wechatPort?: number;
  huifuPort?: number;
  /** Reconcile interval; 0 disables the timer (tests run reconcile themselves). */
  reconcileIntervalMs?: number;
  /** Overrides from .env.local (e.g. HUIFU_API_VERSION); a real HUIFU_API_BASE / WX_API_BASE switches a sandbox off. */
  env?: Record<string, string | undefined>;
  /** Unknown login codes (WeChat DevTools' real ones) log in as this user; default o_dev_user. Null to refuse them. */
  devOpenid?: string | null;
  clock?: Clock;
  log?: Logger;
  notifyRetryDelayMs?: number;
  refundSettleMs?: number | null;
  /** Write <dataDir>/stack.json so `pnpm ops` and other tools find this stack (pnpm dev does; tests need not). */
  writeState?: boolean;
}

export interface Stack {
  /** Keys, credentials and (by default) the database live here. */
  dataDir: string;
  urls: { functions: string; wechat: string | null; huifu: string | null };
  /** The configuration of everything (what local tools see); each function sees only its own part. */
  config: Config;
  /** Deps over the whole configuration, for tests and tools. */
  deps: Deps;
  /** The deps each function runs with: its own variables only, one shared store. */
  functionDeps: Record<FunctionName, Deps>;
  huifu: HuifuSandbox | null;
  wechat: WechatSandbox | null;
  /** Webhooks the built-in stand-in for the app backend received, with their signature check. */
  appWebhooks: Array<{ event: string; body: string; signatureValid: boolean; receivedAt: number }>;
  /** Calls a function the way the mini-program does (through the function host, over HTTP). */
  call<T = unknown>(fn: string, event: unknown): Promise<T>;
  readyLine(): string;
  stop(): Promise<void>;
}

/** The local host stands in for the platform: there is no platform user to check, so every caller is `local`. */
const LOCAL: Caller = { kind: 'local' };

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dataDir = options.dataDir ?? '.local';
  mkdirSync(dataDir, { recursive: true });
  const keys = loadOrCreateKeys(dataDir);
  const overrides = { ...options.env };
  const log = options.log ?? jsonLogger();
  const sqlitePath = options.sqlitePath ?? options.env?.SQLITE_PATH ?? join(dataDir, 'cashier.db');
  // Checked before anything listens, so a bad .env.local fails fast and names what to fix.
  localStackEnv(keys, { functionsUrl: 'http://127.0.0.1:0', sqlitePath, huifuUrl: null, wechatUrl: null }, overrides);

  /** A port clash names the variable that chose the port, for `pnpm dev` to explain. */
  const named = (variable: string) => (error: unknown): never => {
    if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') Object.assign(error as object, { variable });
    throw error;
  };
  const huifu = usesRealHuifu(overrides)
    ? null
    : await startHuifuSandbox({
        ...SANDBOX_IDS,
        port: options.huifuPort ?? 0,
        merchantPublicKey: parsePublicKey(keys.merchantPublicKey),
        huifuPrivateKey: parsePrivateKey(keys.huifuPrivateKey),
        notifyRetryDelayMs: options.notifyRetryDelayMs ?? 1000,
        refundSettleMs: options.refundSettleMs === undefined ? 500 : options.refundSettleMs,
        log: (line) => log.warn(line),
      }).catch(named('HUIFU_SANDBOX_PORT'));
  let wechat: WechatSandbox | null = null;
  try {
    wechat = usesRealWechat(overrides)
      ? null
      : await startWechatSandbox({
          appid: overrides.WX_APPID ?? DEV_APPID,
          secret: 'sandbox-secret',
          port: options.wechatPort ?? 0,
          devOpenid: options.devOpenid === undefined ? 'o_dev_user' : options.devOpenid,
        }).catch(named('WECHAT_SANDBOX_PORT'));
  } catch (error) {
    await huifu?.close();
    throw error;
  }

  // The function host's port must be known before the config (notify URL, webhook URL), so bind first.
  let handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async (_req, res) => send(res, 503, 'starting');
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error('function host error', { error: (error as Error).stack });
      if (!res.headersSent) send(res, 500, { ok: false, error: errorBody('INTERNAL') });
    });
  });
  let port: number;
  try {
    port = await listen(server, options.cashierPort ?? 0).catch(named('CASHIER_PORT'));
  } catch (error) {
    await huifu?.close();
    await wechat?.close();
    throw error;
  }
  const functionsUrl = `http://127.0.0.1:${port}`;

  const env = localStackEnv(keys, { functionsUrl, sqlitePath, huifuUrl: huifu?.url ?? null, wechatUrl: wechat?.url ?? null }, overrides);
  let config: Config;
  let store: ReturnType<typeof openSqliteStore>;
  try {
    config = loadConfig(env);
    store = openSqliteStore({ path: sqlitePath });
  } catch (error) {
    await closeServer(server);
    await huifu?.close();
    await wechat?.close();
    throw error;
  }
  const deps = buildDeps(config, { store, clock: options.clock, log });
  const functionDeps = Object.fromEntries(
    FUNCTION_NAMES.map((fn) => [fn, buildDeps(loadConfig(env, fn), { store, clock: options.clock, log })]),
  ) as Record<FunctionName, Deps>;
  const getDeps = (fn: FunctionName): GetDeps => async () => functionDeps[fn];
  const appWebhooks: Stack['appWebhooks'] = [];

  const functions: Record<string, (event: unknown) => Promise<unknown>> = {
    login: (event) => loginHandler(getDeps('login'), event, LOCAL),
    order: (event) => orderHandler(getDeps('order'), event, LOCAL),
    reconcile: (event) => reconcileHandler(getDeps('reconcile'), event, LOCAL),
  };
  const httpHandlers: Record<string, (event: unknown) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>> = {
    payNotify: (event) => payNotifyHandler(getDeps('payNotify'), event, LOCAL),
    merchant: (event) => merchantHandler(getDeps('merchant'), event, LOCAL),
  };
  const routes = httpRoutes();
  const consoleServer = createConsole({
    deps,
    mode: 'local',
    target: `本地栈 ${functionsUrl} · SQLite ${sqlitePath}`,
    allowActions: true,
    sandbox: huifu,
    oneTimeToken: null,
    devtoolsProjectFile: DEVTOOLS_PROJECT_FILE,
  });

  handle = async (req, res) => {
    if (await consoleServer.handle(req, res, port)) return;
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
    if (path.startsWith('/http/')) {
      // As CloudBase HTTP access does (path transmission on): the full route path, the raw body base64-encoded.
      const accessPath = path.slice('/http'.length);
      const match = routes.find((r) => accessPath === r.route || accessPath.startsWith(`${r.route}/`));
      if (!match) return send(res, 404, { ok: false, error: errorBody('NOT_FOUND') });
      const { text } = await readBody(req, 1024 * 1024);
      const answer = await httpHandlers[match.fn]!({
        httpMethod: req.method ?? 'GET',
        path: accessPath,
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
    if (path === '/healthz') return send(res, 200, { ok: true, pid: process.pid, dataDir });
    return send(res, 404, { ok: false, error: errorBody('NOT_FOUND') });
  };

  let timer: NodeJS.Timeout | null = null;
  let running = false;
  if (options.reconcileIntervalMs !== 0) {
    timer = setInterval(async () => {
      if (running) return;
      running = true;
      try {
        await runReconcile(functionDeps.reconcile);
      } catch (error) {
        log.error('reconcile run failed', { error: (error as Error).message });
      } finally {
        running = false;
      }
    }, options.reconcileIntervalMs ?? 5000);
  }

  if (options.writeState && huifu) {
    // Documented for people who script against the sandbox: where it is, its identity and the four keys.
    writeFileSync(
      join(dataDir, 'sandbox-credentials.json'),
      JSON.stringify({ baseUrl: huifu.url, ...SANDBOX_IDS, merchantPrivateKey: keys.merchantPrivateKey, merchantPublicKey: keys.merchantPublicKey, huifuPrivateKey: keys.huifuPrivateKey, huifuPublicKey: keys.huifuPublicKey }, null, 2),
      { mode: 0o600 },
    );
  }
  const removeState = options.writeState
    ? writeStackState(dataDir, {
        pid: process.pid,
        startedAt: Date.now(),
        dataDir,
        functionsUrl,
        consoleUrl: `${functionsUrl}/console/`,
        notifyUrl: config.huifuApi.notifyUrl,
        huifuUrl: huifu?.url ?? null,
        wechatUrl: wechat?.url ?? null,
        sqlitePath,
      })
    : () => undefined;

  const stack: Stack = {
    dataDir,
    urls: { functions: functionsUrl, wechat: wechat?.url ?? null, huifu: huifu?.url ?? null },
    config,
    deps,
    functionDeps,
    huifu,
    wechat,
    appWebhooks,
    async call<T>(fn: string, event: unknown): Promise<T> {
      const res = await fetch(`${functionsUrl}/fn/${fn}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
      return (await res.json()) as T;
    },
    readyLine: () =>
      `cashier ready: console ${functionsUrl}/console/  functions ${functionsUrl}/fn/<name>  notify ${config.huifuApi.notifyUrl}  wechat ${wechat?.url ?? config.wechatLogin.apiBase}  huifu ${huifu?.url ?? config.huifuApi.apiBase} (${config.huifuApi.apiVersion})  db ${sqlitePath}`,
    async stop() {
      if (timer) clearInterval(timer);
      removeState();
      await closeServer(server);
      await huifu?.close();
      await wechat?.close();
      await deps.store.close();
    },
  };
  return stack;
}
