import type { CbCollection, CbCommand, CbDatabase, CbDocument, CbQuery } from '../../cloudfunctions/src/store/cloudbase';

/**
 * An in-memory stand-in for @cloudbase/node-sdk's database surface, with the semantics the adapter relies on:
 * unique `_id` and unique indexes (DATABASE_DUPLICATE_WRITE), single-document atomic where().update() reporting
 * `updated`, Mongo-style null matching, `_.inc`. Every call is recorded so tests can assert what was sent.
 * Each call yields to the event loop first, so concurrent callers interleave as they would over the network.
 */
class Cmd {
  constructor(
    readonly op: 'in' | 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte' | 'inc',
    readonly value: unknown,
  ) {}
}
class Logic {
  constructor(
    readonly op: 'and' | 'or',
    readonly conditions: object[],
  ) {}
}

type Doc = Record<string, unknown>;

export interface RecordedCall {
  collection: string;
  action: 'add' | 'doc.get' | 'doc.update' | 'where.get' | 'where.update';
  filter?: unknown;
  data?: unknown;
}

export interface FakeCloudbase extends CbDatabase {
  calls: RecordedCall[];
  /** The next matching call rejects with this error (e.g. a network failure). */
  failNext(action: RecordedCall['action'], error: Error): void;
  docs(collection: string): Doc[];
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

function matchValue(actual: unknown, expected: unknown): boolean {
  if (expected instanceof Cmd) {
    const comparable = actual !== undefined && actual !== null && typeof actual === typeof expected.value;
    switch (expected.op) {
      case 'in':
        return (expected.value as unknown[]).includes(actual);
      case 'eq':
        return matchValue(actual, expected.value);
      case 'neq':
        return !matchValue(actual, expected.value);
      case 'lt':
        return comparable && compare(actual, expected.value) < 0;
      case 'lte':
        return comparable && compare(actual, expected.value) <= 0;
      case 'gt':
        return comparable && compare(actual, expected.value) > 0;
      case 'gte':
        return comparable && compare(actual, expected.value) >= 0;
      default:
        throw new Error(`fake: ${expected.op} is not a query command`);
    }
  }
  if (expected === null) return actual === null || actual === undefined; // Mongo: null matches missing
  return actual === expected;
}

function matches(doc: Doc, filter: object): boolean {
  if (filter instanceof Logic) {
    return filter.op === 'and' ? filter.conditions.every((c) => matches(doc, c)) : filter.conditions.some((c) => matches(doc, c));
  }
  return Object.entries(filter).every(([field, expected]) => matchValue(doc[field], expected));
}

export function createFakeCloudbase(options: { uniqueIndexes?: Array<{ collection: string; field: string }> } = {}): FakeCloudbase {
  const data = new Map<string, Map<string, Doc>>();
  const calls: RecordedCall[] = [];
  const failures: Array<{ action: RecordedCall['action']; error: Error }> = [];
  let autoId = 0;
  const table = (name: string) => {
    if (!data.has(name)) data.set(name, new Map());
    return data.get(name)!;
  };
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  async function record(call: RecordedCall): Promise<void> {
    calls.push(call);
    await tick();
    const i = failures.findIndex((f) => f.action === call.action);
    if (i >= 0) throw failures.splice(i, 1)[0]!.error;
  }
  const duplicate = () => Object.assign(new Error('E11000 duplicate key error'), { code: 'DATABASE_DUPLICATE_WRITE' });

  function applyUpdate(doc: Doc, update: Doc): Doc {
    const next = { ...doc };
    for (const [field, value] of Object.entries(update)) {
      if (value === undefined) continue; // the SDK strips undefined
      if (value instanceof Cmd) {
        if (value.op !== 'inc') throw new Error(`fake: ${value.op} is not an update command`);
        next[field] = ((next[field] as number) ?? 0) + (value.value as number);
      } else {
        next[field] = value;
      }
    }
    return next;
  }

  function query(name: string, filter: object | null, order: Array<[string, 'asc' | 'desc']>, limit: number): CbQuery {
    return {
      where: (f) => query(name, f, order, limit),
      orderBy: (field, direction) => query(name, filter, [...order, [field, direction]], limit),
      limit: (n) => query(name, filter, order, Math.min(n, 1000)),
      async get() {
        await record({ collection: name, action: 'where.get', filter });
        let docs = [...table(name).values()].filter((d) => !filter || matches(d, filter));
        docs.sort((a, b) => {
          for (const [field, direction] of order) {
            const c = compare(a[field], b[field]);
            if (c !== 0) return direction === 'asc' ? c : -c;
          }
          return 0;
        });
        docs = docs.slice(0, limit);
        return { data: docs.map((d) => structuredClone(d)) };
      },
      async update(update) {
        await record({ collection: name, action: 'where.update', filter, data: update });
        let updated = 0;
        for (const [id, doc] of table(name)) {
          if (!filter || matches(doc, filter)) {
            table(name).set(id, applyUpdate(doc, update as Doc));
            updated++;
          }
        }
        return { updated };
      },
    };
  }

  const command: CbCommand = {
    in: (v) => new Cmd('in', v),
    eq: (v) => new Cmd('eq', v),
    neq: (v) => new Cmd('neq', v),
    lt: (v) => new Cmd('lt', v),
    lte: (v) => new Cmd('lte', v),
    gt: (v) => new Cmd('gt', v),
    gte: (v) => new Cmd('gte', v),
    inc: (v) => new Cmd('inc', v),
    and: (c) => new Logic('and', c),
    or: (c) => new Logic('or', c),
  };

  return {
    command,
    calls,
    failNext: (action, error) => failures.push({ action, error }),
    docs: (name) => [...table(name).values()].map((d) => structuredClone(d)),
    collection(name): CbCollection {
      const doc = (id: string): CbDocument => ({
        async get() {
          await record({ collection: name, action: 'doc.get', filter: { _id: id } });
          const found = table(name).get(id);
          return { data: found ? [structuredClone(found)] : [] };
        },
        async update(update) {
          await record({ collection: name, action: 'doc.update', filter: { _id: id }, data: update });
          const found = table(name).get(id);
          if (!found) return { updated: 0 };
          table(name).set(id, applyUpdate(found, update as Doc));
          return { updated: 1 };
        },
      });
      return {
        ...query(name, null, [], 100),
        doc,
        async add(input) {
          await record({ collection: name, action: 'add', data: input });
          const docData = structuredClone(input as Doc);
          const id = (docData._id as string | undefined) ?? `auto${++autoId}`;
          if (table(name).has(id)) throw duplicate();
          for (const index of options.uniqueIndexes ?? []) {
            if (index.collection !== name) continue;
            const value = docData[index.field];
            if ([...table(name).values()].some((d) => d[index.field] === value)) throw duplicate();
          }
          table(name).set(id, { ...docData, _id: id });
          return { id };
        },
      };
    },
  };
}
