import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { COLLECTIONS, connectCloudbase, createCloudbaseStore } from '../../cloudfunctions/src/store/cloudbase';
import type { Order } from '../../cloudfunctions/src/domain/types';
import { DuplicateError, StoreUnavailableError, type OrderEventInput, type Store } from '../../cloudfunctions/src/store/port';
import { openSqliteStore, SQLITE_SCHEMA_VERSION } from '../../cloudfunctions/src/store/sqlite';
import { startCloudbaseStore } from '../support/cloudbase';
import { makeOrder } from '../support/fixtures';
import { describeIf } from '../support/skip';
import { escapeRegExp } from '../support/text';
import { describeStoreConformance } from './conformance';

const created: OrderEventInput = { from: null, to: 'CREATED', source: 'api', at: 1, detail: 'created' };

describeStoreConformance('SQLite (:memory:)', async () => openSqliteStore({ path: ':memory:' }));
describeStoreConformance('CloudBase adapter, real node-sdk, loopback stand-in of the database API', async () => {
  const { store, close } = await startCloudbaseStore();
  const closeStore = store.close.bind(store);
  return Object.assign(store, { close: async () => (await closeStore(), await close()) });
});

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
    await first.insertOrder(order, { from: null, to: 'CREATED', source: 'api', at: 1, detail: 'created' });
    await first.close();
    const second = openSqliteStore({ path });
    expect(await second.getOrder(order.orderNo)).toEqual(order);
    await second.close();
    const Database = require('better-sqlite3');
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get().n).toBe(SQLITE_SCHEMA_VERSION);
    expect(raw.prepare('SELECT MIN(version) AS lo, MAX(version) AS hi FROM schema_migrations').get()).toEqual({ lo: 1, hi: SQLITE_SCHEMA_VERSION });
    raw.close();
  });

  it('names SQLITE_PATH and the full path when the database cannot be opened', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(() => openSqliteStore({ path: join(relative(process.cwd(), dir), 'a-file', 'cashier.db') })).toThrow(new RegExp(`cannot open the SQLite database at ${escapeRegExp(join(file, 'cashier.db'))} \\(SQLITE_PATH`));
  });

  it('prepares each distinct statement once', async () => {
    const prepared: string[] = [];
    const store = openSqliteStore({ path: ':memory:', onStatement: (text) => prepared.push(text) });
    await store.getOrder('X0000000001');
    const once = prepared.length;
    await store.getOrder('X0000000002');
    await store.getOrder('X0000000003');
    expect(prepared).toHaveLength(once);
    await store.close();
  });

  it('refuses a field it has no column for, rather than dropping it', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const order = makeOrder();
    await store.insertOrder(order, created);
    await expect(store.updateOrder(order, { updatedAt: 2, bogus: 1 } as never)).rejects.toThrow('orders: unknown field bogus');
    expect(await store.getOrder(order.orderNo)).toEqual(order);
    await store.close();
  });

  it('reports a constraint failure that is not a duplicate as itself, not as a DuplicateError', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const error = await store.insertOrder(makeOrder({ status: 'BOGUS' as never }), created).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(DuplicateError);
    expect(error).toMatchObject({ code: 'SQLITE_CONSTRAINT_CHECK', message: expect.stringContaining('CHECK constraint failed') });
    await store.close();
  });

  it('lists webhooks with no filter, newest first', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const hook = (id: string, createdAt: number) => ({ id, event: 'order.paid', orderNo: 'P1', payload: '{}', status: 'PENDING' as const, attempts: 0, nextAttemptAt: 0, lastError: null, version: 1, createdAt, updatedAt: createdAt });
    await store.insertWebhook(hook('wh_a', 1));
    await store.insertWebhook(hook('wh_b', 2));
    expect((await store.listWebhooks({ limit: 10 })).map((w) => w.id)).toEqual(['wh_b', 'wh_a']);
    await store.close();
  });

  it('answers nothing after it is closed', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    await store.close();
    await expect(store.getOrder('X0000000001')).rejects.toThrow(/not open/);
  });
});

