import { SignJWT } from 'jose';
import { checkoutPath, CheckoutTokenError, CLOCK_SKEW_SECONDS, MAX_CHECKOUT_LIFETIME_SECONDS, mintCheckoutToken, verifyCheckoutToken } from '../../cloudfunctions/src/auth/checkout';
import { issueSessionToken, SessionError, verifySessionToken } from '../../cloudfunctions/src/auth/session';

const SECRET = 'x'.repeat(40);
const NOW = 1_760_000_000_000;

describe('session tokens', () => {
  it('round-trips the openid', async () => {
    const { token, expiresAt } = await issueSessionToken('o_alice', SECRET, 7200, NOW);
    expect(expiresAt).toBe(NOW + 7200 * 1000);
    await expect(verifySessionToken(token, SECRET, NOW + 1000)).resolves.toBe('o_alice');
  });

  it('refuses an expired, tampered or foreign-secret token', async () => {
    const { token } = await issueSessionToken('o_alice', SECRET, 60, NOW);
    await expect(verifySessionToken(token, SECRET, NOW + 61_000)).rejects.toThrow(/expired/);
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'o_mallory' })).toString('base64url');
    await expect(verifySessionToken(`${h}.${forged}.${s}`, SECRET, NOW)).rejects.toBeInstanceOf(SessionError);
    await expect(verifySessionToken(token, 'y'.repeat(40), NOW)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verifySessionToken('garbage', SECRET, NOW)).rejects.toBeInstanceOf(SessionError);
    // Only an expired token says "expired" (the mini-program logs in again either way; the log tells them apart).
    await expect(verifySessionToken(token, 'y'.repeat(40), NOW)).rejects.toThrow('session token invalid (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)');
    await expect(verifySessionToken('garbage', SECRET, NOW)).rejects.toThrow(/^session token invalid \(ERR_JWS_INVALID\)$/);
  });

  it('refuses a token whose subject is not the caller the platform reports', async () => {
    const { token } = await issueSessionToken('o_alice', SECRET, 60, NOW);
    await expect(verifySessionToken(token, SECRET, NOW, 'o_alice')).resolves.toBe('o_alice');
    await expect(verifySessionToken(token, SECRET, NOW, 'o_bob')).rejects.toThrow(/another WeChat user/);
  });

  it('is not accepted as a checkout token, nor the other way round', async () => {
    const { token } = await issueSessionToken('o_alice', SECRET, 60, NOW);
    await expect(verifyCheckoutToken(token, SECRET, NOW, 100)).rejects.toBeInstanceOf(CheckoutTokenError);
    const checkout = await mintCheckoutToken({ ref: 'A1', amountFen: 1, description: 'x' }, SECRET, NOW);
    await expect(verifySessionToken(checkout, SECRET, NOW)).rejects.toBeInstanceOf(SessionError);
  });
});

