/**
 * `pnpm bench`: measured numbers, not pass/fail. Writes bench/results.json and bench/results.md.
 *
 * 1. Notifications: the local stack (SQLite file, WAL, HTTP) against a floor, both loaded by the same client in its
 *    own process (load-client.ts). The floor is another process doing the least any handler must: verify Huifu's
 *    signature with the same key and code, and ack. Each order gets what Huifu really sends, notify_type 1 then 2
 *    (different bodies), plus a few byte-identical retries. After a warm-up, floor and stack rounds alternate on the
 *    same bodies; the ratio is per round, with the median. Then an open-loop run at a fixed rate (latency counted from
 *    when each request was due).
 * 2. Junk: unsigned garbage POSTed to payNotify, and how much of it the database keeps.
 * 3. Cold start: each bundle copied alone, run by the declared runtime's exact Node in a clean environment, whole
 *    process against whole process (`node -e 0`), in pairs; once answering a malformed event and once a real first
 *    call in CloudBase mode (the real SDK against the loopback database stand-in).
 * 4. CloudBase round trips per operation (round-trips.ts), bundle sizes, the mini-program's main package.
 *
 * BENCH_ORDERS (per round, default 1000), BENCH_ROUNDS (5), BENCH_CONCURRENCY (16), BENCH_RATE (200/s),
 * BENCH_OPEN_SECONDS (10), BENCH_PAIRS (cold-start pairs, 11) change the load.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildFunctions, type BuiltFunction } from '../../cloudfunctions/build';
import { signMerchantRequest } from '../../cloudfunctions/src/auth/merchant-signature';
import { issueSessionToken } from '../../cloudfunctions/src/auth/session';
import { variablesFor } from '../../cloudfunctions/src/config';
import { shanghaiDate } from '../../cloudfunctions/src/domain/time';
import type { Order } from '../../cloudfunctions/src/domain/types';
import { RUNTIME, type FunctionName } from '../../cloudfunctions/src/functions/manifest';
import { exportPrivateKeyBase64, exportPublicKeyBase64, parsePrivateKey } from '../../cloudfunctions/src/providers/huifu/keys';
import { signRsaSha256 } from '../../cloudfunctions/src/providers/huifu/sign';
import { jsonLogger } from '../../cloudfunctions/src/services/deps';
import type { Store } from '../../cloudfunctions/src/store/port';
import { startCloudbaseStore } from '../../test/support/cloudbase';
import { makeHuifuKeys, TEST_IDS } from '../../test/support/huifu';
import { cloudbasePlatformEnv } from '../lib/cloudbase-platform';
import { readLocalKeys } from '../lib/local-keys';
import { ensureRuntimeNode } from '../lib/runtime-node';
import { startStack } from '../stack';
import { payNotificationData } from '../stack/huifu/gateway';
import { startWechatSandbox } from '../stack/wechat-sandbox';
import type { LoadSpec, LoadSummary } from './load-client';
import { measureRoundTrips } from './round-trips';

const root = resolve(__dirname, '..', '..');
const setting = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${process.env[name]}`);
  return value;
};
const ORDERS = setting('BENCH_ORDERS', 1000);
const ROUNDS = setting('BENCH_ROUNDS', 5);
const CONCURRENCY = setting('BENCH_CONCURRENCY', 16);
const RATE = setting('BENCH_RATE', 200);
const OPEN_SECONDS = setting('BENCH_OPEN_SECONDS', 10);
const PAIRS = setting('BENCH_PAIRS', 11);
/** Share of orders whose notify_type 1 Huifu sends twice, byte for byte (a retry after a lost ack). */
const RETRY_SHARE = 0.02;

const round2 = (n: number) => Number(n.toFixed(2));
const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** Node started for a measurement gets nothing from this machine's environment (NODE_EXTRA_CA_CERTS alone doubles `node -e 0`). */
const cleanEnv = () => ({ PATH: process.env.PATH ?? '' });

