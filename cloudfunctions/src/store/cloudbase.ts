import type tcb from '@cloudbase/node-sdk';
import { reconcileDueAt } from '../domain/order-state';
import type { AppWebhook, InboxNotification, Order, OrderEvent, Refund, User } from '../domain/types';
import { assertOrderInvariants, DuplicateError, hourOf, sampleSlot, StoreUnavailableError, type OrderCursor, type Store } from './port';

/**
 * The CloudBase document-database adapter, written against the small part of @cloudbase/node-sdk's `Db` it uses
 * (so tests can run it against a recording fake). Facts it relies on (../shared/docs/reference/cloudbase.md):
 * - `where({_id, status, version}).update(...)` is one atomic modifyDocument; `updated === 1` means we won the CAS.
 *   Every CAS update also bumps `version`, so it always modifies something (`updated` counts modified documents).
 * - A unique-index or `_id` clash throws `{ code: 'DATABASE_DUPLICATE_WRITE' }`.
 * - `where().update()` inside a transaction is sent outside it, so no transactions are used: single-document CAS only.
 * - An order's audit events live in the order document (an `events` array), pushed in the same update as the state
 *   change they record: atomic without a transaction, and one round trip instead of two.
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
  push(value: unknown): unknown;
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
  remove(): Promise<{ deleted: number }>;
}
export interface CbDocument {
  get(): Promise<CbResultList>;
  update(data: object): Promise<{ updated: number }>;
  /** Replaces the document whole, creating it when absent. */
  set(data: object): Promise<{ updated: number }>;
}
export interface CbCollection extends CbQuery {
  doc(id: string): CbDocument;
  add(data: object): Promise<{ id?: string }>;
}
export interface CbDatabase {
  collection(name: string): CbCollection;
  command: CbCommand;
}

/** The real SDK's database must fit the interfaces above: a drift in node-sdk fails `pnpm typecheck`, not production. */
type FitsDatabase<T extends CbDatabase> = T;
export type NodeSdkDatabase = FitsDatabase<ReturnType<ReturnType<typeof tcb.init>['database']>>;

export const COLLECTIONS = {
  users: 'users',
  orders: 'orders',
  notifications: 'notifications',
  notificationRejections: 'notification_rejections',
  refunds: 'refunds',
  appWebhooks: 'app_webhooks',
} as const;

