/**
 * Who invoked a function, as the platform reports it.
 * - `miniprogram`: wx.cloud.callFunction from a user of the mini-program; CloudBase injects the caller's openid.
 * - `platform`: CloudBase itself with no user: HTTP access, the timer, or an administrator (console, CLI, API).
 * - `local`: the local function host (`pnpm dev`, tests), where there is no platform to vouch for anyone.
 */
export type Caller = { kind: 'miniprogram'; openid: string } | { kind: 'platform' } | { kind: 'local' };

/** Sources that mean "a mini-program client called this" (CloudBase's TCB_SOURCE values). */
const CLIENT_SOURCES = new Set(['wx_client', 'wx_devtools']);

function contextEnvironment(context: unknown): Record<string, string> {
  const raw = (context as { environment?: unknown } | null | undefined)?.environment;
  if (typeof raw !== 'string') return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/**
 * The caller of a CloudBase invocation. CloudBase puts the caller's identity in variables it lists in
 * WX_CONTEXT_KEYS / TCB_CONTEXT_KEYS (process.env, or the invocation context's `environment` on the newer
 * architecture), which is what node-sdk's auth().getUserInfo() reads. wx.cloud.callFunction also adds `userInfo` to
 * the event: never trusted as an identity, but enough to know a mini-program client is calling.
 */
export function cloudCaller(event: unknown, context: unknown): Caller {
  const fromContext = contextEnvironment(context);
  const read = (keysVar: 'WX_CONTEXT_KEYS' | 'TCB_CONTEXT_KEYS', name: string): string => {
    const keys = (fromContext[keysVar] ?? process.env[keysVar] ?? '').split(',');
    return keys.includes(name) ? (fromContext[name] ?? process.env[name] ?? '') : '';
  };
  const openid = read('WX_CONTEXT_KEYS', 'WX_OPENID');
  const source = read('TCB_CONTEXT_KEYS', 'TCB_SOURCE');
  const eventUser = Boolean(event && typeof event === 'object' && 'userInfo' in event);
  if (openid || eventUser || CLIENT_SOURCES.has(source)) return { kind: 'miniprogram', openid };
  return { kind: 'platform' };
}
