import type { LocalStack } from './local-stack';

/**
 * A `wx` whose login, request and requestPayment reach the local sandboxes for real: login mints a code for the
 * test's user at the WeChat sandbox, request goes over loopback HTTP, requestPayment settles the trade at the Huifu
 * sandbox (or cancels / fails as the test says). It runs as WeChat DevTools on a development build (so the pages
 * choose local mode) unless told otherwise. Navigation and every function call (with its start and end) are recorded.
 */
export type CashierBehaviour =
  /** The user pays. */
  | 'pay'
  /** The user closes the sheet. */
  | 'cancel'
  /** The user pays and the bank refuses (the trade fails at Huifu). */
  | 'fail'
  /** Paid, but the sheet reported cancel. */
  | 'payThenCancelled'
  /** The sheet fails before anything is paid (a signature or permission error). */
  | 'failNothingPaid'
  /** The sheet says ok but the money never arrives (the server cannot confirm). */
  | 'okNeverPaid';

export interface FunctionCall {
  fn: string;
  action: string | null;
  start: number;
  end: number;
}

export interface TestWx {
  openid: string;
  cashier: CashierBehaviour;
  navigations: string[];
  payRequests: number;
  calls: FunctionCall[];
  /** wx.login calls (each one a fresh code). */
  logins: number;
  /**
   * How many of the next calls to a function fail as a dropped network would (wx.request fail), keyed by the
   * function (`login`) or the function and action (`order.preview`). Named, not counted across all calls: the page
   * logs in while it previews, and which call goes first depends on the machine's load.
   */
  failNext: Record<string, number>;
  /** The next n logins get a code jscode2session calls used (40163). */
  staleCodes: number;
  /** The events channel the last navigateTo opened with (the sandbox cashier answers on it). */
  openerEvents: Record<string, (data: unknown) => void> | null;
  runningIn: { platform: string; envVersion: 'develop' | 'trial' | 'release' };
  install(): void;
}

/** The longest chain of function calls where each started after the previous ended: round trips in a row. */
export function sequentialCalls(calls: FunctionCall[]): number {
  const sorted = [...calls].sort((a, b) => a.end - b.end);
  const depth = new Map<FunctionCall, number>();
  for (const call of sorted) {
    const before = sorted.filter((c) => c.end <= call.start).map((c) => depth.get(c) ?? 1);
    depth.set(call, 1 + Math.max(0, ...before));
  }
  return Math.max(0, ...depth.values());
}

export function createTestWx(stack: LocalStack, openid: string): TestWx {
  const storage = new Map<string, unknown>();
  const state: TestWx = {
    openid,
    cashier: 'pay',
    navigations: [],
    payRequests: 0,
    calls: [],
    logins: 0,
    failNext: {},
    staleCodes: 0,
    openerEvents: null,
    runningIn: { platform: 'devtools', envVersion: 'develop' },
    install() {
      const wx = (globalThis as unknown as { wx: Record<string, unknown> }).wx;
      Object.assign(wx, {
        getAccountInfoSync: () => ({ miniProgram: { appId: 'wx0123456789abcdef', envVersion: state.runningIn.envVersion, version: '' } }),
        getDeviceInfo: () => ({ platform: state.runningIn.platform }),
        login(options: { success(r: { code: string }): void; fail(e: unknown): void }) {
          state.logins += 1;
          const stale = state.staleCodes > 0;
          if (stale) state.staleCodes -= 1;
          (async () => {
            // jscode2session will answer 40163 (code already used) for this login's code.
            if (stale) await fetch(`${stack.wechatUrl}/_sandbox/fail`, { method: 'POST', body: JSON.stringify({ errcode: 40163 }) });
            const r = await fetch(`${stack.wechatUrl}/_sandbox/code`, { method: 'POST', body: JSON.stringify({ openid: state.openid }) });
            return ((await r.json()) as { code: string }).code;
          })().then((code) => options.success({ code }), options.fail);
        },
        request(options: { url: string; method?: string; data?: unknown; header?: Record<string, string>; success(r: { statusCode: number; data: unknown }): void; fail(e: unknown): void }) {
          const fnMatch = /\/fn\/(\w+)$/.exec(options.url);
          const call: FunctionCall | null = fnMatch
            ? { fn: fnMatch[1]!, action: (options.data as { action?: string } | undefined)?.action ?? null, start: performance.now(), end: Number.POSITIVE_INFINITY }
            : null;
          if (call) state.calls.push(call);
          const done = () => {
            if (call) call.end = performance.now();
          };
          const failing = call ? [`${call.fn}.${call.action}`, call.fn].find((key) => (state.failNext[key] ?? 0) > 0) : undefined;
          if (failing) {
            state.failNext[failing]! -= 1;
            setTimeout(() => (done(), options.fail({ errMsg: 'request:fail timeout' })), 5);
            return;
          }
          fetch(options.url, { method: options.method ?? 'GET', headers: options.header, body: options.data === undefined ? undefined : JSON.stringify(options.data) })
            .then(async (r) => {
              const text = await r.text();
              let data: unknown = text;
              try {
                data = JSON.parse(text);
              } catch {
                /* plain text */
              }
              done();
              options.success({ statusCode: r.status, data });
            })
            .catch((e: unknown) => (done(), options.fail(e)));
        },
        requestPayment(options: { package: string; success(): void; fail(e: { errMsg: string }): void }) {
          state.payRequests += 1;
          const behaviour = state.cashier;
          if (behaviour === 'cancel') return options.fail({ errMsg: 'requestPayment:fail cancel' });
          if (behaviour === 'failNothingPaid') return options.fail({ errMsg: 'requestPayment:fail no permission to pay' });
          if (behaviour === 'okNeverPaid') return options.success();
          fetch(`${stack.huifuUrl}/_sandbox/pay`, { method: 'POST', body: JSON.stringify({ prepay_id: options.package, result: behaviour === 'fail' ? 'F' : 'S', wait: true }) })
            .then(() => {
              if (behaviour === 'pay') options.success();
              else if (behaviour === 'payThenCancelled') options.fail({ errMsg: 'requestPayment:fail cancel' });
              else options.fail({ errMsg: 'requestPayment:fail (detail message)' });
            })
            .catch(() => options.fail({ errMsg: 'requestPayment:fail network' }));
        },
        getStorageSync: (key: string) => storage.get(key) ?? '',
        setStorageSync: (key: string, value: unknown) => void storage.set(key, value),
        removeStorageSync: (key: string) => void storage.delete(key),
        redirectTo: (o: { url: string }) => void state.navigations.push(`redirectTo ${o.url}`),
        navigateTo: (o: { url: string; events?: Record<string, (data: unknown) => void> }) => {
          state.openerEvents = o.events ?? null;
          state.navigations.push(`navigateTo ${o.url}`);
        },
        navigateBack: () => void state.navigations.push('navigateBack'),
        stopPullDownRefresh: () => undefined,
      });
    },
  };
  return state;
}
