import { AsyncLocalStorage } from 'node:async_hooks';
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { reconcileDueAt } from '../domain/order-state';
import type { AppWebhook, InboxNotification, Order, OrderEvent, Refund, User } from '../domain/types';
import {
  assertOrderInvariants,
  DuplicateError,
  hourOf,
  sampleSlot,
  StoreUnavailableError,
  type OrderCursor,
  type Store,
} from './port';

/**
 * The embedded default store. WAL so readers never block the writer, a busy timeout so a second process (the ops
 * CLI next to `pnpm dev`) waits instead of failing, versioned migrations so a file from an older checkout is upgraded
 * in place, and every statement prepared once.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE users (
     openid TEXT PRIMARY KEY, appid TEXT NOT NULL, first_login_at INTEGER NOT NULL, last_login_at INTEGER NOT NULL);
   CREATE TABLE orders (
     order_no TEXT PRIMARY KEY,
     app_ref TEXT NOT NULL UNIQUE,
     openid TEXT NOT NULL,
     amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
     description TEXT NOT NULL,
     attach TEXT,
     status TEXT NOT NULL CHECK (status IN ('CREATED','PAYING','PAID','FAILED','CLOSED','PAID_AFTER_CLOSE','PARTIALLY_REFUNDED','REFUNDED')),
     version INTEGER NOT NULL,
     refunded_fen INTEGER NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0),
     refund_reserved_fen INTEGER NOT NULL DEFAULT 0 CHECK (refund_reserved_fen >= 0),
     req_date TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     hf_seq_id TEXT, pay_info TEXT, out_trans_id TEXT, party_order_id TEXT, fee_fen INTEGER,
     paid_at INTEGER, closed_at INTEGER, last_queried_at INTEGER, flag TEXT,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
     CHECK (refunded_fen + refund_reserved_fen <= amount_fen));
   CREATE INDEX orders_by_user ON orders (openid, created_at DESC, order_no DESC);
   CREATE INDEX orders_by_status ON orders (status, created_at);
   CREATE TABLE order_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT, order_no TEXT NOT NULL, from_status TEXT, to_status TEXT,
     source TEXT NOT NULL, at INTEGER NOT NULL, detail TEXT NOT NULL);
   CREATE INDEX order_events_by_order ON order_events (order_no, id);
   CREATE TABLE notifications (
     id TEXT PRIMARY KEY, kind TEXT NOT NULL, req_seq_id TEXT, notify_type INTEGER, trans_stat TEXT,
     resp_data TEXT NOT NULL, sign TEXT NOT NULL, outcome TEXT NOT NULL, received_at INTEGER NOT NULL, processed_at INTEGER);
   CREATE INDEX notifications_by_seq ON notifications (req_seq_id, received_at);
   CREATE TABLE refunds (
     refund_no TEXT PRIMARY KEY, order_no TEXT NOT NULL, amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
     status TEXT NOT NULL CHECK (status IN ('PENDING','SUCCEEDED','FAILED')), reason TEXT, req_date TEXT NOT NULL,
     hf_seq_id TEXT, fail_reason TEXT, version INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
     finished_at INTEGER, last_queried_at INTEGER);
   CREATE INDEX refunds_by_order ON refunds (order_no, created_at);
   CREATE INDEX refunds_by_status ON refunds (status, updated_at);
   CREATE TABLE app_webhooks (
     id TEXT PRIMARY KEY, event TEXT NOT NULL, order_no TEXT NOT NULL, payload TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('PENDING','DELIVERED','DEAD')), attempts INTEGER NOT NULL,
     next_attempt_at INTEGER NOT NULL, last_error TEXT, version INTEGER NOT NULL,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE INDEX app_webhooks_due ON app_webhooks (status, next_attempt_at);`,
  // 2: flags as a set, the cancel request and the close request apart, the refund ledger (built from the refunds the
  // file holds, which are the truth), reconcile's due time, and indexes for the queries that lacked one.
  `ALTER TABLE orders ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE orders ADD COLUMN cancel_requested_at INTEGER;
   UPDATE orders SET cancel_requested_at = updated_at WHERE flag = 'CANCEL_REQUESTED';
   UPDATE orders SET flags = json_array(flag) WHERE flag IS NOT NULL AND flag <> 'CANCEL_REQUESTED';
   ALTER TABLE orders DROP COLUMN flag;
   ALTER TABLE orders ADD COLUMN close_request TEXT;
   ALTER TABLE orders ADD COLUMN refund_ledger TEXT NOT NULL DEFAULT '{}';
   UPDATE orders SET refund_ledger = COALESCE((
     SELECT json_group_object(refund_no, json_object('amountFen', amount_fen, 'state', CASE status WHEN 'PENDING' THEN 'RESERVED' ELSE status END, 'at', updated_at))
     FROM refunds WHERE refunds.order_no = orders.order_no), '{}');
   UPDATE orders SET
     refunded_fen = COALESCE((SELECT SUM(amount_fen) FROM refunds WHERE refunds.order_no = orders.order_no AND status = 'SUCCEEDED'), 0),
     refund_reserved_fen = COALESCE((SELECT SUM(amount_fen) FROM refunds WHERE refunds.order_no = orders.order_no AND status = 'PENDING'), 0);
   ALTER TABLE orders ADD COLUMN due_at INTEGER;
   UPDATE orders SET due_at = MIN(MAX(expires_at, created_at + 60000), COALESCE(last_queried_at, created_at) + 60000) WHERE status IN ('CREATED','PAYING');
   CREATE INDEX orders_due ON orders (due_at, order_no) WHERE due_at IS NOT NULL;
   CREATE INDEX orders_reserved ON orders (updated_at) WHERE refund_reserved_fen > 0;
   CREATE INDEX orders_by_created ON orders (created_at DESC, order_no DESC);
   DROP INDEX orders_by_status;
   CREATE INDEX orders_by_status ON orders (status, created_at DESC, order_no DESC);
   CREATE INDEX notifications_by_received ON notifications (received_at DESC);
   CREATE INDEX app_webhooks_by_order ON app_webhooks (order_no, created_at DESC);
   CREATE INDEX app_webhooks_by_status ON app_webhooks (status, created_at DESC);
   CREATE TABLE notification_rejections (
     id TEXT PRIMARY KEY, reason TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('count','sample')),
     hour INTEGER, count INTEGER NOT NULL DEFAULT 0, at INTEGER, sample TEXT);
   CREATE INDEX notification_rejections_by_reason ON notification_rejections (reason, kind, hour);`,
  // 3: flagged orders are few; listing them by flag reads only them, newest first. An order's refunds come sorted
  // from the index, ties included.
  `CREATE INDEX orders_flagged ON orders (created_at DESC, order_no DESC) WHERE flags <> '[]';
   DROP INDEX refunds_by_order;
   CREATE INDEX refunds_by_order ON refunds (order_no, created_at, refund_no);`,
  // 4: the rejection report reads counts newest hour first and samples newest first, each through an index.
  `CREATE INDEX notification_rejections_by_kind_hour ON notification_rejections (kind, hour DESC, reason);
   CREATE INDEX notification_rejections_by_kind_at ON notification_rejections (kind, at DESC);`,
];

/** Field ⇄ column mapping per table; `json` fields are stored as JSON text. */
interface TableSpec<T> {
  table: string;
  key: keyof T & string;
  columns: Record<keyof T & string, string>;
  json?: Array<keyof T & string>;
}

