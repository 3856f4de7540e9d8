/**
 * The production configuration (.env.production, overridable from the process environment): the functions'
 * variables, validated per function exactly as each deployed function will load them, plus what only the deploy tools
 * read (a CAM key for @cloudbase/manager-node, the HTTP access domain) and that no function is ever given.
 */
import { ConfigError, loadConfig } from '../../cloudfunctions/src/config';
import { FUNCTION_NAMES } from '../../cloudfunctions/src/functions/manifest';
import { environmentVariables, envFilePath, readEnvFile } from '../lib/env-file';

export interface ProductionSettings {
  file: string | null;
  /** The functions' variables. */
  values: Record<string, string>;
  envId: string | null;
  domain: string | null;
  credentials: { secretId: string; secretKey: string } | null;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

export function productionSettings(root = process.cwd(), processEnv: NodeJS.ProcessEnv = process.env): ProductionSettings {
  const { file, variables } = environmentVariables('production', root, processEnv);
  const fromFile = readEnvFile(envFilePath('production', root)) ?? {};
  const read = (name: string) => (processEnv[name] ?? fromFile[name] ?? '').trim() || null;
  const secretId = read('TENCENTCLOUD_SECRETID');
  const secretKey = read('TENCENTCLOUD_SECRETKEY');
  return {
    file,
    values: variables,
    envId: variables.TCB_ENV ?? null,
    domain: read('CLOUDBASE_HTTP_DOMAIN')?.replace(/^https?:\/\//, '').replace(/\/+$/, '') ?? null,
    credentials: secretId && secretKey ? { secretId, secretKey } : null,
  };
}

/**
 * Every problem that would break a deployed function, listed at once: each function's own configuration, and what is
 * wrong only in production (SQLite, loopback URLs a cloud function cannot reach).
 */
export function productionProblems(settings: ProductionSettings): string[] {
  const problems = new Set<string>();
  if (!settings.file) problems.add('.env.production does not exist: copy .env.example to .env.production and fill it in');
  for (const fn of FUNCTION_NAMES) {
    try {
      loadConfig({ ...settings.values, STORE: 'cloudbase' }, fn);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const p of error.problems) problems.add(p);
    }
  }
  if (settings.values.STORE && settings.values.STORE !== 'cloudbase') {
    problems.add(`STORE: is ${settings.values.STORE} in .env.production; deployed functions have no disk and always use STORE=cloudbase (remove it or set cloudbase)`);
  }
  for (const name of ['HUIFU_API_BASE', 'WX_API_BASE', 'HUIFU_NOTIFY_URL', 'APP_WEBHOOK_URL']) {
    const value = settings.values[name];
    if (value && URL.canParse(value) && LOOPBACK.test(new URL(value).hostname)) {
      problems.add(`${name}: points at ${new URL(value).host}, which a deployed function (or Huifu) cannot reach`);
    }
  }
  return [...problems];
}

/** Non-fatal findings: the notify URL that does not match the route the deploy creates, a plain-HTTP URL. */
export function productionWarnings(settings: ProductionSettings): string[] {
  const warnings: string[] = [];
  const notify = settings.values.HUIFU_NOTIFY_URL;
  if (settings.domain && notify) {
    const expected = `https://${settings.domain}/huifu/notify`;
    if (notify !== expected) warnings.push(`HUIFU_NOTIFY_URL is ${notify}, but the payNotify route will be ${expected}: Huifu will notify the wrong place`);
  }
  if (!settings.domain) warnings.push('CLOUDBASE_HTTP_DOMAIN is not set: the HTTP routes need the domain they live on (the default *.app.tcloudbase.com domain is rate-limited; production needs an ICP-filed custom domain)');
  if (notify?.startsWith('http://')) warnings.push('HUIFU_NOTIFY_URL uses plain http: notifications would cross the internet unencrypted');
  return warnings;
}
