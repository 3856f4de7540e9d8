import { makeKeyPair } from './keys';

/** A complete, valid environment for loadConfig, with keys generated for this process. */
export function validEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const merchant = makeKeyPair();
  const huifu = makeKeyPair();
  return {
    WX_APPID: 'wx0123456789abcdef',
    WX_SECRET: 'wechat-app-secret',
    HUIFU_SYS_ID: '6666000100000001',
    HUIFU_PRODUCT_ID: 'PAYUN',
    HUIFU_ID: '6666000100000001',
    HUIFU_MERCHANT_PRIVATE_KEY: merchant.privateKey,
    HUIFU_PUBLIC_KEY: huifu.publicKey,
    HUIFU_NOTIFY_URL: 'https://pay.example.com:8443/huifu/notify',
    SESSION_SECRET: 's'.repeat(40),
    CHECKOUT_SECRET: 'c'.repeat(40),
    MERCHANT_API_SECRET: 'm'.repeat(40),
    ...overrides,
  };
}
