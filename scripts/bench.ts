/**
 * `pnpm bench`: measured numbers, not pass/fail. Writes bench/results.json and bench/results.md.
 * 1. Notification handling on the local stack with SQLite (a file, WAL): throughput and p50/p99 for a mix of new and
 *    duplicate notifications over loopback HTTP, next to a floor measured in the same run (signature verification
 *    plus ack, no storage) on the same machine, reported as a ratio.
 * 2. Order creation latency (fn order create over HTTP) with the Huifu sandbox's own time subtracted.
 * 3. Cold start of each bundled function in a fresh process (load + first invocation) next to `node -e 0`.
 * 4. The mini-program's compiled main package against the 2 MB limit.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CreateResult, FunctionResponse, LoginResult } from '@cashier/shared';
import { buildFunctions } from '../cloudfunctions/build';
import { mintCheckoutToken } from '../cloudfunctions/src/auth/checkout';
import { fenToYuan } from '../cloudfunctions/src/domain/money';
import { shanghaiDate } from '../cloudfunctions/src/domain/time';
import type { Order } from '../cloudfunctions/src/domain/types';
import { parsePrivateKey } from '../cloudfunctions/src/providers/huifu/keys';
import { ackFor, classifyNotification, parseEnvelope, verifyEnvelope } from '../cloudfunctions/src/providers/huifu/notify';
import { signRsaSha256 } from '../cloudfunctions/src/providers/huifu/sign';
import type { Logger } from '../cloudfunctions/src/services/deps';
import { closeServer, listen, readBody } from './lib/http';
import { readLocalKeys } from './lib/local-keys';
import { startStack } from './stack';

const root = resolve(__dirname, '..');
const NOTIFICATIONS = Number(process.env.BENCH_NOTIFICATIONS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const CREATES = Number(process.env.BENCH_CREATES ?? 200);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}
const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const median = (values: number[]) => percentile(values, 50);

/** Sends every body with `concurrency` requests in flight; returns per-request latency and the wall time. */
async function load(url: string, bodies: string[], concurrency: number): Promise<{ latencies: number[]; seconds: number; non200: number }> {
  const latencies: number[] = [];
  let next = 0;
  let non200 = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const t0 = performance.now();
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' }, body });
        await res.text();
        latencies.push(performance.now() - t0);
        if (res.status !== 200) non200++;
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000, non200 };
}