describe('SQLite transactions are isolated from other requests on the same connection', () => {
  // The notification handler's unit of work awaits store calls; each await lets other requests' pending continuations
  // run. Their statements must not join the open transaction: they would be rolled back with it after their caller
  // was told they succeeded (a PAYING → PAID that Huifu was acked for, gone), and reads would see uncommitted rows.
  /** An in-memory store holding two CREATED orders, closed after `run`. */
  async function withOrders(run: (store: Store, first: Order, second: Order) => Promise<void>) {
    const store = openSqliteStore({ path: ':memory:' });
    try {
      const [first, second] = [makeOrder(), makeOrder()];
      for (const order of [first, second]) await store.insertOrder(order, created);
      await run(store, first, second);
    } finally {
      await store.close();
    }
  }

  it('a write another request makes while a transaction is open survives that transaction\'s rollback', async () => {
    await withOrders(async (store, mine, theirs) => {
      const failing = store.inTransaction(async () => {
        await store.updateOrder(mine, { status: 'PAYING', updatedAt: 2 });
        await store.getOrder(mine.orderNo);
        throw new Error('the unit fails after the other request wrote');
      });
      // Another request: one store call, then a write; its continuation lands between the unit's awaits.
      const theirsWrite = (async () => {
        const current = (await store.getOrder(theirs.orderNo))!;
        return store.updateOrder(current, { status: 'PAYING', updatedAt: 2 }, { from: 'CREATED', to: 'PAYING', source: 'api', at: 2, detail: 'placed' });
      })();
      await expect(failing).rejects.toThrow('the unit fails');
      expect(await theirsWrite).toMatchObject({ status: 'PAYING', version: 2 });
      expect(await store.getOrder(theirs.orderNo)).toMatchObject({ status: 'PAYING', version: 2 });
      expect((await store.listOrderEvents(theirs.orderNo)).map((e) => e.to)).toEqual(['CREATED', 'PAYING']);
      expect(await store.getOrder(mine.orderNo)).toMatchObject({ status: 'CREATED', version: 1 });
    });
  });

  it('a chain left over from a finished transaction does not write inside the next one', async () => {
    await withOrders(async (store, first, second) => {
      let leftover!: Promise<unknown>;
      let go!: () => void;
      const later = new Promise<void>((resolve) => (go = resolve));
      await store.inTransaction(async () => {
        // Started inside the first transaction, it writes only after that one has committed.
        leftover = later.then(() => store.updateOrder(first, { status: 'PAYING', updatedAt: 2 }));
      });
      const failing = store.inTransaction(async () => {
        await store.updateOrder(second, { status: 'PAYING', updatedAt: 2 });
        go();
        await store.getOrder(second.orderNo);
        await store.getOrder(second.orderNo);
        throw new Error('the second transaction fails');
      });
      await expect(failing).rejects.toThrow('the second transaction fails');
      expect(await leftover).toMatchObject({ status: 'PAYING' });
      expect(await store.getOrder(first.orderNo)).toMatchObject({ status: 'PAYING', version: 2 });
      expect(await store.getOrder(second.orderNo)).toMatchObject({ status: 'CREATED', version: 1 });
    });
  });

  it('a nested unit joins the open transaction: it commits with it and rolls back with it', async () => {
    await withOrders(async (store, first, second) => {
      await store.inTransaction(async () => {
        await store.updateOrder(first, { status: 'PAYING', updatedAt: 2 });
        await store.inTransaction(async () => {
          await store.updateOrder(second, { status: 'PAYING', updatedAt: 2 });
        });
      });
      expect(await store.getOrder(second.orderNo)).toMatchObject({ status: 'PAYING' });
      const paying = (await store.getOrder(first.orderNo))!;
      await expect(
        store.inTransaction(async () => {
          await store.inTransaction(async () => {
            await store.updateOrder(paying, { status: 'PAID', updatedAt: 3 });
          });
          throw new Error('the outer unit fails');
        }),
      ).rejects.toThrow('the outer unit fails');
      expect(await store.getOrder(first.orderNo)).toMatchObject({ status: 'PAYING', version: 2 });
    });
  });

  it('a unit started by a chain left over from a finished transaction is a transaction of its own', async () => {
    await withOrders(async (store, first) => {
      let leftover!: Promise<unknown>;
      let go!: () => void;
      const later = new Promise<void>((resolve) => (go = resolve));
      await store.inTransaction(async () => {
        leftover = later.then(() =>
          store.inTransaction(async () => {
            await store.updateOrder(first, { status: 'PAYING', updatedAt: 2 });
            throw new Error('the leftover unit fails');
          }),
        );
      });
      go();
      await expect(leftover).rejects.toThrow('the leftover unit fails');
      expect(await store.getOrder(first.orderNo)).toMatchObject({ status: 'CREATED', version: 1 });
    });
  });

  it('another request never reads what an open transaction has not committed', async () => {
    await withOrders(async (store, order) => {
      const failing = store.inTransaction(async () => {
        await store.updateOrder(order, { status: 'PAYING', updatedAt: 2 });
        await store.getOrder(order.orderNo);
        throw new Error('rolled back');
      });
      const read = (async () => {
        await store.getUser('o_someone');
        return store.getOrder(order.orderNo);
      })();
      await expect(failing).rejects.toThrow('rolled back');
      expect(await read).toMatchObject({ status: 'CREATED', version: 1 });
    });
  });
});

