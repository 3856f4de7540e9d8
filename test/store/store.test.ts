import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { COLLECTIONS, connectCloudbase, createCloudbaseStore, UNIQUE_INDEXES } from '../../cloudfunctions/src/store/cloudbase';
import { StoreUnavailableError } from '../../cloudfunctions/src/store/port';
import { openSqliteStore, SQLITE_SCHEMA_VERSION } from '../../cloudfunctions/src/store/sqlite';
import { createFakeCloudbase } from '../support/fake-cloudbase';
import { makeOrder } from '../support/fixtures';
import { describeIf } from '../support/skip';
import { describeStoreConformance } from './conformance';

describeStoreConformance('SQLite (:memory:)', async () => openSqliteStore({ path: ':memory:' }));
describeStoreConformance('CloudBase adapter on the recording fake', async () =>
  createCloudbaseStore(createFakeCloudbase({ uniqueIndexes: UNIQUE_INDEXES })),
);

const cloudbaseCredentials = Boolean(process.env.TCB_ENV && process.env.TENCENTCLOUD_SECRETID && process.env.TENCENTCLOUD_SECRETKEY);
describeIf(cloudbaseCredentials, 'TCB_ENV, TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY are not set', 'real CloudBase', () => {
  // Each test gets its own collections (a random prefix), created here; unique indexes on them are not created, so
  // the appRef duplicate test relies on `pnpm cloudbase:setup` having been run for the real collection names.
  describeStoreConformance(`CloudBase environment ${process.env.TCB_ENV}`, async () => {
    const db = connectCloudbase(process.env.TCB_ENV!) as ReturnType<typeof connectCloudbase> & { createCollection(name: string): Promise<unknown> };
    const prefix = `test_${randomBytes(4).toString('hex')}_`;
    for (const name of Object.values(COLLECTIONS)) await db.createCollection(prefix + name);
    return createCloudbaseStore(db, { prefix });
  });
});

describe('SQLite file store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cashier-sqlite-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates parent folders, uses WAL, and keeps data across reopen without re-running migrations', async () => {
    const path = join(dir, 'nested', 'cashier.db');
    const first = openSqliteStore({ path });
    const order = makeOrder();
    await first.insertOrder(order);
    await first.close();
    const second = openSqliteStore({ path });
    expect(await second.getOrder(order.orderNo)).toEqual(order);
    await second.close();
    const Database = require('better-sqlite3');
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get().n).toBe(SQLITE_SCHEMA_VERSION);
    raw.close();
  });
});

describe('CloudBase adapter wire behaviour', () => {
  it('does compare-and-set as where({_id, status, version}).update with a version increment', async () => {
    const fake = createFakeCloudbase({ uniqueIndexes: UNIQUE_INDEXES });
    const store = createCloudbaseStore(fake);
    const order = makeOrder();
    await store.insertOrder(order);
    fake.calls.length = 0;
    await store.updateOrder(order.orderNo, { status: 'CREATED', version: 1 }, { status: 'PAYING', updatedAt: 2 });
    const update = fake.calls.find((c) => c.action === 'where.update')!;
    expect(update.collection).toBe('orders');
    expect(update.filter).toEqual({ _id: order.orderNo, status: 'CREATED', version: 1 });
    expect(update.data).toMatchObject({ status: 'PAYING', updatedAt: 2 });
    expect((update.data as { version: { op: string; value: number } }).version).toMatchObject({ op: 'inc', value: 1 });
    // No transactions are used anywhere: single-document CAS only.
    expect(fake.calls.every((c) => ['add', 'doc.get', 'doc.update', 'where.get', 'where.update'].includes(c.action))).toBe(true);
  });

  it('stores orders under _id = order number', async () => {
    const fake = createFakeCloudbase();
    const order = makeOrder();
    await createCloudbaseStore(fake).insertOrder(order);
    expect(fake.docs('orders')[0]).toMatchObject({ _id: order.orderNo, appRef: order.appRef });
    expect(fake.docs('orders')[0]).not.toHaveProperty('orderNo');
  });

  it('turns an SDK failure into a retryable StoreUnavailableError', async () => {
    const fake = createFakeCloudbase();
    const store = createCloudbaseStore(fake);
    fake.failNext('doc.get', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const error = await store.getOrder('X0000000001').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryable).toBe(true);
  });
});