const ORDERS: TableSpec<Order> = {
  table: 'orders',
  key: 'orderNo',
  columns: {
    orderNo: 'order_no', appRef: 'app_ref', openid: 'openid', amountFen: 'amount_fen', description: 'description',
    attach: 'attach', status: 'status', version: 'version', refundedFen: 'refunded_fen',
    refundReservedFen: 'refund_reserved_fen', refundLedger: 'refund_ledger', reqDate: 'req_date', expiresAt: 'expires_at',
    hfSeqId: 'hf_seq_id', payInfo: 'pay_info', outTransId: 'out_trans_id', partyOrderId: 'party_order_id', feeFen: 'fee_fen',
    paidAt: 'paid_at', closedAt: 'closed_at', lastQueriedAt: 'last_queried_at', flags: 'flags',
    cancelRequestedAt: 'cancel_requested_at', closeRequest: 'close_request', createdAt: 'created_at', updatedAt: 'updated_at',
  },
  json: ['payInfo', 'flags', 'closeRequest', 'refundLedger'],
};
const REFUNDS: TableSpec<Refund> = {
  table: 'refunds',
  key: 'refundNo',
  columns: {
    refundNo: 'refund_no', orderNo: 'order_no', amountFen: 'amount_fen', status: 'status', reason: 'reason',
    reqDate: 'req_date', hfSeqId: 'hf_seq_id', failReason: 'fail_reason', version: 'version',
    createdAt: 'created_at', updatedAt: 'updated_at', finishedAt: 'finished_at', lastQueriedAt: 'last_queried_at',
  },
};
const NOTIFICATIONS: TableSpec<InboxNotification> = {
  table: 'notifications',
  key: 'id',
  columns: {
    id: 'id', kind: 'kind', reqSeqId: 'req_seq_id', notifyType: 'notify_type', transStat: 'trans_stat',
    respData: 'resp_data', sign: 'sign', outcome: 'outcome', receivedAt: 'received_at', processedAt: 'processed_at',
  },
};
const WEBHOOKS: TableSpec<AppWebhook> = {
  table: 'app_webhooks',
  key: 'id',
  columns: {
    id: 'id', event: 'event', orderNo: 'order_no', payload: 'payload', status: 'status', attempts: 'attempts',
    nextAttemptAt: 'next_attempt_at', lastError: 'last_error', version: 'version', createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
};
const USERS: TableSpec<User> = {
  table: 'users',
  key: 'openid',
  columns: { openid: 'openid', appid: 'appid', firstLoginAt: 'first_login_at', lastLoginAt: 'last_login_at' },
};

function toRow<T>(spec: TableSpec<T>, record: Partial<T>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(record) as Array<[keyof T & string, unknown]>) {
    const column = spec.columns[field];
    if (!column) throw new Error(`${spec.table}: unknown field ${field}`);
    row[column] = spec.json?.includes(field) && value != null ? JSON.stringify(value) : value;
  }
  return row;
}