describe('CloudBase adapter wire behaviour (real SDK, stand-in)', () => {
  /** A store over the real SDK and the stand-in, closed after `run`. */
  async function withCloudbase(run: (s: Awaited<ReturnType<typeof startCloudbaseStore>>) => Promise<void>) {
    const started = await startCloudbaseStore();
    try {
      await run(started);
    } finally {
      await started.close();
    }
  }
  const actions = (standin: { requests: Array<{ action: string }> }, from: number) => standin.requests.slice(from).map((r) => r.action.replace('database.', ''));

  it('does compare-and-set as one where({_id, status, version}).update with a version increment', () =>
    withCloudbase(async ({ store, standin }) => {
      const order = makeOrder();
      await store.insertOrder(order, created);
      standin.requests.length = 0;
      await store.updateOrder(order, { status: 'PAYING', updatedAt: 2 }, { from: 'CREATED', to: 'PAYING', source: 'api', at: 2, detail: 'placed' });
      // One round trip: the caller's order is the expectation, so nothing is read first.
      expect(standin.requests.map((r) => r.action)).toEqual(['database.modifyDocument']);
      const update = standin.requests[0]!;
      expect(update.collection).toBe('orders');
      expect(update.query).toEqual({ _id: order.orderNo, status: 'CREATED', version: 1 });
      expect(update.data).toMatchObject({ $set: { status: 'PAYING', updatedAt: 2 }, $inc: { version: 1 }, $push: { events: { $each: [{ to: 'PAYING', detail: 'placed' }] } } });
      // No transactions anywhere: single-document CAS only.
      expect(standin.requests.every((r) => !/Transaction/.test(r.action))).toBe(true);
    }));

  it('replaces object fields whole: pay_info set on an order whose pay_info is null', () =>
    withCloudbase(async ({ store, standin }) => {
      const order = makeOrder();
      await store.insertOrder(order, created);
      const payInfo = { timeStamp: '1', nonceStr: 'n', package: 'prepay_id=x', signType: 'RSA' as const, paySign: 's' };
      expect(await store.updateOrder(order, { status: 'PAYING', payInfo, updatedAt: 2 })).toMatchObject({ payInfo });
      expect((await store.getOrder(order.orderNo))!.payInfo).toEqual(payInfo);
      const update = standin.requests.filter((r) => r.action === 'database.modifyDocument').pop()!;
      expect(update.data).toMatchObject({ $set: { payInfo } });
    }));

  it('stores orders under _id = order number', () =>
    withCloudbase(async ({ store, standin }) => {
      const order = makeOrder();
      await store.insertOrder(order, created);
      expect(standin.docs('orders')[0]).toMatchObject({ _id: order.orderNo, appRef: order.appRef, events: [created] });
      expect(standin.docs('orders')[0]).not.toHaveProperty('orderNo');
    }));

  it('turns a database failure into a retryable StoreUnavailableError', () =>
    withCloudbase(async ({ store, standin }) => {
      standin.failNext('database.getDocument', { code: 'SYS_ERR', message: 'backend busy' });
      const error = await store.getOrder('X0000000001').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).retryable).toBe(true);
      expect((error as Error).message).toBe('CloudBase get orders failed: SYS_ERR');
    }));

  it('a failed insert is an unavailable store, never taken for a duplicate', () =>
    withCloudbase(async ({ store, standin }) => {
      standin.failNext('database.insertDocument', { code: 'DATABASE_TIMEOUT', message: 'timed out' });
      await expect(store.insertOrder(makeOrder(), created)).rejects.toMatchObject({ constructor: StoreUnavailableError, message: 'CloudBase add orders failed: DATABASE_TIMEOUT' });
      standin.failNext('database.insertDocument', { code: 'DATABASE_TIMEOUT', message: 'timed out' });
      const notification = { id: 'n'.repeat(64), kind: 'pay' as const, reqSeqId: 'P1', notifyType: 1, transStat: 'S', respData: '{}', sign: 's', outcome: 'applied', receivedAt: 1, processedAt: 1 };
      await expect(store.insertNotification(notification)).rejects.toMatchObject({ constructor: StoreUnavailableError, message: 'CloudBase add notifications failed: DATABASE_TIMEOUT' });
      expect(standin.docs('notifications')).toEqual([]);
      await expect(store.insertNotification(notification)).resolves.toBe('inserted');
      await expect(store.insertNotification(notification)).resolves.toBe('exists');
    }));

  it('records a returning user\'s login in one update, and a first login that races another as that user\'s login', () =>
    withCloudbase(async ({ store, standin, openAnother }) => {
      await store.recordLogin({ openid: 'o_a', appid: 'wx1', at: 1 });
      const before = standin.requests.length;
      await store.recordLogin({ openid: 'o_a', appid: 'wx2', at: 5 });
      expect(actions(standin, before)).toEqual(['modifyDocument']);
      expect(await store.getUser('o_a')).toEqual({ openid: 'o_a', appid: 'wx2', firstLoginAt: 1, lastLoginAt: 5 });
      // Another first login (another function instance) creates the user between our update and our insert.
      const other = openAnother();
      standin.beforeNext('database.insertDocument', () => other.recordLogin({ openid: 'o_b', appid: 'wx1', at: 7 }));
      await store.recordLogin({ openid: 'o_b', appid: 'wx1', at: 9 });
      expect(await store.getUser('o_b')).toEqual({ openid: 'o_b', appid: 'wx1', firstLoginAt: 7, lastLoginAt: 9 });
      standin.failNext('database.insertDocument', { code: 'DATABASE_TIMEOUT', message: 'timed out' });
      await expect(store.recordLogin({ openid: 'o_c', appid: 'wx1', at: 8 })).rejects.toBeInstanceOf(StoreUnavailableError);
    }));

  it('counts a rejection whose first count raced another as one more', () =>
    withCloudbase(async ({ store, standin, openAnother }) => {
      const limits = { keepHours: 48, samplesPerReason: 5 };
      // Another instance counts the first rejection of this hour between our update and our insert.
      const other = openAnother();
      standin.beforeNext('database.insertDocument', () => other.recordRejection({ reason: 'bad_signature', at: 3_600_000, sample: 'x' }, limits));
      await store.recordRejection({ reason: 'bad_signature', at: 3_600_001, sample: 'y' }, limits);
      // With the hour's count in place, one more is a single update: no insert tried and refused on the way.
      const third = standin.requests.length;
      await store.recordRejection({ reason: 'bad_signature', at: 3_600_002, sample: 'z' }, limits);
      expect(standin.requests.slice(third).filter((r) => r.collection === 'notification_rejections' && JSON.stringify(r.data).includes('count:'))).toEqual([]);
      expect(actions(standin, third)[0]).toBe('modifyDocument');
      const { counts } = await store.listRejections();
      expect(counts.filter((c) => c.reason === 'bad_signature')).toEqual([{ reason: 'bad_signature', hour: 3_600_000, count: 3 }]);
      standin.failNext('database.insertDocument', { code: 'DATABASE_TIMEOUT', message: 'timed out' });
      await expect(store.recordRejection({ reason: 'malformed', at: 3_600_000, sample: 'x' }, limits)).rejects.toBeInstanceOf(StoreUnavailableError);
    }));

  it('pushes no audit event when the update carries none', () =>
    withCloudbase(async ({ store, standin }) => {
      const order = makeOrder();
      await store.insertOrder(order, created);
      await store.updateOrder(order, { lastQueriedAt: 3, updatedAt: 3 });
      const update = standin.requests.at(-1)!;
      expect(update.data).not.toHaveProperty('$push');
      expect(await store.listOrderEvents(order.orderNo)).toHaveLength(1);
    }));

  it('addresses the environment it was given, signed with the configured SecretId', () =>
    withCloudbase(async ({ store, standin }) => {
      await store.getOrder('X0000000001');
      expect(standin.requests.at(-1)).toMatchObject({ envName: expect.stringMatching(/^standin-[0-9a-f]{6}$/), secretId: process.env.TENCENTCLOUD_SECRETID });
    }));
});
