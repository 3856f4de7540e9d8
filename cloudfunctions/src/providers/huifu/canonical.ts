/**
 * The text Huifu signs for a request: the first-level keys of `data` in ASCII order, empty values dropped, compact
 * JSON with Chinese, "/" and "<>&" left unescaped (JSON.stringify already leaves all of these alone). Nested
 * objects must be passed as JSON strings and are signed as those strings, not re-sorted.
 * Returns the object to send as well as its text: send exactly the object that was signed.
 */
export type HuifuData = Record<string, string | number | undefined | null>;

export function canonicalData(data: HuifuData): { object: Record<string, string | number>; text: string } {
  const object: Record<string, string | number> = {};
  for (const key of Object.keys(data).sort()) {
    const value = data[key];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new TypeError(`Huifu data.${key} must be a string or number; pass nested objects as JSON strings`);
    }
    object[key] = value;
  }
  return { object, text: JSON.stringify(object) };
}

/**
 * The fallback text for verifying a response: keys sorted, every key kept as received (dropping an empty value here
 * breaks verification; measured against Huifu's own sandbox).
 */
export function sortedResponseText(data: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(data).sort()) sorted[key] = data[key];
  return JSON.stringify(sorted);
}
