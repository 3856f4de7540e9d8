import { generateKeyPairSync } from 'node:crypto';
import { exportPrivateKeyBase64, exportPublicKeyBase64 } from '../../cloudfunctions/src/providers/huifu/keys';

export interface KeyPairBase64 {
  privateKey: string;
  publicKey: string;
}

/** A fresh 2048-bit RSA pair in the Base64 DER form Huifu's console uses. Made per test file, never committed. */
export function makeKeyPair(): KeyPairBase64 {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey: exportPrivateKeyBase64(privateKey), publicKey: exportPublicKeyBase64(publicKey) };
}
