import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { variablesFor } from '../../cloudfunctions/src/config';
import { ESBUILD_TARGET, FUNCTION_NAMES, RUNTIME } from '../../cloudfunctions/src/functions/manifest';
import { COLLECTIONS } from '../../cloudfunctions/src/store/cloudbase';
import { runSetup } from '../../scripts/cloudbase-setup';
import { applyCollections, applyFunctions, applyPlan, applyRoutes, DeployError, type CloudbaseManager, type ManagerIndex, type ManagerRoute } from '../../scripts/deploy/apply';
import { renderCloudbaserc } from '../../scripts/deploy/cloudbaserc';
import { cloudbasePlan } from '../../scripts/deploy/plan';
import type { ProductionSettings } from '../../scripts/deploy/production';
import { runDeploy } from '../../scripts/deploy-cloudbase';
import { makeKeyPair } from '../support/keys';

const root = join(__dirname, '../..');

describe('one runtime, declared once', () => {
  it('cloudbaserc.json is exactly what the manifest renders (run `pnpm cloudbase:rc` after changing the manifest)', () => {
    expect(readFileSync(join(root, 'cloudbaserc.json'), 'utf8')).toBe(renderCloudbaserc());
  });

  it('the runtime, the esbuild target and @types/node name the same Node line', () => {
    const [major, minor] = RUNTIME.node.split('.');
    expect(RUNTIME.cloudbase).toBe(`Nodejs${major}.${minor}`);
    expect(ESBUILD_TARGET).toBe(`node${major}.${minor}`);
    const typesNode = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@types/node'];
    expect(typesNode).toMatch(new RegExp(`^~${major}\\.${minor}\\.`));
    expect(Number(major)).toBeGreaterThanOrEqual(20); // fetch, AbortSignal.timeout and URL.canParse exist from 20 on
  });
});

const keys = { merchant: makeKeyPair(), huifu: makeKeyPair() };
function production(overrides: Record<string, string> = {}, settings: Partial<ProductionSettings> = {}): ProductionSettings {
  return {
    file: '/repo/.env.production',
    envId: 'prod-1a2b',
    domain: 'pay.example.com',
    credentials: { secretId: 'AKIDexample', secretKey: 'example-key' },
    values: {
      WX_APPID: 'wx0123456789abcdef',
      WX_SECRET: 'app-secret',
      HUIFU_SYS_ID: '6666000100000001',
      HUIFU_PRODUCT_ID: 'PAYUN',
      HUIFU_ID: '6666000100000001',
      HUIFU_MERCHANT_PRIVATE_KEY: keys.merchant.privateKey,
      HUIFU_PUBLIC_KEY: keys.huifu.publicKey,
      HUIFU_NOTIFY_URL: 'https://pay.example.com/huifu/notify',
      SESSION_SECRET: 's'.repeat(40),
      CHECKOUT_SECRET: 'c'.repeat(40),
      MERCHANT_API_SECRET: 'm'.repeat(40),
      APP_WEBHOOK_URL: 'https://app.example.com/hooks/cashier',
      APP_WEBHOOK_SECRET: 'w'.repeat(40),
      STORE: 'cloudbase',
      TCB_ENV: 'prod-1a2b',
      ...overrides,
    },
    ...settings,
  };
}

async function capture(run: (out: (line: string) => void) => Promise<number>): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await run((l) => lines.push(l));
  return { code, text: lines.join('\n') };
}

