import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTIONS } from '../../cloudfunctions/build';

const root = join(__dirname, '../..');
const rc = JSON.parse(readFileSync(join(root, 'cloudbaserc.json'), 'utf8')) as {
  functionRoot: string;
  functions: Array<{ name: string; installDependency: boolean; handler: string; envVariables: Record<string, string>; triggers?: Array<{ type: string; config: string }> }>;
};
/** Every variable .env.example documents, as the deployed functions must receive it. */
const documented = readFileSync(join(root, '.env.example'), 'utf8')
  .split('\n')
  .map((line) => /^([A-Z_]+)=/.exec(line)?.[1])
  .filter((name): name is string => Boolean(name));

describe('cloudbaserc.json', () => {
  it('deploys every bundled function from cloudfunctions/dist without installing dependencies', () => {
    expect(rc.functionRoot).toBe('./cloudfunctions/dist');
    expect(rc.functions.map((f) => f.name).sort()).toEqual([...FUNCTIONS].sort());
    for (const f of rc.functions) expect([f.name, f.installDependency, f.handler]).toEqual([f.name, false, 'index.main']);
  });

  it('gives every function the variables the configuration needs, with the CloudBase store', () => {
    const needed = documented.filter((name) => !['SQLITE_PATH', 'SESSION_TTL_SECONDS', 'ORDER_TTL_MINUTES', 'MAX_ORDER_FEN', 'HTTP_TIMEOUT_MS', 'QUERY_AFTER_SECONDS', 'QUERY_MIN_INTERVAL_SECONDS', 'WX_API_BASE'].includes(name));
    for (const f of rc.functions) {
      for (const name of needed) expect([f.name, name, name in f.envVariables]).toEqual([f.name, name, true]);
      expect(f.envVariables.STORE).toBe('cloudbase');
    }
  });

  it('runs reconcile every minute', () => {
    expect(rc.functions.find((f) => f.name === 'reconcile')?.triggers).toEqual([{ name: 'everyMinute', type: 'timer', config: '0 * * * * * *' }]);
  });
});
