/**
 * What a failed fetch means for a request we sent: whether it can have reached the other side. Connection set-up
 * failures (DNS, refused, unreachable, TLS before the request was written) mean it was never sent: safe to retry, and
 * usually a configuration problem (the base URL). A timeout or a reset once connected is ambiguous: the other side may
 * have acted, so the outcome must be queried with the same ids.
 */
const NOT_SENT = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export type TransportFailure =
  /** Never reached the other side. */
  | { sent: false; code: string; detail: string }
  /** May have reached it: no answer in time, or the connection broke after it was set up. */
  | { sent: true; code: string; detail: string };

export function transportFailure(error: unknown): TransportFailure {
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return { sent: true, code: 'TIMEOUT', detail: 'no answer in time' };
  const code = e?.cause?.code ?? e?.code ?? 'UNKNOWN';
  const detail = e?.cause?.message ?? e?.message ?? String(error);
  if (NOT_SENT.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return { sent: false, code, detail };
  return { sent: true, code, detail };
}
