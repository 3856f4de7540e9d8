/**
 * `pnpm deploy:cloudbase [--dry-run]`: the one deploy command. Validates .env.production as each function will load
 * it, builds the bundles, deploys the five functions (the declared runtime, each with only its own variables, the
 * reconcile timer), makes the collections server-only with their indexes, creates the HTTP routes (/huifu/notify →
 * payNotify, /merchant → merchant, authentication off) and prints the resulting URLs. `--dry-run` validates and
 * prints the whole plan, and changes nothing. Needs a CAM key (TENCENTCLOUD_SECRETID/SECRETKEY) and
 * CLOUDBASE_HTTP_DOMAIN in .env.production; neither is ever given to a function.
 */
import { buildFunctions, DIST } from '../cloudfunctions/build';
import { applyPlan, connectManager, DeployError, type CloudbaseManager } from './deploy/apply';
import { cloudbasePlan, describePlan } from './deploy/plan';
import { productionProblems, productionSettings, productionWarnings, type ProductionSettings } from './deploy/production';

export async function runDeploy(
  argv: string[],
  out: (line: string) => void,
  options: { settings?: ProductionSettings; manager?: CloudbaseManager; build?: typeof buildFunctions } = {},
): Promise<number> {
  const dryRun = argv.includes('--dry-run');
  const unknown = argv.filter((a) => a !== '--dry-run');
  if (unknown.length) {
    out(`deploy:cloudbase: unknown argument ${unknown[0]}; usage: pnpm deploy:cloudbase [--dry-run]`);
    return 2;
  }
  const settings = options.settings ?? productionSettings();
  const plan = cloudbasePlan();
  out(`configuration: ${settings.file ?? '(no .env.production)'}`);
  const problems = productionProblems(settings);
  for (const line of describePlan(plan, { envId: settings.envId, domain: settings.domain })) out(line);
  for (const w of productionWarnings(settings)) out(`warning: ${w}`);
  if (problems.length) {
    out(`the production configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:`);
    for (const p of problems) out(`  - ${p}`);
  }
  if (dryRun) {
    out(`dry run: nothing was changed${problems.length ? '; fix the problems above before deploying' : ''}`);
    return problems.length ? 1 : 0;
  }
  if (problems.length) return 1;
  if (!settings.credentials || !settings.domain) {
    out('deploy:cloudbase needs TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY (a CAM key with CloudBase access) and CLOUDBASE_HTTP_DOMAIN in .env.production; nothing was changed.');
    return 2;
  }
  const sizes = await (options.build ?? buildFunctions)(DIST);
  out(`built ${sizes.map((s) => `${s.name} ${(s.bytes / 1024).toFixed(0)} KiB`).join(', ')}`);
  const manager = options.manager ?? connectManager({ envId: settings.envId!, ...settings.credentials });
  try {
    await applyPlan(manager, plan, { envId: settings.envId!, domain: settings.domain, distDir: DIST, values: settings.values, log: out });
  } catch (error) {
    if (error instanceof DeployError) {
      out(`deploy:cloudbase: ${error.message}`);
      return 1;
    }
    throw error;
  }
  out('deployed:');
  for (const r of plan.routes) out(`  https://${settings.domain}${r.path}  →  ${r.fn}`);
  for (const w of productionWarnings(settings)) out(`warning: ${w}`);
  out('A WeChat DevTools upload of the functions sets no environment variables; deploy with this command, or set them in the console.');
  return 0;
}

if (require.main === module) {
  runDeploy(process.argv.slice(2), (line) => process.stdout.write(line + '\n')).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`deploy:cloudbase failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
