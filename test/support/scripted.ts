import type { KeyObject } from 'node:crypto';
import { loadConfig } from '../../cloudfunctions/src/config';
import { PayError } from '../../cloudfunctions/src/domain/errors';
import { shanghaiDate } from '../../cloudfunctions/src/domain/time';
import type { Order, Refund } from '../../cloudfunctions/src/domain/types';
import { HuifuBusinessError } from '../../cloudfunctions/src/providers/huifu/errors';
import type { CloseResult, PaymentCreated, PaymentGateway, PaymentStatus, RefundStatusResult, TradeOutcome } from '../../cloudfunctions/src/providers/port';
import { buildDeps } from '../../cloudfunctions/src/runtime';
import type { Deps, Logger } from '../../cloudfunctions/src/services/deps';
import type { Store } from '../../cloudfunctions/src/store/port';
import { openSqliteStore } from '../../cloudfunctions/src/store/sqlite';
import type { TestClock } from './clock';
import { validEnv } from './env';
import { makeKeyPair } from './keys';
import { parsePrivateKey } from '../../cloudfunctions/src/providers/huifu/keys';
import { makeOrder, makeRefund, nextOrderNo } from './fixtures';
import { signedNotificationForm } from './notifications';

/**
 * The services in this process over an in-memory SQLite store, with a payment gateway whose every answer the test
 * scripts: for the decision paths (each Huifu answer, each race, each retry bound) that the sandbox cannot be made to
 * produce on cue. A call nobody scripted fails the test, so a service calling Huifu when it should not is caught.
 */
export interface ScriptedServices {
  deps: Deps;
  store: Store;
  clock: TestClock;
  gateway: ScriptedGateway;
  logs: LogLine[];
  /** Webhook POSTs as the app backend received them; `answerWebhooks` decides each answer. */
  posts: Array<{ url: string; body: string; headers: Record<string, string> }>;
  answerWebhooks(answer: (n: number) => Promise<{ status: number }> | { status: number }): void;
  /** Stores an order (CREATED by default, created now) and returns it as stored. */
  order(overrides?: Partial<Order>): Promise<Order>;
  /** Stores a refund for an order and returns it. */
  refund(orderNo: string, overrides?: Partial<Refund>): Promise<Refund>;
  events(orderNo: string): Promise<string[]>;
  /**
   * Every `method` call after the first `wins` loses its compare-and-set, as if another writer always got there
   * first; resolves how many calls were made.
   */
  loseUpdates(method: 'updateOrder' | 'updateRefund', wins?: number): () => number;
  /** A notification body as Huifu POSTs it: resp_data signed with the Huifu key this config trusts. */
  notification(respData: Record<string, unknown>): string;
  close(): Promise<void>;
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

type Scripted<C, T> = T | Error | ((command: C) => T | Promise<T>);
type Method = Exclude<keyof PaymentGateway, 'billFiles'>;
type CommandOf<M extends Method> = Parameters<PaymentGateway[M]>[0];
type ResultOf<M extends Method> = Awaited<ReturnType<PaymentGateway[M]>>;

export class ScriptedGateway implements PaymentGateway {
  readonly calls: Array<{ method: Method; command: unknown }> = [];
  private readonly queues = new Map<Method, Array<Scripted<unknown, unknown>>>();

  /** The next answers `method` gives, in order: a value, an error to throw, or a function of the command. */
  answer<M extends Method>(method: M, ...answers: Array<Scripted<CommandOf<M>, ResultOf<M>>>): this {
    this.queues.set(method, [...(this.queues.get(method) ?? []), ...(answers as Array<Scripted<unknown, unknown>>)]);
    return this;
  }

  callsOf(method: Method): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.command);
  }

  private async next(method: Method, command: unknown): Promise<never> {
    this.calls.push({ method, command });
    const answer = this.queues.get(method)?.shift();
    if (answer === undefined) throw new Error(`unscripted gateway call ${method}(${JSON.stringify(command)})`);
    if (answer instanceof Error) throw answer;
    return (typeof answer === 'function' ? await (answer as (c: unknown) => unknown)(command) : answer) as never;
  }

  createMiniAppPayment = (command: CommandOf<'createMiniAppPayment'>): Promise<PaymentCreated> => this.next('createMiniAppPayment', command);
  queryPayment = (command: CommandOf<'queryPayment'>): Promise<PaymentStatus> => this.next('queryPayment', command);
  refund = (command: CommandOf<'refund'>): Promise<RefundStatusResult> => this.next('refund', command);
  queryRefund = (command: CommandOf<'queryRefund'>): Promise<RefundStatusResult> => this.next('queryRefund', command);
  close = (command: CommandOf<'close'>): Promise<CloseResult> => this.next('close', command);
  queryClose = (command: CommandOf<'queryClose'>): Promise<CloseResult> => this.next('queryClose', command);
  billFiles = (): never => {
    throw new Error('billFiles is not scripted');
  };
}

export const APP_ID = 'wx0123456789abcdef';
export const WEBHOOK_URL = 'http://127.0.0.1:9/hooks';

