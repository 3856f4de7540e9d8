import type { LocalStack } from './local-stack';

/**
 * A `wx` whose login, request and requestPayment reach the local sandboxes for real: login mints a code for the
 * test's user at the WeChat sandbox, request goes over loopback HTTP, requestPayment settles the trade at the Huifu
 * sandbox (or cancels / fails as the test says). Navigation is recorded for assertions.
 */
export type CashierBehaviour = 'pay' | 'cancel' | 'fail' | 'payThenCancelled';

export interface TestWx {
  openid: string;
  cashier: CashierBehaviour;
  navigations: string[];
  payRequests: number;
  install(): void;
}

export function createTestWx(stack: LocalStack, openid: string): TestWx {
  const storage = new Map<string, unknown>();
  const state: TestWx = {
    openid,
    cashier: 'pay',
    navigations: [],
    payRequests: 0,
    install() {
      const wx = (globalThis as unknown as { wx: Record<string, unknown> }).wx;
      Object.assign(wx, {
        login(options: { success(r: { code: string }): void; fail(e: unknown): void }) {
          fetch(`${stack.wechatUrl}/_sandbox/code`, { method: 'POST', body: JSON.stringify({ openid: state.openid }) })
            .then((r) => r.json() as Promise<{ code: string }>)
            .then((r) => options.success({ code: r.code }), options.fail);
        },
        request(options: { url: string; method?: string; data?: unknown; header?: Record<string, string>; success(r: { statusCode: number; data: unknown }): void; fail(e: unknown): void }) {
          fetch(options.url, { method: options.method ?? 'GET', headers: options.header, body: options.data === undefined ? undefined : JSON.stringify(options.data) })
            .then(async (r) => {
              const text = await r.text();
              let data: unknown = text;
              try {
                data = JSON.parse(text);
              } catch {
                /* plain text */
              }
              options.success({ statusCode: r.status, data });
            })
            .catch(options.fail);
        },
        requestPayment(options: { package: string; success(): void; fail(e: { errMsg: string }): void }) {
          state.payRequests += 1;
          const behaviour = state.cashier;
          if (behaviour === 'cancel') return options.fail({ errMsg: 'requestPayment:fail cancel' });
          fetch(`${stack.huifuUrl}/_sandbox/pay`, { method: 'POST', body: JSON.stringify({ prepay_id: options.package, result: behaviour === 'fail' ? 'F' : 'S', wait: true }) })
            .then(() => {
              if (behaviour === 'pay') options.success();
              else if (behaviour === 'payThenCancelled') options.fail({ errMsg: 'requestPayment:fail cancel' }); // paid, but the sheet reported cancel
              else options.fail({ errMsg: 'requestPayment:fail (detail message)' });
            })
            .catch(() => options.fail({ errMsg: 'requestPayment:fail network' }));
        },
        getStorageSync: (key: string) => storage.get(key) ?? '',
        setStorageSync: (key: string, value: unknown) => void storage.set(key, value),
        removeStorageSync: (key: string) => void storage.delete(key),
        redirectTo: (o: { url: string }) => void state.navigations.push(`redirectTo ${o.url}`),
        navigateTo: (o: { url: string }) => void state.navigations.push(`navigateTo ${o.url}`),
        navigateBack: () => void state.navigations.push('navigateBack'),
      });
    },
  };
  return state;
}
