import { randomBytes } from 'node:crypto';
import type { Config } from '../config';
import type { Clock } from '../domain/time';
import { shanghaiStamp } from '../domain/time';
import type { PaymentGateway } from '../providers/port';
import type { Store } from '../store/port';
import type { WechatSession } from '../wechat/jscode2session';

/** Everything a use case needs, wired once per runtime (CloudBase entry, local host, tests). */
export interface Deps {
  config: Config;
  store: Store;
  gateway: PaymentGateway;
  clock: Clock;
  log: Logger;
  /** code → openid (jscode2session). */
  exchangeCode(code: string): Promise<WechatSession>;
  /** Delivers one app webhook; injectable so tests can fail it. */
  postWebhook?(url: string, body: string, headers: Record<string, string>): Promise<{ status: number }>;
}

/** Structured logs: order numbers and Huifu serials, never keys, tokens, bodies or full openids. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * One JSON object per line. JSON already escapes C0 controls; DEL, C1 controls and bidi or zero-width characters from
 * outside text are escaped too, so a log viewer or terminal shows them instead of obeying them.
 */
export function jsonLogger(write: (line: string) => void = (l) => console.log(l)): Logger {
  const emit = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    write(JSON.stringify({ level, message, ...fields }).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
/**
 * Serial numbers that double as Huifu req_seq_id: a letter, the Asia/Shanghai time to the millisecond (17 digits)
 * and 10 random base-36 characters, 28 characters in all, unique per day with overwhelming probability.
 */
export function newSerial(prefix: 'P' | 'C' | 'R' | 'B' | 'W', now: number): string {
  const bytes = randomBytes(10);
  let tail = '';
  for (const b of bytes) tail += ALPHABET[b % 36];
  return `${prefix}${shanghaiStamp(now)}${tail}`;
}