async function benchNotifications(dataDir: string) {
  const stack = await startStack({ dataDir, reconcileIntervalMs: 0, log: quiet() });
  try {
    const huifuKey = parsePrivateKey(readLocalKeys(dataDir).huifuPrivateKey);
    const now = Date.now();
    const originals: string[] = [];
    for (let i = 0; i < NOTIFICATIONS / 2; i++) {
      const orderNo = `B${String(now)}${String(i).padStart(8, '0')}`;
      const order: Order = {
        orderNo, appRef: `bench-${orderNo}`, openid: 'o_bench', amountFen: 100 + i, description: 'bench', attach: null, status: 'PAYING', version: 1,
        refundedFen: 0, refundReservedFen: 0, refundLedger: {}, reqDate: shanghaiDate(now), expiresAt: now + 3600_000, hfSeqId: null, payInfo: null, outTransId: null,
        partyOrderId: null, feeFen: null, paidAt: null, closedAt: null, lastQueriedAt: null, flags: [], cancelRequestedAt: null, closeRequest: null, createdAt: now, updatedAt: now,
      };
      await stack.deps.store.insertOrder(order, { from: null, to: 'PAYING', source: 'api', at: now, detail: 'bench' });
      const respData = JSON.stringify({ resp_code: '00000000', huifu_id: stack.config.huifu.huifuId, req_seq_id: orderNo, req_date: order.reqDate, trans_stat: 'S', trans_amt: fenToYuan(order.amountFen), hf_seq_id: `0029${orderNo}`, notify_type: 1 });
      originals.push(new URLSearchParams({ resp_data: respData, sign: signRsaSha256(respData, huifuKey) }).toString());
    }
    // Half new, half duplicates; every duplicate comes after its original (as Huifu's retries and notify_type 2 do).
    const bodies: string[] = [];
    originals.forEach((body, i) => {
      bodies.push(body);
      if (i >= 10) bodies.push(originals[i - 10]!);
    });
    while (bodies.length < NOTIFICATIONS) bodies.push(originals[bodies.length % originals.length]!);

    // Floor: the same requests, the same verification and ack, no storage.
    const floorServer = createServer(async (req, res) => {
      const { text } = await readBody(req, 64 * 1024);
      const envelope = parseEnvelope(text, req.headers['content-type']);
      verifyEnvelope(envelope, stack.config.huifu.huifuPublicKey);
      const note = classifyNotification(envelope.respData);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(ackFor(note.reqSeqId));
    });
    const floorPort = await listen(floorServer, 0);
    await load(`http://127.0.0.1:${floorPort}/`, bodies.slice(0, 200), CONCURRENCY); // warm up
    const floor = await load(`http://127.0.0.1:${floorPort}/`, bodies, CONCURRENCY);
    await closeServer(floorServer);

    const real = await load(stack.config.huifuApi.notifyUrl, bodies, CONCURRENCY);
    const paid = (await stack.deps.store.listOrders({ status: 'PAID', limit: NOTIFICATIONS })).length;
    const summary = (r: typeof real) => ({ throughputPerSec: round(bodies.length / r.seconds, 0), p50Ms: round(percentile(r.latencies, 50)), p99Ms: round(percentile(r.latencies, 99)), non200: r.non200 });
    return { requests: bodies.length, concurrency: CONCURRENCY, ordersPaid: paid, stack: summary(real), floor: summary(floor), throughputRatio: round(bodies.length / real.seconds / (bodies.length / floor.seconds)) };
  } finally {
    await stack.stop();
  }
}

function quiet(capture?: (message: string, fields?: Record<string, unknown>) => void): Logger {
  const noop = () => undefined;
  return { info: capture ?? noop, warn: noop, error: noop };
}

async function benchCreates(dataDir: string) {
  const exchangeMs = new Map<string, number>();
  const stack = await startStack({
    dataDir,
    reconcileIntervalMs: 0,
    log: quiet((message, fields) => {
      if (message === 'huifu exchange' && typeof fields?.reqSeqId === 'string' && typeof fields.ms === 'number') exchangeMs.set(fields.reqSeqId, fields.ms);
    }),
  });
  try {
    const login = await stack.call<FunctionResponse<LoginResult>>('login', { code: stack.wechat!.mintCode('o_bench_user') });
    if (!login.ok) throw new Error('bench login failed');
    const total: number[] = [];
    const own: number[] = [];
    for (let i = 0; i < CREATES; i++) {
      const checkoutToken = await mintCheckoutToken({ ref: `BENCH-${Date.now()}-${i}`, amountFen: 100, description: 'bench' }, stack.config.checkout.secret, Date.now());
      const t0 = performance.now();
      const created = await stack.call<FunctionResponse<CreateResult>>('order', { action: 'create', sessionToken: login.data.sessionToken, checkoutToken });
      const ms = performance.now() - t0;
      if (!created.ok) throw new Error(`bench create failed: ${created.error.code}`);
      if (i < 10) continue; // warm-up
      total.push(ms);
      own.push(ms - (exchangeMs.get(created.data.order.orderNo) ?? 0));
    }
    return { creates: total.length, totalP50Ms: round(median(total)), totalP99Ms: round(percentile(total, 99)), withoutSandboxP50Ms: round(median(own)), withoutSandboxP99Ms: round(percentile(own, 99)) };
  } finally {
    await stack.stop();
  }
}

