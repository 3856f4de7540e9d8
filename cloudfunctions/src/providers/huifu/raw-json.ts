/**
 * Finds the exact source text of a top-level member's value in a JSON object text, without re-serialising it.
 * Huifu signs the `data` object as it wrote it; JSON.parse + JSON.stringify can change it (number formats such as
 * 0.00, escapes), so verification uses the original bytes. Returns null when the text is not an object or has no
 * such member. The scan is string- and nesting-aware and does not assume key order.
 */
export function rawMemberText(json: string, member: string): string | null {
  let i = skipWs(json, 0);
  if (json[i] !== '{') return null;
  i++;
  for (;;) {
    i = skipWs(json, i);
    if (json[i] === '}') return null;
    if (json[i] !== '"') return null;
    const keyEnd = endOfString(json, i);
    if (keyEnd < 0) return null;
    const key = JSON.parse(json.slice(i, keyEnd + 1)) as string;
    i = skipWs(json, keyEnd + 1);
    if (json[i] !== ':') return null;
    i = skipWs(json, i + 1);
    const valueEnd = endOfValue(json, i);
    if (valueEnd < 0) return null;
    if (key === member) return json.slice(i, valueEnd);
    i = skipWs(json, valueEnd);
    if (json[i] === ',') {
      i++;
      continue;
    }
    return null;
  }
}

function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++;
  return i;
}

/** Index of the closing quote of the string starting at `i`, or -1. */
function endOfString(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j;
  }
  return -1;
}

/** Index just past the value starting at `i`, or -1. */
function endOfValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') {
    const end = endOfString(s, i);
    return end < 0 ? -1 : end + 1;
  }
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const ch = s[j];
      if (ch === '"') {
        j = endOfString(s, j);
        if (j < 0) return -1;
      } else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < s.length && !',}] \n\r\t'.includes(s[j]!)) j++;
  return j > i ? j : -1;
}
