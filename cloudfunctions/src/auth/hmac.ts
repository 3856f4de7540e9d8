import { createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 hex. Pure. */
export function hmacSha256Hex(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex or text digests. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The app-webhook signature header: `t=<unix>,v1=<hex hmac of "t.body">`, as Stripe does it. */
export function webhookSignatureHeader(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${hmacSha256Hex(secret, `${t}.${body}`)}`;
}

/**
 * What an app backend does with our webhook (the README shows the same): recompute over the raw body, compare in
 * constant time, and refuse timestamps outside the tolerance. Returns null when valid, else the reason.
 */
export function verifyWebhookSignature(secret: string, body: string, header: string, nowMs: number, toleranceSeconds = 300): string | null {
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1) return 'malformed signature header';
  if (Math.abs(nowMs / 1000 - t) > toleranceSeconds) return 'timestamp outside the tolerance';
  return safeEqual(hmacSha256Hex(secret, `${t}.${body}`), parts.v1) ? null : 'signature mismatch';
}
