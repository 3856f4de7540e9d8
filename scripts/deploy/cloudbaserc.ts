/**
 * `pnpm cloudbase:rc` writes cloudbaserc.json from the deployment plan, for people who deploy with the CloudBase CLI
 * (`tcb fn deploy --all`, `tcb deploy` for the gateway routes) instead of `pnpm deploy:cloudbase`. Values are CLI
 * placeholders ({{env.NAME}}), never secrets. A test keeps the committed file equal to what this renders.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cloudbasePlan } from './plan';

export const CLOUDBASERC_PATH = resolve(__dirname, '..', '..', 'cloudbaserc.json');

export function renderCloudbaserc(): string {
  const plan = cloudbasePlan();
  const rc = {
    version: '2.0',
    envId: '{{env.TCB_ENV}}',
    functionRoot: './cloudfunctions/dist',
    functions: plan.functions.map((f) => ({
      name: f.name,
      handler: f.handler,
      runtime: f.runtime,
      timeout: f.timeoutSeconds,
      memorySize: f.memoryMb,
      installDependency: f.installDependency,
      envVariables: Object.fromEntries(f.variables.map((name) => [name, name === 'STORE' ? 'cloudbase' : `{{env.${name}}}`])),
      ...(f.triggers.length ? { triggers: f.triggers } : {}),
    })),
    gateway: {
      routes: plan.routes.map((r) => ({ path: r.path, target: `function:${r.fn}`, enableAuth: r.enableAuth, enablePathTransmission: r.enablePathTransmission })),
    },
  };
  return JSON.stringify(rc, null, 2) + '\n';
}

if (require.main === module) {
  writeFileSync(CLOUDBASERC_PATH, renderCloudbaserc());
  process.stdout.write(`wrote ${CLOUDBASERC_PATH}\n`);
}
