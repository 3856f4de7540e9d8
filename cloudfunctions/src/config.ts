import type { KeyObject } from 'node:crypto';
import * as z from '@cashier/shared/src/zod';
import { PayError } from './domain/errors';
import { DEFAULT_MAX_FEN } from './domain/money';
import { FUNCTIONS, type FunctionName } from './functions/manifest';
import { parsePrivateKey, parsePublicKey } from './providers/huifu/keys';

/**
 * Every environment variable the functions read (ARCHITECTURE.md §7), in groups. Each deployed function is given only
 * the groups it reads (functions/manifest.ts); `loadConfig(env, fn)` validates exactly those and ignores any other
 * variable in `env`. A group the function is not given cannot be read by accident: reading it throws a ConfigError
 * that names the function and the missing variables.
 *
 * A bad configuration produces one ConfigError listing every missing or invalid variable, naming the variables but
 * never echoing their values.
 */
export class ConfigError extends PayError {
  constructor(readonly problems: string[]) {
    super('CONFIG_INVALID', `Configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}\nSee .env.example for what each variable means.`, {
      retryable: false,
    });
  }
}

export const VARIABLES_BY_GROUP = {
  wechat: ['WX_APPID'],
  wechatLogin: ['WX_SECRET', 'WX_API_BASE'],
  huifu: ['HUIFU_ID', 'HUIFU_PUBLIC_KEY'],
  huifuApi: ['HUIFU_API_BASE', 'HUIFU_API_VERSION', 'HUIFU_SYS_ID', 'HUIFU_PRODUCT_ID', 'HUIFU_MERCHANT_PRIVATE_KEY', 'HUIFU_NOTIFY_URL', 'HUIFU_SKILL_SOURCE'],
  session: ['SESSION_SECRET', 'SESSION_TTL_SECONDS'],
  checkout: ['CHECKOUT_SECRET', 'ORDER_TTL_MINUTES', 'MAX_ORDER_FEN', 'QUERY_AFTER_SECONDS', 'QUERY_MIN_INTERVAL_SECONDS'],
  merchantApi: ['MERCHANT_API_SECRET'],
  outbox: ['APP_WEBHOOK_URL'],
  webhookDelivery: ['APP_WEBHOOK_SECRET'],
  store: ['STORE', 'SQLITE_PATH', 'TCB_ENV'],
  http: ['HTTP_TIMEOUT_MS'],
} as const satisfies Record<string, readonly string[]>;

export type VariableGroup = keyof typeof VARIABLES_BY_GROUP;
export type VariableName = (typeof VARIABLES_BY_GROUP)[VariableGroup][number];
export const VARIABLE_GROUPS = Object.keys(VARIABLES_BY_GROUP) as VariableGroup[];
export const ALL_VARIABLES: readonly VariableName[] = VARIABLE_GROUPS.flatMap((g) => VARIABLES_BY_GROUP[g]);

/** The variables a function reads, in the order of its groups. */
export function variablesFor(fn: FunctionName): VariableName[] {
  return FUNCTIONS[fn].groups.flatMap((g) => VARIABLES_BY_GROUP[g]);
}

const SECRET_MIN = 32;
const secret = (what: string) =>
  z.string({ error: 'missing' }).check(z.trim(), z.minLength(SECRET_MIN, `must be at least ${SECRET_MIN} characters (${what})`));
const required = (hint: string) => z.string({ error: 'missing' }).check(z.trim(), z.minLength(1, `missing (${hint})`));
const httpUrl = z.string().check(
  z.trim(),
  z.refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), 'must be an http(s) URL'),
);
const intFromEnv = (min: number, max: number, fallback: number) =>
  z._default(z.pipe(z.coerce.number({ error: 'must be a number' }), z.int('must be a whole number').check(z.minimum(min), z.maximum(max))), fallback);

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

