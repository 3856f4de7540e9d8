/**
 * Applies a deployment plan through @cloudbase/manager-node. Every step reads the current state first, so running
 * it again changes nothing that is already right; what it cannot put right by itself (an index of the same name with
 * other keys, a function created on another runtime) stops the run with what to do. The manager is reached through
 * the narrow interface below, so tests drive these steps against a recording fake.
 */
import type CloudBase from '@cloudbase/manager-node';
import type { CloudbasePlan, CollectionPlan, FunctionPlan, IndexSpec, RoutePlan } from './plan';

export interface ManagerIndex {
  Name: string;
  Keys?: Array<{ Name?: string; Direction?: string }>;
  Unique?: boolean;
}
export interface ManagerRoute {
  Path: string;
  UpstreamResourceType?: string;
  UpstreamResourceName?: string;
  EnableAuth?: boolean;
  EnablePathTransmission?: boolean;
}

/** The SDK's own parameter type for a method, so a call we make is checked against the real signature. */
type Param<S extends keyof CloudBase, M extends keyof CloudBase[S]> = CloudBase[S][M] extends (p: infer P, ...rest: never[]) => unknown ? P : never;

/**
 * The part of @cloudbase/manager-node 5.6 this uses: the SDK's parameter types, and only the answer fields we read
 * (so tests can stand in for it with small fakes).
 */
export interface CloudbaseManager {
  database: {
    createCollectionIfNotExists(name: string): Promise<unknown>;
    describeCollection(name: string): Promise<{ Indexes?: ManagerIndex[] }>;
    updateCollection(name: string, info: { CreateIndexes: Array<{ IndexName: string; MgoKeySchema: { MgoIndexKeys: Array<{ Name: string; Direction: string }>; MgoIsUnique: boolean } }> }): Promise<unknown>;
  };
  permission: {
    modifyResourcePermission(options: Param<'permission', 'modifyResourcePermission'> & { resourceType: 'collection'; resource: string; permission: 'ADMINONLY' }): Promise<unknown>;
    describeResourcePermission(options: Param<'permission', 'describeResourcePermission'> & { resourceType: 'collection'; resources: string[] }): Promise<{ Data: { PermissionList: Array<{ Resource?: string; Permission?: string }> } }>;
  };
  functions: {
    getFunctionDetail(name: string): Promise<{ Runtime?: string }>;
    createFunction(param: Param<'functions', 'createFunction'>): Promise<unknown>;
  };
  env: {
    describeHttpServiceRoute(params: Param<'env', 'describeHttpServiceRoute'>): Promise<{ Domains?: Array<{ Domain: string; Routes?: ManagerRoute[] }> }>;
    createHttpServiceRoute(params: Param<'env', 'createHttpServiceRoute'>): Promise<unknown>;
    modifyHttpServiceRoute(params: Param<'env', 'modifyHttpServiceRoute'>): Promise<unknown>;
  };
}

/** The real SDK must fit the interface above: a renamed method or a changed parameter fails `pnpm typecheck`, not a deploy. */
type FitsManager<T extends CloudbaseManager> = T;
export type ManagerSdk = FitsManager<CloudBase>;

export class DeployError extends Error {}

type Log = (line: string) => void;

const keysOf = (spec: IndexSpec) => spec.keys.map((k) => `${k.field}:${k.direction}`).join(',');
const keysOfExisting = (index: ManagerIndex) => (index.Keys ?? []).map((k) => `${k.Name}:${Number(k.Direction)}`).join(',');

/** Collections exist, carry their indexes, and are server-only; the permission is read back to be sure. */
export async function applyCollections(manager: CloudbaseManager, collections: CollectionPlan[], log: Log): Promise<void> {
  for (const collection of collections) {
    await manager.database.createCollectionIfNotExists(collection.name);
    const existing = (await manager.database.describeCollection(collection.name)).Indexes ?? [];
    const missing: IndexSpec[] = [];
    for (const index of collection.indexes) {
      const same = existing.find((e) => e.Name === index.name);
      if (!same) {
        missing.push(index);
      } else if (keysOfExisting(same) !== keysOf(index) || Boolean(same.Unique) !== index.unique) {
        throw new DeployError(
          `collection ${collection.name}: an index named ${index.name} exists with keys ${keysOfExisting(same) || '(none)'}${same.Unique ? ' unique' : ''}, ` +
            `but this version needs ${keysOf(index)}${index.unique ? ' unique' : ''}. Drop that index in the CloudBase console (数据库 → ${collection.name} → 索引管理) and run again; nothing else was changed in this collection.`,
        );
      }
    }
    if (missing.length) {
      await manager.database.updateCollection(collection.name, {
        CreateIndexes: missing.map((i) => ({
          IndexName: i.name,
          MgoKeySchema: { MgoIndexKeys: i.keys.map((k) => ({ Name: k.field, Direction: String(k.direction) })), MgoIsUnique: i.unique },
        })),
      });
    }
    await manager.permission.modifyResourcePermission({ resourceType: 'collection', resource: collection.name, permission: collection.permission });
    log(`  ${collection.name}: ready (${missing.length} index${missing.length === 1 ? '' : 'es'} created, permission ${collection.permission})`);
  }
  const names = collections.map((c) => c.name);
  const { Data } = await manager.permission.describeResourcePermission({ resourceType: 'collection', resources: names });
  const wrong = collections.filter((c) => Data.PermissionList.find((p) => p.Resource === c.name)?.Permission !== c.permission);
  if (wrong.length) {
    throw new DeployError(
      `permission read back is not ${wrong[0]!.permission} for ${wrong.map((c) => c.name).join(', ')}: money data would be reachable by clients. ` +
        'Set 数据库 → 权限设置 → 仅管理端可读写 (or a custom rule {"read": false, "write": false}) for them in the console, and run again.',
    );
  }
  log(`  permissions verified: ${names.join(', ')} are ADMINONLY`);
}

