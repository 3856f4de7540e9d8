/**
 * What CloudBase puts in a cloud function's environment besides the function's own variables: the SCF markers, the
 * role's temporary keys, the database endpoint (here the loopback stand-in, as TCB_CONTEXT_CNFG) and, for a
 * wx.cloud.callFunction, the calling user. For running bundles as CloudBase would (runtime-parity test, bench).
 */
export function cloudbasePlatformEnv(options: { standinUrl: string; envId: string; appid: string; user: string | null }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    TENCENTCLOUD_RUNENV: 'SCF',
    SCF_NAMESPACE: options.envId,
    TENCENTCLOUD_REGION: 'ap-shanghai',
    TENCENTCLOUD_SECRETID: 'AKIDtemporary',
    TENCENTCLOUD_SECRETKEY: 'temporary-secret-key',
    TENCENTCLOUD_SESSIONTOKEN: 'temporary-session-token',
    TCB_CONTEXT_CNFG: JSON.stringify({ URL: options.standinUrl }),
    SILENCE: 'true',
    ...(options.user
      ? { WX_CONTEXT_KEYS: 'WX_OPENID,WX_APPID', WX_OPENID: options.user, WX_APPID: options.appid, TCB_CONTEXT_KEYS: 'TCB_SOURCE', TCB_SOURCE: 'wx_client' }
      : {}),
  };
}
