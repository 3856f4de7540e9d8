/**
 * Whether the "返回App" button (open-type="launchApp") can work. WeChat grants it when the mini-program was opened
 * from the app (scene 1069) and keeps it across a few re-entry scenes; any other scene clears it, and tapping then
 * fails with "invalid scene". Recorded on launch and on every show.
 */
const OPENED_FROM_APP = 1069;
/** 1038 back from another mini-program, 1089/1090 recent lists, 1001 Discover recent, 1131/1187 floating window. */
const KEEPS_ABILITY = new Set([1038, 1089, 1090, 1001, 1131, 1187]);

let ability = false;

export function recordScene(scene: number | undefined): void {
  if (scene === OPENED_FROM_APP) ability = true;
  else if (scene === undefined || !KEEPS_ABILITY.has(scene)) ability = false;
}

export function canLaunchApp(): boolean {
  return ability;
}

/**
 * What "返回App" hands the app (the launchApp button's app-parameter): never empty. A convenience for the app's UI;
 * the app's backend learns the truth from our webhook or the merchant API.
 */
export function appParameter(ref: string | null, status: string | null): string {
  return JSON.stringify({ ref: ref ?? '', status: status ?? 'UNKNOWN' });
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const REF = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The `ref` claim of a checkout token, read without verifying it: only to tell the app which checkout the user is
 * coming back from when the server could not be asked (an expired or broken link). Never trusted for anything else.
 */
export function refOfToken(token: string): string | null {
  const payload = token.split('.')[1];
  if (!payload || payload.length > 4096) return null;
  let bits = 0;
  let value = 0;
  let text = '';
  for (const ch of payload) {
    const index = BASE64URL.indexOf(ch);
    if (index < 0) return null;
    value = (value << 6) | index;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      text += String.fromCharCode((value >> bits) & 0xff);
    }
  }
  try {
    const ref = (JSON.parse(text) as { ref?: unknown }).ref;
    return typeof ref === 'string' && REF.test(ref) ? ref : null;
  } catch {
    return null;
  }
}
