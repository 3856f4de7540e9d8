import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** miniprogram-ci's offline compile plus the Linux wcc, on the real project (scripts/mp-check.ts). */
describe('mini-program compile check', () => {
  it('compiles offline, passes wcc and keeps the main package under 2 MB', () => {
    const root = join(__dirname, '../..');
    const out = execFileSync(join(root, 'node_modules/.bin/tsx'), ['scripts/mp-check.ts'], { cwd: root, encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const compiled = /compile OK: (\d+) files, (\d+) bytes/.exec(out);
    expect(compiled).not.toBeNull();
    const bytes = Number(compiled![2]);
    console.log(`mini-program main package: ${bytes} bytes in ${compiled![1]} files (limit 2097152)`);
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
    expect(out).toContain('wcc OK');
  }, 180_000);
});
