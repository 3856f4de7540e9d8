/**
 * Runtime parity: every deployable bundle, copied alone into a clean folder, run by the exact Node release the
 * declared CloudBase runtime names (functions/manifest.ts RUNTIME.node, the official binary from the npm registry),
 * with only the variables the manifest gives that function plus what the platform injects. The real
 * @cloudbase/node-sdk inside the bundle talks to a loopback stand-in of CloudBase's database API
 * (TCB_CONTEXT_CNFG + TENCENTCLOUD_RUNENV=SCF, as the SDK reads them in a cloud function).
 */
import { execFile } from 'node:child_process';
import { build as esbuild } from 'esbuild';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildFunctions, LEFT_OUT_FILES, LEFT_OUT_OF_BUNDLES, leaveOut } from '../../cloudfunctions/build';
import { mintCheckoutToken } from '../../cloudfunctions/src/auth/checkout';
import { signMerchantRequest } from '../../cloudfunctions/src/auth/merchant-signature';
import { variablesFor } from '../../cloudfunctions/src/config';
import { fenToYuan } from '../../cloudfunctions/src/domain/money';
import { shanghaiDate } from '../../cloudfunctions/src/domain/time';
import { RUNTIME, type FunctionName } from '../../cloudfunctions/src/functions/manifest';
import { exportPrivateKeyBase64, exportPublicKeyBase64 } from '../../cloudfunctions/src/providers/huifu/keys';
import { signRsaSha256 } from '../../cloudfunctions/src/providers/huifu/sign';
import { COLLECTIONS, UNIQUE_INDEXES } from '../../cloudfunctions/src/store/cloudbase';
import { startCloudbaseStandin, type CloudbaseStandin } from '../../scripts/lib/cloudbase-standin';
import { cloudbasePlatformEnv } from '../../scripts/lib/cloudbase-platform';
import { ensureRuntimeNode } from '../../scripts/lib/runtime-node';
import type { HuifuSandbox } from '../../scripts/stack/huifu';
import { startWechatSandbox, type WechatSandbox } from '../../scripts/stack/wechat-sandbox';
import { makeHuifuKeys, startNotifyReceiver, startTestSandbox, TEST_IDS, type NotifyReceiver } from '../support/huifu';

const run = promisify(execFile);
const APPID = 'wx0123456789abcdef';
const TCB_ENV = 'prod-parity-1a2b';
const keys = makeHuifuKeys();
const secrets = { SESSION_SECRET: 's'.repeat(40), CHECKOUT_SECRET: 'c'.repeat(40), MERCHANT_API_SECRET: 'm'.repeat(40), APP_WEBHOOK_SECRET: 'w'.repeat(40) };

let node: string;
let dist: string;
let standin: CloudbaseStandin;
let huifu: HuifuSandbox;
let wechat: WechatSandbox;
let appBackend: NotifyReceiver;
let production: Record<string, string>;

beforeAll(async () => {
  node = ensureRuntimeNode(RUNTIME.node);
  dist = mkdtempSync(join(tmpdir(), 'cashier-parity-'));
  await buildFunctions(dist);
  standin = await startCloudbaseStandin({ collections: Object.values(COLLECTIONS), uniqueIndexes: UNIQUE_INDEXES });
  huifu = await startTestSandbox(keys);
  wechat = await startWechatSandbox({ appid: APPID, secret: 'wechat-secret' });
  appBackend = await startNotifyReceiver();
  appBackend.answer = () => ({ status: 200, text: 'ok' });
  production = {
    WX_APPID: APPID,
    WX_SECRET: 'wechat-secret',
    WX_API_BASE: wechat.url,
    HUIFU_API_BASE: huifu.url,
    HUIFU_API_VERSION: 'v2',
    HUIFU_SYS_ID: TEST_IDS.sysId,
    HUIFU_PRODUCT_ID: TEST_IDS.productId,
    HUIFU_ID: TEST_IDS.huifuId,
    HUIFU_MERCHANT_PRIVATE_KEY: exportPrivateKeyBase64(keys.merchantPrivateKey),
    HUIFU_PUBLIC_KEY: exportPublicKeyBase64(keys.huifuPublicKey),
    HUIFU_NOTIFY_URL: 'https://pay.example.com/huifu/notify',
    APP_WEBHOOK_URL: appBackend.url,
    STORE: 'cloudbase',
    TCB_ENV,
    ...secrets,
  };
}, 300_000);

