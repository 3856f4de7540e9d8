import { createSign, createVerify, type KeyObject } from 'node:crypto';

/** SHA256withRSA (PKCS#1 v1.5) over the UTF-8 bytes of `message`, Base64. Pure: no clock, no I/O. */
export function signRsaSha256(message: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(message, 'utf8').sign(privateKey, 'base64');
}

export function verifyRsaSha256(message: string, signatureBase64: string, publicKey: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureBase64)) return false;
  try {
    return createVerify('RSA-SHA256').update(message, 'utf8').verify(publicKey, signatureBase64, 'base64');
  } catch {
    return false;
  }
}
