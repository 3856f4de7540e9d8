/**
 * Where the mini-program sends its calls, decided by where it runs rather than by editing this file:
 *  - `local` only inside WeChat DevTools on a development build (platform 'devtools' and envVersion 'develop'):
 *    calls go to `pnpm dev` over wx.request (turn the domain check off; project.config.json has urlCheck false) and
 *    the sandbox cashier page stands in for WeChat's, because a sandbox prepay_id cannot open the real one;
 *  - `cloud` everywhere else: phones, trial and release builds, and review builds (which run as 'develop' on a
 *    phone, so envVersion alone is not enough): wx.cloud.callFunction and the real wx.requestPayment.
 * So an uploaded build can never call 127.0.0.1 or reach the sandbox cashier. `pnpm mp:check --release` refuses a
 * build without `cloudEnv`.
 */
export interface AppConfig {
  /** CloudBase environment id: required for every build that leaves DevTools. */
  cloudEnv: string;
  /** What DevTools uses: 'local' (pnpm dev and its sandboxes) or 'cloud' (cloudEnv, to try the deployment). */
  devtoolsBackend: 'local' | 'cloud';
  /** The local function host (pnpm dev, CASHIER_PORT). */
  localFunctionsUrl: string;
  /** The local Huifu sandbox (pnpm dev, HUIFU_SANDBOX_PORT), used by the sandbox cashier page. */
  localHuifuSandboxUrl: string;
  /** Confirmation polling after the cashier reports success: every 2 s for up to 60 s (WeChat's guidance). */
  confirmIntervalMs: number;
  confirmWindowMs: number;
}

export const config: AppConfig = {
  cloudEnv: '',
  devtoolsBackend: 'local',
  localFunctionsUrl: 'http://127.0.0.1:8787',
  localHuifuSandboxUrl: 'http://127.0.0.1:8789',
  confirmIntervalMs: 2000,
  confirmWindowMs: 60_000,
};

export type Mode = 'local' | 'cloud';
export interface RunningIn {
  envVersion: string;
  platform: string;
}

/** Pure: local only in DevTools on a development build, when DevTools is set to the local stack. */
export function modeFor(where: RunningIn, devtoolsBackend: AppConfig['devtoolsBackend']): Mode {
  return where.platform === 'devtools' && where.envVersion === 'develop' && devtoolsBackend === 'local' ? 'local' : 'cloud';
}

function runningIn(): RunningIn {
  const envVersion = wx.getAccountInfoSync().miniProgram.envVersion;
  const platform = typeof wx.getDeviceInfo === 'function' ? wx.getDeviceInfo().platform : wx.getSystemInfoSync().platform;
  return { envVersion, platform: String(platform) };
}

let resolved: Mode | null = null;
export function mode(): Mode {
  resolved = resolved ?? modeFor(runningIn(), config.devtoolsBackend);
  return resolved;
}

/** In local mode the sandbox cashier page pays, unless the launch asked for wx.requestPayment (?payer=wechat, which automator tests mock). */
let localPayer: 'sandbox-cashier' | 'wechat' = 'sandbox-cashier';
export function useWechatPayerLocally(): void {
  localPayer = 'wechat';
}
export function payerKind(): 'wechat' | 'sandbox-cashier' {
  return mode() === 'local' ? localPayer : 'wechat';
}
