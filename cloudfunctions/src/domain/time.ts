/**
 * Time is injected everywhere (tests move it). Huifu dates are Beijing time (UTC+8, no daylight saving), so they are
 * computed by offset rather than from the machine's time zone.
 */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;

function shanghaiParts(ms: number) {
  const d = new Date(ms + SHANGHAI_OFFSET_MS);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return {
    date: `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`,
    millis: pad(d.getUTCMilliseconds(), 3),
  };
}

/** yyyyMMdd in Asia/Shanghai (Huifu req_date). */
export function shanghaiDate(ms: number): string {
  return shanghaiParts(ms).date;
}

/** yyyyMMddHHmmss in Asia/Shanghai (Huifu time_expire). */
export function shanghaiDateTime(ms: number): string {
  const p = shanghaiParts(ms);
  return p.date + p.time;
}

/** yyyyMMddHHmmssSSS in Asia/Shanghai: the time part of our order numbers. */
export function shanghaiStamp(ms: number): string {
  const p = shanghaiParts(ms);
  return p.date + p.time + p.millis;
}

/** Parses yyyyMMddHHmmss (Asia/Shanghai) into epoch ms; null when malformed. */
export function parseShanghaiDateTime(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - SHANGHAI_OFFSET_MS;
  return shanghaiDateTime(ms) === text ? ms : null;
}
