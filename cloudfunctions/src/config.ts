import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { PayError } from './domain/errors';
import { DEFAULT_MAX_FEN } from './domain/money';
import type { HuifuIdentity } from './providers/huifu/client';
import { parsePrivateKey, parsePublicKey } from './providers/huifu/keys';

/**
 * Every environment variable the functions read (ARCHITECTURE.md §7), validated at start. A bad configuration
 * produces one ConfigError that lists every missing or invalid variable at once, naming the variables but never
 * echoing their values.
 */
export class ConfigError extends PayError {
  constructor(readonly problems: string[]) {
    super('CONFIG_INVALID', `Configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}\nSee .env.example for what each variable means.`, {
      retryable: false,
    });
  }
}

const SECRET_MIN = 32;
const secret = (what: string) =>
  z.string({ error: 'missing' }).trim().min(SECRET_MIN, `must be at least ${SECRET_MIN} characters (${what})`);
const required = (hint: string) => z.string({ error: 'missing' }).trim().min(1, `missing (${hint})`);
const httpUrl = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), 'must be an http(s) URL');
const intFromEnv = (min: number, max: number, fallback: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(min).max(max).default(fallback);

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

const EnvSchema = z
  .object({
    WX_APPID: z.string({ error: 'missing' }).trim().regex(/^wx[0-9a-zA-Z]{16}$/, 'must look like wx followed by 16 letters or digits'),
    WX_SECRET: required('the mini-program AppSecret from mp.weixin.qq.com'),
    WX_API_BASE: httpUrl.default('https://api.weixin.qq.com'),

    HUIFU_API_BASE: httpUrl.default('https://api.huifu.com'),
    HUIFU_API_VERSION: z.enum(['v2', 'v4'], { error: 'must be v2 or v4' }).default('v2'),
    HUIFU_SYS_ID: required('your huifu_id, or the service provider huifu_id'),
    HUIFU_PRODUCT_ID: required('the product_id Huifu assigned'),
    HUIFU_ID: required('the transacting merchant huifu_id'),
    HUIFU_MERCHANT_PRIVATE_KEY: required('Base64 DER PKCS#8 or PEM'),
    HUIFU_PUBLIC_KEY: required('Huifu public key, Base64 DER SPKI or PEM'),
    HUIFU_NOTIFY_URL: httpUrl.refine((v) => {
      const u = new URL(v);
      return u.search === '' && u.hash === '';
    }, 'must not carry a query string (Huifu rejects it)'),

    SESSION_SECRET: secret('signs mini-program session tokens'),
    CHECKOUT_SECRET: secret('shared with the app backend, signs checkout tokens'),
    SESSION_TTL_SECONDS: intFromEnv(60, 86_400, 7_200),

    MERCHANT_API_SECRET: secret('shared with the app backend, signs merchant API requests'),
    APP_WEBHOOK_URL: httpUrl.optional(),
    APP_WEBHOOK_SECRET: z.string().trim().min(SECRET_MIN, `must be at least ${SECRET_MIN} characters`).optional(),

    STORE: z.enum(['sqlite', 'cloudbase'], { error: 'must be sqlite or cloudbase' }).default('sqlite'),
    SQLITE_PATH: z.string().trim().min(1).default('.local/cashier.db'),
    TCB_ENV: z.string().trim().min(1).optional(),

    ORDER_TTL_MINUTES: intFromEnv(2, 120, 30),
    MAX_ORDER_FEN: intFromEnv(1, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_FEN),
    HTTP_TIMEOUT_MS: intFromEnv(500, 60_000, 10_000),
    /** order.get asks Huifu itself when an order has been PAYING at least this long ... */
    QUERY_AFTER_SECONDS: intFromEnv(0, 3_600, 10),
    /** ... but not more often than this per order. */
    QUERY_MIN_INTERVAL_SECONDS: intFromEnv(0, 3_600, 5),
  })
  .superRefine((env, ctx) => {
    const notify = URL.canParse(env.HUIFU_NOTIFY_URL ?? '') ? new URL(env.HUIFU_NOTIFY_URL) : null;
    if (notify && notify.port !== '' && !LOOPBACK.has(notify.hostname)) {
      const port = Number(notify.port);
      if (port < 8000 || port > 9005) {
        ctx.addIssue({ code: 'custom', path: ['HUIFU_NOTIFY_URL'], message: 'custom ports must be within 8000-9005 or Huifu will not notify' });
      }
    }
    if (env.APP_WEBHOOK_URL && !env.APP_WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['APP_WEBHOOK_SECRET'], message: 'missing (required when APP_WEBHOOK_URL is set)' });
    }
    if (env.STORE === 'cloudbase' && !env.TCB_ENV) {
      ctx.addIssue({ code: 'custom', path: ['TCB_ENV'], message: 'missing (required when STORE=cloudbase)' });
    }
  });

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  wechat: { appid: string; secret: string; apiBase: string };
  huifu: HuifuIdentity & { apiBase: string; notifyUrl: string };
  tokens: { sessionSecret: string; checkoutSecret: string; sessionTtlSeconds: number };
  merchant: { apiSecret: string; webhookUrl: string | null; webhookSecret: string | null };
  store: { kind: 'sqlite'; path: string } | { kind: 'cloudbase'; env: string };
  orders: {
    ttlMinutes: number;
    maxFen: number;
    queryAfterSeconds: number;
    queryMinIntervalSeconds: number;
  };
  httpTimeoutMs: number;
}