/** Creates or updates each function (code, configuration, variables, triggers) on the declared runtime. */
export async function applyFunctions(manager: CloudbaseManager, functions: FunctionPlan[], distDir: string, values: Record<string, string>, log: Log): Promise<void> {
  for (const f of functions) {
    let existingRuntime: string | null = null;
    try {
      existingRuntime = (await manager.functions.getFunctionDetail(f.name)).Runtime ?? null;
    } catch (error) {
      if (!/ResourceNotFound|not exist|不存在/i.test(`${(error as { code?: string }).code ?? ''} ${(error as Error).message}`)) throw error;
    }
    if (existingRuntime && existingRuntime !== f.runtime) {
      throw new DeployError(
        `function ${f.name} exists on ${existingRuntime}, and CloudBase cannot change a function's runtime; these bundles need ${f.runtime}. ` +
          `Delete it (console, or \`tcb fn delete ${f.name}\`) and deploy again.`,
      );
    }
    const envVariables: Record<string, string> = { STORE: 'cloudbase' };
    for (const name of f.variables) if (name !== 'STORE' && values[name]) envVariables[name] = values[name]!;
    await manager.functions.createFunction({
      func: {
        name: f.name,
        runtime: f.runtime,
        handler: f.handler,
        timeout: f.timeoutSeconds,
        memorySize: f.memoryMb,
        installDependency: false,
        envVariables,
        triggers: f.triggers,
        ignore: ['*.map'],
      },
      functionRootPath: distDir,
      force: true,
    });
    log(`  ${f.name}: deployed (${f.runtime}, ${Object.keys(envVariables).length} variables${f.triggers.length ? `, ${f.triggers.map((t) => `${t.type} ${t.config}`).join(', ')}` : ''})`);
  }
}

type RouteParam = NonNullable<Param<'env', 'createHttpServiceRoute'>['Domain']['Routes']>[number];

function routeParam(route: RoutePlan): RouteParam {
  return { Path: route.path, UpstreamResourceType: 'SCF', UpstreamResourceName: route.fn, EnableAuth: route.enableAuth, EnablePathTransmission: route.enablePathTransmission };
}

/** Creates the HTTP routes (or corrects them) on the domain, then reads them back. */
export async function applyRoutes(manager: CloudbaseManager, routes: RoutePlan[], envId: string, domain: string, log: Log): Promise<void> {
  const describe = async () =>
    (await manager.env.describeHttpServiceRoute({ EnvId: envId, Filters: [{ Name: 'Domain', Values: [domain] }] })).Domains?.find((d) => d.Domain === domain)?.Routes ?? [];
  const existing = await describe();
  for (const route of routes) {
    const wanted = routeParam(route);
    const found = existing.find((r) => r.Path === route.path);
    const same = found && found.UpstreamResourceType === 'SCF' && found.UpstreamResourceName === route.fn && found.EnableAuth === false && found.EnablePathTransmission === true;
    if (same) {
      log(`  ${route.path} → ${route.fn}: already in place`);
      continue;
    }
    const params = { EnvId: envId, Domain: { Domain: domain, Routes: [wanted] } };
    if (found) await manager.env.modifyHttpServiceRoute(params);
    else await manager.env.createHttpServiceRoute(params);
    log(`  ${route.path} → ${route.fn}: ${found ? 'corrected' : 'created'} (authentication off)`);
  }
  const after = await describe();
  for (const route of routes) {
    const r = after.find((x) => x.Path === route.path);
    if (!r || r.UpstreamResourceName !== route.fn || r.EnableAuth !== false) {
      throw new DeployError(`route ${route.path} on ${domain} does not read back as ${route.fn} with authentication off; check 环境 → HTTP 访问服务 in the console`);
    }
  }
}

export async function applyPlan(manager: CloudbaseManager, plan: CloudbasePlan, options: { envId: string; domain: string; distDir: string; values: Record<string, string>; log: Log }): Promise<void> {
  options.log('functions:');
  await applyFunctions(manager, plan.functions, options.distDir, options.values, options.log);
  options.log('collections:');
  await applyCollections(manager, plan.collections, options.log);
  options.log('HTTP routes:');
  await applyRoutes(manager, plan.routes, options.envId, options.domain, options.log);
}

/** The real manager-node client, with a CAM key (TENCENTCLOUD_SECRETID / TENCENTCLOUD_SECRETKEY). */
export function connectManager(settings: { envId: string; secretId: string; secretKey: string }): CloudbaseManager {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const CloudBase = require('@cloudbase/manager-node') as { init(config: object): CloudbaseManager };
  return CloudBase.init({ envId: settings.envId, secretId: settings.secretId, secretKey: settings.secretKey });
}