function runLoad(work: string, url: string, bodies: string[], load: LoadSpec['load']): Promise<LoadSummary> {
  const bodiesFile = join(work, `bodies-${process.hrtime.bigint()}.json`);
  writeFileSync(bodiesFile, JSON.stringify(bodies));
  const specFile = `${bodiesFile}.spec`;
  writeFileSync(specFile, JSON.stringify({ url, bodiesFile, load } satisfies LoadSpec));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'load-client.ts'), specFile], { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      rmSync(bodiesFile, { force: true });
      rmSync(specFile, { force: true });
      if (code === 0) resolvePromise(JSON.parse(out) as LoadSummary);
      else reject(new Error(`load client exited ${code}`));
    });
  });
}

async function startFloor(huifuPublicKey: string): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'floor-server.ts'), huifuPublicKey], { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolvePromise, reject) => {
    child.stdout.once('data', (c: Buffer) => resolvePromise(c.toString().trim()));
    child.once('exit', (code) => reject(new Error(`floor server exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/`, stop: () => child.kill() };
}

/** PAYING orders in the store, and the bodies Huifu would send about them once paid, in Huifu's order. */
async function paidOrderTraffic(store: Store, huifuId: string, huifuKey: ReturnType<typeof parsePrivateKey>, count: number, tag: string, lag: number): Promise<string[]> {
  const now = Date.now();
  const type1: string[] = [];
  const type2: string[] = [];
  for (let i = 0; i < count; i++) {
    const orderNo = `B${tag}${String(i).padStart(7, '0')}`;
    const order: Order = {
      orderNo, appRef: `bench-${orderNo}`, openid: 'o_bench', amountFen: 100 + (i % 5000), description: 'bench', attach: null, status: 'PAYING', version: 1,
      refundedFen: 0, refundReservedFen: 0, refundLedger: {}, reqDate: shanghaiDate(now), expiresAt: now + 3600_000, hfSeqId: `0029${orderNo}`, payInfo: null,
      outTransId: null, partyOrderId: null, feeFen: null, paidAt: null, closedAt: null, lastQueriedAt: null, flags: [], cancelRequestedAt: null, closeRequest: null,
      createdAt: now, updatedAt: now,
    };
    await store.insertOrder(order, { from: null, to: 'PAYING', source: 'api', at: now, detail: 'bench' });
    const trade = { ...order, reqSeqId: orderNo, state: 'S' as const, hfSeqId: order.hfSeqId!, outTransId: `4200${orderNo}`, partyOrderId: `03${orderNo}`, endTime: now, remark: order.appRef, subAppid: 'wx0123456789abcdef', subOpenid: 'o_bench' };
    const form = (n: number) => {
      const respData = JSON.stringify(payNotificationData(trade, n, huifuId, now));
      return new URLSearchParams({ resp_code: '00000000', resp_desc: '成功调用', resp_data: respData, sign: signRsaSha256(respData, huifuKey) }).toString();
    };
    type1.push(form(1));
    type2.push(form(2));
  }
  // Type 2 follows its type 1 a little later, interleaved with other orders' traffic; a few type 1 come again.
  const bodies: string[] = [];
  const retryEvery = Math.round(1 / RETRY_SHARE);
  for (let i = 0; i < count + lag * 3; i++) {
    if (i < count) bodies.push(type1[i]!);
    if (i - lag >= 0 && i - lag < count) bodies.push(type2[i - lag]!);
    if (i - lag * 3 >= 0 && (i - lag * 3) % retryEvery === 0) bodies.push(type1[i - lag * 3]!);
  }
  return bodies;
}

async function benchNotifications(work: string) {
  const dataDir = join(work, 'stack');
  // The stack logs as deployed functions do (JSON lines), to nowhere: formatting counts, the terminal does not.
  const stack = await startStack({ dataDir, reconcileIntervalMs: 0, log: jsonLogger(() => undefined) });
  const keys = readLocalKeys(dataDir);
  const floor = await startFloor(keys.huifuPublicKey);
  const huifuKey = parsePrivateKey(keys.huifuPrivateKey);
  const huifuId = stack.config.huifu.huifuId;
  const notifyUrl = stack.config.huifuApi.notifyUrl;
  const closed = { kind: 'closed' as const, concurrency: CONCURRENCY };
  try {
    // Warm-up: both servers' JIT settles (the floor keeps speeding up for a few thousand requests).
    for (const tag of ['W1', 'W2']) {
      const warm = await paidOrderTraffic(stack.deps.store, huifuId, huifuKey, ORDERS, tag, CONCURRENCY);
      await runLoad(work, floor.url, warm, closed);
      await runLoad(work, notifyUrl, warm, closed);
    }
    const rounds: Array<{ round: number; first: string; stack: LoadSummary; floor: LoadSummary; ratio: number }> = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const bodies = await paidOrderTraffic(stack.deps.store, huifuId, huifuKey, ORDERS, `R${r}`, CONCURRENCY);
      const floorFirst = r % 2 === 1;
      const a = await runLoad(work, floorFirst ? floor.url : notifyUrl, bodies, closed);
      const b = await runLoad(work, floorFirst ? notifyUrl : floor.url, bodies, closed);
      const [f, s] = floorFirst ? [a, b] : [b, a];
      rounds.push({ round: r, first: floorFirst ? 'floor' : 'stack', stack: s, floor: f, ratio: round2(s.perSecond / f.perSecond) });
    }
    const openBodies = await paidOrderTraffic(stack.deps.store, huifuId, huifuKey, Math.round((RATE * OPEN_SECONDS) / 2), 'O', Math.max(2, Math.round(RATE / 50)));
    const openStack = await runLoad(work, notifyUrl, openBodies, { kind: 'open', perSecond: RATE });
    const openFloor = await runLoad(work, floor.url, openBodies, { kind: 'open', perSecond: RATE });
    let paid = 0;
    for (let before: { createdAt: number; orderNo: string } | undefined; ; ) {
      const page = await stack.deps.store.listOrders({ status: 'PAID', limit: 500, before });
      paid += page.length;
      if (page.length < 500) break;
      const last = page[page.length - 1]!;
      before = { createdAt: last.createdAt, orderNo: last.orderNo };
    }
    return {
      load: { ordersPerRound: ORDERS, requestsPerRound: rounds[0]?.stack.requests ?? 0, concurrency: CONCURRENCY, sequence: `notify_type 1, then 2 (${CONCURRENCY} orders later), ${RETRY_SHARE * 100}% of type 1 sent twice` },
      rounds,
      medianRatio: round2(median(rounds.map((r) => r.ratio))),
      medianStackPerSecond: median(rounds.map((r) => r.stack.perSecond)),
      medianFloorPerSecond: median(rounds.map((r) => r.floor.perSecond)),
      openLoop: { perSecond: RATE, seconds: OPEN_SECONDS, stack: openStack, floor: openFloor },
      ordersPaid: paid,
      ordersSent: ORDERS * (ROUNDS + 2) + Math.round((RATE * OPEN_SECONDS) / 2),
    };
  } finally {
    floor.stop();
    await stack.stop();
  }
}

async function benchJunk(work: string) {
  const dataDir = join(work, 'junk');
  const stack = await startStack({ dataDir, reconcileIntervalMs: 0, log: jsonLogger(() => undefined) });
  const dbPath = join(dataDir, 'cashier.db');
  const count = async () => {
    const { counts, samples } = await stack.deps.store.listRejections();
    return { rejectionRows: counts.length + samples.length, notificationRows: (await stack.deps.store.listNotifications({ limit: 1000 })).length };
  };
  try {
    const before = await count();
    const kinds = [
      (i: number) => `resp_data=${encodeURIComponent(JSON.stringify({ req_seq_id: `P${i}`, trans_stat: 'S' }))}&sign=${'A'.repeat(344)}`,
      (i: number) => `resp_data=${encodeURIComponent(JSON.stringify({ req_seq_id: `P${i}` }))}`,
      (i: number) => `hello ${i} ${'x'.repeat(i % 500)}`,
      (i: number) => `resp_data=%7B&sign=${i}`,
    ];
    const junk = Array.from({ length: 10_000 }, (_, i) => kinds[i % kinds.length]!(i));
    const load = await runLoad(work, stack.config.huifuApi.notifyUrl, junk, { kind: 'closed', concurrency: CONCURRENCY });
    const after = await count();
    return { requests: junk.length, perSecond: load.perSecond, answers: load.statuses, rowsAdded: after.rejectionRows - before.rejectionRows, notificationRowsAdded: after.notificationRows - before.notificationRows, databaseBytes: statSync(dbPath).size };
  } finally {
    await stack.stop();
  }
}

/**
 * Wall time of a whole process, from spawn to exit, in milliseconds. Asynchronous: the database stand-in and the
 * WeChat sandbox the process talks to live in this process's event loop.
 */
function processWall(node: string, args: string[], cwd: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(node, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolvePromise(ms);
      else reject(new Error(`${args.join(' ').slice(0, 80)} exited ${code}: ${stderr.slice(0, 400)}`));
    });
  });
}

