import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Huifu's console hands out keys as bare Base64 DER (PKCS#8 private, SPKI public); people also paste PEM. Both are
 * accepted. The result is a KeyObject, which prints no key material, so a key can never leak into a log by accident.
 */
export function parsePrivateKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) return createPrivateKey({ key: unescapeNewlines(trimmed), format: 'pem' });
  const der = strictBase64(trimmed);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    // `openssl genrsa` output converted to DER is PKCS#1
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
  }
}

export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) return createPublicKey({ key: unescapeNewlines(trimmed), format: 'pem' });
  return createPublicKey({ key: strictBase64(trimmed), format: 'der', type: 'spki' });
}

/** Base64 DER text of a key, as Huifu's console shows it (used by the sandbox and the key generator). */
export function exportPrivateKeyBase64(key: KeyObject): string {
  return key.export({ format: 'der', type: 'pkcs8' }).toString('base64');
}
export function exportPublicKeyBase64(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}

function strictBase64(text: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new Error('not Base64 text');
  return Buffer.from(compact, 'base64');
}

/** Environment variables often carry PEM with literal "\n". */
function unescapeNewlines(pem: string): string {
  return pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
}