/** A trade outcome as Huifu's query or notification would give it, in our units. */
export function trade(state: TradeOutcome['state'], amountFen: number, overrides: Partial<TradeOutcome> = {}): PaymentStatus {
  return { found: true, state, amountFen, hfSeqId: 'HF0001', outTransId: null, partyOrderId: null, feeFen: null, paidAt: null, ...overrides };
}

export function created(overrides: Partial<PaymentCreated> = {}): PaymentCreated {
  return {
    hfSeqId: 'HFCREATE01',
    state: 'PROCESSING',
    payAppId: APP_ID,
    payParams: { timeStamp: '1700000000', nonceStr: 'n', package: 'prepay_id=wx1', signType: 'RSA', paySign: 'sig' },
    ...overrides,
  };
}

/** A refusal as the Huifu client raises it (resp_code, resp_desc), of the given class. */
export function refused<T extends HuifuBusinessError>(
  kind: new (respCode: string, respDesc: string, code: HuifuBusinessError['code'], message: string, retryable: boolean) => T,
  options: { respCode?: string; respDesc?: string; retryable?: boolean } = {},
): T {
  return new kind(options.respCode ?? '99010002', options.respDesc ?? '拒绝', 'PAYMENT_GATEWAY_REJECTED', `Huifu refused (${options.respCode ?? '99010002'})`, options.retryable ?? false);
}

/** The PayError a call rejects with; fails the test when it resolves or throws anything else. */
export async function payError(promise: Promise<unknown>): Promise<PayError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof PayError)) throw new Error(`expected a PayError, got ${String(error)}`);
  return error;
}

let fileEnv: Record<string, string | undefined> | undefined;
let huifuPrivateKey: KeyObject | undefined;

export function startScripted(env: Record<string, string | undefined> = {}): ScriptedServices {
  if (!fileEnv) {
    const huifu = makeKeyPair();
    huifuPrivateKey = parsePrivateKey(huifu.privateKey);
    fileEnv = validEnv({ HUIFU_PUBLIC_KEY: huifu.publicKey, APP_WEBHOOK_URL: WEBHOOK_URL, APP_WEBHOOK_SECRET: 'w'.repeat(40), QUERY_AFTER_SECONDS: '10', QUERY_MIN_INTERVAL_SECONDS: '5' });
  }
  const config = loadConfig({ ...fileEnv, WX_APPID: APP_ID, ...env });
  const store = openSqliteStore({ path: ':memory:' });
  // Frozen unless the test moves it, so boundaries (exactly the interval, exactly expired) are exact.
  let nowMs = Date.now();
  const clock: TestClock = { now: () => nowMs, advance: (ms) => void (nowMs += ms) };
  const gateway = new ScriptedGateway();
  const logs: LogLine[] = [];
  const line = (level: LogLine['level']) => (message: string, fields: Record<string, unknown> = {}) => void logs.push({ level, message, fields });
  const log: Logger = { info: line('info'), warn: line('warn'), error: line('error') };
  const posts: ScriptedServices['posts'] = [];
  let webhookAnswer: (n: number) => Promise<{ status: number }> | { status: number } = () => ({ status: 200 });
  const deps: Deps = {
    ...buildDeps(config, { store, clock, log, gateway }),
    exchangeCode: async () => {
      throw new Error('exchangeCode is not scripted');
    },
    postWebhook: async (url, body, headers) => {
      posts.push({ url, body, headers });
      return webhookAnswer(posts.length);
    },
  };
  return {
    deps,
    store,
    clock,
    gateway,
    logs,
    posts,
    answerWebhooks(answer) {
      webhookAnswer = answer;
    },
    async order(overrides = {}) {
      const now = clock.now();
      const order = makeOrder({ orderNo: nextOrderNo('P'), reqDate: shanghaiDate(now), createdAt: now, updatedAt: now, expiresAt: now + 30 * 60_000, ...overrides });
      await store.insertOrder(order, { from: null, to: order.status, source: 'api', at: now, detail: 'test' });
      return (await store.getOrder(order.orderNo))!;
    },
    async refund(orderNo, overrides = {}) {
      const now = clock.now();
      const refund = makeRefund(orderNo, { refundNo: nextOrderNo('R'), reqDate: shanghaiDate(now), createdAt: now, updatedAt: now, ...overrides });
      await store.insertRefund(refund);
      return (await store.getRefund(refund.refundNo))!;
    },
    loseUpdates(method, wins = 0) {
      const original = store[method].bind(store) as (...args: unknown[]) => Promise<unknown>;
      let calls = 0;
      jest.spyOn(store, method).mockImplementation((async (...args: unknown[]) => (++calls <= wins ? original(...args) : null)) as never);
      return () => calls;
    },
    async events(orderNo) {
      return (await store.listOrderEvents(orderNo)).map((e) => `${e.from ?? '-'}→${e.to} ${e.detail}`);
    },
    notification: (respData) => signedNotificationForm(respData, huifuPrivateKey!),
    close: () => store.close(),
  };
}
