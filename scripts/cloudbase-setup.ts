/**
 * `pnpm cloudbase:setup [--dry-run]`: creates the CloudBase collections and their indexes (the unique index on
 * orders.appRef is what makes "one order per ref" hold across function instances). Needs TCB_ENV,
 * TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY (from the environment or .env). Safe to run again.
 */
import { COLLECTIONS, QUERY_INDEXES, UNIQUE_INDEXES } from '../cloudfunctions/src/store/cloudbase';
import { loadDotEnv } from './lib/env-file';

export interface IndexPlan {
  collection: string;
  indexes: Array<{ IndexName: string; MgoKeySchema: { MgoIndexKeys: Array<{ Name: string; Direction: string }>; MgoIsUnique: boolean } }>;
}

export function setupPlan(): IndexPlan[] {
  return Object.values(COLLECTIONS).map((collection) => ({
    collection,
    indexes: [
      ...UNIQUE_INDEXES.filter((u) => u.collection === collection).map((u) => ({
        IndexName: `uniq_${u.field}`,
        MgoKeySchema: { MgoIndexKeys: [{ Name: u.field, Direction: '1' }], MgoIsUnique: true },
      })),
      ...QUERY_INDEXES.filter((q) => q.collection === collection).map((q) => ({
        IndexName: `idx_${q.fields.join('_')}`,
        MgoKeySchema: { MgoIndexKeys: q.fields.map((f) => ({ Name: f, Direction: '1' })), MgoIsUnique: false },
      })),
    ],
  }));
}

async function main(): Promise<void> {
  loadDotEnv();
  const plan = setupPlan();
  const dryRun = process.argv.includes('--dry-run');
  for (const p of plan) process.stdout.write(`${p.collection}: ${p.indexes.map((i) => i.IndexName + (i.MgoKeySchema.MgoIsUnique ? ' (unique)' : '')).join(', ') || 'no extra indexes'}\n`);
  if (dryRun) return;
  const { TCB_ENV: envId, TENCENTCLOUD_SECRETID: secretId, TENCENTCLOUD_SECRETKEY: secretKey } = process.env;
  if (!envId || !secretId || !secretKey) {
    process.stderr.write('cloudbase:setup needs TCB_ENV, TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY (a CAM key with CloudBase access); nothing was changed.\n');
    process.exit(2);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const CloudBase = require('@cloudbase/manager-node') as { init(config: object): { database: { createCollectionIfNotExists(name: string): Promise<unknown>; describeCollection(name: string): Promise<{ Indexes?: Array<{ Name: string }> }>; updateCollection(name: string, info: object): Promise<unknown> } } };
  const { database } = CloudBase.init({ envId, secretId, secretKey });
  for (const p of plan) {
    await database.createCollectionIfNotExists(p.collection);
    const existing = new Set(((await database.describeCollection(p.collection)).Indexes ?? []).map((i) => i.Name));
    const missing = p.indexes.filter((i) => !existing.has(i.IndexName));
    if (missing.length) await database.updateCollection(p.collection, { CreateIndexes: missing });
    process.stdout.write(`${p.collection}: ready (${missing.length} index${missing.length === 1 ? '' : 'es'} created)\n`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`cloudbase:setup failed: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