describe('pnpm deploy:cloudbase --dry-run', () => {
  it('prints the whole plan: five functions on the runtime with their own variables, the timer, both routes, every collection server-only', async () => {
    const { code, text } = await capture((out) => runDeploy(['--dry-run'], out, { settings: production() }));
    expect(code).toBe(0);
    for (const fn of FUNCTION_NAMES) expect(text).toMatch(new RegExp(`^  ${fn}: ${RUNTIME.cloudbase}, \\d+ s, 256 MB`, 'm'));
    // The exact variable list per function, names only.
    const payNotify = /^ {2}payNotify:.*\n {4}variables: (.*)$/m.exec(text)![1]!;
    expect(payNotify).toBe('STORE=cloudbase, HUIFU_ID, HUIFU_PUBLIC_KEY, APP_WEBHOOK_URL, TCB_ENV');
    expect(text).toMatch(/reconcile:[\s\S]*trigger: timer "everyMinute" 0 \* \* \* \* \* \*/);
    expect(text).toMatch(/\/huifu\/notify → payNotify {2}\(https:\/\/pay\.example\.com\/huifu\/notify\)/);
    expect(text).toMatch(/\/merchant → merchant/);
    expect(text).toMatch(/authentication off/);
    for (const name of Object.values(COLLECTIONS)) expect(text).toMatch(new RegExp(`^  ${name}: ADMINONLY \\(no client read or write\\)`, 'm'));
    expect(text).toMatch(/orders: .*uniq_appRef\(appRef asc, unique\)/);
    expect(text).toMatch(/dry run: nothing was changed$/);
    expect(text).not.toContain('s'.repeat(40)); // names only, never values
    expect(text).not.toContain(keys.merchant.privateKey.slice(0, 40));
  });

  it('lists every production problem at once and fails', async () => {
    const { code, text } = await capture((out) =>
      runDeploy(['--dry-run'], out, { settings: production({ STORE: 'sqlite', HUIFU_API_BASE: 'http://127.0.0.1:8789', SESSION_SECRET: 'short', HUIFU_ID: '' }) }),
    );
    expect(code).toBe(1);
    expect(text).toMatch(/STORE: is sqlite in \.env\.production/);
    expect(text).toMatch(/HUIFU_API_BASE: points at 127\.0\.0\.1:8789, which a deployed function \(or Huifu\) cannot reach/);
    expect(text).toMatch(/SESSION_SECRET: must be at least 32 characters/);
    expect(text).toMatch(/HUIFU_ID: missing/);
    expect(text).toMatch(/dry run: nothing was changed; fix the problems above/);
  });

  it('warns when HUIFU_NOTIFY_URL does not match the payNotify route, and refuses unknown arguments', async () => {
    const { text } = await capture((out) => runDeploy(['--dry-run'], out, { settings: production({ HUIFU_NOTIFY_URL: 'https://old.example.com/notify' }) }));
    expect(text).toMatch(/warning: HUIFU_NOTIFY_URL is https:\/\/old\.example\.com\/notify, but the payNotify route will be https:\/\/pay\.example\.com\/huifu\/notify/);
    expect((await capture((out) => runDeploy(['--yes'], out, { settings: production() }))).code).toBe(2);
  });

  it('cloudbase:setup --dry-run prints the same plan and changes nothing', async () => {
    const { code, text } = await capture((out) => runSetup(['--dry-run'], out, production()));
    expect(code).toBe(0);
    expect(text).toMatch(/orders: ADMINONLY/);
    expect(text).toMatch(/dry run: nothing was changed/);
  });
});

/** An in-memory CloudBase management API: what the deploy reads and writes, recorded. */
function fakeManager(initial: { indexes?: Record<string, ManagerIndex[]>; runtimes?: Record<string, string>; routes?: ManagerRoute[]; permission?: string } = {}) {
  const calls: string[] = [];
  const indexes: Record<string, ManagerIndex[]> = { ...initial.indexes };
  const permissions: Record<string, string> = {};
  const runtimes: Record<string, string> = { ...initial.runtimes };
  const functions: Record<string, Parameters<CloudbaseManager['functions']['createFunction']>[0]['func']> = {};
  let routes: ManagerRoute[] = [...(initial.routes ?? [])];
  const manager: CloudbaseManager = {
    database: {
      async createCollectionIfNotExists(name) {
        indexes[name] ??= [];
        return {};
      },
      async describeCollection(name) {
        return { Indexes: indexes[name] ?? [] };
      },
      async updateCollection(name, info) {
        calls.push(`index ${name} ${info.CreateIndexes.map((i) => i.IndexName).join(',')}`);
        for (const i of info.CreateIndexes) indexes[name]!.push({ Name: i.IndexName, Keys: i.MgoKeySchema.MgoIndexKeys, Unique: i.MgoKeySchema.MgoIsUnique });
        return {};
      },
    },
    permission: {
      async modifyResourcePermission(o) {
        calls.push(`permission ${o.resource} ${o.permission}`);
        permissions[o.resource] = initial.permission ?? o.permission;
        return {};
      },
      async describeResourcePermission(o) {
        return { Data: { PermissionList: o.resources.map((r) => ({ Resource: r, Permission: permissions[r] ?? 'PRIVATE' })) } };
      },
    },
    functions: {
      async getFunctionDetail(name) {
        if (!runtimes[name]) throw Object.assign(new Error(`function ${name} not exist`), { code: 'ResourceNotFound.Function' });
        return { Runtime: runtimes[name] };
      },
      async createFunction({ func }) {
        calls.push(`function ${String(func.name)}`);
        functions[String(func.name)] = func;
        runtimes[String(func.name)] = String(func.runtime);
        return {};
      },
    },
    env: {
      async describeHttpServiceRoute() {
        return { Domains: [{ Domain: 'pay.example.com', Routes: routes }] };
      },
      async createHttpServiceRoute({ Domain }) {
        calls.push(`route create ${(Domain.Routes ?? []).map((r) => r.Path).join(',')}`);
        routes = [...routes, ...(Domain.Routes ?? [])];
        return {};
      },
      async modifyHttpServiceRoute({ Domain }) {
        calls.push(`route modify ${(Domain.Routes ?? []).map((r) => r.Path).join(',')}`);
        routes = routes.map((r) => Domain.Routes?.find((n) => n.Path === r.Path) ?? r);
        return {};
      },
    },
  };
  return { manager, calls, functions, permissions, routes: () => routes };
}

