import type { AppWebhook, InboxNotification, Order, OrderEvent, Refund, User } from '../domain/types';
import {
  assertOrderInvariants,
  DuplicateError,
  REFUNDABLE_STATUSES,
  StoreUnavailableError,
  type OrderQuery,
  type Store,
} from './port';

/**
 * The CloudBase document-database adapter, written against the small part of @cloudbase/node-sdk's `Db` it uses
 * (so tests can run it against a recording fake). Facts it relies on (../shared/docs/reference/cloudbase.md):
 * - `where({_id, status, version}).update(...)` is one atomic modifyDocument; `updated === 1` means we won the CAS.
 *   Every CAS update also bumps `version`, so it always modifies something (`updated` counts modified documents).
 * - A unique-index or `_id` clash throws `{ code: 'DATABASE_DUPLICATE_WRITE' }`.
 * - `where().update()` inside a transaction is sent outside it, so no transactions are used: single-document CAS only.
 * - node-sdk's update takes the fields directly (not `{ data: ... }`), and flattens a plain object value into dotted
 *   paths (`payInfo.timeStamp`): a merge, which MongoDB refuses when the stored field is null. Object values are
 *   therefore written with `_.set(value)`, which replaces the field whole.
 */
export interface CbCommand {
  in(values: unknown[]): unknown;
  eq(value: unknown): unknown;
  neq(value: unknown): unknown;
  lt(value: unknown): unknown;
  lte(value: unknown): unknown;
  gt(value: unknown): unknown;
  gte(value: unknown): unknown;
  and(conditions: object[]): object;
  or(conditions: object[]): object;
  inc(by: number): unknown;
  /** Replaces a field's whole value (a plain object given to update() is merged field by field instead). */
  set(value: unknown): unknown;
}
export interface CbResultList {
  data: Array<Record<string, unknown>>;
}
export interface CbQuery {
  where(query: object): CbQuery;
  orderBy(field: string, direction: 'asc' | 'desc'): CbQuery;
  limit(n: number): CbQuery;
  get(): Promise<CbResultList>;
  update(data: object): Promise<{ updated: number }>;
}
export interface CbDocument {
  get(): Promise<CbResultList>;
  update(data: object): Promise<{ updated: number }>;
}
export interface CbCollection extends CbQuery {
  doc(id: string): CbDocument;
  add(data: object): Promise<{ id?: string }>;
}
export interface CbDatabase {
  collection(name: string): CbCollection;
  command: CbCommand;
}

export const COLLECTIONS = {
  users: 'users',
  orders: 'orders',
  orderEvents: 'order_events',
  notifications: 'notifications',
  refunds: 'refunds',
  appWebhooks: 'app_webhooks',
} as const;

/** Unique indexes beyond `_id`, created by `pnpm cloudbase:setup`. */
export const UNIQUE_INDEXES: Array<{ collection: string; field: string }> = [{ collection: COLLECTIONS.orders, field: 'appRef' }];
/** Plain indexes for the queries below. */
export const QUERY_INDEXES: Array<{ collection: string; fields: string[] }> = [
  { collection: COLLECTIONS.orders, fields: ['openid', 'createdAt'] },
  { collection: COLLECTIONS.orders, fields: ['status', 'createdAt'] },
  { collection: COLLECTIONS.orderEvents, fields: ['orderNo', 'at'] },
  { collection: COLLECTIONS.notifications, fields: ['reqSeqId', 'receivedAt'] },
  { collection: COLLECTIONS.refunds, fields: ['orderNo', 'createdAt'] },
  { collection: COLLECTIONS.refunds, fields: ['status', 'updatedAt'] },
  { collection: COLLECTIONS.appWebhooks, fields: ['status', 'nextAttemptAt'] },
];

/** Bound on CAS retries of reserve/release; each lost round means another writer made progress. */
const MAX_CAS_ROUNDS = 100;

function isDuplicate(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'DATABASE_DUPLICATE_WRITE';
}

function toDoc<T extends object>(key: keyof T, record: T): Record<string, unknown> {
  const { [key]: id, ...rest } = record as Record<string, unknown>;
  return { _id: id, ...rest };
}
function fromDoc<T>(key: string, doc: Record<string, unknown> | undefined): T | null {
  if (!doc) return null;
  const { _id, ...rest } = doc;
  return { [key]: _id, ...rest } as T;
}

export interface CloudbaseStoreOptions {
  /** Prefix for every collection name; the conformance suite uses a fresh one per test against a real environment. */
  prefix?: string;
}

