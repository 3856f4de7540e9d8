/**
 * A loopback stand-in for CloudBase's database API, so the real @cloudbase/node-sdk (and our bundles built with it)
 * can run here: point the SDK at it with TCB_CONTEXT_CNFG='{"URL":"<url>"}' (and TENCENTCLOUD_RUNENV=SCF), or
 * `init({ serviceUrl })`. It speaks the wire format node-sdk 3.18 / @cloudbase/database 1.4 use
 * (../shared/docs/reference/cloudbase.md §5): POST JSON `{action: 'database.<op>', collectionName, query, data, ...}`
 * with canonical EJSON strings, answered `{requestId, data: {...}}` or `{code, message}`.
 *
 * Its semantics are MongoDB's where our code depends on them: single-document atomic updates with `updated` counting
 * modified documents, unique `_id` and unique indexes (DATABASE_DUPLICATE_WRITE), `$set` on dotted paths refused
 * through a non-object (so an update that merges into a null field fails here as it does there), null matching
 * missing fields, typed comparisons, and collections that must exist (DATABASE_COLLECTION_NOT_EXIST).
 * Every request is recorded (action, collection) so tests and the bench can count round trips.
 */
import { EJSON } from 'bson';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { closeServer, listen, readBody, send } from './http';

type Doc = Record<string, unknown>;

export interface StandinOptions {
  port?: number;
  /** Collections that exist at start; others must be created (database.addCollection). */
  collections?: string[];
  uniqueIndexes?: Array<{ collection: string; field: string }>;
  /** Added to every answer, to stand in for a network round trip. */
  delayMs?: number;
}

export interface StandinRequest {
  action: string;
  collection: string | null;
  /** The decoded query and update data, for tests that check what the adapter sent. */
  query: Record<string, unknown> | null;
  data: unknown;
  /** The sort of a query: field → 1 or -1, in order. */
  order: Record<string, number> | null;
  /** The environment the SDK addressed, and the SecretId its TC3 signature names (tests check what the adapter set up). */
  envName: string | null;
  secretId: string | null;
}

export interface CloudbaseStandin {
  /** The URL to give the SDK (TCB_CONTEXT_CNFG.URL or serviceUrl). */
  url: string;
  requests: StandinRequest[];
  docs(collection: string): Doc[];
  createCollection(name: string): void;
  /** The next request with this action is answered with this error. */
  failNext(action: string, error: { code: string; message: string }): void;
  /** Before the next request with this action is handled, `meanwhile` runs (another writer getting in first: a race). */
  beforeNext(action: string, meanwhile: () => Promise<void>): void;
  close(): Promise<void>;
}

class DbError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const isPlainObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

function getPath(doc: Doc, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (!isPlainObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let current: Doc = doc;
  for (const [i, part] of parts.slice(0, -1).entries()) {
    const next = current[part];
    if (next === undefined) {
      current[part] = {};
    } else if (!isPlainObject(next)) {
      // MongoDB: "Cannot create field '<x>' in element {<part>: null}" (PathNotViable)
      throw new DbError('DATABASE_REQUEST_FAILED', `Cannot create field '${parts[i + 1]}' in element {${part}: ${JSON.stringify(next)}}`);
    }
    current = current[part] as Doc;
  }
  current[parts[parts.length - 1]!] = value;
}

function unsetPath(doc: Doc, path: string): void {
  const parts = path.split('.');
  const parent = parts.length === 1 ? doc : getPath(doc, parts.slice(0, -1).join('.'));
  if (isPlainObject(parent)) delete parent[parts[parts.length - 1]!];
}

/** MongoDB's sort order across types: missing/null < numbers < strings < objects < arrays < booleans. */
function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return 1;
  if (typeof v === 'string') return 2;
  if (Array.isArray(v)) return 4;
  if (typeof v === 'object') return 3;
  return 5;
}
function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0;
}
const deepEqual = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function matchesValue(actual: unknown, expected: unknown): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (Array.isArray(actual) && !Array.isArray(expected)) return actual.some((item) => deepEqual(item, expected));
  return deepEqual(actual, expected);
}

/** Comparisons only between values of the same kind, as MongoDB's type brackets do. */
function comparable(actual: unknown, operand: unknown): boolean {
  return actual !== null && actual !== undefined && typeRank(actual) === typeRank(operand);
}

function matchesCondition(actual: unknown, condition: unknown): boolean {
  if (!isPlainObject(condition) || !Object.keys(condition).some((k) => k.startsWith('$'))) return matchesValue(actual, condition);
  return Object.entries(condition).every(([op, operand]) => {
    switch (op) {
      case '$eq':
        return matchesValue(actual, operand);
      case '$ne':
        return !matchesValue(actual, operand);
      case '$gt':
        return comparable(actual, operand) && compareValues(actual, operand) > 0;
      case '$gte':
        return comparable(actual, operand) && compareValues(actual, operand) >= 0;
      case '$lt':
        return comparable(actual, operand) && compareValues(actual, operand) < 0;
      case '$lte':
        return comparable(actual, operand) && compareValues(actual, operand) <= 0;
      case '$in':
        return (operand as unknown[]).some((v) => matchesValue(actual, v));
      case '$nin':
        return !(operand as unknown[]).some((v) => matchesValue(actual, v));
      case '$exists':
        return (actual !== undefined) === Boolean(operand);
      default:
        throw new DbError('DATABASE_REQUEST_FAILED', `unsupported query operator ${op}`);
    }
  });
}