function fromRow<T>(spec: TableSpec<T>, row: Record<string, unknown> | undefined): T | null {
  if (!row) return null;
  const record: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(spec.columns) as Array<[keyof T & string, string]>) {
    const value = row[column];
    record[field] = spec.json?.includes(field) && typeof value === 'string' ? JSON.parse(value) : value;
  }
  return record as T;
}

function isUniqueViolation(error: unknown): error is { code: string; message: string } {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Which field a UNIQUE/PRIMARY KEY failure is about, from SQLite's "UNIQUE constraint failed: orders.app_ref". */
function duplicateFrom<T>(spec: TableSpec<T>, error: { message: string }): DuplicateError {
  const column = /failed: \w+\.(\w+)/.exec(error.message)?.[1] ?? spec.columns[spec.key];
  const field = Object.entries(spec.columns).find(([, c]) => c === column)?.[0] ?? column;
  return new DuplicateError(spec.table, field);
}

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for tests. Parent folders are created. */
  path: string;
  /** Told each distinct SQL text when it is first prepared (the query-plan test explains every one). */
  onStatement?: (text: string) => void;
}

/** Opens the file, or says which setting points where and why it cannot be used. */
function openDatabase(path: string): Database.Database {
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    return new Database(path);
  } catch (error) {
    throw new StoreUnavailableError(
      `cannot open the SQLite database at ${path === ':memory:' ? path : resolve(path)} (SQLITE_PATH, or CASHIER_DATA_DIR for the local stack): ` +
        `${(error as Error).message}. Is the folder writable, and the path a file rather than a folder?`,
      error,
    );
  }
}

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const db = openDatabase(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL'); // WAL + NORMAL: durable across a process crash; a power loss may drop the last commits
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);

  const statements = new Map<string, Database.Statement>();
  /** Every distinct statement is prepared once and reused (re-preparing cost measurable CPU on the hot path). */
  const sql = (text: string): Database.Statement => {
    let statement = statements.get(text);
    if (!statement) {
      options.onStatement?.(text);
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  };

  const insert = <T>(spec: TableSpec<T>, record: T, extra: Record<string, unknown> = {}) => {
    const row = { ...toRow(spec, record as Partial<T>), ...extra };
    const cols = Object.keys(row);
    try {
      sql(`INSERT INTO ${spec.table} (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`).run(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateFrom(spec, error);
      throw error;
    }
  };
  /** For rows written twice on purpose (Huifu's retries, deterministic outbox ids): no exception on the expected path. */
  const insertUnlessExists = <T>(spec: TableSpec<T>, record: T): 'inserted' | 'exists' => {
    const row = toRow(spec, record as Partial<T>);
    const cols = Object.keys(row);
    const result = sql(`INSERT INTO ${spec.table} (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')}) ON CONFLICT (${spec.columns[spec.key]}) DO NOTHING`).run(row);
    return result.changes === 1 ? 'inserted' : 'exists';
  };
  const getBy = <T>(spec: TableSpec<T>, field: keyof T & string, value: unknown): T | null =>
    fromRow(spec, sql(`SELECT * FROM ${spec.table} WHERE ${spec.columns[field]} = ?`).get(value) as Record<string, unknown>);
  const all = <T>(spec: TableSpec<T>, text: string, ...params: unknown[]): T[] =>
    (sql(text).all(...params) as Array<Record<string, unknown>>).map((row) => fromRow(spec, row)!);

  /** UPDATE ... WHERE key = ? AND <expected> — one statement, so the compare and the set cannot be separated. */
  const compareAndSet = <T>(spec: TableSpec<T>, key: string, expected: Partial<T>, patch: Partial<T>, extra: Record<string, unknown> = {}): boolean => {
    const set = { ...toRow(spec, patch), ...extra };
    const where = toRow(spec, expected);
    const assignments = [...Object.keys(set).map((c) => `${c} = @set_${c}`), 'version = version + 1'];
    const conditions = [`${spec.columns[spec.key]} = @key`, ...Object.keys(where).map((c) => `${c} = @where_${c}`)];
    const params: Record<string, unknown> = { key };
    for (const [c, v] of Object.entries(set)) params[`set_${c}`] = v;
    for (const [c, v] of Object.entries(where)) params[`where_${c}`] = v;
    return sql(`UPDATE ${spec.table} SET ${assignments.join(', ')} WHERE ${conditions.join(' AND ')}`).run(params).changes === 1;
  };

  const cursorPage = (base: string, params: unknown[], limit: number, before?: OrderCursor) =>
    before
      ? all(ORDERS, `${base} AND (created_at < ? OR (created_at = ? AND order_no < ?)) ORDER BY created_at DESC, order_no DESC LIMIT ?`, ...params, before.createdAt, before.createdAt, before.orderNo, limit)
      : all(ORDERS, `${base} ORDER BY created_at DESC, order_no DESC LIMIT ?`, ...params, limit);

  const appendEvent = (event: OrderEvent) =>
    sql(`INSERT INTO order_events (order_no, from_status, to_status, source, at, detail) VALUES (?, ?, ?, ?, ?, ?)`).run(
      event.orderNo, event.from, event.to, event.source, event.at, event.detail,
    );

  /**
   * Which transaction an async call chain belongs to, and which one is open now: only the open one's own chain runs
   * inside it (a nested call joins it); any other call, even a chain left over from a finished one, waits its turn.
   */
  const transactionOf = new AsyncLocalStorage<object>();
  let openTransaction: object | null = null;
  const insideOpenTransaction = () => openTransaction !== null && transactionOf.getStore() === openTransaction;
  /** Transactions, and calls that arrive while one is open, in arrival order. */
  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(unit: () => Promise<T>): Promise<T> => {
    const next = queue.then(unit, unit);
    queue = next.catch(() => undefined);
    return next;
  };
  /**
   * A call from another request while a transaction is open waits behind it. Run at once, it would join that
   * transaction on this shared connection: rolled back with it after its caller was told it succeeded, and reading
   * rows not yet committed. A transaction's work awaits store calls, so other requests do get to run in its gaps.
   */
  const isolated = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => (...args: A): Promise<R> =>
    db.inTransaction && !insideOpenTransaction() ? enqueue(() => call(...args)) : call(...args);

  const store: Store = {
    async recordLogin({ openid, appid, at }) {
      sql(
        `INSERT INTO users (openid, appid, first_login_at, last_login_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (openid) DO UPDATE SET last_login_at = excluded.last_login_at, appid = excluded.appid`,
      ).run(openid, appid, at, at);
    },
    async getUser(openid) {
      return getBy(USERS, 'openid', openid);
    },

    async insertOrder(order, event) {
      assertOrderInvariants(order);
      db.transaction(() => {
        insert(ORDERS, order, { due_at: reconcileDueAt(order) });
        appendEvent({ ...event, orderNo: order.orderNo });
      })();
    },
    async getOrder(orderNo) {
      return getBy(ORDERS, 'orderNo', orderNo);
    },
    async getOrderByRef(appRef) {
      return getBy(ORDERS, 'appRef', appRef);
    },
    async updateOrder(current, patch, event) {
      const next: Order = { ...current, ...patch, version: current.version + 1 };
      assertOrderInvariants(next);
      return db.transaction(() => {
        const won = compareAndSet<Order>(ORDERS, current.orderNo, { status: current.status, version: current.version }, patch, { due_at: reconcileDueAt(next) });
        if (won && event) appendEvent({ ...event, orderNo: current.orderNo });
        return won ? next : null;
      })();
    },
    async listOrdersByOpenid(openid, { limit, before }) {
      return cursorPage('SELECT * FROM orders WHERE openid = ?', [openid], limit, before);
    },
    async findDueOrders(now, limit) {
      return all(ORDERS, `SELECT * FROM orders WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, order_no LIMIT ?`, now, limit);
    },
    async findOrdersWithReservations(before, limit) {
      return all(ORDERS, `SELECT * FROM orders WHERE refund_reserved_fen > 0 AND updated_at < ? ORDER BY updated_at LIMIT ?`, before, limit);
    },
    async listOrders({ status, flag, limit, before }) {
      const conditions = ['1 = 1'];
      const params: unknown[] = [];
      if (status) (conditions.push('status = ?'), params.push(status));
      // `flags <> '[]'` lets the planner read only flagged orders (orders_flagged) rather than all of them.
      if (flag) (conditions.push(`flags <> '[]' AND EXISTS (SELECT 1 FROM json_each(orders.flags) WHERE value = ?)`), params.push(flag));
      return cursorPage(`SELECT * FROM orders WHERE ${conditions.join(' AND ')}`, params, limit, before);
    },

    async appendOrderEvent(event: OrderEvent) {
      appendEvent(event);
    },
    async listOrderEvents(orderNo) {
      const rows = sql(`SELECT * FROM order_events WHERE order_no = ? ORDER BY id`).all(orderNo) as Array<Record<string, unknown>>;
      return rows.map((r) => ({
        orderNo: r.order_no as string,
        from: r.from_status as OrderEvent['from'],
        to: r.to_status as OrderEvent['to'],
        source: r.source as OrderEvent['source'],
        at: r.at as number,
        detail: r.detail as string,
      }));
    },

    async insertNotification(notification) {
      return insertUnlessExists(NOTIFICATIONS, notification);
    },
    async getNotification(id) {
      return getBy(NOTIFICATIONS, 'id', id);
    },
    async updateNotification(id, expectedOutcome, patch) {
      return sql(`UPDATE notifications SET outcome = ?, processed_at = ? WHERE id = ? AND outcome = ?`).run(patch.outcome, patch.processedAt, id, expectedOutcome).changes === 1;
    },
    async listNotifications({ reqSeqId, limit }) {
      return reqSeqId
        ? all(NOTIFICATIONS, `SELECT * FROM notifications WHERE req_seq_id = ? ORDER BY received_at DESC LIMIT ?`, reqSeqId, limit)
        : all(NOTIFICATIONS, `SELECT * FROM notifications ORDER BY received_at DESC LIMIT ?`, limit);
    },

    async recordRejection({ reason, at, sample }, { keepHours, samplesPerReason }) {
      db.transaction(() => {
        const hour = hourOf(at);
        const counted = sql(
          `INSERT INTO notification_rejections (id, reason, kind, hour, count, at) VALUES (?, ?, 'count', ?, 1, ?)
           ON CONFLICT (id) DO UPDATE SET count = count + 1, at = excluded.at RETURNING count`,
        ).get(`count:${reason}:${hour}`, reason, hour, at) as { count: number };
        if (counted.count === 1) {
          sql(`DELETE FROM notification_rejections WHERE reason = ? AND kind = 'count' AND hour < ?`).run(reason, hour - keepHours * 3_600_000);
        }
        sql(
          `INSERT INTO notification_rejections (id, reason, kind, at, sample) VALUES (?, ?, 'sample', ?, ?)
           ON CONFLICT (id) DO UPDATE SET at = excluded.at, sample = excluded.sample`,
        ).run(`sample:${reason}:${sampleSlot(at, samplesPerReason)}`, reason, at, sample);
      })();
    },
    async listRejections() {
      const counts = sql(`SELECT reason, hour, count FROM notification_rejections WHERE kind = 'count' ORDER BY hour DESC, reason`).all() as Array<{ reason: string; hour: number; count: number }>;
      const samples = sql(`SELECT reason, at, sample FROM notification_rejections WHERE kind = 'sample' ORDER BY at DESC`).all() as Array<{ reason: string; at: number; sample: string }>;
      return { counts, samples };
    },

    async insertRefund(refund) {
      insert(REFUNDS, refund);
    },
    async getRefund(refundNo) {
      return getBy(REFUNDS, 'refundNo', refundNo);
    },
    async listRefundsByOrder(orderNo) {
      return all(REFUNDS, `SELECT * FROM refunds WHERE order_no = ? ORDER BY created_at, refund_no`, orderNo);
    },
    async updateRefund(current, patch) {
      const won = compareAndSet<Refund>(REFUNDS, current.refundNo, { status: current.status, version: current.version }, patch);
      return won ? { ...current, ...patch, version: current.version + 1 } : null;
    },
    async findRefunds({ statuses, updatedBefore, limit }) {
      return all(
        REFUNDS,
        `SELECT * FROM refunds WHERE status IN (${statuses.map(() => '?').join(',')}) AND updated_at < ? ORDER BY updated_at ASC LIMIT ?`,
        ...statuses, updatedBefore, limit,
      );
    },

    async insertWebhook(webhook) {
      return insertUnlessExists(WEBHOOKS, webhook);
    },
    async getWebhook(id) {
      return getBy(WEBHOOKS, 'id', id);
    },
    async updateWebhook(current, patch) {
      const won = compareAndSet<AppWebhook>(WEBHOOKS, current.id, { version: current.version }, patch);
      return won ? { ...current, ...patch, version: current.version + 1 } : null;
    },
    async findWebhooksDue(now, limit) {
      return all(WEBHOOKS, `SELECT * FROM app_webhooks WHERE status = 'PENDING' AND next_attempt_at <= ? ORDER BY next_attempt_at ASC LIMIT ?`, now, limit);
    },
    async listWebhooks({ orderNo, status, limit }) {
      if (orderNo) return all(WEBHOOKS, `SELECT * FROM app_webhooks WHERE order_no = ? ORDER BY created_at DESC LIMIT ?`, orderNo, limit);
      if (status) return all(WEBHOOKS, `SELECT * FROM app_webhooks WHERE status = ? ORDER BY created_at DESC LIMIT ?`, status, limit);
      return all(WEBHOOKS, `SELECT * FROM app_webhooks ORDER BY created_at DESC LIMIT ?`, limit);
    },

    /**
     * One SQLite transaction around `work`. Transactions are queued, so two never overlap on this connection, and
     * calls from other requests wait behind the open one (`isolated`).
     */
    inTransaction<T>(work: () => Promise<T>): Promise<T> {
      if (insideOpenTransaction()) return work();
      const run = async (): Promise<T> => {
        const transaction = {};
        sql('BEGIN IMMEDIATE').run();
        openTransaction = transaction;
        try {
          const result = await transactionOf.run(transaction, work);
          sql('COMMIT').run();
          return result;
        } catch (error) {
          if (db.inTransaction) sql('ROLLBACK').run();
          throw error;
        } finally {
          openTransaction = null;
        }
      };
      return enqueue(run);
    },

    async close() {
      db.close();
    },
  };
  return Object.fromEntries(
    Object.entries(store).map(([name, call]) => [name, name === 'inTransaction' ? call : isolated(call as (...args: unknown[]) => Promise<unknown>)]),
  ) as unknown as Store;
}

function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
  const applied = new Set((db.prepare(`SELECT version FROM schema_migrations`).all() as Array<{ version: number }>).map((r) => r.version));
  MIGRATIONS.forEach((text, index) => {
    const version = index + 1;
    if (applied.has(version)) return;
    db.transaction(() => {
      db.exec(text);
      db.prepare(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`).run(version, Date.now());
    })();
  });
}

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;
