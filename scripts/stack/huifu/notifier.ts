/**
 * The Huifu sandbox's notifications: form-encoded POSTs of {resp_code, resp_desc, resp_data, sign}, signed over the
 * exact resp_data text, with Huifu's rule: a 5 s timeout and up to 3 retries unless the answer is HTTP 200 with
 * exactly RECV_ORD_ID_<req_seq_id>. Notify modes shape the next deliveries (drop, duplicate, delay, a bad ack).
 */
import type { KeyObject } from 'node:crypto';
import { signRsaSha256 } from '../../../cloudfunctions/src/providers/huifu/sign';

export type NotifyMode = { kind: 'normal' } | { kind: 'drop' } | { kind: 'duplicate' } | { kind: 'delay'; ms: number } | { kind: 'badAck' };
export const NOTIFY_MODE_KINDS: ReadonlyArray<NotifyMode['kind']> = ['normal', 'drop', 'duplicate', 'delay', 'badAck'];

export interface NotificationLogEntry {
  at: number;
  url: string;
  kind: 'pay' | 'refund';
  reqSeqId: string;
  notifyType: number | null;
  attempt: number;
  outcome: 'acked' | 'bad_ack' | 'http_error' | 'timeout' | 'network_error' | 'dropped';
  httpStatus: number | null;
}

export class Notifier {
  readonly log: NotificationLogEntry[] = [];
  private modes: Array<{ mode: NotifyMode; remaining: number }> = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: {
      huifuPrivateKey: KeyObject;
      now: () => number;
      retryDelayMs: number;
      timeoutMs: number;
      report: (line: string) => void;
    },
  ) {}

  setMode(mode: NotifyMode, count?: number): void {
    if (mode.kind === 'normal') this.modes = [];
    else this.modes.push({ mode, remaining: count ?? Number.POSITIVE_INFINITY });
  }

  private nextMode(): NotifyMode {
    const current = this.modes[0];
    if (!current) return { kind: 'normal' };
    current.remaining -= 1;
    if (current.remaining <= 0) this.modes.shift();
    return current.mode;
  }

  /** Runs `fn` after `ms` (sandbox background work: settling refunds and closes), tracked for idle(). */
  later(ms: number, fn: () => void | Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.track(Promise.resolve().then(fn));
    }, ms);
    this.timers.add(timer);
  }

  track(p: Promise<void>): void {
    const wrapped = p.catch((e: unknown) => this.options.report(`huifu-sandbox: ${(e as Error).message}`)).finally(() => this.inFlight.delete(wrapped));
    this.inFlight.add(wrapped);
  }

  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  /** Sends one notification by the next mode; resolves when its first delivery is over (retries included). */
  notify(url: string | null, kind: 'pay' | 'refund', reqSeqId: string, notifyType: number | null, data: Record<string, unknown>): Promise<void> {
    if (!url) return Promise.resolve();
    const mode = this.nextMode();
    const run = this.deliver(url, kind, reqSeqId, notifyType, data, mode);
    this.track(run);
    if (mode.kind === 'duplicate') this.track(this.deliver(url, kind, reqSeqId, notifyType, data, { kind: 'normal' }));
    return run;
  }

  private async deliver(url: string, kind: 'pay' | 'refund', reqSeqId: string, notifyType: number | null, data: Record<string, unknown>, mode: NotifyMode): Promise<void> {
    const respData = JSON.stringify(data);
    const body = new URLSearchParams({ resp_code: '00000000', resp_desc: '成功调用', resp_data: respData, sign: signRsaSha256(respData, this.options.huifuPrivateKey) }).toString();
    const now = this.options.now;
    if (mode.kind === 'drop') {
      this.log.push({ at: now(), url, kind, reqSeqId, notifyType, attempt: 0, outcome: 'dropped', httpStatus: null });
      return;
    }
    if (mode.kind === 'delay') await new Promise((r) => this.later(mode.ms, () => r(undefined)));
    const expected = `RECV_ORD_ID_${reqSeqId}`;
    for (let attempt = 1; attempt <= 4; attempt++) {
      let outcome: NotificationLogEntry['outcome'];
      let httpStatus: number | null = null;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        httpStatus = res.status;
        const text = (await res.text()).trim();
        outcome = res.status === 200 && text === expected && mode.kind !== 'badAck' ? 'acked' : res.status === 200 ? 'bad_ack' : 'http_error';
      } catch (e) {
        outcome = (e as Error).name === 'TimeoutError' ? 'timeout' : 'network_error';
      }
      this.log.push({ at: now(), url, kind, reqSeqId, notifyType, attempt, outcome, httpStatus });
      if (outcome === 'acked') return;
      if (attempt < 4) await new Promise((r) => setTimeout(r, this.options.retryDelayMs));
    }
  }

  clear(): void {
    this.modes = [];
    this.log.length = 0;
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
