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

describe('release check (pnpm mp:check --release)', () => {
  const { releaseProblems } = require('../../scripts/mp-check') as typeof import('../../scripts/mp-check');

  it('refuses a build with no CloudBase environment or the tourist AppID, naming the file to fix', () => {
    const problems = releaseProblems({ appid: 'touristappid' }, { cloudEnv: '' });
    expect(problems).toEqual([expect.stringMatching(/^miniprogram\/config\.ts: cloudEnv is empty/), expect.stringMatching(/^project\.config\.json: appid is "touristappid"/)]);
    expect(releaseProblems({ appid: 'wx0123456789abcdef' }, { cloudEnv: ' ' })).toHaveLength(1);
  });

  it('passes a build that names its AppID and environment', () => {
    expect(releaseProblems({ appid: 'wx0123456789abcdef' }, { cloudEnv: 'prod-1a2b3c' })).toEqual([]);
  });

  it('the shipped config is the development one: `pnpm mp:check --release` exits 1 until it is filled in', () => {
    const root = join(__dirname, '../..');
    let status = 0;
    let out = '';
    try {
      execFileSync(join(root, 'node_modules/.bin/tsx'), ['scripts/mp-check.ts', '--release'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      status = (error as { status: number }).status;
      out = String((error as { stdout: string }).stdout);
    }
    expect(status).toBe(1);
    expect(out).toContain('not releasable: miniprogram/config.ts: cloudEnv is empty');
  });
});
