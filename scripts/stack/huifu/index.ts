/**
 * A faithful local stand-in for Huifu Dougong's gateway (the v2 and v4 endpoints we use), split by concern:
 * state.ts (trades, refunds, closes, the duplicate rule), gateway.ts (the endpoints), notifier.ts (notifications with
 * Huifu's retry rule), control.ts (the /_sandbox/ routes). A development and test tool: loopback only, no persistence.
 */
import type { KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { closeServer, listen, send } from '../../lib/http';
import { handleControl } from './control';
import { HuifuGateway, type FaultKind, type Operation, type RequestLogEntry } from './gateway';
import { Notifier, type NotificationLogEntry, type NotifyMode } from './notifier';
import { Refusal, SandboxState, type DuplicateRule, type Trade } from './state';

export type { FaultKind, Operation, RequestLogEntry } from './gateway';
export type { NotificationLogEntry, NotifyMode } from './notifier';
export type { DuplicateRule } from './state';

export interface HuifuSandboxOptions {
  port?: number;
  sysId: string;
  productId: string;
  huifuId: string;
  merchantPublicKey: KeyObject;
  huifuPrivateKey: KeyObject;
  /** Delay between notification attempts (Huifu's own is not published; keep it short locally). */
  notifyRetryDelayMs?: number;
  notifyTimeoutMs?: number;
  /** How long a refund stays P before it settles S on its own; null holds refunds until settleRefund. */
  refundSettleMs?: number | null;
  /** How long a close stays P before it settles; null holds it until a close query or settleClose. Default 2000. */
  closeSettleMs?: number | null;
  /** Huifu's rule for a reused req_seq_id; default 'replay' (friendlier), 'refuse' as Huifu does. */
  duplicateRule?: DuplicateRule;
  /** Refuse requests without these jpt-x-skill-* headers, as Huifu's own local sandbox does. */
  requireSkillSource?: string | null;
  /** Start the sandbox clock this many ms ahead of real time. */
  clockOffsetMs?: number;
  log?: (line: string) => void;
}

export interface HuifuSandbox {
  url: string;
  port: number;
  state: SandboxState;
  gateway: HuifuGateway;
  now(): number;
  advanceClock(ms: number): void;
  pay(reqSeqId: string, result: 'S' | 'F', options?: { force?: boolean }): Promise<void>;
  resendNotification(reqSeqId: string, notifyType?: number): Promise<void>;
  setNotifyMode(mode: NotifyMode, count?: number): void;
  injectFault(fault: { operation: Operation; kind: FaultKind; count?: number; respCode?: string; respDesc?: string }): void;
  settleRefund(reqSeqId: string, result: 'S' | 'F'): Promise<void>;
  /** Finishes a close still in progress (S, or F if the trade was paid meanwhile). */
  settleClose(reqSeqId: string): void;
  /** Times the automatic P → S settlement of new refunds; null holds them until settleRefund. */
  setRefundSettleMs(ms: number | null): void;
  trade(reqSeqId: string): Trade | undefined;
  requests: RequestLogEntry[];
  notifications: NotificationLogEntry[];
  /** Resolves once every notification delivery started so far has finished (acked or given up). */
  idle(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export async function startHuifuSandbox(options: HuifuSandboxOptions): Promise<HuifuSandbox> {
  const report = options.log ?? (() => undefined);
  const state = new SandboxState(options.clockOffsetMs ?? 0, options.duplicateRule ?? 'replay');
  const notifier = new Notifier({
    huifuPrivateKey: options.huifuPrivateKey,
    now: () => state.now(),
    retryDelayMs: options.notifyRetryDelayMs ?? 1000,
    timeoutMs: options.notifyTimeoutMs ?? 5000,
    report,
  });
  let url = '';
  const gateway = new HuifuGateway(state, notifier, {
    sysId: options.sysId,
    productId: options.productId,
    huifuId: options.huifuId,
    merchantPublicKey: options.merchantPublicKey,
    huifuPrivateKey: options.huifuPrivateKey,
    refundSettleMs: options.refundSettleMs === undefined ? 300 : options.refundSettleMs,
    closeSettleMs: options.closeSettleMs === undefined ? 2000 : options.closeSettleMs,
    requireSkillSource: options.requireSkillSource ?? null,
    url: () => url,
  });

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    const handler = path.startsWith('/_sandbox/')
      ? handleControl(sandbox, req, res, path)
      : req.method === 'POST'
        ? gateway.handle(req, res, path)
        : Promise.resolve(send(res, 405, { error: 'POST only' }));
    handler.catch((error: unknown) => {
      report(`huifu-sandbox: ${(error as Error).stack}`);
      if (!res.headersSent) send(res, 500, { error: 'sandbox error' });
    });
  });
  const port = await listen(server, options.port ?? 0);
  url = `http://127.0.0.1:${port}`;

  const sandbox: HuifuSandbox = {
    url,
    port,
    state,
    gateway,
    now: () => state.now(),
    advanceClock: (ms) => state.advanceClock(ms),
    pay: (reqSeqId, result, o) => gateway.payTrade(reqSeqId, result, o?.force),
    async resendNotification(reqSeqId, notifyType) {
      const trade = state.findTrade(reqSeqId);
      if (trade) {
        if (trade.state === 'P') throw new Refusal('409', `trade ${reqSeqId} has no outcome to notify yet`);
        await notifier.notify(trade.notifyUrl, 'pay', trade.reqSeqId, notifyType ?? 1, gateway.payNotificationData(trade, notifyType ?? 1));
        return;
      }
      const record = state.findRefund(reqSeqId);
      if (!record) throw new Refusal('404', `no trade or refund ${reqSeqId}`);
      await notifier.notify(record.notifyUrl, 'refund', record.reqSeqId, null, gateway.refundView(record));
    },
    setNotifyMode: (mode, count) => notifier.setMode(mode, count),
    injectFault: (f) => void gateway.faults.push({ operation: f.operation, kind: f.kind, remaining: f.count ?? 1, respCode: f.respCode, respDesc: f.respDesc }),
    async settleRefund(reqSeqId, result) {
      const record = state.findRefund(reqSeqId);
      if (!record) throw new Refusal('404', `no refund ${reqSeqId}`);
      if (record.state !== 'P') throw new Refusal('409', `refund ${reqSeqId} is already ${record.state}`);
      await gateway.settleRefund(record, result);
    },
    settleClose(reqSeqId) {
      const trade = state.findTrade(reqSeqId);
      const record = trade ? state.closeOf(trade) : undefined;
      if (!record) throw new Refusal('404', `no close for trade ${reqSeqId}`);
      gateway.settleClose(record);
    },
    setRefundSettleMs(ms) {
      gateway.options.refundSettleMs = ms;
    },
    trade: (reqSeqId) => state.findTrade(reqSeqId),
    requests: gateway.requests,
    notifications: notifier.log,
    idle: () => notifier.idle(),
    reset() {
      state.reset();
      gateway.faults.length = 0;
      gateway.requests.length = 0;
      notifier.clear();
    },
    async close() {
      notifier.stop();
      await closeServer(server);
    },
  };
  return sandbox;
}
