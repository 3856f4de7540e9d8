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