describe('applying the plan (against a recording stand-in of manager-node)', () => {
  const plan = cloudbasePlan();
  const log = () => undefined;

  it('creates indexes and makes every collection ADMINONLY, verified; a second run creates nothing', async () => {
    const fake = fakeManager();
    await applyCollections(fake.manager, plan.collections, log);
    expect(fake.calls.filter((c) => c.startsWith('index')).length).toBeGreaterThan(0);
    expect(Object.values(fake.permissions)).toEqual(plan.collections.map(() => 'ADMINONLY'));
    fake.calls.length = 0;
    await applyCollections(fake.manager, plan.collections, log);
    expect(fake.calls.filter((c) => c.startsWith('index'))).toEqual([]);
  });

  it('refuses an existing index of the same name with other keys, naming it', async () => {
    const fake = fakeManager({ indexes: { orders: [{ Name: 'uniq_appRef', Keys: [{ Name: 'openid', Direction: '1' }], Unique: true }] } });
    await expect(applyCollections(fake.manager, plan.collections, log)).rejects.toThrow(/orders: an index named uniq_appRef exists with keys openid:1 unique, but this version needs appRef:1 unique/);
  });

  it('fails when the permission does not read back as ADMINONLY', async () => {
    const fake = fakeManager({ permission: 'PRIVATE' });
    await expect(applyCollections(fake.manager, plan.collections, log)).rejects.toBeInstanceOf(DeployError);
  });

  it('deploys each function with only its own variables, on the declared runtime, with the timer', async () => {
    const fake = fakeManager();
    const values = production().values;
    await applyFunctions(fake.manager, plan.functions, '/dist', values, log);
    for (const fn of FUNCTION_NAMES) {
      const given = Object.keys(fake.functions[fn]!.envVariables as object).sort();
      expect([fn, given]).toEqual([fn, variablesFor(fn).filter((v) => v !== 'SQLITE_PATH' && (v === 'STORE' || values[v])).sort()]);
      expect(fake.functions[fn]).toMatchObject({ runtime: RUNTIME.cloudbase, installDependency: false });
    }
    expect(fake.functions.payNotify!.envVariables).not.toHaveProperty('HUIFU_MERCHANT_PRIVATE_KEY');
    expect(fake.functions.reconcile!.triggers).toEqual([{ name: 'everyMinute', type: 'timer', config: '0 * * * * * *' }]);
  });

  it('refuses to deploy over a function created on another runtime', async () => {
    const fake = fakeManager({ runtimes: { login: 'Nodejs16.13' } });
    await expect(applyFunctions(fake.manager, plan.functions, '/dist', production().values, log)).rejects.toThrow(/function login exists on Nodejs16\.13, and CloudBase cannot change a function's runtime/);
    expect(fake.calls).toEqual([]);
  });

  it('creates both HTTP routes with authentication off, corrects a wrong one, and is idempotent', async () => {
    const fake = fakeManager({ routes: [{ Path: '/merchant', UpstreamResourceType: 'SCF', UpstreamResourceName: 'merchant', EnableAuth: true, EnablePathTransmission: true }] });
    await applyRoutes(fake.manager, plan.routes, 'prod-1a2b', 'pay.example.com', log);
    expect(fake.calls).toEqual(['route create /huifu/notify', 'route modify /merchant']);
    expect(fake.routes().every((r) => r.EnableAuth === false)).toBe(true);
    fake.calls.length = 0;
    await applyRoutes(fake.manager, plan.routes, 'prod-1a2b', 'pay.example.com', log);
    expect(fake.calls).toEqual([]);
  });

  it('the whole deploy (without --dry-run) builds, deploys, secures and prints the URLs', async () => {
    const fake = fakeManager();
    const { code, text } = await capture((out) => runDeploy([], out, { settings: production(), manager: fake.manager, build: async () => [] }));
    expect(code).toBe(0);
    expect(text).toMatch(/https:\/\/pay\.example\.com\/huifu\/notify {2}→ {2}payNotify/);
    expect(text).toMatch(/permissions verified/);
    expect(fake.calls.filter((c) => c.startsWith('function'))).toHaveLength(5);
    await applyPlan(fake.manager, plan, { envId: 'prod-1a2b', domain: 'pay.example.com', distDir: '/dist', values: production().values, log });
  });
});