describe('checkout tokens', () => {
  it('accepts a token minted by the README\'s Node example, run as written', async () => {
    const { readFileSync } = require('node:fs') as typeof import('node:fs');
    const { join } = require('node:path') as typeof import('node:path');
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    const snippet = /```js\n\/\/ Node \(jose\)\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    const mint = new Function('SignJWT', 'process', `return (async () => { ${snippet}\nreturn token; })();`) as (s: typeof SignJWT, p: unknown) => Promise<string>;
    const token = await mint(SignJWT, { env: { CHECKOUT_SECRET: SECRET } });
    await expect(verifyCheckoutToken(token, SECRET, Date.now(), 100_000)).resolves.toMatchObject({ ref: 'A123', amountFen: 1230, description: '会员月卡' });
  });

  const mint = (claims: Record<string, unknown>, exp = Math.floor(NOW / 1000) + 600) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(Math.floor(NOW / 1000)).setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));

  it('verifies a token minted as an app backend would', async () => {
    const token = await mintCheckoutToken({ ref: 'APP-ORDER_42', amountFen: 1230, description: '会员月卡', attach: 'u=9' }, SECRET, NOW);
    await expect(verifyCheckoutToken(token, SECRET, NOW, 100_000)).resolves.toEqual({
      ref: 'APP-ORDER_42',
      amountFen: 1230,
      description: '会员月卡',
      attach: 'u=9',
      expiresAt: NOW + 15 * 60 * 1000,
    });
  });

  it.each([
    ['a bad signature', async () => (await mintCheckoutToken({ ref: 'A', amountFen: 1, description: 'x' }, 'z'.repeat(40), NOW)), 'CHECKOUT_TOKEN_INVALID', /CHECKOUT_SECRET/],
    ['an expired token', () => mint({ ref: 'A', amount_fen: 1, description: 'x' }, Math.floor(NOW / 1000) - 1), 'CHECKOUT_TOKEN_EXPIRED', /expired/],
    ['a malformed token', async () => 'not.a.jwt', 'CHECKOUT_TOKEN_INVALID', /malformed/],
    ['a zero amount', () => mint({ ref: 'A', amount_fen: 0, description: 'x' }), 'CHECKOUT_AMOUNT_INVALID', /from 1 to/],
    ['a fractional amount', () => mint({ ref: 'A', amount_fen: 1.5, description: 'x' }), 'CHECKOUT_AMOUNT_INVALID', /whole number/],
    ['an amount over the maximum', () => mint({ ref: 'A', amount_fen: 100_001, description: 'x' }), 'CHECKOUT_AMOUNT_INVALID', /100000/],
    ['an amount as a string', () => mint({ ref: 'A', amount_fen: '1', description: 'x' }), 'CHECKOUT_TOKEN_INVALID', /amount_fen must be a number/],
    ['a ref that is too long', () => mint({ ref: 'A'.repeat(65), amount_fen: 1, description: 'x' }), 'CHECKOUT_TOKEN_INVALID', /ref/],
    ['a description that is too long', () => mint({ ref: 'A', amount_fen: 1, description: '长'.repeat(128) }), 'CHECKOUT_TOKEN_INVALID', /127/],
    ['a token without exp', () => new SignJWT({ ref: 'A', amount_fen: 1, description: 'x' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET)), 'CHECKOUT_TOKEN_INVALID', /missing required "exp" claim/],
    ['a token signed with another algorithm', () => new SignJWT({ ref: 'A', amount_fen: 1, description: 'x' }).setProtectedHeader({ alg: 'HS512' }).setExpirationTime(Math.floor(NOW / 1000) + 60).sign(new TextEncoder().encode(SECRET)), 'CHECKOUT_TOKEN_INVALID', /must be signed with HS256/],
    ['a token not valid yet (nbf), naming jose\'s code', () => new SignJWT({ ref: 'A', amount_fen: 1, description: 'x' }).setProtectedHeader({ alg: 'HS256' }).setNotBefore(Math.floor(NOW / 1000) + 3600).setExpirationTime(Math.floor(NOW / 1000) + 7200).sign(new TextEncoder().encode(SECRET)), 'CHECKOUT_TOKEN_INVALID', /rejected \(ERR_JWT_CLAIM_VALIDATION_FAILED\)/],
    ['a token living for days', () => mint({ ref: 'A', amount_fen: 1, description: 'x' }, Math.floor(NOW / 1000) + 3 * 86_400), 'CHECKOUT_TOKEN_INVALID', /longer than/],
  ])('refuses %s with a typed error', async (_what, make, code, message) => {
    const token = await make();
    const error = await verifyCheckoutToken(token, SECRET, NOW, 100_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckoutTokenError);
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
  });

  it.each([
    ['30 days', 30 * 86_400],
    ['a year', 365 * 86_400],
  ])('refuses a token issued %s in the future with exp = iat + 1 h (the 24 h cap counts from our clock)', async (_what, ahead) => {
    const iat = Math.floor(NOW / 1000) + ahead;
    const token = await new SignJWT({ ref: 'A', amount_fen: 1, description: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(iat).setExpirationTime(iat + 3600).sign(new TextEncoder().encode(SECRET));
    await expect(verifyCheckoutToken(token, SECRET, NOW, 100)).rejects.toMatchObject({ code: 'CHECKOUT_TOKEN_INVALID', message: expect.stringMatching(/iat .* in the future/) });
  });

  it('allows a few minutes of clock skew, and refuses any exp more than 24 h from now whatever iat says', async () => {
    const nowS = Math.floor(NOW / 1000);
    const skewed = await new SignJWT({ ref: 'A', amount_fen: 1, description: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(nowS + 120).setExpirationTime(nowS + 900).sign(new TextEncoder().encode(SECRET));
    await expect(verifyCheckoutToken(skewed, SECRET, NOW, 100)).resolves.toMatchObject({ ref: 'A' });
    const noIat = await new SignJWT({ ref: 'A', amount_fen: 1, description: 'x' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(nowS + 86_400 + 60).sign(new TextEncoder().encode(SECRET));
    await expect(verifyCheckoutToken(noIat, SECRET, NOW, 100)).rejects.toThrow(/longer than 86400 s/);
    const justUnder = await new SignJWT({ ref: 'A', amount_fen: 1, description: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(nowS).setExpirationTime(nowS + 86_400).sign(new TextEncoder().encode(SECRET));
    await expect(verifyCheckoutToken(justUnder, SECRET, NOW, 100)).resolves.toMatchObject({ ref: 'A' });
  });

  it('mints no attach claim for an empty attach', async () => {
    const token = await mintCheckoutToken({ ref: 'A', amountFen: 1, description: 'x', attach: '' }, SECRET, NOW);
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())).not.toHaveProperty('attach');
    await expect(verifyCheckoutToken(token, SECRET, NOW, 100)).resolves.toMatchObject({ attach: null });
  });

  it('takes the largest amount allowed and refuses one fen more', async () => {
    await expect(verifyCheckoutToken(await mint({ ref: 'A', amount_fen: 100_000, description: 'x' }), SECRET, NOW, 100_000)).resolves.toMatchObject({ amountFen: 100_000 });
    await expect(verifyCheckoutToken(await mint({ ref: 'A', amount_fen: 100_001, description: 'x' }), SECRET, NOW, 100_000)).rejects.toMatchObject({ code: 'CHECKOUT_AMOUNT_INVALID' });
  });

  const signed = (iat: number, exp: number) =>
    new SignJWT({ ref: 'A', amount_fen: 1, description: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(iat).setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));

  it('allows an iat exactly the clock skew ahead, and refuses one second more, saying by how much', async () => {
    const nowS = Math.floor(NOW / 1000);
    await expect(verifyCheckoutToken(await signed(nowS + CLOCK_SKEW_SECONDS, nowS + 900), SECRET, NOW, 100)).resolves.toMatchObject({ ref: 'A' });
    await expect(verifyCheckoutToken(await signed(nowS + CLOCK_SKEW_SECONDS + 1, nowS + 900), SECRET, NOW, 100)).rejects.toThrow(
      new RegExp(`iat ${nowS + CLOCK_SKEW_SECONDS + 1} is ${CLOCK_SKEW_SECONDS + 1} s in the future`),
    );
  });

  it('caps the lifetime both from now and from the token\'s own iat', async () => {
    const nowS = Math.floor(NOW / 1000);
    const day = MAX_CHECKOUT_LIFETIME_SECONDS;
    // iat within the skew ahead, exp a day after it: a day from iat, but more than a day from now.
    await expect(verifyCheckoutToken(await signed(nowS + 300, nowS + 300 + day), SECRET, NOW, 100)).rejects.toThrow(/longer than 86400 s/);
    // iat two hours ago, exp 23 h from now: under a day from now, but 25 h from iat.
    await expect(verifyCheckoutToken(await signed(nowS - 7200, nowS + day - 3600), SECRET, NOW, 100)).rejects.toThrow(/longer than 86400 s/);
    await expect(verifyCheckoutToken(await signed(nowS - 3600, nowS + day - 3600), SECRET, NOW, 100)).resolves.toMatchObject({ ref: 'A' });
  });

  it('refuses alg "none" and tampered claims', async () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ref: 'A', amount_fen: 1, description: 'x', exp: Math.floor(NOW / 1000) + 60 })).toString('base64url')}.`;
    await expect(verifyCheckoutToken(none, SECRET, NOW, 100)).rejects.toMatchObject({ code: 'CHECKOUT_TOKEN_INVALID' });
    const token = await mintCheckoutToken({ ref: 'A', amountFen: 1, description: 'x' }, SECRET, NOW);
    const [h, p, s] = token.split('.');
    const cheaper = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), amount_fen: 100000 })).toString('base64url');
    await expect(verifyCheckoutToken(`${h}.${cheaper}.${s}`, SECRET, NOW, 1_000_000)).rejects.toMatchObject({ code: 'CHECKOUT_TOKEN_INVALID' });
  });

  it('keeps the launch path within WeChat\'s path limit even for the longest description', async () => {
    const token = await mintCheckoutToken({ ref: 'R'.repeat(64), amountFen: 99_999_999, description: '长'.repeat(127), attach: 'a'.repeat(127) }, SECRET, NOW);
    expect(checkoutPath(token).length).toBeLessThanOrEqual(1024);
  });
});
