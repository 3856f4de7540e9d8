import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { canonicalData } from '../../../cloudfunctions/src/providers/huifu/canonical';
import { buildRequestBody, verifyResponse } from '../../../cloudfunctions/src/providers/huifu/client';
import { HuifuSignatureError, HuifuBusinessError } from '../../../cloudfunctions/src/providers/huifu/errors';
import { parsePrivateKey, parsePublicKey, exportPrivateKeyBase64, exportPublicKeyBase64 } from '../../../cloudfunctions/src/providers/huifu/keys';
import { rawMemberText } from '../../../cloudfunctions/src/providers/huifu/raw-json';
import { signRsaSha256, verifyRsaSha256 } from '../../../cloudfunctions/src/providers/huifu/sign';

// Published vectors, from ../shared/docs/reference/huifu-dougong-api.md §1.4 and §1.5.
const HUIFU_DEMO_PUBLIC_KEY =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkMX8p3GyMw3gk6x72h20NOk3L9+Nn9mOVP6+YoBwCe7Zs4QmYrA/etFRZw2TQrSc51wgtCkJi1/x8Wl7maPL1uH2+77JFlPv7H/F4Lr2I2LXgnllg6PtwOSw/qvGYInVVB4kL85VQl0/8ObyxBUdJ43I0z/u8hJb2gwujSudOGizbeqQXAYrwcNy+e+cjodpPy9unpJjBfa4Wz2eVLLvUYYKZKdRn6pZR2cQsMBvL30K4cFlZqlJ9iP2hTG3gaiZJ9JrjTigwki0g9pbTDXiPACfuF1nOeObvLD22zBbgn1kwgfsqoG67z7g84u2jvfUFCzX1JRgd0xfNorTRkS2RQIDAQAB';
const SIGNED_A_NATIVE =
  '{"bank_code":"10000","bank_message":"Success","hf_seq_id":"002900TOP2B220511142822P984ac132ff400000","huifu_id":"6666000108854952","qr_code":"https://qr.alipay.com/bax04465kcijedllqhuq004b","req_date":"20220511","req_seq_id":"202205111428211506200","resp_code":"00000100","resp_desc":"下单成功","trade_type":"A_NATIVE","trans_amt":"1.00","trans_stat":"P"}';
const SIGNATURE =
  'OUotiU75VW7SdEwLIZX3gAqSgZk8hCjE7r01WQr8mDdm23B+zd58r8HNWvE9BWV+mTwZ2iAOSuht9SOGM+spSYFANa3VIqMZzGim3y4aZmptQTTptNcclocsWyocn78efdAuTcGvf5dhUc6/Ue1oYV+BVhphYPmkKUKfxpEvBEvw/vlpsCu0I0Dx/k7kN6IaxY6mODypFmDtnEaZbkGaxbh8yxH1lJDn5/91YfD6vpK+sRJXiVXLzDK13BPAjQ3RAlFUxHJ8LPJbWQQpABQ94Gd1TTc/bfOluqUwJJbofC7WZiIOW6MKsa9gL5Y6lmbqFcMBKfvexJ0SlRFLWvSkQg==';

