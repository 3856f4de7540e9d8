/**
 * `pnpm cloudbase:setup [--dry-run]`: makes the CloudBase collections exist with their indexes and server-only
 * permissions (ADMINONLY, read back to verify). Safe to run again; refuses an existing index of the same name with
 * other keys. Needs TCB_ENV, TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY (a CAM key with CloudBase access) from
 * .env.production or the environment. `--dry-run` prints the whole deployment plan and changes nothing.
 * (`pnpm deploy:cloudbase` runs this step too.)
 */
import { applyCollections, connectManager, DeployError } from './deploy/apply';
import { cloudbasePlan, describePlan } from './deploy/plan';
import { productionSettings } from './deploy/production';

export async function runSetup(argv: string[], out: (line: string) => void, settings = productionSettings()): Promise<number> {
  const dryRun = argv.includes('--dry-run');
  const unknown = argv.filter((a) => a !== '--dry-run');
  if (unknown.length) {
    out(`cloudbase:setup: unknown argument ${unknown[0]}; usage: pnpm cloudbase:setup [--dry-run]`);
    return 2;
  }
  const plan = cloudbasePlan();
  if (dryRun) {
    for (const line of describePlan(plan, { envId: settings.envId, domain: settings.domain })) out(line);
    out('dry run: nothing was changed');
    return 0;
  }
  if (!settings.envId || !settings.credentials) {
    out('cloudbase:setup needs TCB_ENV, TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY (a CAM key with CloudBase access) in .env.production or the environment; nothing was changed.');
    return 2;
  }
  out(`collections in ${settings.envId}:`);
  try {
    await applyCollections(connectManager({ envId: settings.envId, ...settings.credentials }), plan.collections, out);
  } catch (error) {
    if (error instanceof DeployError) {
      out(`cloudbase:setup: ${error.message}`);
      return 1;
    }
    throw error;
  }
  return 0;
}

if (require.main === module) {
  runSetup(process.argv.slice(2), (line) => process.stdout.write(line + '\n')).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`cloudbase:setup failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
