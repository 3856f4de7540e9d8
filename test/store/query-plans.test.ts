/**
 * Queries that scale with the batch, not the table. SQLite: with 100,000 orders in the file, every statement each
 * query method prepares is explained (EXPLAIN QUERY PLAN) and must read through the index meant for it, never scan a
 * table or sort in a temporary b-tree. CloudBase: every query the adapter sends (recorded by the stand-in) filters and
 * sorts on fields that one of the indexes the deployment creates (scripts/deploy/plan.ts) starts with.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../cloudfunctions/src/store/port';
import type { CloudbaseStandin } from '../../scripts/lib/cloudbase-standin';
import { openSqliteStore } from '../../cloudfunctions/src/store/sqlite';
import { indexesOf } from '../../scripts/deploy/plan';
import { startCloudbaseStore } from '../support/cloudbase';
import { makeOrder } from '../support/fixtures';

const ORDERS = 100_000;

interface RawStatement {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): unknown;
}
interface RawDb {
  prepare(text: string): RawStatement;
  transaction(work: () => void): () => void;
  close(): void;
}

/** Each query method, called once, with the index it must use (SQLite names). */
const QUERIES: Array<{ name: string; call: (s: Store) => Promise<unknown>; sqliteIndex: string }> = [
  { name: 'listOrders (newest first)', call: (s) => s.listOrders({ limit: 20 }), sqliteIndex: 'orders_by_created' },
  { name: 'listOrders (next page)', call: (s) => s.listOrders({ limit: 20, before: { createdAt: 5_000, orderNo: 'P000005000' } }), sqliteIndex: 'orders_by_created' },
  { name: 'listOrders by status', call: (s) => s.listOrders({ status: 'PAYING', limit: 20 }), sqliteIndex: 'orders_by_status' },
  { name: 'listOrders by flag', call: (s) => s.listOrders({ flag: 'AMOUNT_MISMATCH', limit: 20 }), sqliteIndex: 'orders_flagged' },
  { name: 'listOrdersByOpenid', call: (s) => s.listOrdersByOpenid('o_user_42', { limit: 20 }), sqliteIndex: 'orders_by_user' },
  { name: 'findDueOrders', call: (s) => s.findDueOrders(10_000_000, 100), sqliteIndex: 'orders_due' },
  { name: 'findOrdersWithReservations', call: (s) => s.findOrdersWithReservations(10_000_000, 100), sqliteIndex: 'orders_reserved' },
  { name: 'getOrderByRef', call: (s) => s.getOrderByRef('ref-42'), sqliteIndex: 'sqlite_autoindex_orders_2' },
  { name: 'listOrderEvents', call: (s) => s.listOrderEvents('P000000042'), sqliteIndex: 'order_events_by_order' },
  { name: 'listNotifications', call: (s) => s.listNotifications({ limit: 20 }), sqliteIndex: 'notifications_by_received' },
  { name: 'listNotifications by req_seq_id', call: (s) => s.listNotifications({ reqSeqId: 'P000000042', limit: 20 }), sqliteIndex: 'notifications_by_seq' },
  { name: 'findRefunds', call: (s) => s.findRefunds({ statuses: ['PENDING'], updatedBefore: 10_000_000, limit: 50 }), sqliteIndex: 'refunds_by_status' },
  { name: 'listRefundsByOrder', call: (s) => s.listRefundsByOrder('P000000042'), sqliteIndex: 'refunds_by_order' },
  { name: 'findWebhooksDue', call: (s) => s.findWebhooksDue(10_000_000, 50), sqliteIndex: 'app_webhooks_due' },
  { name: 'listWebhooks by order', call: (s) => s.listWebhooks({ orderNo: 'P000000042', limit: 20 }), sqliteIndex: 'app_webhooks_by_order' },
  { name: 'listWebhooks by status', call: (s) => s.listWebhooks({ status: 'DEAD', limit: 20 }), sqliteIndex: 'app_webhooks_by_status' },
  { name: 'listRejections', call: (s) => s.listRejections(), sqliteIndex: 'notification_rejections_by_kind' },
];

/** Writes that select rows by more than a key (the rejection report dropping old hours). */
const WRITES_THAT_SELECT: Array<{ name: string; call: (s: Store) => Promise<unknown> }> = [
  { name: 'recordRejection (drops hours past the window)', call: (s) => s.recordRejection({ reason: 'bad_signature', at: 100 * 3_600_000, sample: 'x' }, { keepHours: 48, samplesPerReason: 5 }) },
];

