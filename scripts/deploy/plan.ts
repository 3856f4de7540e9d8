/**
 * What a CloudBase deployment consists of, derived from the one table in cloudfunctions/src/functions/manifest.ts and
 * the CloudBase adapter's collections and indexes: the five functions (runtime, timeout, their own variables, the
 * timer), the HTTP routes (authentication off; Huifu and the app backend sign their requests), and every collection
 * made server-only (no client read or write) with its indexes. `pnpm deploy:cloudbase`, `pnpm cloudbase:setup` and
 * cloudbaserc.json all come from here, so they cannot drift apart.
 */
import { variablesFor, type VariableName } from '../../cloudfunctions/src/config';
import { FUNCTION_NAMES, FUNCTIONS, RUNTIME, type FunctionName } from '../../cloudfunctions/src/functions/manifest';
import { COLLECTIONS, QUERY_INDEXES, UNIQUE_INDEXES } from '../../cloudfunctions/src/store/cloudbase';

export interface IndexSpec {
  name: string;
  keys: Array<{ field: string; direction: 1 | -1 }>;
  unique: boolean;
}

export interface CollectionPlan {
  name: string;
  /** ADMINONLY: only server code (admin SDKs) reads or writes; mini-program and web clients can do neither. */
  permission: 'ADMINONLY';
  indexes: IndexSpec[];
}

export interface FunctionPlan {
  name: FunctionName;
  runtime: string;
  handler: 'index.main';
  timeoutSeconds: number;
  memoryMb: number;
  installDependency: false;
  /** The variables this function is given (and nothing else: CloudBase replaces a function's variables whole). */
  variables: VariableName[];
  triggers: Array<{ name: string; type: 'timer'; config: string }>;
}

export interface RoutePlan {
  path: string;
  fn: FunctionName;
  enableAuth: false;
  /** The function receives the full path (/merchant/orders/…), as the local stack's emulation does. */
  enablePathTransmission: true;
}

export interface CloudbasePlan {
  collections: CollectionPlan[];
  functions: FunctionPlan[];
  routes: RoutePlan[];
}

/** Variables a deployed function never needs: on CloudBase the store is the document database. */
const LOCAL_ONLY: readonly VariableName[] = ['SQLITE_PATH'];

export function deployedVariables(fn: FunctionName): VariableName[] {
  return variablesFor(fn).filter((name) => !LOCAL_ONLY.includes(name));
}

export function indexesOf(collection: string): IndexSpec[] {
  return [
    ...UNIQUE_INDEXES.filter((u) => u.collection === collection).map((u) => ({ name: `uniq_${u.field}`, keys: [{ field: u.field, direction: 1 as const }], unique: true })),
    ...QUERY_INDEXES.filter((q) => q.collection === collection).map((q) => ({
      name: `idx_${q.fields.map((f) => f.replace(/^-/, '')).join('_')}`,
      keys: q.fields.map((f) => ({ field: f.replace(/^-/, ''), direction: f.startsWith('-') ? (-1 as const) : (1 as const) })),
      unique: false,
    })),
  ];
}

export function cloudbasePlan(): CloudbasePlan {
  return {
    collections: Object.values(COLLECTIONS).map((name) => ({ name, permission: 'ADMINONLY', indexes: indexesOf(name) })),
    functions: FUNCTION_NAMES.map((name) => {
      const spec = FUNCTIONS[name];
      return {
        name,
        runtime: RUNTIME.cloudbase,
        handler: 'index.main',
        timeoutSeconds: spec.timeoutSeconds,
        memoryMb: spec.memoryMb,
        installDependency: false,
        variables: deployedVariables(name),
        triggers: spec.invocation.by === 'timer' ? [spec.invocation.trigger] : [],
      };
    }),
    routes: FUNCTION_NAMES.flatMap((fn) => {
      const invocation = FUNCTIONS[fn].invocation;
      return invocation.by === 'http' ? [{ path: invocation.route, fn, enableAuth: false as const, enablePathTransmission: true as const }] : [];
    }),
  };
}

/** The plan as lines a person reads (variable names only, never values). */
export function describePlan(plan: CloudbasePlan, context: { envId: string | null; domain: string | null }): string[] {
  const lines: string[] = [];
  lines.push(`CloudBase environment: ${context.envId ?? '(TCB_ENV not set)'}`);
  lines.push('functions (runtime, timeout, memory, variables, triggers):');
  for (const f of plan.functions) {
    lines.push(`  ${f.name}: ${f.runtime}, ${f.timeoutSeconds} s, ${f.memoryMb} MB, installDependency false`);
    lines.push(`    variables: STORE=cloudbase, ${f.variables.filter((v) => v !== 'STORE').join(', ')}`);
    for (const t of f.triggers) lines.push(`    trigger: ${t.type} "${t.name}" ${t.config}`);
  }
  lines.push(`HTTP routes (domain ${context.domain ?? '(CLOUDBASE_HTTP_DOMAIN not set)'}, authentication off, path transmission on):`);
  for (const r of plan.routes) lines.push(`  ${r.path} → ${r.fn}${context.domain ? `  (https://${context.domain}${r.path})` : ''}`);
  lines.push('collections (permission, indexes):');
  for (const c of plan.collections) {
    const indexes = c.indexes.map((i) => `${i.name}(${i.keys.map((k) => `${k.field} ${k.direction === 1 ? 'asc' : 'desc'}`).join(', ')}${i.unique ? ', unique' : ''})`);
    lines.push(`  ${c.name}: ${c.permission} (no client read or write); indexes: ${indexes.join(', ') || 'none beyond _id'}`);
  }
  return lines;
}