function matches(doc: Doc, query: Doc): boolean {
  return Object.entries(query).every(([key, condition]) => {
    if (key === '$and') return (condition as Doc[]).every((q) => matches(doc, q));
    if (key === '$or') return (condition as Doc[]).some((q) => matches(doc, q));
    if (key === '$nor') return !(condition as Doc[]).some((q) => matches(doc, q));
    return matchesCondition(getPath(doc, key), condition);
  });
}

function applyUpdate(doc: Doc, update: Doc): Doc {
  const next = structuredClone(doc);
  for (const [op, fields] of Object.entries(update)) {
    if (!op.startsWith('$')) throw new DbError('DATABASE_REQUEST_FAILED', `update document must use operators, got ${op}`);
    for (const [path, value] of Object.entries(fields as Doc)) {
      if (path === '_id' || path.startsWith('_id.')) throw new DbError('DATABASE_REQUEST_FAILED', 'Performing an update on the path \'_id\' would modify the immutable field \'_id\'');
      switch (op) {
        case '$set':
          setPath(next, path, structuredClone(value));
          break;
        case '$unset':
          unsetPath(next, path);
          break;
        case '$inc': {
          const current = getPath(next, path);
          if (current !== undefined && current !== null && typeof current !== 'number') throw new DbError('DATABASE_REQUEST_FAILED', `Cannot apply $inc to a value of non-numeric type at ${path}`);
          setPath(next, path, ((current as number | undefined) ?? 0) + (value as number));
          break;
        }
        case '$push':
        case '$addToSet': {
          const current = getPath(next, path);
          if (current !== undefined && !Array.isArray(current)) throw new DbError('DATABASE_REQUEST_FAILED', `The field '${path}' must be an array`);
          const items = isPlainObject(value) && '$each' in value ? (value.$each as unknown[]) : [value];
          const array = [...((current as unknown[] | undefined) ?? [])];
          for (const item of items) if (op === '$push' || !array.some((x) => deepEqual(x, item))) array.push(structuredClone(item));
          setPath(next, path, array);
          break;
        }
        default:
          throw new DbError('DATABASE_REQUEST_FAILED', `unsupported update operator ${op}`);
      }
    }
  }
  return next;
}