afterAll(async () => {
  rmSync(dist, { recursive: true, force: true });
  await Promise.all([standin?.close(), huifu?.close(), wechat?.close(), appBackend?.close()]);
});

const platformEnv = (user: string | null) => cloudbasePlatformEnv({ standinUrl: standin.url, envId: TCB_ENV, appid: APPID, user });

/** Invokes a bundle as CloudBase would: a fresh process, the bundle alone, the function's own variables only. */
async function invoke(fn: FunctionName, event: unknown, options: { user?: string | null; variables?: Record<string, string> } = {}): Promise<any> {
  const folder = mkdtempSync(join(tmpdir(), `cashier-${fn}-`));
  try {
    cpSync(join(dist, fn), folder, { recursive: true });
    const own = Object.fromEntries(variablesFor(fn).flatMap((name) => (production[name] ? [[name, production[name]]] : [])));
    const script = `require('./index.js').main(${JSON.stringify(event)}, { request_id: 'req-1', function_name: '${fn}' }).then((r) => process.stdout.write('\\nRESULT' + JSON.stringify(r)))`;
    const { stdout } = await run(node, ['-e', script], { cwd: folder, env: { ...platformEnv(options.user ?? null), ...(options.variables ?? own) }, timeout: 30_000 });
    return JSON.parse(stdout.slice(stdout.indexOf('\nRESULT') + 7));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

describe(`every bundle under Node ${RUNTIME.node} (CloudBase ${RUNTIME.cloudbase})`, () => {
  it('runs on exactly the declared runtime', async () => {
    const { stdout } = await run(node, ['--version'], { env: {} });
    expect(stdout.trim()).toBe(`v${RUNTIME.node}`);
  });

  it('loads each bundle with the V8 code cache made for this exact Node, and compiles from scratch under any other', async () => {
    for (const fn of ['payNotify', 'order'] as const) {
      const folder = join(dist, fn);
      const probe = `const m = require('./index.js'); m.main({}, {}).then(() => process.stdout.write('\\nCACHE=' + m.codeCache))`;
      const cacheOf = (stdout: string) => /\nCACHE=(.*)$/.exec(stdout)?.[1];
      expect(cacheOf((await run(node, ['-e', probe], { cwd: folder, env: { PATH: process.env.PATH ?? '' } })).stdout)).toBe('used');
      // Another Node 20 (this machine's) would accept the cache and crash (segfault); the handler does not offer it.
      if (process.version !== `v${RUNTIME.node}`) expect(cacheOf((await run(process.execPath, ['-e', probe], { cwd: folder, env: { PATH: process.env.PATH ?? '' } })).stdout)).toBe('other-node');
    }
  });

  it('a package or a file left out of the bundles fails loudly, naming itself and the list to change, if anything touches it', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cashier-left-out-'));
    try {
      const entry = join(folder, 'entry.js');
      writeFileSync(entry, `const ai = require('@cloudbase/ai'); const ns = require('@cloudbase/ai'); module.exports = () => ns.createAI();`);
      await esbuild({ entryPoints: [entry], outfile: join(folder, 'out.js'), bundle: true, platform: 'node', format: 'cjs', plugins: [leaveOut(LEFT_OUT_OF_BUNDLES)], logLevel: 'silent' });
      const touched = await run(node, ['-e', `try { require('./out.js')() } catch (e) { process.stdout.write(e.message) }`], { cwd: folder, env: {} });
      expect(touched.stdout).toMatch(/^@cloudbase\/ai is not in this bundle: cloudfunctions\/build.ts LEFT_OUT_OF_BUNDLES/);

      // A file left out of a package (matched by where it resolves), beside one of the same package that stays.
      const sdk = join(folder, 'node_modules/@cloudbase/node-sdk/dist');
      mkdirSync(join(sdk, 'storage'), { recursive: true });
      writeFileSync(join(sdk, 'storage/index.js'), `exports.uploadFile = () => 'uploaded';`);
      writeFileSync(join(sdk, 'kept.js'), `exports.kept = () => 'kept';`);
      writeFileSync(join(sdk, 'index.js'), `const storage = require('./storage'); const kept = require('./kept'); module.exports = { kept: () => kept.kept(), upload: () => storage.uploadFile() };`);
      writeFileSync(entry, `module.exports = require('@cloudbase/node-sdk/dist/index.js');`);
      await esbuild({ entryPoints: [entry], outfile: join(folder, 'out.js'), bundle: true, platform: 'node', format: 'cjs', plugins: [leaveOut(LEFT_OUT_OF_BUNDLES, LEFT_OUT_FILES)], logLevel: 'silent' });
      const probe = `const m = require('./out.js'); process.stdout.write(m.kept() + '|'); try { m.upload() } catch (e) { process.stdout.write(e.message) }`;
      expect((await run(node, ['-e', probe], { cwd: folder, env: {} })).stdout).toMatch(/^kept\|@cloudbase\/node-sdk\/dist\/storage is not in this bundle: cloudfunctions\/build.ts LEFT_OUT_OF_BUNDLES \/ LEFT_OUT_FILES/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it.each([
    ['login', { codee: 1 }, 'o_user'],
    ['order', { action: 'pay', sessionToken: 1 }, 'o_user'],
    ['reconcile', { batch: -1 }, null],
  ] as const)('%s answers a malformed event with INVALID_REQUEST', async (fn, event, user) => {
    expect(await invoke(fn, event, { user })).toEqual({ ok: false, error: { code: 'INVALID_REQUEST', message: expect.any(String), retryable: false } });
  });

  it('payNotify and merchant answer a malformed HTTP access event with 400', async () => {
    expect(await invoke('payNotify', { nothing: true })).toMatchObject({ statusCode: 400 });
    expect(await invoke('merchant', 'not an event')).toMatchObject({ statusCode: 400, body: expect.stringContaining('INVALID_REQUEST') });
  });

  it('a well-formed call without configuration answers CONFIG_INVALID, not a crash', async () => {
    expect(await invoke('login', { code: 'abc' }, { user: 'o_user', variables: {} })).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID', retryable: false } });
    expect(await invoke('payNotify', { httpMethod: 'POST', body: 'x' }, { variables: {} })).toMatchObject({ statusCode: 500 });
  });

  it('takes a real payment through all five functions: login, order, payNotify (signed notification), merchant, reconcile', async () => {
    const openid = 'o_parity_user_01';
    const login = await invoke('login', { code: wechat.mintCode(openid) }, { user: openid });
    expect(login).toMatchObject({ ok: true, data: { sessionToken: expect.any(String) } });
    expect(standin.docs('users')).toEqual([expect.objectContaining({ _id: openid, appid: APPID })]);

    const now = Date.now();
    const checkoutToken = await mintCheckoutToken({ ref: `PARITY-${now}`, amountFen: 1230, description: '会员月卡' }, secrets.CHECKOUT_SECRET, now);
    const created = await invoke('order', { action: 'create', sessionToken: login.data.sessionToken, checkoutToken }, { user: openid });
    expect(created).toMatchObject({ ok: true, data: { order: { status: 'PAYING', amountFen: 1230 }, payment: { signType: 'RSA' } } });
    const orderNo: string = created.data.order.orderNo;
    expect(standin.docs('orders').find((o) => o._id === orderNo)).toMatchObject({ status: 'PAYING', payInfo: { signType: 'RSA' } });

    const respData = JSON.stringify({
      resp_code: '00000000', resp_desc: '交易成功', huifu_id: TEST_IDS.huifuId, req_seq_id: orderNo, req_date: shanghaiDate(now),
      trans_type: 'T_MINIAPP', hf_seq_id: `0029000${orderNo}`, trans_amt: fenToYuan(1230), trans_stat: 'S', notify_type: 1, end_time: '20261123120000',
    });
    const form = new URLSearchParams({ resp_code: '00000000', resp_data: respData, sign: signRsaSha256(respData, keys.huifuPrivateKey) }).toString();
    const ack = await invoke('payNotify', {
      httpMethod: 'POST', path: '/huifu/notify', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form).toString('base64'), isBase64Encoded: true,
    });
    expect(ack).toMatchObject({ statusCode: 200, body: `RECV_ORD_ID_${orderNo}` });
    expect(standin.docs('orders').find((o) => o._id === orderNo)).toMatchObject({ status: 'PAID' });

    const path = `/orders/${orderNo}`;
    const headers = signMerchantRequest(secrets.MERCHANT_API_SECRET, 'GET', path, '', Date.now());
    const lookup = await invoke('merchant', { httpMethod: 'GET', path: `/merchant${path}`, headers, body: '', isBase64Encoded: false });
    expect(lookup.statusCode).toBe(200);
    expect(JSON.parse(lookup.body)).toMatchObject({ ok: true, data: { orderNo, status: 'PAID' } });

    const report = await invoke('reconcile', { Type: 'Timer', TriggerName: 'everyMinute', Time: new Date().toISOString(), Message: '' });
    expect(report).toMatchObject({ ok: true, data: { webhooksDelivered: 1 } });
    expect(appBackend.received.map((r) => JSON.parse(r.body).event)).toContain('order.paid');
  }, 120_000);
});

describe('callers: each function serves only who it is for, refusing the rest before touching storage', () => {
  const httpEvent = { httpMethod: 'POST', path: '/huifu/notify', headers: {}, body: 'resp_data=x&sign=y', isBase64Encoded: false };
  it.each([
    ['payNotify', httpEvent, { statusCode: 403 }],
    ['merchant', { ...httpEvent, path: '/merchant/refunds' }, { statusCode: 403 }],
    ['reconcile', {}, { ok: false, error: { code: 'FORBIDDEN_CALLER' } }],
  ] as const)('%s refuses a mini-program user (wx.cloud.callFunction)', async (fn, event, answer) => {
    const before = standin.requests.length;
    expect(await invoke(fn, event, { user: 'o_mallory_01' })).toMatchObject(answer);
    expect(standin.requests.length).toBe(before);
  });

  it.each(['login', 'order'] as const)('%s refuses an invocation with no mini-program user', async (fn) => {
    const before = standin.requests.length;
    expect(await invoke(fn, fn === 'login' ? { code: 'abc' } : { action: 'list', sessionToken: 'x'.repeat(20) })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_CALLER' } });
    expect(standin.requests.length).toBe(before);
  });

  it('a login code that resolves to another user than the caller is refused', async () => {
    expect(await invoke('login', { code: wechat.mintCode('o_victim_0001') }, { user: 'o_attacker_01' })).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
  });
});

describe('least privilege', () => {
  it('payNotify is not given the merchant private key or any token secret', () => {
    expect(variablesFor('payNotify')).not.toEqual(expect.arrayContaining(['HUIFU_MERCHANT_PRIVATE_KEY']));
    for (const name of ['SESSION_SECRET', 'CHECKOUT_SECRET', 'MERCHANT_API_SECRET', 'APP_WEBHOOK_SECRET', 'WX_SECRET']) expect(variablesFor('payNotify')).not.toContain(name);
  });
});