const FIELDS = {
  WX_APPID: z.string({ error: 'missing' }).check(z.trim(), z.regex(/^wx[0-9a-zA-Z]{16}$/, 'must look like wx followed by 16 letters or digits')),
  WX_SECRET: required('the mini-program AppSecret from mp.weixin.qq.com'),
  WX_API_BASE: z._default(httpUrl, 'https://api.weixin.qq.com'),

  HUIFU_ID: required('the transacting merchant huifu_id'),
  HUIFU_PUBLIC_KEY: required('Huifu public key, Base64 DER SPKI or PEM'),
  HUIFU_API_BASE: z._default(httpUrl, 'https://api.huifu.com'),
  HUIFU_API_VERSION: z._default(z.enum(['v2', 'v4'], { error: 'must be v2 or v4' }), 'v2'),
  HUIFU_SYS_ID: required('your huifu_id, or the service provider huifu_id'),
  HUIFU_PRODUCT_ID: required('the product_id Huifu assigned'),
  HUIFU_MERCHANT_PRIVATE_KEY: required('Base64 DER PKCS#8 or PEM'),
  HUIFU_NOTIFY_URL: httpUrl.check(
    z.refine((v) => {
      const u = new URL(v);
      return u.search === '' && u.hash === '';
    }, 'must not carry a query string (Huifu rejects it)'),
  ),
  HUIFU_SKILL_SOURCE: z.optional(z.string().check(z.trim(), z.regex(/^[\x21-\x7e]{1,64}$/, 'must be 1-64 visible ASCII characters'))),

  SESSION_SECRET: secret('signs mini-program session tokens'),
  SESSION_TTL_SECONDS: intFromEnv(60, 86_400, 7_200),

  CHECKOUT_SECRET: secret('shared with the app backend, signs checkout tokens'),
  ORDER_TTL_MINUTES: intFromEnv(2, 120, 30),
  MAX_ORDER_FEN: intFromEnv(1, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_FEN),
  /** order.get asks Huifu itself when an order has been PAYING at least this long ... */
  QUERY_AFTER_SECONDS: intFromEnv(0, 3_600, 10),
  /** ... but not more often than this per order. */
  QUERY_MIN_INTERVAL_SECONDS: intFromEnv(0, 3_600, 5),

  MERCHANT_API_SECRET: secret('shared with the app backend, signs merchant API requests'),
  APP_WEBHOOK_URL: z.optional(httpUrl),
  APP_WEBHOOK_SECRET: z.optional(z.string().check(z.trim(), z.minLength(SECRET_MIN, `must be at least ${SECRET_MIN} characters`))),

  STORE: z._default(z.enum(['sqlite', 'cloudbase'], { error: 'must be sqlite or cloudbase' }), 'sqlite'),
  SQLITE_PATH: z._default(z.string().check(z.trim(), z.minLength(1)), '.local/cashier.db'),
  TCB_ENV: z.optional(z.string().check(z.trim(), z.minLength(1))),

  HTTP_TIMEOUT_MS: intFromEnv(500, 60_000, 10_000),
} satisfies Record<VariableName, z.ZodMiniType>;

type Env = { [K in VariableName]: z.output<(typeof FIELDS)[K]> };

export interface Config {
  /** The function this configuration was loaded for, or 'all' (local tools: the stack, ops, the console). */
  scope: FunctionName | 'all';
  wechat: { appid: string };
  wechatLogin: { secret: string; apiBase: string };
  /** What verifying Huifu's notifications and answers needs. */
  huifu: { huifuId: string; huifuPublicKey: KeyObject };
  /** What calling Huifu needs. */
  huifuApi: {
    apiBase: string;
    apiVersion: 'v2' | 'v4';
    sysId: string;
    productId: string;
    merchantPrivateKey: KeyObject;
    notifyUrl: string;
    /** When set, every request carries jpt-x-skill-source and jpt-x-skill-huifu_id (Huifu's own tooling does). */
    skillSource: string | null;
  };
  session: { secret: string; ttlSeconds: number };
  checkout: { secret: string; ttlMinutes: number; maxFen: number; queryAfterSeconds: number; queryMinIntervalSeconds: number };
  merchantApi: { secret: string };
  /** Where state changes are announced; null: no app webhooks. */
  outbox: { webhookUrl: string | null };
  webhookDelivery: { secret: string | null };
  store: { kind: 'sqlite'; path: string } | { kind: 'cloudbase'; env: string };
  http: { timeoutMs: number };
}

/** Treats empty strings as unset, as shells and .env files produce them. */
function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') out[k] = v;
  return out;
}

/** A group this scope was not given: any read names the function and the variables it lacks. */
function notGiven<T extends object>(group: VariableGroup, scope: FunctionName): T {
  return new Proxy({} as T, {
    get(_target, property) {
      if (typeof property === 'symbol' || property === 'then' || property === 'toJSON') return undefined;
      throw new ConfigError([
        `the ${scope} function is not given ${VARIABLES_BY_GROUP[group].join(', ')} (group "${group}"), yet tried to read ${String(property)}; ` +
          'give the group to the function in cloudfunctions/src/functions/manifest.ts if it really needs it',
      ]);
    },
  });
}

/**
 * Validates the configuration of one function (only the variables it is given are read) or, with no function, of
 * everything (local tools).
 */
