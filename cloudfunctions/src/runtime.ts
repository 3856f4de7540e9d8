import { loadConfig, type Config } from './config';
import { systemClock, type Clock } from './domain/time';
import { HuifuClient } from './providers/huifu/client';
import type { PaymentGateway } from './providers/port';
import { jsonLogger, type Deps, type Logger } from './services/deps';
import { connectCloudbase, createCloudbaseStore } from './store/cloudbase';
import type { Store } from './store/port';
import { code2Session } from './wechat/jscode2session';

export function huifuGateway(config: Config, log: Logger): PaymentGateway {
  return new HuifuClient({
    ...config.huifu,
    baseUrl: config.huifu.apiBase,
    timeoutMs: config.httpTimeoutMs,
    onExchange: (e) => log.info('huifu exchange', e),
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
    gateway: options.gateway ?? huifuGateway(config, log),
    clock: options.clock ?? systemClock,
    log,
    exchangeCode: (code) => code2Session({ ...config.wechat, timeoutMs: config.httpTimeoutMs }, code),
  };
}

let cloudDeps: Promise<Deps> | null = null;
/** CloudBase: built once per instance from the environment (cold start), reused by every invocation. */
export function cloudDepsFromEnv(): Promise<Deps> {
  cloudDeps ??= Promise.resolve().then(() => buildDeps(loadConfig(process.env)));
  // A configuration error is not cached, so fixing the variables needs no redeploy of the code.
  cloudDeps.catch(() => {
    cloudDeps = null;
  });
  return cloudDeps;
}