/** Unique indexes beyond `_id`, created by `pnpm cloudbase:setup`. */
export const UNIQUE_INDEXES: Array<{ collection: string; field: string }> = [{ collection: COLLECTIONS.orders, field: 'appRef' }];
/** Plain indexes for the queries below, one per query shape ("-field": descending). */
export const QUERY_INDEXES: Array<{ collection: string; fields: string[] }> = [
  { collection: COLLECTIONS.orders, fields: ['openid', '-createdAt', '-_id'] },
  { collection: COLLECTIONS.orders, fields: ['status', '-createdAt', '-_id'] },
  { collection: COLLECTIONS.orders, fields: ['-createdAt', '-_id'] },
  { collection: COLLECTIONS.orders, fields: ['dueAt', '_id'] },
  { collection: COLLECTIONS.orders, fields: ['refundReservedFen', 'updatedAt'] },
  { collection: COLLECTIONS.orders, fields: ['flags', '-createdAt'] },
  { collection: COLLECTIONS.notifications, fields: ['reqSeqId', '-receivedAt'] },
  { collection: COLLECTIONS.notifications, fields: ['-receivedAt'] },
  { collection: COLLECTIONS.notificationRejections, fields: ['reason', 'kind', 'hour'] },
  { collection: COLLECTIONS.notificationRejections, fields: ['kind', '-hour'] },
  { collection: COLLECTIONS.notificationRejections, fields: ['kind', '-at'] },
  { collection: COLLECTIONS.refunds, fields: ['orderNo', 'createdAt'] },
  { collection: COLLECTIONS.refunds, fields: ['status', 'updatedAt'] },
  { collection: COLLECTIONS.appWebhooks, fields: ['status', 'nextAttemptAt'] },
  { collection: COLLECTIONS.appWebhooks, fields: ['orderNo', '-createdAt'] },
  { collection: COLLECTIONS.appWebhooks, fields: ['status', '-createdAt'] },
];

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
      throw new StoreUnavailableError(`CloudBase ${what} failed: ${(error as { code?: string })?.code ?? (error as Error)?.message}`, error);
    }
  }
  /** For documents written twice on purpose (Huifu's retries, deterministic outbox ids). */
  async function addUnlessExists(collection: string, doc: Record<string, unknown>): Promise<'inserted' | 'exists'> {
    try {
      await col(collection).add(doc);
      return 'inserted';
    } catch (error) {
      if (isDuplicate(error)) return 'exists';
      throw new StoreUnavailableError(`CloudBase add ${collection} failed: ${(error as { code?: string })?.code ?? (error as Error)?.message}`, error);
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
  /** Orders carry reconcile's due time and their events as stored fields; neither is part of an Order. */
  const orderFrom = (doc: Record<string, unknown> | undefined): Order | null => {
    const order = fromDoc<Order & { dueAt?: unknown; events?: unknown }>('orderNo', doc);
    if (order) {
      delete order.dueAt;
      delete order.events;
    }
    return order;
  };
  async function listOrdersWhere(query: CbQuery): Promise<Order[]> {
    const res = await run('query orders', () => query.get());
    return res.data.map((d) => orderFrom(d)!);
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
  const cursorQuery = (filter: Record<string, unknown>, limit: number, before?: OrderCursor) =>
    col(COLLECTIONS.orders)
      .where(before ? _.or([{ ...filter, createdAt: _.lt(before.createdAt) }, { ...filter, createdAt: before.createdAt, _id: _.lt(before.orderNo) }]) : filter)
      .orderBy('createdAt', 'desc')
      .orderBy('_id', 'desc')
      .limit(limit);

  return {
    async recordLogin({ openid, appid, at }) {
      const updated = await run('update users', () => col(COLLECTIONS.users).doc(openid).update({ lastLoginAt: at, appid }));
      if (updated.updated === 1) return;
      try {
        await run('add users', () => col(COLLECTIONS.users).add({ _id: openid, appid, firstLoginAt: at, lastLoginAt: at }), async () => new DuplicateError('users', 'openid'));
      } catch (error) {
        // Two first logins at once: the other one created the user; record this login on it.
        if (!(error instanceof DuplicateError)) throw error;
        await run('update users', () => col(COLLECTIONS.users).doc(openid).update({ lastLoginAt: at }));
      }
    },
    getUser: (openid) => getDoc<User>(COLLECTIONS.users, 'openid', openid),

    async insertOrder(order, event) {
      assertOrderInvariants(order);
      await run(
        'add orders',
        () => col(COLLECTIONS.orders).add({ ...toDoc('orderNo', order), dueAt: reconcileDueAt(order), events: [event] }),
        async () => new DuplicateError('orders', (await getDoc(COLLECTIONS.orders, 'orderNo', order.orderNo)) ? 'orderNo' : 'appRef'),
      );
    },
    async getOrder(orderNo) {
      const res = await run('get orders', () => col(COLLECTIONS.orders).doc(orderNo).get());
      return orderFrom(res.data[0]);
    },
    async getOrderByRef(appRef) {
      const [order] = await listOrdersWhere(col(COLLECTIONS.orders).where({ appRef }).limit(1));
      return order ?? null;
    },
    async updateOrder(current, patch, event) {
      const next: Order = { ...current, ...patch, version: current.version + 1 };
      assertOrderInvariants(next);
      const data: Record<string, unknown> = { ...updateData(patch), dueAt: reconcileDueAt(next), version: _.inc(1) };
      if (event) data.events = _.push(event);
      const res = await run('update orders', () => col(COLLECTIONS.orders).where({ _id: current.orderNo, status: current.status, version: current.version }).update(data));
      return res.updated === 1 ? next : null;
    },
    listOrdersByOpenid(openid, { limit, before }) {
      return listOrdersWhere(cursorQuery({ openid }, limit, before));
    },
    findDueOrders(now, limit) {
      return listOrdersWhere(col(COLLECTIONS.orders).where({ dueAt: _.lte(now) }).orderBy('dueAt', 'asc').orderBy('_id', 'asc').limit(limit));
    },
    findOrdersWithReservations(before, limit) {
      return listOrdersWhere(col(COLLECTIONS.orders).where({ refundReservedFen: _.gt(0), updatedAt: _.lt(before) }).orderBy('updatedAt', 'asc').limit(limit));
    },
    listOrders({ status, flag, limit, before }) {
      const filter: Record<string, unknown> = {};
      if (status) filter.status = status;
      if (flag) filter.flags = flag; // an array field matches when it holds the value
      return listOrdersWhere(cursorQuery(filter, limit, before));
    },

    async appendOrderEvent({ orderNo, ...event }: OrderEvent) {
      await run('update orders', () => col(COLLECTIONS.orders).doc(orderNo).update({ events: _.push(event) }));
    },
    async listOrderEvents(orderNo) {
      const res = await run('get orders', () => col(COLLECTIONS.orders).doc(orderNo).get());
      const events = (res.data[0]?.events ?? []) as Array<Omit<OrderEvent, 'orderNo'>>;
      return events.map((event) => ({ orderNo, ...event }));
    },

    insertNotification: (notification) => addUnlessExists(COLLECTIONS.notifications, toDoc('id', notification)),
    getNotification: (id) => getDoc<InboxNotification>(COLLECTIONS.notifications, 'id', id),
    async updateNotification(id, expectedOutcome, patch) {
      const res = await run('update notifications', () => col(COLLECTIONS.notifications).where({ _id: id, outcome: expectedOutcome }).update({ ...patch }));
      return res.updated === 1;
    },
    listNotifications({ reqSeqId, limit }) {
      const base = col(COLLECTIONS.notifications);
      const query = reqSeqId ? base.where({ reqSeqId }) : base;
      return list<InboxNotification>('id', query.orderBy('receivedAt', 'desc').limit(limit));
    },

    async recordRejection({ reason, at, sample }, { keepHours, samplesPerReason }) {
      const rejections = () => col(COLLECTIONS.notificationRejections);
      const hour = hourOf(at);
      const countId = `count:${reason}:${hour}`;
      const counted = await run('update notification_rejections', () => rejections().doc(countId).update({ count: _.inc(1), at }));
      if (counted.updated !== 1) {
        try {
          await run('add notification_rejections', () => rejections().add({ _id: countId, reason, kind: 'count', hour, count: 1, at }), async () => new DuplicateError('notification_rejections', 'id'));
          // A new hour for this reason: drop the hours past the window, so the counts stay bounded.
          await run('remove notification_rejections', () => rejections().where({ reason, kind: 'count', hour: _.lt(hour - keepHours * 3_600_000) }).remove());
        } catch (error) {
          if (!(error instanceof DuplicateError)) throw error;
          await run('update notification_rejections', () => rejections().doc(countId).update({ count: _.inc(1), at }));
        }
      }
      const slot = sampleSlot(at, samplesPerReason);
      await run('set notification_rejections', () => rejections().doc(`sample:${reason}:${slot}`).set({ reason, kind: 'sample', at, sample }));
    },
    async listRejections() {
      const counts = await run('query notification_rejections', () =>
        col(COLLECTIONS.notificationRejections).where({ kind: 'count' }).orderBy('hour', 'desc').limit(1000).get(),
      );
      const samples = await run('query notification_rejections', () =>
        col(COLLECTIONS.notificationRejections).where({ kind: 'sample' }).orderBy('at', 'desc').limit(1000).get(),
      );
      return {
        counts: counts.data.map((d) => ({ reason: String(d.reason), hour: Number(d.hour), count: Number(d.count) })),
        samples: samples.data.map((d) => ({ reason: String(d.reason), at: Number(d.at), sample: String(d.sample) })),
      };
    },

    async insertRefund(refund) {
      await run('add refunds', () => col(COLLECTIONS.refunds).add(toDoc('refundNo', refund)), async () => new DuplicateError('refunds', 'refundNo'));
    },
    getRefund: (refundNo) => getDoc<Refund>(COLLECTIONS.refunds, 'refundNo', refundNo),
    listRefundsByOrder(orderNo) {
      return list<Refund>('refundNo', col(COLLECTIONS.refunds).where({ orderNo }).orderBy('createdAt', 'asc').limit(1000));
    },
    async updateRefund(current, patch) {
      const won = await casUpdate(COLLECTIONS.refunds, { _id: current.refundNo, status: current.status, version: current.version }, patch);
      return won ? { ...current, ...patch, version: current.version + 1 } : null;
    },
    findRefunds({ statuses, updatedBefore, limit }) {
      return list<Refund>(
        'refundNo',
        col(COLLECTIONS.refunds).where({ status: _.in(statuses), updatedAt: _.lt(updatedBefore) }).orderBy('updatedAt', 'asc').limit(limit),
      );
    },

    insertWebhook: (webhook) => addUnlessExists(COLLECTIONS.appWebhooks, toDoc('id', webhook)),
    getWebhook: (id) => getDoc<AppWebhook>(COLLECTIONS.appWebhooks, 'id', id),
    async updateWebhook(current, patch) {
      const won = await casUpdate(COLLECTIONS.appWebhooks, { _id: current.id, version: current.version }, patch);
      return won ? { ...current, ...patch, version: current.version + 1 } : null;
    },
    findWebhooksDue(now, limit) {
      return list<AppWebhook>(
        'id',
        col(COLLECTIONS.appWebhooks).where({ status: 'PENDING', nextAttemptAt: _.lte(now) }).orderBy('nextAttemptAt', 'asc').limit(limit),
      );
    },
    listWebhooks({ orderNo, status, limit }) {
      const base = col(COLLECTIONS.appWebhooks);
      const filter = orderNo ? { orderNo } : status ? { status } : null;
      return list<AppWebhook>('id', (filter ? base.where(filter) : base).orderBy('createdAt', 'desc').limit(limit));
    },

    // CloudBase's transactions do not carry where().update() (our compare-and-set), so there is none to use here:
    // each write stands alone, and the services repair a half-done step on retry.
    inTransaction: (work) => work(),

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
