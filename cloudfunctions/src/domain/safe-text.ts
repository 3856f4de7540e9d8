/**
 * Text from outside (a notification's req_seq_id, a refund reason, an error from a gateway) shown to a person must not
 * be able to drive their terminal or page: ESC/CSI and OSC sequences (clipboard writes, rewritten lines), a bare CR
 * that overwrites "FAILED" with "PAID OK", BEL, and bidi overrides that reorder what is read. Every such character is
 * shown as an escape (`\x1b`, `\u202e`) instead, so it stays visible and inert.
 */
// C0 controls, DEL, C1 controls, bidi and zero-width format characters, line/paragraph separators, BOM.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Whether `text` holds anything escapeControl would change. */
export function hasControl(text: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text);
}
