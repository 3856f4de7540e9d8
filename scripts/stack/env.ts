/**
 * The local stack's environment. By default every gateway is a built-in sandbox with generated keys. A `.env.local`
 * may point the stack at a real gateway instead (Huifu joint test, real WeChat); then that gateway's values all come
 * from the file, and a missing one is an error listing it, never a sandbox value filled in silently.
 */
import { ConfigError } from '../../cloudfunctions/src/config';
import type { KeyFile } from '../lib/local-keys';

export const DEV_APPID = 'wx0000000000000dev';
export const SANDBOX_IDS = { sysId: '6666000100000001', productId: 'PAYUN', huifuId: '6666000100000001' };

/** The Huifu variables a real gateway needs from the file (the rest have defaults or are optional). */
const HUIFU_REAL = ['HUIFU_SYS_ID', 'HUIFU_PRODUCT_ID', 'HUIFU_ID', 'HUIFU_MERCHANT_PRIVATE_KEY', 'HUIFU_PUBLIC_KEY', 'HUIFU_NOTIFY_URL'] as const;
/** Huifu variables that also apply to the sandbox. */
const HUIFU_SANDBOX_OK = new Set(['HUIFU_API_VERSION', 'HUIFU_SKILL_SOURCE']);
const WECHAT_REAL = ['WX_APPID', 'WX_SECRET'] as const;

export interface LocalEndpoints {
  functionsUrl: string;
  sqlitePath: string;
  /** The Huifu sandbox's URL, or null when the file names a real gateway. */
  huifuUrl: string | null;
  wechatUrl: string | null;
}

/** Whether the overrides (from .env.local or the environment) name a real gateway instead of a sandbox. */
export function usesRealHuifu(overrides: Record<string, string | undefined>): boolean {
  return Boolean(overrides.HUIFU_API_BASE?.trim());
}
export function usesRealWechat(overrides: Record<string, string | undefined>): boolean {
  return Boolean(overrides.WX_API_BASE?.trim());
}

/**
 * The functions' environment on a local stack. Throws a ConfigError listing every problem: a real gateway with
 * missing values, sandbox-only settings given for a real gateway's identity, STORE=cloudbase.
 */
export function localStackEnv(keys: KeyFile, at: LocalEndpoints, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined && v.trim() !== '')) as Record<string, string>;
  const problems: string[] = [];
  if (given.STORE === 'cloudbase') {
    problems.push('STORE: the local stack runs on SQLite; STORE=cloudbase is for the deployed functions (.env.production, `pnpm deploy:cloudbase`)');
  }
  const realHuifu = usesRealHuifu(given);
  if (realHuifu) {
    for (const name of HUIFU_REAL) if (!given[name]) problems.push(`${name}: missing (HUIFU_API_BASE names a real Huifu gateway, so every HUIFU_* value must come from .env.local; the sandbox's are never mixed in)`);
  } else {
    for (const name of Object.keys(given)) {
      if (name.startsWith('HUIFU_') && !HUIFU_SANDBOX_OK.has(name)) {
        problems.push(`${name}: set without HUIFU_API_BASE; the local Huifu sandbox uses its own identity and keys. Set HUIFU_API_BASE (and every HUIFU_* value) to use a real gateway, or remove ${name}`);
      }
    }
  }
  const realWechat = usesRealWechat(given);
  if (realWechat) {
    for (const name of WECHAT_REAL) if (!given[name]) problems.push(`${name}: missing (WX_API_BASE names the real WeChat API, so WX_APPID and WX_SECRET must come from .env.local)`);
  } else if (given.WX_SECRET) {
    problems.push('WX_SECRET: set without WX_API_BASE; the local WeChat sandbox has its own secret. Set WX_API_BASE to use the real WeChat API, or remove WX_SECRET');
  }
  if (problems.length) throw new ConfigError(problems);

  const sandboxHuifu = realHuifu
    ? {}
    : {
        HUIFU_API_BASE: at.huifuUrl ?? undefined,
        HUIFU_SYS_ID: SANDBOX_IDS.sysId,
        HUIFU_PRODUCT_ID: SANDBOX_IDS.productId,
        HUIFU_ID: SANDBOX_IDS.huifuId,
        HUIFU_MERCHANT_PRIVATE_KEY: keys.merchantPrivateKey,
        HUIFU_PUBLIC_KEY: keys.huifuPublicKey,
        HUIFU_NOTIFY_URL: `${at.functionsUrl}/http/huifu/notify`,
      };
  const sandboxWechat = realWechat ? {} : { WX_APPID: DEV_APPID, WX_SECRET: 'sandbox-secret', WX_API_BASE: at.wechatUrl ?? undefined };
  return {
    ...sandboxWechat,
    ...sandboxHuifu,
    HUIFU_API_VERSION: 'v2',
    SESSION_SECRET: keys.sessionSecret,
    CHECKOUT_SECRET: keys.checkoutSecret,
    MERCHANT_API_SECRET: keys.merchantApiSecret,
    APP_WEBHOOK_URL: `${at.functionsUrl}/_app/webhooks`,
    APP_WEBHOOK_SECRET: keys.appWebhookSecret,
    STORE: 'sqlite',
    SQLITE_PATH: at.sqlitePath,
    QUERY_AFTER_SECONDS: '3',
    QUERY_MIN_INTERVAL_SECONDS: '2',
    ...given,
  };
}