export async function startCloudbaseStandin(options: StandinOptions = {}): Promise<CloudbaseStandin> {
  const collections = new Map<string, Map<string, Doc>>();
  for (const name of options.collections ?? []) collections.set(name, new Map());
  const requests: StandinRequest[] = [];
  const failures: Array<{ action: string; error: { code: string; message: string } }> = [];
  const hooks: Array<{ action: string; meanwhile: () => Promise<void> }> = [];

  const table = (name: unknown): Map<string, Doc> => {
    const found = typeof name === 'string' ? collections.get(name) : undefined;
    if (!found) throw new DbError('DATABASE_COLLECTION_NOT_EXIST', `Db or Table not exist: ${String(name)}. Create it first (pnpm cloudbase:setup)`);
    return found;
  };
  const parse = (text: unknown): Doc => (typeof text === 'string' && text ? (EJSON.parse(text, { relaxed: true }) as Doc) : {});
  const stringify = (doc: Doc) => EJSON.stringify(doc, { relaxed: false });

  function checkUnique(name: string, docs: Map<string, Doc>, candidate: Doc, id: string): void {
    for (const index of options.uniqueIndexes ?? []) {
      if (index.collection !== name) continue;
      const value = getPath(candidate, index.field) ?? null;
      for (const [otherId, other] of docs) {
        if (otherId !== id && deepEqual(getPath(other, index.field) ?? null, value)) {
          throw new DbError('DATABASE_DUPLICATE_WRITE', `E11000 duplicate key error collection: ${name} index: ${index.field}_1 dup key: { ${index.field}: ${JSON.stringify(value)} }`);
        }
      }
    }
  }

  function selected(docs: Map<string, Doc>, params: Doc): Array<[string, Doc]> {
    const query = parse(params.query);
    return [...docs].filter(([, doc]) => matches(doc, query));
  }

  function handle(params: Doc): Doc {
    const action = String(params.action ?? '');
    switch (action) {
      case 'database.addCollection': {
        const name = String(params.collectionName);
        if (collections.has(name)) throw new DbError('DATABASE_COLLECTION_ALREADY_EXIST', `collection ${name} already exists`);
        collections.set(name, new Map());
        return {};
      }
      case 'database.insertDocument': {
        const name = String(params.collectionName);
        const docs = table(name);
        const insertedIds: string[] = [];
        for (const text of params.data as string[]) {
          const doc = parse(text);
          const id = String(doc._id ?? randomBytes(16).toString('hex'));
          if (docs.has(id)) throw new DbError('DATABASE_DUPLICATE_WRITE', `E11000 duplicate key error collection: ${name} index: _id_ dup key: { _id: "${id}" }`);
          const stored = { ...doc, _id: id };
          checkUnique(name, docs, stored, id);
          docs.set(id, stored);
          insertedIds.push(id);
        }
        return { insertedIds };
      }
      case 'database.getDocument': {
        const docs = table(params.collectionName);
        let found = selected(docs, params).map(([, d]) => d);
        const order = parse(params.order) as Record<string, number>;
        const fields = Object.entries(order);
        if (fields.length) {
          found = [...found].sort((a, b) => {
            for (const [field, direction] of fields) {
              const c = compareValues(getPath(a, field), getPath(b, field));
              if (c !== 0) return direction < 0 ? -c : c;
            }
            return 0;
          });
        }
        const offset = Number(params.offset ?? 0);
        const limit = Math.min(Number(params.limit ?? 100), 1000);
        return { list: found.slice(offset, offset + limit).map(stringify), limit, offset };
      }
      case 'database.calculateDocument':
        return { total: selected(table(params.collectionName), params).length };
      case 'database.modifyDocument': {
        const name = String(params.collectionName);
        const docs = table(name);
        const data = parse(params.data);
        const hits = selected(docs, params);
        const targets = params.multi === false ? hits.slice(0, 1) : hits;
        if (params.merge === false) {
          // doc.set(): replace the whole document, inserting it when absent (upsert)
          const id = String(parse(params.query)._id ?? '');
          const replacement = { ...data, _id: id };
          checkUnique(name, docs, replacement, id);
          const before = docs.get(id);
          docs.set(id, replacement);
          return before ? { updated: deepEqual(before, replacement) ? 0 : 1 } : { updated: 0, upsert_id: id };
        }
        // Compute every change first: a failing document changes nothing (single-document updates are atomic).
        const changes = targets.map(([id, doc]) => [id, doc, applyUpdate(doc, data)] as const);
        let updated = 0;
        for (const [id, before, after] of changes) {
          checkUnique(name, docs, after, id);
          docs.set(id, after);
          if (!deepEqual(before, after)) updated += 1;
        }
        return { updated };
      }
      case 'database.removeDocument': {
        const docs = table(params.collectionName);
        const hits = selected(docs, params);
        const targets = params.multi === false ? hits.slice(0, 1) : hits;
        for (const [id] of targets) docs.delete(id);
        return { deleted: targets.length };
      }
      default:
        throw new DbError('INVALID_ACTION', `the stand-in does not implement ${action}`);
    }
  }

  const server: Server = createServer(async (req, res) => {
    const { text } = await readBody(req, 16 * 1024 * 1024);
    const requestId = randomBytes(8).toString('hex');
    let params: Doc;
    try {
      params = JSON.parse(text) as Doc;
    } catch {
      return send(res, 200, { code: 'INVALID_PARAM', message: 'body is not JSON', requestId });
    }
    const action = String(params.action ?? '');
    const decoded = (value: unknown) => {
      try {
        return typeof value === 'string' ? (EJSON.parse(value, { relaxed: true }) as Doc) : null;
      } catch {
        return null;
      }
    };
    requests.push({
      action,
      collection: typeof params.collectionName === 'string' ? params.collectionName : null,
      query: decoded(params.query),
      data: Array.isArray(params.data) ? params.data.map(decoded) : decoded(params.data),
      order: decoded(params.order) as Record<string, number> | null,
      envName: typeof params.envName === 'string' ? params.envName : null,
      secretId: /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? null,
    });
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    const hook = hooks.findIndex((h) => h.action === action);
    if (hook >= 0) await hooks.splice(hook, 1)[0]!.meanwhile();
    const failure = failures.findIndex((f) => f.action === action);
    if (failure >= 0) return send(res, 200, { ...failures.splice(failure, 1)[0]!.error, requestId });
    try {
      return send(res, 200, { requestId, data: handle(params) });
    } catch (error) {
      if (error instanceof DbError) return send(res, 200, { code: error.code, message: error.message, requestId });
      return send(res, 200, { code: 'SYS_ERR', message: (error as Error).message, requestId });
    }
  });
  const port = await listen(server, options.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}/admin`,
    requests,
    docs: (name) => [...(collections.get(name)?.values() ?? [])].map((d) => structuredClone(d)),
    createCollection: (name) => void collections.set(name, collections.get(name) ?? new Map()),
    failNext: (action, error) => void failures.push({ action, error }),
    beforeNext: (action, meanwhile) => void hooks.push({ action, meanwhile }),
    close: () => closeServer(server),
  };
}