/** Treats empty strings as unset, as shells and .env files produce them. */
function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') out[k] = v;
  return out;
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(withoutBlanks(source));
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`);

  // Keys are parsed here so a bad key fails at start, not on the first payment.
  let merchantPrivateKey: KeyObject | null = null;
  let huifuPublicKey: KeyObject | null = null;
  const raw = withoutBlanks(source);
  if (raw.HUIFU_MERCHANT_PRIVATE_KEY) {
    try {
      merchantPrivateKey = parsePrivateKey(raw.HUIFU_MERCHANT_PRIVATE_KEY);
    } catch {
      problems.push('HUIFU_MERCHANT_PRIVATE_KEY: not an RSA private key (expected Base64 DER PKCS#8, as Huifu\'s console shows it, or PEM)');
    }
  }
  if (raw.HUIFU_PUBLIC_KEY) {
    try {
      huifuPublicKey = parsePublicKey(raw.HUIFU_PUBLIC_KEY);
    } catch {
      problems.push('HUIFU_PUBLIC_KEY: not an RSA public key (expected Base64 DER SPKI, as Huifu\'s console shows it, or PEM)');
    }
  }
  if (problems.length || !parsed.success || !merchantPrivateKey || !huifuPublicKey) {
    throw new ConfigError([...new Set(problems)]);
  }
  const env = parsed.data;
  return {
    wechat: { appid: env.WX_APPID, secret: env.WX_SECRET, apiBase: env.WX_API_BASE },
    huifu: {
      apiBase: env.HUIFU_API_BASE.replace(/\/+$/, ''),
      apiVersion: env.HUIFU_API_VERSION,
      sysId: env.HUIFU_SYS_ID,
      productId: env.HUIFU_PRODUCT_ID,
      huifuId: env.HUIFU_ID,
      merchantPrivateKey,
      huifuPublicKey,
      notifyUrl: env.HUIFU_NOTIFY_URL,
    },
    tokens: {
      sessionSecret: env.SESSION_SECRET,
      checkoutSecret: env.CHECKOUT_SECRET,
      sessionTtlSeconds: env.SESSION_TTL_SECONDS,
    },
    merchant: {
      apiSecret: env.MERCHANT_API_SECRET,
      webhookUrl: env.APP_WEBHOOK_URL ?? null,
      webhookSecret: env.APP_WEBHOOK_SECRET ?? null,
    },
    store: env.STORE === 'cloudbase' ? { kind: 'cloudbase', env: env.TCB_ENV! } : { kind: 'sqlite', path: env.SQLITE_PATH },
    orders: {
      ttlMinutes: env.ORDER_TTL_MINUTES,
      maxFen: env.MAX_ORDER_FEN,
      queryAfterSeconds: env.QUERY_AFTER_SECONDS,
      queryMinIntervalSeconds: env.QUERY_MIN_INTERVAL_SECONDS,
    },
    httpTimeoutMs: env.HTTP_TIMEOUT_MS,
  };
}
