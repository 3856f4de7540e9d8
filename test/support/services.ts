import { loadConfig } from '../../cloudfunctions/src/config';
import { shanghaiDate } from '../../cloudfunctions/src/domain/time';
import type { Order } from '../../cloudfunctions/src/domain/types';
import { exportPrivateKeyBase64, exportPublicKeyBase64 } from '../../cloudfunctions/src/providers/huifu/keys';
import { buildDeps } from '../../cloudfunctions/src/runtime';
import { silentLogger, type Deps } from '../../cloudfunctions/src/services/deps';
import type { Store } from '../../cloudfunctions/src/store/port';
import { openSqliteStore } from '../../cloudfunctions/src/store/sqlite';
import type { HuifuSandbox, HuifuSandboxOptions } from '../../scripts/stack/huifu';
import type { CloudbaseStandin } from '../../scripts/lib/cloudbase-standin';
import { startCloudbaseStore } from './cloudbase';
import { testClock, type TestClock } from './clock';
import { makeOrder, nextOrderNo } from './fixtures';
import { signedNotificationForm } from './notifications';
import { clientFor, makeHuifuKeys, startTestSandbox, TEST_IDS, type HuifuKeys } from './huifu';

export type StoreKind = 'sqlite' | 'cloudbase';
export const STORE_KINDS: StoreKind[] = ['sqlite', 'cloudbase'];

/**
 * The services over a chosen store, the real Huifu client and the Huifu sandbox, with one clock for both, and no
 * HTTP in front: for the lifecycle paths that need a fault placed precisely (a write failing, a crash between writes).
 * The CloudBase store is the real adapter through the real SDK against the loopback stand-in: it has no transactions,
 * so its repair paths are the ones exercised.
 */
export interface ServiceHarness {
  deps: Deps;
  store: Store;
  /** The CloudBase database stand-in (its recorded requests are the round trips), null over SQLite. */
  standin: CloudbaseStandin | null;
  sandbox: HuifuSandbox;
  clock: TestClock;
  advance(ms: number): void;
  /** An order PAYING at Huifu (placed through the real client), or PAID when `paid`. */
  payingOrder(amountFen?: number): Promise<Order>;
  paidOrder(amountFen?: number): Promise<Order>;
  /** A form body Huifu would POST for this resp_data, signed with the sandbox's Huifu key. */
  notification(respData: Record<string, unknown>): string;
  close(): Promise<void>;
}

/**
 * How long the client waits before calling an answer lost: the least HTTP_TIMEOUT_MS allows. The sandbox answers
 * in milliseconds, and the lost-answer scenarios wait this out for real.
 */
const LOST_ANSWER_MS = 500;

/** One key set per test file (jest loads this module once per file): RSA generation is slow and its time varies. */
let fileKeys: HuifuKeys | undefined;

export async function startServices(kind: StoreKind, options: { apiVersion?: 'v2' | 'v4'; sandbox?: Partial<HuifuSandboxOptions>; env?: Record<string, string> } = {}): Promise<ServiceHarness> {
  const keys = (fileKeys ??= makeHuifuKeys());
  const sandbox = await startTestSandbox(keys, { closeSettleMs: null, ...options.sandbox });
  const clock = testClock();
  let store: Store;
  let closeStore: () => Promise<void>;
  let standin: CloudbaseStandin | null = null;
  if (kind === 'sqlite') {
    store = openSqliteStore({ path: ':memory:' });
    closeStore = () => store.close();
  } else {
    const started = await startCloudbaseStore();
    store = started.store;
    standin = started.standin;
    closeStore = started.close;
  }
  const config = loadConfig({
    WX_APPID: 'wx0123456789abcdef',
    WX_SECRET: 'wechat-secret',
    HUIFU_API_BASE: sandbox.url,
    HUIFU_API_VERSION: options.apiVersion ?? 'v2',
    HUIFU_SYS_ID: TEST_IDS.sysId,
    HUIFU_PRODUCT_ID: TEST_IDS.productId,
    HUIFU_ID: TEST_IDS.huifuId,
    HUIFU_MERCHANT_PRIVATE_KEY: exportPrivateKeyBase64(keys.merchantPrivateKey),
    HUIFU_PUBLIC_KEY: exportPublicKeyBase64(keys.huifuPublicKey),
    HUIFU_NOTIFY_URL: 'http://127.0.0.1:9/notify', // nothing listens: notifications are handed in by the tests
    SESSION_SECRET: 's'.repeat(40),
    CHECKOUT_SECRET: 'c'.repeat(40),
    MERCHANT_API_SECRET: 'm'.repeat(40),
    APP_WEBHOOK_URL: 'http://127.0.0.1:9/hooks',
    APP_WEBHOOK_SECRET: 'w'.repeat(40),
    HTTP_TIMEOUT_MS: String(LOST_ANSWER_MS),
    ...options.env,
  });
  const deps = buildDeps(config, { store, clock, log: silentLogger, gateway: clientFor(sandbox, keys, { apiVersion: options.apiVersion ?? 'v2', skillSource: options.env?.HUIFU_SKILL_SOURCE ?? null, timeoutMs: LOST_ANSWER_MS }) });
  const advance = (ms: number) => {
    clock.advance(ms);
    sandbox.advanceClock(ms);
  };
  const payingOrder = async (amountFen = 1000): Promise<Order> => {
    const now = clock.now();
    const order = makeOrder({ orderNo: nextOrderNo('P'), amountFen, reqDate: shanghaiDate(now), createdAt: now, updatedAt: now, expiresAt: now + 30 * 60_000 });
    await store.insertOrder(order, { from: null, to: 'CREATED', source: 'api', at: now, detail: 'test' });
    const created = await deps.gateway.createMiniAppPayment({ orderNo: order.orderNo, reqDate: order.reqDate, amountFen, description: order.description, appid: config.wechat.appid, openid: order.openid, expiresAt: order.expiresAt, notifyUrl: config.huifuApi.notifyUrl });
    return (await store.updateOrder(order, { status: 'PAYING', hfSeqId: created.hfSeqId, payInfo: created.payParams, updatedAt: now }))!;
  };
  const paidOrder = async (amountFen = 1000): Promise<Order> => {
    const order = await payingOrder(amountFen);
    await sandbox.pay(order.orderNo, 'S');
    return (await store.updateOrder(order, { status: 'PAID', paidAt: clock.now(), updatedAt: clock.now() }))!;
  };
  const notification = (respData: Record<string, unknown>) => signedNotificationForm(respData, keys.huifuPrivateKey);
  return {
    deps,
    store,
    standin,
    sandbox,
    clock,
    advance,
    payingOrder,
    paidOrder,
    notification,
    async close() {
      await sandbox.close();
      await closeStore();
    },
  };
}