describe('Huifu signing', () => {
  const huifuKey = parsePublicKey(HUIFU_DEMO_PUBLIC_KEY);

  it('verifies the published Huifu-signed A_NATIVE response', () => {
    expect(verifyRsaSha256(SIGNED_A_NATIVE, SIGNATURE, huifuKey)).toBe(true);
  });

  it('rejects the published response with one byte changed', () => {
    expect(verifyRsaSha256(SIGNED_A_NATIVE.replace('"1.00"', '"1.01"'), SIGNATURE, huifuKey)).toBe(false);
    expect(verifyRsaSha256(SIGNED_A_NATIVE, SIGNATURE.replace('OUot', 'OUou'), huifuKey)).toBe(false);
    expect(verifyRsaSha256(SIGNED_A_NATIVE, 'not base64!', huifuKey)).toBe(false);
  });

  it('builds the canonical text of Huifu\'s own sandbox vector: sorted, Chinese, "/" and "<>&" unescaped, nested JSON kept', () => {
    const { text } = canonicalData({
      trans_amt: '0.01',
      trade_type: 'A_NATIVE',
      req_seq_id: 'REQ-SDK-001',
      notify_url: 'http://127.0.0.1:18080/notify?a=1&b=2',
      method_expand: '{"b":"2","a":"1"}',
      huifu_id: '6666000100000001',
      goods_desc: '测试/desc <tag>&value',
    });
    expect(text).toBe(
      '{"goods_desc":"测试/desc <tag>&value","huifu_id":"6666000100000001","method_expand":"{\\"b\\":\\"2\\",\\"a\\":\\"1\\"}","notify_url":"http://127.0.0.1:18080/notify?a=1&b=2","req_seq_id":"REQ-SDK-001","trade_type":"A_NATIVE","trans_amt":"0.01"}',
    );
  });

  it('drops empty values and refuses nested objects', () => {
    expect(canonicalData({ b: '', a: '1', c: undefined, d: null }).text).toBe('{"a":"1"}');
    expect(canonicalData({ n: 0, m: 2.5, s: 'x' }).text).toBe('{"m":2.5,"n":0,"s":"x"}');
    expect(() => canonicalData({ wx_data: { sub_appid: 'x' } as unknown as string })).toThrow(/JSON strings/);
  });

  it('sends exactly the object it signed, for data holding "/", "&", "<", Chinese and a nested wx_data', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const data = {
      req_seq_id: 'P1',
      goods_desc: '会员/年卡 <VIP> & 礼包',
      wx_data: JSON.stringify({ sub_appid: 'wx0123456789abcdef', sub_openid: 'o/abc+def' }),
      notify_url: 'https://pay.example.com:8443/huifu/notify',
      empty: '',
    };
    const body = JSON.parse(buildRequestBody({ sysId: 'S', productId: 'P', merchantPrivateKey: privateKey }, data)) as {
      data: Record<string, string>;
      sign: string;
    };
    expect(Object.keys(body.data)).toEqual(['goods_desc', 'notify_url', 'req_seq_id', 'wx_data']);
    expect(JSON.stringify(body.data)).toContain('会员/年卡 <VIP> & 礼包');
    expect(verifyRsaSha256(JSON.stringify(body.data), body.sign, publicKey)).toBe(true);
    expect(verifyRsaSha256(canonicalData(body.data).text, body.sign, publicKey)).toBe(true);
  });

  it('accepts keys as Base64 DER or PEM, and PKCS#1 private keys', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const der = exportPrivateKeyBase64(privateKey);
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const pkcs1 = privateKey.export({ format: 'der', type: 'pkcs1' }).toString('base64');
    const message = 'x';
    const expected = signRsaSha256(message, privateKey);
    for (const text of [der, pem, pem.replace(/\n/g, '\\n'), pkcs1]) expect(signRsaSha256(message, parsePrivateKey(text))).toBe(expected);
    expect(createPublicKey(parsePrivateKey(der)).asymmetricKeyType).toBe('rsa');
    expect(() => parsePrivateKey('not a key')).toThrow();
  });
});

describe('synchronous response verification', () => {
  const huifuKey = parsePublicKey(HUIFU_DEMO_PUBLIC_KEY);

  it('verifies over the raw data text, wherever sign stands in the body', () => {
    const body = `{"sign":"${SIGNATURE}",  "data": ${SIGNED_A_NATIVE}}`;
    expect(verifyResponse(body, huifuKey, '/x').trans_stat).toBe('P');
  });

  it('falls back to the sorted form when the raw text is in another key order', () => {
    const parsed = JSON.parse(SIGNED_A_NATIVE) as Record<string, unknown>;
    const shuffled: Record<string, unknown> = {};
    for (const k of Object.keys(parsed).reverse()) shuffled[k] = parsed[k];
    const body = JSON.stringify({ data: shuffled, sign: SIGNATURE });
    expect(verifyResponse(body, huifuKey, '/x').req_seq_id).toBe('202205111428211506200');
  });

  it('refuses a tampered answer with an actionable message', () => {
    const body = `{"data":${SIGNED_A_NATIVE.replace('"P"', '"S"')},"sign":"${SIGNATURE}"}`;
    expect(() => verifyResponse(body, huifuKey, '/x')).toThrow(HuifuSignatureError);
    expect(() => verifyResponse(body, huifuKey, '/x')).toThrow(/HUIFU_PUBLIC_KEY/);
  });

  it('reports an unsigned refusal as the business error, but never trusts an unsigned success', () => {
    expect(() => verifyResponse('{"data":{"resp_code":"10000000","resp_desc":"无效参数"}}', huifuKey, '/x')).toThrow(HuifuBusinessError);
    expect(() => verifyResponse('{"data":{"resp_code":"00000000","trans_stat":"S"}}', huifuKey, '/x')).toThrow(HuifuSignatureError);
    expect(() => verifyResponse('<html>', huifuKey, '/x')).toThrow(HuifuSignatureError);
  });
});

describe('rawMemberText', () => {
  it('returns the exact source text of a member, keeping number formats and escapes', () => {
    const json = '{ "a" : {"x":"}\\"{", "n": 0.00}, "data":{"k":[1,{"z":"]"}],"m":"\\u4e2d"}, "b": 1 }';
    expect(rawMemberText(json, 'a')).toBe('{"x":"}\\"{", "n": 0.00}');
    expect(rawMemberText(json, 'data')).toBe('{"k":[1,{"z":"]"}],"m":"\\u4e2d"}');
    expect(rawMemberText(json, 'b')).toBe('1');
    expect(rawMemberText(json, 'missing')).toBeNull();
    expect(rawMemberText('[1]', 'a')).toBeNull();
    expect(rawMemberText('{"a":', 'a')).toBeNull();
  });
});

