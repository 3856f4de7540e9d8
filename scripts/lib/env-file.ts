import { existsSync } from 'node:fs';

/** Reads .env (if present) into process.env, as `pnpm dev` does for real or joint-test credentials. */
export function loadDotEnv(path = '.env'): boolean {
  if (!existsSync(path)) return false;
  process.loadEnvFile(path);
  return true;
}

/** The variables that configure the functions, from the environment, for the stack's overrides. */
export function configOverrides(): Record<string, string> {
  const names = /^(WX_|HUIFU_|SESSION_|CHECKOUT_|MERCHANT_|APP_WEBHOOK_|STORE$|SQLITE_PATH$|TCB_ENV$|ORDER_TTL_|MAX_ORDER_|HTTP_TIMEOUT|QUERY_)/;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (names.test(k) && v) out[k] = v;
  return out;
}