export function createCloudbaseStore(db: CbDatabase, options: CloudbaseStoreOptions = {}): Store {
  const _ = db.command;
  const col = (name: string) => db.collection((options.prefix ?? '') + name);

  /** Wraps SDK failures: duplicates become DuplicateError, everything else a retryable StoreUnavailableError. */
  async function run<T>(what: string, op: () => Promise<T>, onDuplicate?: () => Promise<DuplicateError>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      if (isDuplicate(error) && onDuplicate) throw await onDuplicate();
      if (error instanceof DuplicateError) throw error;
      throw new StoreUnavailableError(`CloudBase ${what} failed: ${(error as { code?: string })?.code ?? (error as Error)?.message}`, error);
    }
  }
  async function getDoc<T>(collection: string, key: string, id: string): Promise<T | null> {
    const res = await run(`get ${collection}`, () => col(collection).doc(id).get());
    return fromDoc<T>(key, res.data[0]);
  }
  async function list<T>(key: string, query: CbQuery): Promise<T[]> {
    const res = await run('query', () => query.get());
    return res.data.map((d) => fromDoc<T>(key, d)!);
  }
  /** Object-valued fields replace the stored value instead of merging into it (see above). */
  function updateData(patch: object): Record<string, unknown> {
    const data: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(patch)) {
      data[field] = value !== null && typeof value === 'object' && !Array.isArray(value) ? _.set(value) : value;
    }
    return data;
  }
  async function casUpdate(collection: string, filter: object, patch: object): Promise<boolean> {
    const res = await run(`update ${collection}`, () => col(collection).where(filter).update({ ...updateData(patch), version: _.inc(1) }));
    return res.updated === 1;
  }
  /** Read-check-CAS loop on `version`, for changes whose condition spans fields (CloudBase has no cross-field where). */
  async function casLoop(orderNo: string, change: (order: Order) => Partial<Order> | null): Promise<boolean> {
    for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
      const order = await getDoc<Order>(COLLECTIONS.orders, 'orderNo', orderNo);
      if (!order) return false;
      const patch = change(order);
      if (!patch) return false;
      assertOrderInvariants({ ...order, ...patch });
      if (await casUpdate(COLLECTIONS.orders, { _id: orderNo, version: order.version }, patch)) return true;
    }
    throw new StoreUnavailableError(`Order ${orderNo}: gave up after ${MAX_CAS_ROUNDS} contended updates`);
  }

  return {
    async recordLogin({ openid, appid, at }) {
      const existing = await getDoc<User>(COLLECTIONS.users, 'openid', openid);
      if (existing) {
        await run('update users', () => col(COLLECTIONS.users).doc(openid).update({ lastLoginAt: at, appid }));
        return;
      }
      try {
        await run('add users', () => col(COLLECTIONS.users).add({ _id: openid, appid, firstLoginAt: at, lastLoginAt: at }), async () => new DuplicateError('users', 'openid'));
      } catch (error) {
        // Two first logins at once: the other one created the user; record this login on it.
        if (!(error instanceof DuplicateError)) throw error;
        await run('update users', () => col(COLLECTIONS.users).doc(openid).update({ lastLoginAt: at }));
      }
    },
    getUser: (openid) => getDoc<User>(COLLECTIONS.users, 'openid', openid),

    async insertOrder(order) {
      assertOrderInvariants(order);
      await run(
        'add orders',
        () => col(COLLECTIONS.orders).add(toDoc('orderNo', order)),
        async () => new DuplicateError('orders', (await getDoc(COLLECTIONS.orders, 'orderNo', order.orderNo)) ? 'orderNo' : 'appRef'),
      );
    },
    getOrder: (orderNo) => getDoc<Order>(COLLECTIONS.orders, 'orderNo', orderNo),
    async getOrderByRef(appRef) {
      const [order] = await list<Order>('orderNo', col(COLLECTIONS.orders).where({ appRef }).limit(1));
      return order ?? null;
    },
    async updateOrder(orderNo, expected, patch) {
      const current = await getDoc<Order>(COLLECTIONS.orders, 'orderNo', orderNo);
      if (!current || current.status !== expected.status || current.version !== expected.version) return false;
      assertOrderInvariants({ ...current, ...patch });
      return casUpdate(COLLECTIONS.orders, { _id: orderNo, status: expected.status, version: expected.version }, patch);
    },
    reserveRefund(orderNo, amountFen, at) {
      return casLoop(orderNo, (order) =>
        REFUNDABLE_STATUSES.includes(order.status) && order.amountFen - order.refundedFen - order.refundReservedFen >= amountFen
          ? { refundReservedFen: order.refundReservedFen + amountFen, updatedAt: at }
          : null,
      );
    },
    async releaseRefund(orderNo, amountFen, at) {
      await casLoop(orderNo, (order) => ({ refundReservedFen: Math.max(order.refundReservedFen - amountFen, 0), updatedAt: at }));
    },
    listOrdersByOpenid(openid, { limit, before }) {
      const filter = before
        ? _.or([
            { openid, createdAt: _.lt(before.createdAt) },
            { openid, createdAt: before.createdAt, _id: _.lt(before.orderNo) },
          ])
        : { openid };
      return list<Order>('orderNo', col(COLLECTIONS.orders).where(filter).orderBy('createdAt', 'desc').orderBy('_id', 'desc').limit(limit));
    },
    findOrders(query: OrderQuery) {
      const conditions: object[] = [{ status: _.in(query.statuses) }];
      if (query.createdBefore !== undefined) conditions.push({ createdAt: _.lt(query.createdBefore) });
      if (query.expiresBefore !== undefined) conditions.push({ expiresAt: _.lt(query.expiresBefore) });
      if (query.notQueriedSince !== undefined) {
        conditions.push(_.or([{ lastQueriedAt: null }, { lastQueriedAt: _.lt(query.notQueriedSince) }]));
      }
      return list<Order>('orderNo', col(COLLECTIONS.orders).where(_.and(conditions)).orderBy('createdAt', 'asc').limit(query.limit));
    },

    async appendOrderEvent(event: OrderEvent) {
      await run('add order_events', () => col(COLLECTIONS.orderEvents).add({ ...event }));
    },
    async listOrderEvents(orderNo) {
      const res = await run('query order_events', () => col(COLLECTIONS.orderEvents).where({ orderNo }).orderBy('at', 'asc').limit(1000).get());
      return res.data.map(({ _id, ...event }) => event as unknown as OrderEvent);
    },

    async insertNotification(notification) {
      await run('add notifications', () => col(COLLECTIONS.notifications).add(toDoc('id', notification)), async () => new DuplicateError('notifications', 'id'));
    },
    getNotification: (id) => getDoc<InboxNotification>(COLLECTIONS.notifications, 'id', id),
    async updateNotification(id, patch) {
      await run('update notifications', () => col(COLLECTIONS.notifications).doc(id).update({ ...patch }));
    },
    listNotifications({ reqSeqId, limit }) {
      const base = col(COLLECTIONS.notifications);
      const query = reqSeqId ? base.where({ reqSeqId }) : base;
      return list<InboxNotification>('id', query.orderBy('receivedAt', 'desc').limit(limit));
    },

    async insertRefund(refund) {
      await run('add refunds', () => col(COLLECTIONS.refunds).add(toDoc('refundNo', refund)), async () => new DuplicateError('refunds', 'refundNo'));
    },
    getRefund: (refundNo) => getDoc<Refund>(COLLECTIONS.refunds, 'refundNo', refundNo),
    listRefundsByOrder(orderNo) {
      return list<Refund>('refundNo', col(COLLECTIONS.refunds).where({ orderNo }).orderBy('createdAt', 'asc').limit(1000));
    },
    updateRefund(refundNo, expected, patch) {
      return casUpdate(COLLECTIONS.refunds, { _id: refundNo, status: expected.status, version: expected.version }, patch);
    },
    findRefunds({ statuses, updatedBefore, limit }) {
      return list<Refund>(
        'refundNo',
        col(COLLECTIONS.refunds).where({ status: _.in(statuses), updatedAt: _.lt(updatedBefore) }).orderBy('updatedAt', 'asc').limit(limit),
      );
    },

    async insertWebhook(webhook) {
      await run('add app_webhooks', () => col(COLLECTIONS.appWebhooks).add(toDoc('id', webhook)), async () => new DuplicateError('app_webhooks', 'id'));
    },
    getWebhook: (id) => getDoc<AppWebhook>(COLLECTIONS.appWebhooks, 'id', id),
    updateWebhook(id, expectedVersion, patch) {
      return casUpdate(COLLECTIONS.appWebhooks, { _id: id, version: expectedVersion }, patch);
    },
    findWebhooksDue(now, limit) {
      return list<AppWebhook>(
        'id',
        col(COLLECTIONS.appWebhooks).where({ status: 'PENDING', nextAttemptAt: _.lte(now) }).orderBy('nextAttemptAt', 'asc').limit(limit),
      );
    },
    listWebhooks({ orderNo, limit }) {
      const base = col(COLLECTIONS.appWebhooks);
      return list<AppWebhook>('id', (orderNo ? base.where({ orderNo }) : base).orderBy('createdAt', 'desc').limit(limit));
    },

    async close() {
      /* the SDK keeps no connection to close */
    },
  };
}

/**
 * Connects the real SDK. In a cloud function the platform supplies credentials and the environment; `serviceUrl`
 * points the SDK elsewhere (tests use a loopback stand-in of the database API).
 */
export function connectCloudbase(envId: string, options: { serviceUrl?: string } = {}): CbDatabase {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tcb = require('@cloudbase/node-sdk') as { init(options: object): { database(): CbDatabase } };
  const secretId = process.env.TENCENTCLOUD_SECRETID;
  const secretKey = process.env.TENCENTCLOUD_SECRETKEY;
  const init: Record<string, unknown> = { env: envId, timeout: 10_000 };
  if (secretId && secretKey) Object.assign(init, { secretId, secretKey, sessionToken: process.env.TENCENTCLOUD_SESSIONTOKEN });
  if (options.serviceUrl) init.serviceUrl = options.serviceUrl;
  return tcb.init(init).database();
}