describe('rawMemberText at the edges', () => {
  it('skips every kind of JSON whitespace between tokens', () => {
    const json = '{\r\n\t"a"\r\n:\t1\n,\r "b" :\t"x"\t}';
    expect(rawMemberText(json, 'a')).toBe('1');
    expect(rawMemberText(json, 'b')).toBe('"x"');
  });

  it('keeps a string value with spaces, commas and brackets whole, and ends it only at an unescaped quote', () => {
    expect(rawMemberText('{"a":"x, y}] z","b":2}', 'a')).toBe('"x, y}] z"');
    expect(rawMemberText('{"a":"x, y}] z","b":2}', 'b')).toBe('2');
    // An escaped backslash ends the string; the quote after it closes it.
    expect(rawMemberText('{"a":"x\\\\","b":3}', 'b')).toBe('3');
    expect(rawMemberText('{"k\\"ey":1,"b":4}', 'b')).toBe('4');
    expect(rawMemberText('{"a":{"s":"\\\\"},"b":5}', 'b')).toBe('5');
  });

  it.each([
    ['an unterminated key', '{"a'],
    ['a key without a colon', '{"a" 1}'],
    ['a missing comma', '{"a":1 "b":2}'],
    ['an unterminated string value', '{"a":"x'],
    ['an unterminated string inside an object', '{"a":{"b":"x}'],
    ['an unterminated array', '{"a":[1,2'],
    ['an empty value', '{"a":}'],
    ['a key that is not a string', '{a:1,"b":2}'],
  ])('gives up on %s instead of guessing', (_what, json) => {
    expect(rawMemberText(json, 'b')).toBeNull();
  });

  it.each([
    ['text before the opening brace', 'x"a":1}'],
    ['a stray character instead of the colon', '{"a"x1}'],
    ['a stray character instead of the comma before it', '{"b":"1"x"a":2}'],
    ['its string value unterminated', '{"a":"x'],
    ['a string inside its object unterminated', '{"a":{"b":"x}'],
    ['its object unclosed', '{"a":{"b":1'],
  ])('gives up on the member asked for when the text has %s, never returning a fragment', (_what, json) => {
    expect(rawMemberText(json, 'a')).toBeNull();
  });

  it('returns a scalar value that runs to the end of the text', () => {
    expect(rawMemberText('{"a":123', 'a')).toBe('123');
    expect(rawMemberText('{"a":[1]', 'a')).toBe('[1]');
  });
});

describe('keys and signatures from configuration text', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = exportPrivateKeyBase64(privateKey);
  const publicDer = exportPublicKeyBase64(publicKey);

  it('accepts keys wrapped, indented or padded with whitespace, as pasted from the console or a .env file', () => {
    const wrapped = `\n  ${der.match(/.{1,64}/g)!.join('\n  ')}  \n`;
    expect(signRsaSha256('m', parsePrivateKey(wrapped))).toBe(signRsaSha256('m', privateKey));
    const publicWrapped = `\t${publicDer.match(/.{1,76}/g)!.join('\r\n')}\n`;
    expect(verifyRsaSha256('m', signRsaSha256('m', privateKey), parsePublicKey(publicWrapped))).toBe(true);
    const pem = `  ${publicKey.export({ format: 'pem', type: 'spki' }).toString()}  `;
    expect(verifyRsaSha256('m', signRsaSha256('m', privateKey), parsePublicKey(pem))).toBe(true);
  });

  it.each([
    ['Base64 with other characters', `${der.slice(0, 40)}!${der.slice(41)}`],
    ['Base64URL', der.replace(/\+/g, '-').replace(/\//g, '_')],
    ['text before the Base64', `key: ${der}`],
    ['text after the Base64 padding', `${der}=x`],
  ])('refuses a key that is %s, saying it is not Base64', (_what, text) => {
    expect(() => parsePrivateKey(text)).toThrow('not Base64 text');
  });

  it('accepts a private key in PEM with whitespace around it', () => {
    const pem = `\n  ${privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()}\n`;
    expect(signRsaSha256('m', parsePrivateKey(pem))).toBe(signRsaSha256('m', privateKey));
  });

  it('answers false, not an exception, when the key cannot verify RSA at all', () => {
    const ed25519 = generateKeyPairSync('ed25519').publicKey;
    expect(verifyRsaSha256('m', signRsaSha256('m', privateKey), ed25519)).toBe(false);
  });

  it('treats a signature that is not Base64 as not verifying, and never throws', () => {
    const sign = signRsaSha256('m', privateKey);
    expect(verifyRsaSha256('m', sign, publicKey)).toBe(true);
    for (const bad of [`${sign}!`, ` ${sign}`, `x${sign}=y`, '', 'AAAA']) expect(verifyRsaSha256('m', bad, publicKey)).toBe(false);
    // Base64 of the wrong length: createVerify's own refusal is a false, not a throw.
    expect(verifyRsaSha256('m', sign.slice(0, 20), publicKey)).toBe(false);
  });
});
