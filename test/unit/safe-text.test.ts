import { escapeControl } from '../../cloudfunctions/src/domain/safe-text';
import { jsonLogger } from '../../cloudfunctions/src/services/deps';
import { REJECTION_LIMITS } from '../../cloudfunctions/src/services/rejections';
import { openSqliteStore } from '../../cloudfunctions/src/store/sqlite';
import { runOps } from '../../scripts/ops';
import { buildDeps } from '../../cloudfunctions/src/runtime';
import { loadConfig } from '../../cloudfunctions/src/config';
import { silentLogger } from '../../cloudfunctions/src/services/deps';
import { validEnv } from '../support/env';

/** What an attacker would put in a req_seq_id or a body: terminal escapes, a clipboard write, a rewritten line, a reversed one. */
const HOSTILE = [
  'P1\x1b[2K\x1b[1A',            // ESC/CSI: erase the line, move up
  '\x1b]52;c;cm0gLXJmIH4=\x07',  // OSC 52: write the clipboard, ended by BEL
  'FAILED\rPAID OK',               // CR: overwrite what was printed
  'abc\u202edecaf',                // RLO: the rest reads backwards
  'x\u0085y\u2028z\u200bw\u2066q', // C1 NEL, line separator, zero-width space, isolate
].join(' | ');
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

describe('outside text shown to a person is escaped', () => {
  it('escapeControl turns every terminal- or reading-order-changing character into a visible escape', () => {
    const shown = escapeControl(HOSTILE);
    expect(shown).not.toMatch(RAW_CONTROL);
    expect(shown).not.toContain('\n');
    expect(shown).toContain('\\x1b[2K');
    expect(shown).toContain('\\x1b]52;c;cm0gLXJmIH4=\\x07');
    expect(shown).toContain('FAILED\\x0dPAID OK');
    expect(shown).toContain('abc\\u202edecaf');
    expect(shown).toContain('\\x85');
    expect(escapeControl('订单 P2026 正常 text')).toBe('订单 P2026 正常 text');
  });

  it('log lines carry such text escaped, and stay one valid JSON object per line', () => {
    const lines: string[] = [];
    jsonLogger((l) => lines.push(l)).warn('notification rejected', { reqSeqId: HOSTILE });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(lines[0]!).reqSeqId).toBe(HOSTILE);
  });

  it('`pnpm ops` prints stored samples and inbox text escaped', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const deps = buildDeps(loadConfig(validEnv()), { store, log: silentLogger });
    await store.recordRejection({ reason: 'bad_signature', at: 1_000_000, sample: `resp_data={"req_seq_id":"${HOSTILE}"}` }, REJECTION_LIMITS);
    await store.insertNotification({ id: 'f'.repeat(64), kind: 'pay', reqSeqId: HOSTILE, notifyType: 1, transStat: 'S', respData: '{}', sign: 's', outcome: 'rejected:unknown_order', receivedAt: 1, processedAt: 1 });
    const out: string[] = [];
    expect(await runOps(deps, ['rejections'], (l) => out.push(l))).toBe(0);
    expect(await runOps(deps, ['notifications'], (l) => out.push(l))).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/bad_signature {2}1$/m);
    expect(text).toContain('\\x1b]52;c;');
    expect(text).toContain('FAILED\\x0dPAID OK');
    expect(text).not.toMatch(RAW_CONTROL);
    await store.close();
  });
});
