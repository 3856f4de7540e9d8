/**
 * Where the mini-program sends its calls. `local` talks to `pnpm dev` over wx.request (DevTools: turn the domain
 * check off; project.config.json has urlCheck false) and replaces the WeChat cashier with the sandbox cashier page,
 * because a sandbox prepay_id cannot open the real one. `cloud` uses wx.cloud.callFunction and wx.requestPayment.
 */
export interface AppConfig {
  mode: 'local' | 'cloud';
  /** CloudBase environment id (cloud mode). */
  cloudEnv: string;
  /** The local function host (pnpm dev, CASHIER_PORT). */
  localFunctionsUrl: string;
  /** The local Huifu sandbox (pnpm dev, HUIFU_SANDBOX_PORT), used by the sandbox cashier page. */
  localHuifuSandboxUrl: string;
  /** 'sandbox-cashier' in local mode; 'wechat' calls wx.requestPayment. */
  payer: 'wechat' | 'sandbox-cashier';
  /** Confirmation polling after the cashier closes: every 2 s for up to 60 s (WeChat's guidance). */
  confirmIntervalMs: number;
  confirmWindowMs: number;
}

export const config: AppConfig = {
  mode: 'local',
  cloudEnv: '',
  localFunctionsUrl: 'http://127.0.0.1:8787',
  localHuifuSandboxUrl: 'http://127.0.0.1:8789',
  payer: 'sandbox-cashier',
  confirmIntervalMs: 2000,
  confirmWindowMs: 60_000,
};