async function benchColdStarts(work: string, built: BuiltFunction[], dist: string) {
  const node = ensureRuntimeNode(RUNTIME.node);
  const { store, standin, close } = await startCloudbaseStore();
  const wechat = await startWechatSandbox({ appid: 'wx0123456789abcdef', secret: 'wechat-secret' });
  const keys = makeHuifuKeys();
  const secrets = { SESSION_SECRET: 's'.repeat(40), CHECKOUT_SECRET: 'c'.repeat(40), MERCHANT_API_SECRET: 'm'.repeat(40), APP_WEBHOOK_SECRET: 'w'.repeat(40) };
  const production: Record<string, string> = {
    WX_APPID: 'wx0123456789abcdef', WX_SECRET: 'wechat-secret', WX_API_BASE: wechat.url, HUIFU_API_BASE: 'http://127.0.0.1:9', HUIFU_API_VERSION: 'v2',
    HUIFU_SYS_ID: TEST_IDS.sysId, HUIFU_PRODUCT_ID: TEST_IDS.productId, HUIFU_ID: TEST_IDS.huifuId,
    HUIFU_MERCHANT_PRIVATE_KEY: exportPrivateKeyBase64(keys.merchantPrivateKey), HUIFU_PUBLIC_KEY: exportPublicKeyBase64(keys.huifuPublicKey),
    HUIFU_NOTIFY_URL: 'https://pay.example.com/huifu/notify', STORE: 'cloudbase', TCB_ENV: 'bench-env', ...secrets,
  };
  const openid = 'o_bench_cold_user';
  const envFor = (fn: FunctionName, user: string | null) => ({
    ...cloudbasePlatformEnv({ standinUrl: standin.url, envId: 'bench-env', appid: production.WX_APPID!, user }),
    ...Object.fromEntries(variablesFor(fn).flatMap((name) => (production[name] ? [[name, production[name]]] : []))),
  });
  const now = Date.now();
  let seq = 0;
  const seedOrder = async (status: 'PAYING' | 'PAID'): Promise<Order> => {
    const orderNo = `C${now}${String(seq++).padStart(5, '0')}`;
    const order: Order = {
      orderNo, appRef: `cold-${orderNo}`, openid, amountFen: 1230, description: 'cold start', attach: null, status, version: 1, refundedFen: 0, refundReservedFen: 0,
      refundLedger: {}, reqDate: shanghaiDate(now), expiresAt: now + 3600_000, hfSeqId: `0029${orderNo}`, payInfo: null, outTransId: null, partyOrderId: null,
      feeFen: null, paidAt: status === 'PAID' ? now : null, closedAt: null, lastQueriedAt: null, flags: [], cancelRequestedAt: null, closeRequest: null, createdAt: now, updatedAt: now,
    };
    await store.insertOrder(order, { from: null, to: status, source: 'api', at: now, detail: 'bench' });
    return order;
  };
  const paidOrder = await seedOrder('PAID');
  const session = (await issueSessionToken(openid, secrets.SESSION_SECRET, 7200, now)).token;
  const http = (path: string, body: string, headers: Record<string, string>) => ({ httpMethod: body ? 'POST' : 'GET', path, headers, body: Buffer.from(body).toString('base64'), isBase64Encoded: true });

  /** A real first call per function: what it mostly does in production, touching the database through the SDK. */
  const realCall: Record<FunctionName, () => Promise<{ event: unknown; user: string | null; what: string }>> = {
    login: async () => ({ event: { code: wechat.mintCode(openid) }, user: openid, what: 'jscode2session + user upsert' }),
    order: async () => ({ event: { action: 'get', sessionToken: session, orderNo: paidOrder.orderNo }, user: openid, what: 'order.get of a paid order' }),
    payNotify: async () => {
      const order = await seedOrder('PAYING');
      const trade = { ...order, reqSeqId: order.orderNo, state: 'S' as const, hfSeqId: order.hfSeqId!, outTransId: '4200', partyOrderId: '03', endTime: now, remark: null, subAppid: production.WX_APPID!, subOpenid: openid };
      const respData = JSON.stringify(payNotificationData(trade, 1, TEST_IDS.huifuId, now));
      const form = new URLSearchParams({ resp_code: '00000000', resp_data: respData, sign: signRsaSha256(respData, keys.huifuPrivateKey) }).toString();
      return { event: http('/huifu/notify', form, { 'content-type': 'application/x-www-form-urlencoded' }), user: null, what: 'a signed notify_type 1: PAYING → PAID' };
    },
    merchant: async () => {
      const path = `/orders/${paidOrder.orderNo}`;
      return { event: { ...http(`/merchant${path}`, '', signMerchantRequest(secrets.MERCHANT_API_SECRET, 'GET', path, '', Date.now())), isBase64Encoded: false, body: '' }, user: null, what: 'signed GET /orders/<no>' };
    },
    reconcile: async () => ({ event: { Type: 'Timer', TriggerName: 'everyMinute', Time: new Date().toISOString(), Message: '' }, user: null, what: 'a timer run' }),
  };
  const malformed: Record<FunctionName, { event: unknown; user: string | null }> = {
    login: { event: { codee: 1 }, user: openid },
    order: { event: { action: 'pay', sessionToken: 1 }, user: openid },
    payNotify: { event: { nothing: true }, user: null },
    merchant: { event: 'not an event', user: null },
    reconcile: { event: { batch: -1 }, user: null },
  };
  const script = (event: unknown, check: string) =>
    `require('./index.js').main(${JSON.stringify(event)}, { request_id: 'bench', function_name: 'bench' }).then((r) => { const t = JSON.stringify(r); if (!(${check})) { process.stderr.write(t); process.exit(3); } process.exit(0); })`;
  try {
    const functions = [];
    const baseline: number[] = [];
    for (const { name, bytes, codeCacheBytes } of built) {
      const folder = mkdtempSync(join(work, `cold-${name}-`));
      cpSync(join(dist, name), folder, { recursive: true });
      const bad = malformed[name];
      const okAnswer = `t.includes('"ok":true') || t.includes('"statusCode":200')`;
      const pairs = { base: [] as number[], malformed: [] as number[], real: [] as number[], ratioMalformed: [] as number[], ratioReal: [] as number[] };
      let what = '';
      for (let i = 0; i < PAIRS; i++) {
        const base = await processWall(node, ['-e', '0'], folder, cleanEnv());
        const m = await processWall(node, ['-e', script(bad.event, `t.includes('INVALID_REQUEST') || t.includes('"statusCode":400')`)], folder, envFor(name, bad.user));
        const call = await realCall[name]();
        what = call.what;
        const real = await processWall(node, ['-e', script(call.event, okAnswer)], folder, envFor(name, call.user));
        pairs.base.push(base);
        pairs.malformed.push(m);
        pairs.real.push(real);
        pairs.ratioMalformed.push(m / base);
        pairs.ratioReal.push(real / base);
      }
      baseline.push(...pairs.base);
      rmSync(folder, { recursive: true, force: true });
      functions.push({
        name,
        bundleBytes: bytes,
        codeCacheBytes,
        nodeMs: round2(median(pairs.base)),
        malformedMs: round2(median(pairs.malformed)),
        realFirstCallMs: round2(median(pairs.real)),
        realFirstCall: what,
        malformedRatio: round2(median(pairs.ratioMalformed)),
        realRatio: round2(median(pairs.ratioReal)),
      });
    }
    return { node: `v${RUNTIME.node}`, pairs: PAIRS, nodeBaselineMs: round2(median(baseline)), functions };
  } finally {
    await Promise.all([close(), wechat.close()]);
  }
}

