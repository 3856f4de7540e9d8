import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../../scripts/demo';

describe('pnpm demo', () => {
  it('runs the whole flow on a fresh data folder, refund step included, and reports every step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cashier-demo-'));
    let output = '';
    try {
      await runDemo({ dataDir: dir, write: (text) => void (output += text) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(output).toMatch(/fn order\.create\s+Huifu T_MINIAPP order placed/);
    expect(output).toMatch(/refund=RF\d+ amount=¥5\.00 → PENDING/);
    expect(output).toMatch(/trans_stat S, acked → refund SUCCEEDED/);
    expect(output).toMatch(/order\.paid ✓, order\.partially_refunded ✓, refund\.succeeded ✓/);
    expect(output).toMatch(/fn order\.cancel\s+close sent to Huifu → P\s+close=C\w+ answer: CLOSING, order still PAYING/);
    expect(output).toMatch(/fn reconcile\s+close query, same request → S\s+Huifu calls: close → closeQuery; order CLOSED/);
    expect(output).toMatch(/\(cancelled\) history:[\s\S]*close C\w+ sent to Huifu[\s\S]*close query C\w+: close SUCCEEDED[\s\S]*PAYING +→ CLOSED/);
    expect(output).toMatch(/demo passed: 21 steps/);
  });
});