async function benchColdStarts() {
  const out = mkdtempSync(join(tmpdir(), 'bench-dist-'));
  try {
    const sizes = await buildFunctions(out);
    const wall = (args: string[], cwd: string) => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
      return { ms: performance.now() - t0, stdout: r.stdout };
    };
    const runs = 5;
    const baseline = median(Array.from({ length: runs }, () => wall(['-e', '0'], out).ms));
    const functions = sizes.map(({ name, bytes }) => {
      const script = `const t0=process.hrtime.bigint();require('./index.js').main({__bench_malformed:true},{}).then(()=>process.stdout.write('\\nBENCH_MS='+String(Number(process.hrtime.bigint()-t0)/1e6)))`;
      const samples = Array.from({ length: runs }, () => wall(['-e', script], join(out, name)));
      return { name, bundleBytes: bytes, loadAndFirstCallMs: round(median(samples.map((s) => Number(/BENCH_MS=([\d.]+)/.exec(s.stdout)?.[1])))), processWallMs: round(median(samples.map((s) => s.ms))) };
    });
    return { nodeBaselineWallMs: round(baseline), functions };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function benchMiniprogram() {
  const out = execFileSync(join(root, 'node_modules/.bin/tsx'), ['scripts/mp-check.ts'], { cwd: root, encoding: 'utf8' });
  const m = /compile OK: (\d+) files, (\d+) bytes/.exec(out);
  if (!m) throw new Error(`mp-check did not compile:\n${out}`);
  return { files: Number(m[1]), bytes: Number(m[2]), limitBytes: 2 * 1024 * 1024, shareOfLimit: round(Number(m[2]) / (2 * 1024 * 1024), 3) };
}

function markdown(r: Awaited<ReturnType<typeof run>>): string {
  const n = r.notifications;
  const lines = [
    `Measured ${r.measuredAt} on ${r.machine}.`,
    '',
    '| measure | value |',
    '|---|---|',
    `| notifications, stack (SQLite, HTTP, ${n.requests} requests, ${n.concurrency} in flight, half duplicates) | ${n.stack.throughputPerSec}/s, p50 ${n.stack.p50Ms} ms, p99 ${n.stack.p99Ms} ms |`,
    `| notifications, floor (verify + ack, no storage) | ${n.floor.throughputPerSec}/s, p50 ${n.floor.p50Ms} ms, p99 ${n.floor.p99Ms} ms |`,
    `| stack / floor throughput | ${n.throughputRatio} |`,
    `| order create (HTTP, ${r.creates.creates} orders) | p50 ${r.creates.totalP50Ms} ms, p99 ${r.creates.totalP99Ms} ms |`,
    `| order create without the sandbox's time | p50 ${r.creates.withoutSandboxP50Ms} ms, p99 ${r.creates.withoutSandboxP99Ms} ms |`,
    `| \`node -e 0\` (process wall) | ${r.coldStarts.nodeBaselineWallMs} ms |`,
    ...r.coldStarts.functions.map((f) => `| cold start ${f.name}: load + first call / process wall / bundle | ${f.loadAndFirstCallMs} ms / ${f.processWallMs} ms / ${(f.bundleBytes / 1024).toFixed(0)} KiB |`),
    `| mini-program main package | ${r.miniprogram.bytes} bytes in ${r.miniprogram.files} files (${(r.miniprogram.shareOfLimit * 100).toFixed(1)}% of 2 MB) |`,
  ];
  return lines.join('\n') + '\n';
}

async function run() {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-'));
  try {
    const notifications = await benchNotifications(join(dataDir, 'notify'));
    const creates = await benchCreates(join(dataDir, 'create'));
    const coldStarts = await benchColdStarts();
    const miniprogram = benchMiniprogram();
    return { measuredAt: new Date().toISOString(), machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`, notifications, creates, coldStarts, miniprogram };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run()
    .then((results) => {
      mkdirSync(join(root, 'bench'), { recursive: true });
      writeFileSync(join(root, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
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