function benchMiniprogram() {
  const out = execFileSync(join(root, 'node_modules/.bin/tsx'), ['scripts/mp-check.ts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const m = /compile OK: (\d+) files, (\d+) bytes/.exec(out);
  if (!m) throw new Error(`mp-check did not compile:\n${out}`);
  return { files: Number(m[1]), bytes: Number(m[2]), limitBytes: 2 * 1024 * 1024, shareOfLimit: round2(Number(m[2]) / (2 * 1024 * 1024)) };
}

type Results = Awaited<ReturnType<typeof run>>;

function markdown(r: Results): string {
  const n = r.notifications;
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const lat = (s: LoadSummary) => `p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms, ${s.maxInFlight} in flight at most`;
  return [
    `Measured ${r.measuredAt} on ${r.machine}. Reproduce with \`pnpm bench\`.`,
    '',
    `**Notifications** (local stack: SQLite file, HTTP; client in its own process; ${n.load.ordersPerRound} orders per round = ${n.load.requestsPerRound} requests: ${n.load.sequence}; ${n.load.concurrency} in flight)`,
    '',
    '| round | first | stack /s | floor /s | stack / floor |',
    '|---|---|---|---|---|',
    ...n.rounds.map((x) => `| ${x.round} | ${x.first} | ${x.stack.perSecond} (p99 ${x.stack.p99Ms} ms) | ${x.floor.perSecond} (p99 ${x.floor.p99Ms} ms) | ${x.ratio} |`),
    `| median | | ${n.medianStackPerSecond} | ${n.medianFloorPerSecond} | **${n.medianRatio}** |`,
    '',
    `Open loop at ${n.openLoop.perSecond}/s for ${n.openLoop.seconds} s: stack ${lat(n.openLoop.stack)}; floor ${lat(n.openLoop.floor)}. Every order paid: ${n.ordersPaid} of ${n.ordersSent}.`,
    '',
    `**Junk**: ${r.junk.requests} unsigned requests to payNotify (${r.junk.perSecond}/s, answers ${JSON.stringify(r.junk.answers)}) added ${r.junk.rowsAdded} rejection rows and ${r.junk.notificationRowsAdded} notification rows.`,
    '',
    `**Cold start** under Node ${r.coldStarts.node} (the declared runtime), clean environment, bundle folder alone, whole process from spawn to exit, median of ${r.coldStarts.pairs} pairs; \`node -e 0\` ${r.coldStarts.nodeBaselineMs} ms.`,
    '',
    '| function | bundle | code cache | malformed event | × node -e 0 | real first call (CloudBase mode) | × node -e 0 |',
    '|---|---|---|---|---|---|---|',
    ...r.coldStarts.functions.map((f) => `| ${f.name} | ${kib(f.bundleBytes)} | ${kib(f.codeCacheBytes)} | ${f.malformedMs} ms | ${f.malformedRatio} | ${f.realFirstCallMs} ms: ${f.realFirstCall} | ${f.realRatio} |`),
    '',
    '**CloudBase database round trips** (real SDK, loopback stand-in)',
    '',
    '| operation | round trips | requests |',
    '|---|---|---|',
    ...r.roundTrips.map((t) => `| ${t.operation} | ${t.roundTrips} | ${t.requests.join(' → ')} |`),
    '',
    `**Mini-program** main package: ${r.miniprogram.bytes} bytes in ${r.miniprogram.files} files (${(r.miniprogram.shareOfLimit * 100).toFixed(1)}% of 2 MB).`,
    '',
  ].join('\n');
}

async function run() {
  const work = mkdtempSync(join(tmpdir(), 'bench-'));
  try {
    const dist = join(work, 'dist');
    const built = await buildFunctions(dist, (line) => process.stderr.write(`${line}\n`));
    process.stderr.write('bench: notifications…\n');
    const notifications = await benchNotifications(work);
    process.stderr.write('bench: junk…\n');
    const junk = await benchJunk(work);
    process.stderr.write('bench: cold starts…\n');
    const coldStarts = await benchColdStarts(work, built, dist);
    process.stderr.write('bench: round trips, mini-program…\n');
    const roundTrips = await measureRoundTrips();
    const miniprogram = benchMiniprogram();
    return {
      measuredAt: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version} (bench), functions under Node v${RUNTIME.node}`,
      notifications,
      junk,
      coldStarts,
      roundTrips,
      bundles: built,
      miniprogram,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run()
    .then((results) => {
      mkdirSync(join(root, 'bench'), { recursive: true });
      writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
      const md = markdown(results);
      writeFileSync(join(root, 'bench', 'results.md'), md);
      process.stdout.write(md);
      process.exit(0);
    })
    .catch((error: unknown) => {
      process.stderr.write(`bench failed: ${(error as Error).stack}\n`);
      process.exit(1);
    });
}
