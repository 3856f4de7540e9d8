import { grants, loadConfig, type Config } from './config';
import { systemClock, type Clock } from './domain/time';
import type { FunctionName } from './functions/manifest';
import { HuifuClient } from './providers/huifu/client';
import type { PaymentGateway } from './providers/port';
import { jsonLogger, type Deps, type Logger } from './services/deps';
import { connectCloudbase, createCloudbaseStore } from './store/cloudbase';
import type { Store } from './store/port';
import { code2Session } from './wechat/jscode2session';

export function huifuGateway(config: Config, log: Logger): PaymentGateway {
  const { huifuId, huifuPublicKey } = config.huifu;
  const api = config.huifuApi;
  return new HuifuClient({
    apiVersion: api.apiVersion,
    sysId: api.sysId,
    productId: api.productId,
    huifuId,
    merchantPrivateKey: api.merchantPrivateKey,
    huifuPublicKey,
    skillSource: api.skillSource,
    baseUrl: api.apiBase,
    timeoutMs: config.http.timeoutMs,
    onExchange: (e) => log.info('huifu exchange', e),
  });
}

/** A function not given the Huifu API group has no gateway: any call says so instead of failing obscurely. */
function noGateway(config: Config): PaymentGateway {
  return new Proxy({} as PaymentGateway, {
    get: (_target, property) => {
      if (typeof property === 'symbol' || property === 'then') return undefined;
      return () => Promise.reject(Object.assign(new Error(`the ${config.scope} function cannot call Huifu (${String(property)}): it is not given the huifuApi group`), { code: 'INTERNAL' }));
    },
  });
}

export function openStore(config: Config): Store {
  if (config.store.kind === 'cloudbase') return createCloudbaseStore(connectCloudbase(config.store.env));
  // Loaded only when used, so the cloud bundles do not carry the native SQLite module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { openSqliteStore } = require('./store/sqlite') as typeof import('./store/sqlite');
  return openSqliteStore({ path: config.store.path });
}

export function buildDeps(config: Config, options: { store?: Store; gateway?: PaymentGateway; clock?: Clock; log?: Logger } = {}): Deps {
  const log = options.log ?? jsonLogger();
  return {
    config,
    store: options.store ?? openStore(config),
    gateway: options.gateway ?? (grants(config, 'huifuApi') ? huifuGateway(config, log) : noGateway(config)),
    clock: options.clock ?? systemClock,
    log,
    exchangeCode: (code) => code2Session({ appid: config.wechat.appid, ...config.wechatLogin, timeoutMs: config.http.timeoutMs }, code),
  };
}

let cloudDeps: Promise<Deps> | null = null;
/**
 * CloudBase: built once per instance from the function's own variables (cold start), reused by every invocation.
 * A bundle holds one function, so one cached value is enough.
 */
export function cloudDepsFromEnv(fn: FunctionName): () => Promise<Deps> {
  return () => {
    cloudDeps ??= Promise.resolve().then(() => buildDeps(loadConfig(process.env, fn)));
    // A configuration error is not cached, so fixing the variables needs no redeploy of the code.
    cloudDeps.catch(() => {
      cloudDeps = null;
    });
    return cloudDeps;
  };
}
