/**
 * Money is integer fen everywhere; this only turns fen into text for people. Integer arithmetic only, so the
 * mini-program can use it without decimal.js.
 */
export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`formatFen expects an integer number of fen, got ${fen}`);
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const yuan = Math.trunc(abs / 100);
  const cents = abs % 100;
  return `${sign}¥${yuan}.${String(cents).padStart(2, '0')}`;
}