describe(`SQLite with ${ORDERS.toLocaleString('en')} orders: every query reads through its index`, () => {
  let dir: string;
  let store: Store;
  /** A second connection to the same file (better-sqlite3, as the store uses), for seeding and EXPLAIN. */
  let raw: RawDb;
  const statements: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cashier-plans-'));
    const path = join(dir, 'cashier.db');
    store = openSqliteStore({ path, onStatement: (text) => statements.push(text) });
    await store.insertOrder(makeOrder({ orderNo: 'P000000000', appRef: 'ref-0' }), { from: null, to: 'CREATED', source: 'api', at: 1, detail: 'seed' });
    const BetterSqlite = require('better-sqlite3') as new (path: string) => RawDb;
    raw = new BetterSqlite(path);
    // Copies of the seed row: mostly paid, some waiting (due), a few flagged or holding a reservation.
    const seed = raw.prepare('SELECT * FROM orders').get() as Record<string, unknown>;
    const columns = Object.keys(seed);
    const insert = raw.prepare(`INSERT INTO orders (${columns.join(',')}) VALUES (${columns.map((c) => '@' + c).join(',')})`);
    raw.transaction(() => {
      for (let n = 1; n < ORDERS; n++) {
        const waiting = n % 100 === 0;
        insert.run({
          ...seed,
          order_no: `P${String(n).padStart(9, '0')}`,
          app_ref: `ref-${n}`,
          openid: `o_user_${n % 1000}`,
          status: waiting ? 'PAYING' : 'PAID',
          created_at: n,
          updated_at: n,
          due_at: waiting ? n + 60_000 : null,
          flags: n % 997 === 0 ? '["AMOUNT_MISMATCH"]' : '[]',
          refund_reserved_fen: n % 5000 === 0 ? 10 : 0,
        });
      }
    })();
  }, 60_000);

  afterAll(async () => {
    raw?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The plan of a statement, its parameters bound to nulls (the plan does not depend on the values). */
  const planOf = (text: string): string[] => {
    const explain = raw.prepare(`EXPLAIN QUERY PLAN ${text}`);
    const named = [...text.matchAll(/@(\w+)/g)].map((m) => m[1]!);
    const positional = (text.match(/\?/g) ?? []).length;
    const rows = (named.length ? explain.all(Object.fromEntries(named.map((n) => [n, null]))) : explain.all(...Array(positional).fill(null))) as Array<{ detail: string }>;
    return rows.map((r) => r.detail);
  };

  it.each(QUERIES)('$name uses $sqliteIndex', async ({ call, sqliteIndex }) => {
    const before = statements.length;
    await call(store);
    const mine = statements.slice(before).filter((t) => /^\s*SELECT/i.test(t));
    expect(mine.length).toBeGreaterThan(0);
    for (const text of mine) {
      const plan = planOf(text);
      expect(plan.join(' | ')).toContain(sqliteIndex);
      for (const step of plan) {
        expect(step).not.toMatch(/TEMP B-TREE/);
        // A scan is only ever an ordered walk of an index that a LIMIT stops early, never of the table itself.
        if (/^SCAN (orders|order_events|notifications|refunds|app_webhooks)\b/.test(step)) {
          expect(step).toMatch(/USING (COVERING )?INDEX/);
          expect(text).toMatch(/LIMIT \?/);
        }
      }
    }
  });

  it('the writes of a notification find their rows by key, not by scanning', async () => {
    const order = (await store.getOrder('P000000100'))!;
    const before = statements.length;
    await store.updateOrder(order, { status: 'PAID', updatedAt: 2 }, { from: 'PAYING', to: 'PAID', source: 'notify', at: 2, detail: 'paid' });
    const writes = statements.slice(before).filter((t) => /^\s*(UPDATE|DELETE)/i.test(t));
    expect(writes.length).toBeGreaterThan(0);
    for (const text of writes) for (const step of planOf(text)) expect(step).toMatch(/^SEARCH /);
  });

  it.each(WRITES_THAT_SELECT)('$name finds its rows through an index', async ({ call }) => {
    const before = statements.length;
    await call(store);
    const writes = statements.slice(before).filter((t) => /^\s*(UPDATE|DELETE)/i.test(t));
    expect(writes.length).toBeGreaterThan(0);
    for (const text of writes) for (const step of planOf(text)) expect(step).toMatch(/^SEARCH .* USING (COVERING )?INDEX/);
  });
});

/**
 * The requests an index must serve: reads (a sort with no filter included), and updates or removals that select by
 * anything other than one document's _id.
 */
function servedQueries(requests: CloudbaseStandin['requests']) {
  return requests
    .filter((r) => ['database.getDocument', 'database.modifyDocument', 'database.removeDocument'].includes(r.action))
    .filter((r) => !(r.query && '_id' in r.query && typeof r.query._id === 'string'))
    .filter((r) => r.action === 'database.getDocument' || r.query)
    .map((r) => ({ ...r, query: r.query ?? {} }));
}

describe('CloudBase: every query the adapter sends is served by an index the deployment creates', () => {
  it.each([...QUERIES, ...WRITES_THAT_SELECT])('$name', async ({ call }) => {
    const { store, standin, close } = await startCloudbaseStore();
    try {
      await call(store);
      const queries = servedQueries(standin.requests);
      expect(standin.requests.length).toBeGreaterThan(0);
      for (const q of queries) {
        // Fields inside $or/$and (a cursor's "before this row") count as the fields they name.
        const fieldsOf = (query: Record<string, unknown>): string[] =>
          Object.entries(query).flatMap(([key, value]) => (key === '$or' || key === '$and' ? (value as Array<Record<string, unknown>>).flatMap(fieldsOf) : [key]));
        const sortFields = Object.entries(q.order ?? {}).map(([field, direction]) => ({ field, direction })).filter((s) => s.field !== '_id');
        const sorted = new Set(sortFields.map((s) => s.field));
        const equality = [...new Set(fieldsOf(q.query!))].filter((f) => f !== '_id' && !sorted.has(f));
        const served = indexesOf(q.collection!).some((index) => {
          // The index starts with the fields matched exactly (any order), then the sort, in order and all one way.
          const head = index.keys.slice(0, equality.length).map((k) => k.field);
          if (!equality.every((f) => head.includes(f))) return false;
          const rest = index.keys.slice(equality.length, equality.length + sortFields.length);
          if (rest.length !== sortFields.length || rest.some((k, i) => k.field !== sortFields[i]!.field)) return false;
          const flips = rest.map((k, i) => k.direction === sortFields[i]!.direction);
          return flips.every((f) => f === flips[0]);
        });
        if (!served) throw new Error(`${q.collection}: no index for filter ${JSON.stringify(Object.keys(q.query!))} sorted by ${JSON.stringify(q.order)}; indexes: ${JSON.stringify(indexesOf(q.collection!).map((i) => i.keys))}`);
      }
    } finally {
      await close();
    }
  });
});
