/**
 * The bench's load generator, run in its own process (`node --import tsx load-client.ts <spec.json>`) so that its
 * CPU never counts against the server it measures. POSTs the bodies of a file (one JSON array of strings) to a URL
 * over keep-alive connections, closed-loop (a fixed number in flight) or open-loop (a fixed rate, each latency
 * measured from the moment the request was due, so a stalled server cannot hide its queue), and prints one JSON
 * summary line.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import * as z from 'zod';

const Spec = z.object({
  url: z.string().url(),
  bodiesFile: z.string(),
  contentType: z.string().default('application/x-www-form-urlencoded;charset=UTF-8'),
  load: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('closed'), concurrency: z.number().int().min(1).max(512) }),
    z.object({ kind: z.literal('open'), perSecond: z.number().positive().max(50_000) }),
  ]),
});
export type LoadSpec = z.input<typeof Spec>;

export interface LoadSummary {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  maxInFlight: number;
  /** Answers other than 200, by status (0: the request failed). */
  statuses: Record<string, number>;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

async function run(spec: z.output<typeof Spec>): Promise<LoadSummary> {
  const bodies = z.array(z.string()).parse(JSON.parse(readFileSync(spec.bodiesFile, 'utf8')));
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.load.kind === 'closed' ? spec.load.concurrency : 256 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let inFlight = 0;
  let maxInFlight = 0;

  const post = (body: string, since: number) =>
    new Promise<void>((resolve) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const done = (status: number) => {
        inFlight--;
        latencies.push(performance.now() - since);
        if (status !== 200) statuses[status] = (statuses[status] ?? 0) + 1;
        resolve();
      };
      const req = request(
        { agent, hostname: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers: { 'content-type': spec.contentType, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
        },
      );
      req.on('error', () => done(0));
      req.end(body);
    });

  const started = performance.now();
  if (spec.load.kind === 'closed') {
    let next = 0;
    await Promise.all(
      Array.from({ length: spec.load.concurrency }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          await post(body, performance.now());
        }
      }),
    );
  } else {
    const interval = 1000 / spec.load.perSecond;
    const pending: Array<Promise<void>> = [];
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (next < bodies.length && started + next * interval <= now) {
          pending.push(post(bodies[next]!, started + next * interval));
          next++;
        }
        if (next < bodies.length) setTimeout(tick, Math.max(0, started + next * interval - performance.now()));
        else resolve();
      };
      tick();
    });
    await Promise.all(pending);
  }
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  const round = (n: number) => Number(n.toFixed(2));
  return {
    requests: bodies.length,
    seconds: round(seconds),
    perSecond: Math.round(bodies.length / seconds),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
    maxInFlight,
    statuses,
  };
}

if (require.main === module) {
  const spec = Spec.parse(JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')));
  run(spec).then(
    (summary) => {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`load-client: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
