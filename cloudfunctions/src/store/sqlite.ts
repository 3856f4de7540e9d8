import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { AppWebhook, InboxNotification, Order, OrderEvent, Refund, User } from '../domain/types';
import {
  assertOrderInvariants,
  DuplicateError,
  REFUNDABLE_STATUSES,
  type Expected,
  type OrderPatch,
  type OrderQuery,
  type RefundPatch,
  StoreUnavailableError,
  type Store,
  type WebhookPatch,
} from './port';

/**
 * The embedded default store. WAL so readers never block the writer, a busy timeout so a second process (the ops
 * CLI next to `pnpm dev`) waits instead of failing, and versioned migrations so a file from an older checkout is
 * upgraded in place.
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
    refundReservedFen: 'refund_reserved_fen', reqDate: 'req_date', expiresAt: 'expires_at', hfSeqId: 'hf_seq_id',
    payInfo: 'pay_info', outTransId: 'out_trans_id', partyOrderId: 'party_order_id', feeFen: 'fee_fen',
    paidAt: 'paid_at', closedAt: 'closed_at', lastQueriedAt: 'last_queried_at', flag: 'flag',
    createdAt: 'created_at', updatedAt: 'updated_at',
  },
  json: ['payInfo'],
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
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);

  const insert = <T>(spec: TableSpec<T>, record: T) => {
    const row = toRow(spec, record as Partial<T>);
    const cols = Object.keys(row);
    try {
      db.prepare(`INSERT INTO ${spec.table} (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`).run(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateFrom(spec, error);
      throw error;
    }
  };
  const getBy = <T>(spec: TableSpec<T>, field: keyof T & string, value: unknown): T | null =>
    fromRow(spec, db.prepare(`SELECT * FROM ${spec.table} WHERE ${spec.columns[field]} = ?`).get(value) as Record<string, unknown>);
  const all = <T>(spec: TableSpec<T>, sql: string, ...params: unknown[]): T[] =>
    (db.prepare(sql).all(...params) as Array<Record<string, unknown>>).map((row) => fromRow(spec, row)!);

  /** UPDATE ... WHERE key = ? AND <expected> — one statement, so the compare and the set cannot be separated. */
  const compareAndSet = <T>(spec: TableSpec<T>, key: string, expected: Partial<T>, patch: Partial<T>): boolean => {
    const set = toRow(spec, patch);
    const where = toRow(spec, expected);
    const assignments = [...Object.keys(set).map((c) => `${c} = @set_${c}`), 'version = version + 1'];
    const conditions = [`${spec.columns[spec.key]} = @key`, ...Object.keys(where).map((c) => `${c} = @where_${c}`)];
    const params: Record<string, unknown> = { key };
    for (const [c, v] of Object.entries(set)) params[`set_${c}`] = v;
    for (const [c, v] of Object.entries(where)) params[`where_${c}`] = v;
    const result = db.prepare(`UPDATE ${spec.table} SET ${assignments.join(', ')} WHERE ${conditions.join(' AND ')}`).run(params);
    return result.changes === 1;
  };

  const store: Store = {
    async recordLogin({ openid, appid, at }) {
      db.prepare(
        `INSERT INTO users (openid, appid, first_login_at, last_login_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (openid) DO UPDATE SET last_login_at = excluded.last_login_at, appid = excluded.appid`,
      ).run(openid, appid, at, at);
    },
    async getUser(openid) {
      return getBy(USERS, 'openid', openid);
    },

    async insertOrder(order) {
      assertOrderInvariants(order);
      insert(ORDERS, order);
    },
    async getOrder(orderNo) {
      return getBy(ORDERS, 'orderNo', orderNo);
    },
    async getOrderByRef(appRef) {
      return getBy(ORDERS, 'appRef', appRef);
    },
    async updateOrder(orderNo, expected, patch) {
      const current = getBy(ORDERS, 'orderNo', orderNo);
      // Checked only when the CAS can win; the CHECK constraints guard the write itself.
      if (current && current.status === expected.status && current.version === expected.version) {
        assertOrderInvariants({ ...current, ...patch });
      }
      return compareAndSet<Order>(ORDERS, orderNo, expected, patch);
    },
    async reserveRefund(orderNo, amountFen, at) {
      const statuses = REFUNDABLE_STATUSES.map((s) => `'${s}'`).join(',');
      const result = db
        .prepare(
          `UPDATE orders SET refund_reserved_fen = refund_reserved_fen + @amount, version = version + 1, updated_at = @at
           WHERE order_no = @orderNo AND status IN (${statuses})
             AND amount_fen - refunded_fen - refund_reserved_fen >= @amount`,
        )
        .run({ orderNo, amount: amountFen, at });
      return result.changes === 1;
    },
    async releaseRefund(orderNo, amountFen, at) {
      db.prepare(
        `UPDATE orders SET refund_reserved_fen = MAX(refund_reserved_fen - @amount, 0), version = version + 1, updated_at = @at
         WHERE order_no = @orderNo`,
      ).run({ orderNo, amount: amountFen, at });
    },
    async listOrdersByOpenid(openid, { limit, before }) {
      if (before) {
        return all(
          ORDERS,
          `SELECT * FROM orders WHERE openid = ? AND (created_at < ? OR (created_at = ? AND order_no < ?))
           ORDER BY created_at DESC, order_no DESC LIMIT ?`,
          openid, before.createdAt, before.createdAt, before.orderNo, limit,
        );
      }
      return all(ORDERS, `SELECT * FROM orders WHERE openid = ? ORDER BY created_at DESC, order_no DESC LIMIT ?`, openid, limit);
    },
    async findOrders(query: OrderQuery) {
      const conditions = [`status IN (${query.statuses.map(() => '?').join(',')})`];
      const params: unknown[] = [...query.statuses];
      if (query.createdBefore !== undefined) (conditions.push('created_at < ?'), params.push(query.createdBefore));
      if (query.expiresBefore !== undefined) (conditions.push('expires_at < ?'), params.push(query.expiresBefore));
      if (query.notQueriedSince !== undefined) {
        conditions.push('(last_queried_at IS NULL OR last_queried_at < ?)');
        params.push(query.notQueriedSince);
      }
      return all(ORDERS, `SELECT * FROM orders WHERE ${conditions.join(' AND ')} ORDER BY created_at ASC LIMIT ?`, ...params, query.limit);
    },

    async appendOrderEvent(event: OrderEvent) {
      db.prepare(
        `INSERT INTO order_events (order_no, from_status, to_status, source, at, detail) VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(event.orderNo, event.from, event.to, event.source, event.at, event.detail);
    },
    async listOrderEvents(orderNo) {
      const rows = db.prepare(`SELECT * FROM order_events WHERE order_no = ? ORDER BY id`).all(orderNo) as Array<Record<string, unknown>>;
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
      insert(NOTIFICATIONS, notification);
    },
    async getNotification(id) {
      return getBy(NOTIFICATIONS, 'id', id);
    },
    async updateNotification(id, patch) {
      db.prepare(`UPDATE notifications SET outcome = ?, processed_at = ? WHERE id = ?`).run(patch.outcome, patch.processedAt, id);
    },
    async listNotifications({ reqSeqId, limit }) {
      return reqSeqId
        ? all(NOTIFICATIONS, `SELECT * FROM notifications WHERE req_seq_id = ? ORDER BY received_at DESC LIMIT ?`, reqSeqId, limit)
        : all(NOTIFICATIONS, `SELECT * FROM notifications ORDER BY received_at DESC LIMIT ?`, limit);
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
    async updateRefund(refundNo, expected: Expected<Refund['status']>, patch: RefundPatch) {
      return compareAndSet<Refund>(REFUNDS, refundNo, expected, patch);
    },
    async findRefunds({ statuses, updatedBefore, limit }) {
      return all(
        REFUNDS,
        `SELECT * FROM refunds WHERE status IN (${statuses.map(() => '?').join(',')}) AND updated_at < ? ORDER BY updated_at ASC LIMIT ?`,
        ...statuses, updatedBefore, limit,
      );
    },

    async insertWebhook(webhook) {
      insert(WEBHOOKS, webhook);
    },
    async getWebhook(id) {
      return getBy(WEBHOOKS, 'id', id);
    },
    async updateWebhook(id, expectedVersion, patch: WebhookPatch) {
      return compareAndSet<AppWebhook>(WEBHOOKS, id, { version: expectedVersion }, patch);
    },
    async findWebhooksDue(now, limit) {
      return all(WEBHOOKS, `SELECT * FROM app_webhooks WHERE status = 'PENDING' AND next_attempt_at <= ? ORDER BY next_attempt_at ASC LIMIT ?`, now, limit);
    },
    async listWebhooks({ orderNo, limit }) {
      return orderNo
        ? all(WEBHOOKS, `SELECT * FROM app_webhooks WHERE order_no = ? ORDER BY created_at DESC LIMIT ?`, orderNo, limit)
        : all(WEBHOOKS, `SELECT * FROM app_webhooks ORDER BY created_at DESC LIMIT ?`, limit);
    },

    async close() {
      db.close();
    },
  };
  return store;
}

function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
  const applied = new Set((db.prepare(`SELECT version FROM schema_migrations`).all() as Array<{ version: number }>).map((r) => r.version));
  MIGRATIONS.forEach((sql, index) => {
    const version = index + 1;
    if (applied.has(version)) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`).run(version, Date.now());
    })();
  });
}

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;
