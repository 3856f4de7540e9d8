/**
 * The caller's openid as CloudBase vouches for it: set for functions invoked by wx.cloud.callFunction, read from
 * the context variables the platform injects (what node-sdk's auth().getUserInfo() reads). Null elsewhere.
 */
export function platformOpenid(): string | null {
  const keys = (process.env.WX_CONTEXT_KEYS ?? '').split(',');
  const openid = keys.includes('WX_OPENID') ? process.env.WX_OPENID : undefined;
  return openid ? openid : null;
}