export function loadConfig(source: Record<string, string | undefined> = process.env, fn?: FunctionName): Config {
  const groups = new Set<VariableGroup>(fn ? FUNCTIONS[fn].groups : VARIABLE_GROUPS);
  const names = [...groups].flatMap((g) => VARIABLES_BY_GROUP[g]);
  const shape = Object.fromEntries(names.map((n) => [n, FIELDS[n]])) as Partial<typeof FIELDS>;
  const raw = withoutBlanks(Object.fromEntries(names.map((n) => [n, source[n]])));
  const parsed = z.object(shape).safeParse(raw);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`);
  const env = (parsed.success ? parsed.data : {}) as Env;

  // Keys are parsed here so a bad key fails at start, not on the first payment.
  let merchantPrivateKey: KeyObject | null = null;
  let huifuPublicKey: KeyObject | null = null;
  if (groups.has('huifuApi') && raw.HUIFU_MERCHANT_PRIVATE_KEY) {
    try {
      merchantPrivateKey = parsePrivateKey(raw.HUIFU_MERCHANT_PRIVATE_KEY);
    } catch {
      problems.push('HUIFU_MERCHANT_PRIVATE_KEY: not an RSA private key (expected Base64 DER PKCS#8, as Huifu\'s console shows it, or PEM)');
    }
  }
  if (groups.has('huifu') && raw.HUIFU_PUBLIC_KEY) {
    try {
      huifuPublicKey = parsePublicKey(raw.HUIFU_PUBLIC_KEY);
    } catch {
      problems.push('HUIFU_PUBLIC_KEY: not an RSA public key (expected Base64 DER SPKI, as Huifu\'s console shows it, or PEM)');
    }
  }
  if (parsed.success) {
    if (groups.has('huifuApi')) {
      const notify = new URL(env.HUIFU_NOTIFY_URL);
      if (notify.port !== '' && !LOOPBACK.has(notify.hostname)) {
        const port = Number(notify.port);
        if (port < 8000 || port > 9005) problems.push('HUIFU_NOTIFY_URL: custom ports must be within 8000-9005 or Huifu will not notify');
      }
    }
    if (groups.has('outbox') && groups.has('webhookDelivery') && env.APP_WEBHOOK_URL && !env.APP_WEBHOOK_SECRET) {
      problems.push('APP_WEBHOOK_SECRET: missing (required when APP_WEBHOOK_URL is set)');
    }
    if (groups.has('store') && env.STORE === 'cloudbase' && !env.TCB_ENV) problems.push('TCB_ENV: missing (required when STORE=cloudbase)');
  }
  if (problems.length) throw new ConfigError([...new Set(problems)]);

  const scope = fn ?? 'all';
  const section = <T extends object>(group: VariableGroup, build: () => T): T => (groups.has(group) ? build() : notGiven<T>(group, fn!));
  return {
    scope,
    wechat: section('wechat', () => ({ appid: env.WX_APPID })),
    wechatLogin: section('wechatLogin', () => ({ secret: env.WX_SECRET, apiBase: env.WX_API_BASE })),
    huifu: section('huifu', () => ({ huifuId: env.HUIFU_ID, huifuPublicKey: huifuPublicKey! })),
    huifuApi: section('huifuApi', () => ({
      apiBase: env.HUIFU_API_BASE.replace(/\/+$/, ''),
      apiVersion: env.HUIFU_API_VERSION,
      sysId: env.HUIFU_SYS_ID,
      productId: env.HUIFU_PRODUCT_ID,
      merchantPrivateKey: merchantPrivateKey!,
      notifyUrl: env.HUIFU_NOTIFY_URL,
      skillSource: env.HUIFU_SKILL_SOURCE ?? null,
    })),
    session: section('session', () => ({ secret: env.SESSION_SECRET, ttlSeconds: env.SESSION_TTL_SECONDS })),
    checkout: section('checkout', () => ({
      secret: env.CHECKOUT_SECRET,
      ttlMinutes: env.ORDER_TTL_MINUTES,
      maxFen: env.MAX_ORDER_FEN,
      queryAfterSeconds: env.QUERY_AFTER_SECONDS,
      queryMinIntervalSeconds: env.QUERY_MIN_INTERVAL_SECONDS,
    })),
    merchantApi: section('merchantApi', () => ({ secret: env.MERCHANT_API_SECRET })),
    outbox: section('outbox', () => ({ webhookUrl: env.APP_WEBHOOK_URL ?? null })),
    webhookDelivery: section('webhookDelivery', () => ({ secret: env.APP_WEBHOOK_SECRET ?? null })),
    store: section('store', () => (env.STORE === 'cloudbase' ? { kind: 'cloudbase' as const, env: env.TCB_ENV! } : { kind: 'sqlite' as const, path: env.SQLITE_PATH })),
    http: section('http', () => ({ timeoutMs: env.HTTP_TIMEOUT_MS })),
  };
}

/** Whether this configuration was given `group` (a function's own groups; everything for local tools). */
export function grants(config: Pick<Config, 'scope'>, group: VariableGroup): boolean {
  return config.scope === 'all' || FUNCTIONS[config.scope].groups.includes(group);
}
