// The store contract, run unchanged against both implementations: SQLite (a file in a temp dir) and
// PostgreSQL (the test server, one database for the file and one schema per test).

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from 'vitest';
import type { SessionRecord, StatementRecord } from '../src/core/records.js';
import { STORE_MIGRATIONS } from '../src/store/migrations/index.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { createTestDatabase } from './testkit/databases.js';
import { eventHash, GENESIS_PREV } from '../src/recording/record-format.js';
import { eventToChained } from '../src/recording/recording-export.js';

const ALL_VERSIONS = STORE_MIGRATIONS.map((m) => m.version).sort((a, b) => a - b);

type AnyStore = SqliteStore | PostgresStore;

interface Harness {
  readonly name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A fresh, empty location for one test. */
  location(): string;
  open(location: string): Promise<AnyStore>;
  /** Breaks the store underneath it (closes the file / ends the pool) without telling it. */
  breakConnection(store: AnyStore): Promise<void>;
}

function sqliteHarness(): Harness {
  let dir = '';
  return {
    name: 'sqlite',
    async setup() {
      dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-store-'));
    },
    async teardown() {
      rmSync(dir, { recursive: true, force: true });
    },
    location: () => path.join(dir, randomBytes(4).toString('hex'), 'gatehouse.db'),
    open: (location) => SqliteStore.open({ path: location }),
    async breakConnection(store) {
      (store as SqliteStore).getDatabase().close();
    },
  };
}

function postgresHarness(): Harness {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  return {
    name: 'postgres',
    async setup() {
      db = await createTestDatabase(inject('pgUrl'), 'store');
    },
    async teardown() {
      await db?.drop();
    },
    location: () => `s_${randomBytes(4).toString('hex')}`,
    open: (schema) => PostgresStore.open({ url: db!.url, schema, poolSize: 4 }),
    async breakConnection(store) {
      await (store as PostgresStore).getPool().end();
    },
  };
}

let n = 0;
function uid(prefix: string): string {
  return `${prefix}-${++n}-${randomBytes(3).toString('hex')}`;
}

function session(over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: uid('sess'),
    startedAt: new Date('2026-03-01T10:00:00.000Z'),
    subject: 'alice@example.com',
    groups: ['dba', 'oncall'],
    tokenKind: 'oidc',
    agent: false,
    issuer: 'https://idp.example.com',
    clientAddress: '10.0.0.7:51234',
    clientUser: 'postgres',
    application: 'psql',
    connection: 'prod',
    protocol: 'postgres',
    ...over,
  };
}

function statement(s: SessionRecord, seq: number, over: Partial<StatementRecord> = {}): StatementRecord {
  return {
    id: uid('stmt'),
    sessionId: s.id,
    seq,
    at: new Date(s.startedAt.getTime() + seq * 1000),
    via: 'simple',
    text: `select ${seq}`,
    kind: 'select',
    categories: ['read'],
    effect: 'allow',
    ruleId: 'read-only',
    ...over,
  };
}

/** Settles within `ms` or fails the test: a store that hangs instead of rejecting is a bug. */
async function settleWithin<T>(p: Promise<T>, ms: number): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    const [r] = await Promise.race([Promise.allSettled([p]), timeout]);
    return r;
  } finally {
    clearTimeout(timer);
  }
}

describe.each([sqliteHarness(), postgresHarness()])('$name store', (h) => {
  const open: AnyStore[] = [];
  async function fresh(location = h.location()): Promise<AnyStore> {
    const s = await h.open(location);
    open.push(s);
    return s;
  }

  beforeAll(() => h.setup());
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
  });
  afterAll(() => h.teardown());

  test('session lifecycle: start, read back, end', async () => {
    const store = await fresh();
    const s = session({ agent: true, tokenKind: 'service', issuer: 'gatehouse' });
    await store.startSession(s);
    const got = await store.getSession(s.id);
    expect(got?.session).toEqual(s);
    expect(got?.statements).toEqual([]);

    const ended = new Date('2026-03-01T10:05:00.000Z');
    await store.endSession(s.id, ended, 'client closed');
    const after = await store.getSession(s.id);
    expect(after?.session.endedAt).toEqual(ended);
    expect(after?.session.endReason).toBe('client closed');
    expect(after?.session.agent).toBe(true);

    await expect(store.endSession('no-such-session', ended, 'x')).rejects.toMatchObject({
      code: 'ERR_RECORD_FAILED',
    });
    expect(await store.getSession('no-such-session')).toBeUndefined();
  });

  test('optional session fields stay absent', async () => {
    const store = await fresh();
    const { clientUser: _u, application: _a, ...rest } = session();
    await store.startSession(rest);
    const got = await store.getSession(rest.id);
    expect(got?.session).toEqual(rest);
    expect(got?.session).not.toHaveProperty('clientUser');
    expect(got?.session).not.toHaveProperty('endedAt');
  });

  test('statements come back in seq order with their results', async () => {
    const store = await fresh();
    const s = session();
    await store.startSession(s);
    const st1 = statement(s, 1, {
      params: ['42', null],
      text: 'select * from t where id = $1 and x = $2',
      via: 'extended',
    });
    const st2 = statement(s, 2, {
      text: 'drop table users',
      kind: 'drop table',
      categories: ['ddl-drop'],
      effect: 'deny',
      ruleId: 'no-drops',
      message: 'Dropping tables is not allowed on prod.',
    });
    const st3 = statement(s, 3, {
      text: 'update t set a = 1',
      kind: 'update',
      categories: ['write', 'write-unbounded'],
    });
    // Recorded out of order: reading back orders by seq.
    await store.recordStatement(st3);
    await store.recordStatement(st1);
    await store.recordStatement(st2);
    await store.completeStatement(st1.id, { durationMs: 1.25, rows: 3, masked: { email: 2 } });
    await store.completeStatement(st3.id, {
      durationMs: 0.5,
      error: { code: '42P01', message: 'relation "t" does not exist' },
    });

    const got = await store.getSession(s.id);
    expect(got?.statements.map((x) => x.seq)).toEqual([1, 2, 3]);
    const [g1, g2, g3] = got!.statements;
    expect(g1).toEqual({ ...st1, result: { durationMs: 1.25, rows: 3, masked: { email: 2 } } });
    expect(g2).toEqual(st2);
    expect(g2).not.toHaveProperty('result');
    expect(g3?.result).toEqual({
      durationMs: 0.5,
      error: { code: '42P01', message: 'relation "t" does not exist' },
    });

    await expect(store.completeStatement('no-such-statement', { durationMs: 1 })).rejects.toMatchObject({
      code: 'ERR_RECORD_FAILED',
    });
    if ('countStatements' in store) {
      expect(await store.countStatements(s.id)).toEqual({ total: 3, denied: 1, review: 0 });
    }
  });

  test('a reviewed body comes back with its statement (digest and size), from its statement event', async () => {
    const store = await fresh();
    const s = session({ protocol: 'http' });
    await store.startSession(s);
    const digest = 'a'.repeat(64);
    const reviewed = statement(s, 1, {
      via: 'http',
      text: 'POST /v1/jobs',
      kind: 'post',
      categories: ['write'],
      effect: 'review',
      ruleId: 'jobs-need-approval',
      message: 'held for approval',
      body: { sha256: digest, bytes: 1234 },
    });
    const plain = statement(s, 2);
    // Text that looks like a body member in the event's JSON text is not one (it is escaped there).
    const lookalike = statement(s, 3, { text: `select '"body":{"bytes":1,"sha256":"${'b'.repeat(64)}"}'` });
    const emptyBody = statement(s, 4, {
      via: 'http',
      text: 'PUT /v1/x',
      body: { sha256: 'e'.repeat(64), bytes: 0 },
    });
    await store.recordStatement(reviewed);
    await store.recordStatement(plain);
    await store.recordStatement(lookalike);
    await store.recordStatement(emptyBody);
    await store.completeStatement(reviewed.id, { durationMs: 3, rows: 1 });

    const got = await store.getSession(s.id);
    expect(got?.statements).toEqual([
      { ...reviewed, result: { durationMs: 3, rows: 1 } },
      plain,
      lookalike,
      emptyBody,
    ]);
    expect(got?.statements[1]).not.toHaveProperty('body');
    expect(got?.statements[2]).not.toHaveProperty('body');
    // The view's own columns, as a query of the database reads them (null without a body).
    if (h.name === 'sqlite') await (store as SqliteStore).foldStaged();
    const rows = await store
      .getKysely()
      .selectFrom('statement_records')
      .select(['seq', 'body_sha256', 'body_bytes'])
      .where('session_id', '=', s.id)
      .orderBy('seq')
      .execute();
    expect(
      rows.map((r) => [r.seq, r.body_sha256, r.body_bytes === null ? null : Number(r.body_bytes)]),
    ).toEqual([
      [1, digest, 1234],
      [2, null, null],
      [3, null, null],
      [4, 'e'.repeat(64), 0],
    ]);
    if ('countStatements' in store)
      expect(await store.countStatements(s.id)).toEqual({ total: 4, denied: 0, review: 1 });
    if (h.name === 'postgres') {
      // The view joins each statement to its event: a read of one session reads that session's
      // events only (the filter carried across the join to the events' key), not the whole record.
      const plan = await sql<{ 'QUERY PLAN': string }>`explain (costs off)
        select * from statement_records where session_id = 'x' order by seq`.execute(store.getKysely());
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toMatch(/on session_events b\n[\s\S]*Cond: \(session_id = 'x'::text\)/);
    }
  });

  test('group commit: 500 writes issued together commit in a few transactions', async () => {
    const store = await fresh();
    const s = session();
    await store.startSession(s);
    const before = store.stats().commits;
    const records = Array.from({ length: 500 }, (_, i) => statement(s, i + 1));
    const pending = records.map((r) => store.recordStatement(r));
    await Promise.all(pending);
    const commits = store.stats().commits - before;
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThanOrEqual(5);
    const got = await store.getSession(s.id);
    expect(got?.statements).toHaveLength(500);
    expect(got?.statements.map((x) => x.id)).toEqual(records.map((r) => r.id));
  });

  test('a completion issued with its statement lands after the insert (same batch)', async () => {
    const store = await fresh();
    const s = session();
    const st = statement(s, 1);
    const ended = new Date('2026-03-01T11:00:00.000Z');
    // Nothing awaited in between: all four are in one batch.
    const all = [
      store.startSession(s),
      store.recordStatement(st),
      store.completeStatement(st.id, { durationMs: 2, rows: 1 }),
      store.endSession(s.id, ended, 'terminated'),
    ];
    await Promise.all(all);
    const got = await store.getSession(s.id);
    expect(got?.session.endedAt).toEqual(ended);
    expect(got?.statements[0]?.result).toEqual({ durationMs: 2, rows: 1 });
  });

  test('completions in a later batch than their statements are applied', async () => {
    const store = await fresh();
    const s = session();
    await store.startSession(s);
    const sts = Array.from({ length: 50 }, (_, i) => statement(s, i + 1));
    await Promise.all(sts.map((x) => store.recordStatement(x)));
    await Promise.all(sts.map((x, i) => store.completeStatement(x.id, { durationMs: i, rows: i * 2 })));
    const got = await store.getSession(s.id);
    expect(got?.statements.map((x) => x.result?.rows)).toEqual(sts.map((_, i) => i * 2));
  });

  test('a completion issued while its statement is still committing waits for that commit', async () => {
    const store = await fresh();
    const s = session();
    await store.startSession(s);
    const pending: Promise<void>[] = [];
    const sts = Array.from({ length: 100 }, (_, i) => statement(s, i + 1));
    for (const [i, x] of sts.entries()) {
      pending.push(store.recordStatement(x));
      // Let the record's batch start (and, on PostgreSQL, be in flight) before its completion arrives.
      await new Promise<void>((r) => setImmediate(r));
      pending.push(store.completeStatement(x.id, { durationMs: 1, rows: i }));
    }
    await Promise.all(pending);
    const got = await store.getSession(s.id);
    expect(got?.statements.map((x) => x.result?.rows)).toEqual(sts.map((_, i) => i));
  });

  test('one bad write in a batch rejects alone; the others commit', async () => {
    const store = await fresh();
    const s = session();
    await store.startSession(s);
    const first = statement(s, 1);
    await store.recordStatement(first);
    const good = Array.from({ length: 20 }, (_, i) => statement(s, i + 2));
    const dup = { ...statement(s, 99), id: first.id }; // primary-key violation
    const results = await Promise.allSettled(
      [...good.slice(0, 10), dup, ...good.slice(10)].map((r) => store.recordStatement(r)),
    );
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_RECORD_FAILED' });
    const got = await store.getSession(s.id);
    expect(got?.statements).toHaveLength(21);
  });

  test('a write the store cannot make rejects (table gone)', async () => {
    const store = await fresh();
    const s = session();
    await store.startSession(s);
    // PostgreSQL drops the view that reads the table with it (migration 0008); SQLite leaves it broken.
    await (h.name === 'postgres' ? sql`drop table statements cascade` : sql`drop table statements`).execute(
      store.getKysely(),
    );
    const r = await settleWithin(store.recordStatement(statement(s, 1)), 5000);
    expect(r.status).toBe('rejected');
    expect((r as PromiseRejectedResult).reason).toMatchObject({
      code: 'ERR_RECORD_FAILED',
      message: 'the gateway could not write to its session store',
    });
  });

  test('a write on a broken connection rejects, every caller in the batch, without hanging', async () => {
    const store = await fresh();
    const s = session();
    await store.startSession(s);
    await h.breakConnection(store);
    const writes = Array.from({ length: 30 }, (_, i) => store.recordStatement(statement(s, i + 1)));
    const settled = await settleWithin(Promise.allSettled(writes), 5000);
    expect(settled.status).toBe('fulfilled');
    const results = (settled as PromiseFulfilledResult<PromiseSettledResult<void>[]>).value;
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(store.stats().written).toBe(1);
  });

  test('writes after close reject', async () => {
    const store = await fresh();
    const s = session();
    const started = store.startSession(s);
    await store.close(); // drains what was queued first
    await expect(started).resolves.toBeUndefined();
    await expect(store.recordStatement(statement(s, 1))).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
  });

  test('listSessions filters and orders newest first', async () => {
    const store = await fresh();
    const t0 = Date.parse('2026-04-01T00:00:00.000Z');
    const at = (min: number) => new Date(t0 + min * 60_000);
    const a = session({ id: 'a', startedAt: at(0), subject: 'alice', connection: 'prod' });
    const b = session({ id: 'b', startedAt: at(10), subject: 'bob', connection: 'prod', agent: true });
    const c = session({ id: 'c', startedAt: at(20), subject: 'alice', connection: 'staging' });
    const d = session({ id: 'd', startedAt: at(30), subject: 'carol', connection: 'prod' });
    await Promise.all([a, b, c, d].map((x) => store.startSession(x)));
    await Promise.all([
      store.recordStatement(statement(a, 1, { text: 'SELECT * FROM Orders', categories: ['read'] })),
      store.recordStatement(
        statement(b, 1, {
          text: 'DROP TABLE users',
          kind: 'drop table',
          categories: ['ddl-drop'],
          effect: 'deny',
          ruleId: 'no-drop',
        }),
      ),
      store.recordStatement(statement(b, 2, { text: 'select 100% done', categories: ['read'] })),
      store.recordStatement(
        statement(c, 1, {
          text: 'update t set x = 1',
          kind: 'update',
          categories: ['write', 'write-unbounded'],
          effect: 'review',
          ruleId: 'writes-need-approval',
        }),
      ),
      store.recordStatement(
        statement(d, 1, { text: 'insert into t values (1)', kind: 'insert', categories: ['write'] }),
      ),
    ]);
    const ids = async (f: Parameters<AnyStore['listSessions']>[0]) =>
      (await store.listSessions(f)).map((x) => x.id);

    expect(await ids({})).toEqual(['d', 'c', 'b', 'a']);
    expect(await ids({ subject: 'alice' })).toEqual(['c', 'a']);
    expect(await ids({ connection: 'prod' })).toEqual(['d', 'b', 'a']);
    expect(await ids({ since: at(10) })).toEqual(['d', 'c', 'b']);
    expect(await ids({ until: at(20) })).toEqual(['b', 'a']);
    expect(await ids({ since: at(10), until: at(30) })).toEqual(['c', 'b']);
    expect(await ids({ effect: 'deny' })).toEqual(['b']);
    expect(await ids({ effect: 'review' })).toEqual(['c']);
    expect(await ids({ effect: 'allow' })).toEqual(['d', 'b', 'a']);
    // An exact element of the categories array, not a prefix of another category.
    expect(await ids({ category: 'write' })).toEqual(['d', 'c']);
    expect(await ids({ category: 'write-unbounded' })).toEqual(['c']);
    expect(await ids({ category: 'writ' })).toEqual([]);
    expect(await ids({ text: 'orders' })).toEqual(['a']);
    expect(await ids({ text: 'DROP table' })).toEqual(['b']);
    // LIKE wildcards in the search text match literally.
    expect(await ids({ text: '100%' })).toEqual(['b']);
    expect(await ids({ text: '%' })).toEqual(['b']);
    expect(await ids({ text: '_' })).toEqual([]);
    // Statement conditions apply to the same statement.
    expect(await ids({ effect: 'deny', text: 'select' })).toEqual([]);
    expect(await ids({ effect: 'allow', text: 'select' })).toEqual(['b', 'a']);
    expect(await ids({ subject: 'alice', category: 'write' })).toEqual(['c']);
    expect(await ids({ limit: 2 })).toEqual(['d', 'c']);
    await expect(store.listSessions({ limit: 0 })).rejects.toThrow(RangeError);
  });

  test('text filter folds non-ASCII case', async () => {
    const store = await fresh();
    const s = session();
    await store.startSession(s);
    await store.recordStatement(statement(s, 1, { text: "select 'ÄRGER über Größe'" }));
    expect((await store.listSessions({ text: 'ärger' })).map((x) => x.id)).toEqual([s.id]);
    expect((await store.listSessions({ text: 'ÜBER' })).map((x) => x.id)).toEqual([s.id]);
  });

  test('listSessions returns 50 by default', async () => {
    const store = await fresh();
    const base = Date.parse('2026-05-01T00:00:00.000Z');
    const all = Array.from({ length: 60 }, (_, i) =>
      session({ id: `s${String(i).padStart(2, '0')}`, startedAt: new Date(base + i * 1000) }),
    );
    await Promise.all(all.map((x) => store.startSession(x)));
    const got = await store.listSessions({});
    expect(got).toHaveLength(50);
    expect(got[0]?.id).toBe('s59');
    expect(got[49]?.id).toBe('s10');
  });

  test('service tokens: save, get, list, revoke, isRevoked', async () => {
    const store = await fresh();
    const t1 = {
      id: 'jti-1',
      subject: 'ci-bot',
      groups: ['deploy'],
      agent: true,
      issuedAt: new Date('2026-01-01T00:00:00.000Z'),
      expiresAt: new Date('2026-02-01T00:00:00.000Z'),
      description: 'CI pipeline',
    };
    const t2 = {
      ...t1,
      id: 'jti-2',
      agent: false,
      issuedAt: new Date('2026-01-02T00:00:00.000Z'),
      description: undefined,
    };
    const { description: _d, ...t2clean } = t2;
    await store.saveServiceToken(t1);
    await store.saveServiceToken(t2clean);
    await expect(store.saveServiceToken(t1)).rejects.toThrow();

    expect(await store.listServiceTokens()).toEqual([t2clean, t1]);
    expect(await store.getServiceToken('jti-1')).toEqual(t1);
    expect(await store.getServiceToken('nope')).toBeUndefined();

    expect(await store.isRevoked('jti-1')).toBe(false);
    const revokedAt = new Date('2026-01-15T12:00:00.000Z');
    expect(await store.revokeServiceToken('jti-1', revokedAt)).toBe(true);
    expect(await store.isRevoked('jti-1')).toBe(true);
    expect(await store.isRevoked('jti-2')).toBe(false);
    // A second revocation keeps the first time.
    expect(await store.revokeServiceToken('jti-1', new Date('2026-01-20T00:00:00.000Z'))).toBe(true);
    expect((await store.getServiceToken('jti-1'))?.revokedAt).toEqual(revokedAt);
    expect(await store.revokeServiceToken('unknown', revokedAt)).toBe(false);
    expect(await store.isRevoked('unknown')).toBe(false);
  });

  test('migrations are idempotent: reopening keeps the data and applies nothing', async () => {
    const location = h.location();
    const first = await fresh(location);
    expect(first.migration.applied).toEqual(ALL_VERSIONS);
    const s = session();
    await first.startSession(s);
    await first.close();
    const second = await fresh(location);
    expect(second.migration).toEqual({ applied: [], version: Math.max(...ALL_VERSIONS) });
    expect((await second.getSession(s.id))?.session).toEqual(s);
  });

  test('two stores opening the same location at once both come up', async () => {
    const location = h.location();
    const [x, y] = await Promise.all([fresh(location), fresh(location)]);
    expect([...x.migration.applied, ...y.migration.applied]).toEqual(ALL_VERSIONS);
    const s = session();
    await x.startSession(s);
    expect((await y.getSession(s.id))?.session.id).toBe(s.id);
  });

  // Retention (docs/recording.md, "Retention"): a session goes once its END is past the cutoff; a session
  // still open in this process never goes; one left open by another process (a crashed gateway) goes
  // once its last activity is past the cutoff. Every session left keeps its whole chain.
  test('a purge never deletes a live session, goes by the end, and treats a session left open elsewhere as ended at its last event', async () => {
    const location = h.location();
    const store = await fresh(location);
    const at = (iso: string) => new Date(iso);
    const cutoff = at('2026-06-01T00:00:00.000Z');
    const old = (over: Partial<SessionRecord> = {}) =>
      session({ startedAt: at('2026-01-10T10:00:00.000Z'), ...over });

    // Started long before the cutoff and idle since, but open in this process.
    const live = old();
    await store.startSession(live);
    await store.recordStatement(statement(live, 1));
    // Started before the cutoff, ended after it: its end counts, not its start.
    const endedLate = old();
    await store.startSession(endedLate);
    await store.endSession(endedLate.id, at('2026-07-01T00:00:00.000Z'), 'client closed');
    // Ended before the cutoff: goes.
    const endedEarly = old();
    await store.startSession(endedEarly);
    await store.recordStatement(statement(endedEarly, 1));
    await store.endSession(endedEarly.id, at('2026-01-10T11:00:00.000Z'), 'client closed');

    // Left open by another process that went away (a crash: nothing ended them).
    const other = await h.open(location);
    const abandoned = old();
    const abandonedActive = old();
    try {
      await other.startSession(abandoned);
      await other.recordStatement(statement(abandoned, 1));
      await other.startSession(abandonedActive);
      // Its last event is after the cutoff: it was in use then.
      await other.recordStatement(statement(abandonedActive, 1, { at: at('2026-08-01T00:00:00.000Z') }));
    } finally {
      await other.close();
    }

    const purged = await store.purgeSessions(cutoff);
    expect(purged.sort()).toEqual([endedEarly.id, abandoned.id].sort());
    for (const id of purged) {
      expect(await store.getSession(id)).toBeUndefined();
      expect(await store.getEvents(id)).toEqual([]);
    }
    // The live session goes on recording, its chain whole from its first event.
    const next = statement(live, 2);
    await store.recordStatement(next);
    await store.completeStatement(next.id, { durationMs: 1 });
    for (const s of [live, endedLate, abandonedActive]) {
      const events = await store.getEvents(s.id);
      expect(events[0]?.type).toBe('session.start');
      let prev = GENESIS_PREV;
      for (const [i, e] of events.entries()) {
        expect(e.seq).toBe(i + 1);
        expect(e.prev).toBe(prev);
        expect(e.hash).toBe(eventHash(eventToChained(e)));
        prev = e.hash;
      }
    }
    expect((await store.getEvents(live.id)).map((e) => e.type)).toEqual([
      'session.start',
      'statement',
      'statement',
      'result',
    ]);

    // Once it has ended (and its end is past the cutoff), it goes too.
    await store.endSession(live.id, at('2026-02-01T00:00:00.000Z'), 'client closed');
    expect(await store.purgeSessions(cutoff)).toEqual([live.id]);
  });

  test('a purge pages past live sessions: a page of live ones does not end it early', async () => {
    const store = await fresh();
    const live = Array.from({ length: 3 }, (_, i) =>
      session({ startedAt: new Date(Date.UTC(2026, 0, 1, i)) }),
    );
    for (const s of live) await store.startSession(s);
    const ended = Array.from({ length: 2 }, (_, i) =>
      session({ startedAt: new Date(Date.UTC(2026, 0, 2, i)) }),
    );
    for (const s of ended) {
      await store.startSession(s);
      await store.endSession(s.id, new Date(Date.UTC(2026, 0, 3, 0)), 'client closed');
    }
    // Pages of two: the live sessions (older) would fill the first page if they were counted.
    const first = await store.purgeSessions(new Date('2026-06-01T00:00:00.000Z'), 2);
    expect(first.sort()).toEqual(ended.map((s) => s.id).sort());
    expect(await store.purgeSessions(new Date('2026-06-01T00:00:00.000Z'), 2)).toEqual([]);
    for (const s of live) expect((await store.getSession(s.id))?.session.id).toBe(s.id);
  });

  test('a session purged while this store had its chain tail refuses later writes instead of chaining to deleted events', async () => {
    const location = h.location();
    const store = await fresh(location);
    const other = await h.open(location);
    const s = session({ startedAt: new Date('2026-01-10T10:00:00.000Z') });
    try {
      await other.startSession(s);
    } finally {
      await other.close(); // left open: a crashed process's session
    }
    // This store appends to it (an approval decided here), so it knows the chain's tail.
    await store.appendEvent(s.id, {
      type: 'approval.expired',
      at: new Date('2026-01-10T10:01:00.000Z'),
      data: {},
    });
    expect(await store.purgeSessions(new Date('2026-06-01T00:00:00.000Z'))).toEqual([s.id]);
    await expect(
      store.appendEvent(s.id, { type: 'approval.expired', at: new Date(), data: {} }),
    ).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
    await expect(store.recordStatement(statement(s, 1))).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
    // Nothing of it was written after the purge.
    expect(await store.getEvents(s.id)).toEqual([]);
    expect(await store.getSession(s.id)).toBeUndefined();
  });

  test('a purge by another process never leaves events without their session: the owner of a purged session is refused, not chained on', async () => {
    const location = h.location();
    const owner = await fresh(location);
    const s = session({ startedAt: new Date('2026-01-10T10:00:00.000Z') });
    await owner.startSession(s);
    await owner.recordStatement(statement(s, 1)); // the owner keeps the chain's tail in memory
    // Another process (the CLI, another replica) purges with a cutoff after everything: the session is
    // not live there, and idle past the cutoff.
    const other = await fresh(location);
    const purged = await other.purgeSessions(new Date(Date.now() + 3_600_000));
    const next = owner.recordStatement(statement(s, 2));
    if (h.name === 'sqlite') {
      // SQLite sees the owner's journal lock: a session without an end is not purged while it writes.
      expect(purged).toEqual([]);
      await next;
    } else {
      // PostgreSQL cannot see another replica's live sessions: it goes, and the owner's next write is
      // refused (nothing forwarded unrecorded) instead of chaining to the deleted events.
      expect(purged).toEqual([s.id]);
      await expect(next).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      expect(await owner.getEvents(s.id)).toEqual([]);
    }
    if (owner instanceof SqliteStore) await owner.foldStaged();
    const orphans = await sql<{ n: number | string }>`select count(*) as n from session_events e
      where not exists (select 1 from sessions s where s.id = e.session_id)`.execute(owner.getKysely());
    expect(Number(orphans.rows[0]!.n)).toBe(0);
  });

  // An op lands with its event or not at all: a refused result leaves nothing in the chain (before,
  // its `result` event was chained and written, and the next event linked to it, though the result
  // itself was refused: the record claimed a result that was never accepted).
  test('a refused result leaves no event in the chain, and the chain goes on from the last accepted one', async () => {
    const store = await fresh();
    const s = session();
    await store.startSession(s);
    const gateId = (seq: number) => `${s.id}:${String(seq).padStart(8, '0')}`;
    const st1 = statement(s, 1, { id: gateId(1) });
    await store.recordStatement(st1);
    const committed: string[] = [];
    const off = store.onCommitted((evs) =>
      committed.push(...evs.map((e) => `${e.type} ${e.statement ?? ''}`)),
    );
    const refusedIds = [
      gateId(7), // the gate's shape, in this session: never recorded
      'no-such-statement', // no session named, none known
      `${s.id}:x`, // names this session, not recorded
    ];
    const outcomes = await Promise.allSettled([
      ...refusedIds.map((id) => store.completeStatement(id, { durationMs: 1, rows: 1 })),
      store.completeStatement(st1.id, { durationMs: 2, rows: 3 }),
    ]);
    off();
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'fulfilled']);
    for (const o of outcomes.slice(0, 3))
      expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_RECORD_FAILED' });
    // Alone in their batches too (a result with no company commits on its own).
    for (const id of refusedIds)
      await expect(store.completeStatement(id, { durationMs: 1 })).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
    const st2 = statement(s, 2, { id: gateId(2) });
    await store.recordStatement(st2);
    await store.completeStatement(st2.id, { durationMs: 4 });
    await store.endSession(s.id, new Date('2026-03-01T11:00:00.000Z'), 'client closed');

    const events = await store.getEvents(s.id);
    expect(events.map((e) => `${e.type} ${e.statement ?? ''}`)).toEqual([
      'session.start ',
      `statement ${st1.id}`,
      `result ${st1.id}`,
      `statement ${st2.id}`,
      `result ${st2.id}`,
      'session.end ',
    ]);
    expect(committed).toEqual([`result ${st1.id}`]);
    let prev = GENESIS_PREV;
    for (const [i, e] of events.entries()) {
      expect(e.seq).toBe(i + 1);
      expect(e.prev).toBe(prev);
      expect(e.hash).toBe(eventHash(eventToChained(e)));
      prev = e.hash;
    }
    const got = await store.getSession(s.id);
    expect(got?.statements.map((x) => [x.id, x.result?.durationMs])).toEqual([
      [st1.id, 2],
      [st2.id, 4],
    ]);
  });

  test('a statement of a session the store does not have is refused, with nothing written', async () => {
    const store = await fresh();
    const ghost = session();
    const st = statement(ghost, 1, { id: `${ghost.id}:00000001` });
    const outcomes = await Promise.allSettled([
      store.recordStatement(st),
      store.completeStatement(st.id, { durationMs: 1 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(await store.getEvents(ghost.id)).toEqual([]);
    expect(await store.countStatements(ghost.id)).toMatchObject({ total: 0 });
    // And the session started later has its own statement 1 free.
    await store.startSession(ghost);
    await store.recordStatement(st);
    expect((await store.getEvents(ghost.id)).map((e) => e.type)).toEqual(['session.start', 'statement']);
  });

  test('a statement has one result: a second is refused and leaves no event, in its batch, after it, and after a restart', async () => {
    const location = h.location();
    const store = await fresh(location);
    const s = session();
    await store.startSession(s);
    const gateId = (seq: number) => `${s.id}:${String(seq).padStart(8, '0')}`;
    const sts = [
      statement(s, 1, { id: gateId(1) }),
      statement(s, 2), // an id not of the gate's shape
      statement(s, 3, { id: gateId(3) }),
    ];
    for (const st of sts) await store.recordStatement(st);
    await store.completeStatement(sts[0]!.id, { durationMs: 1 });
    await store.completeStatement(sts[1]!.id, { durationMs: 2 });
    // A second result later, alone or two in one batch.
    for (const st of sts.slice(0, 2))
      await expect(store.completeStatement(st.id, { durationMs: 99 })).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
    const twice = await Promise.allSettled([
      store.completeStatement(sts[2]!.id, { durationMs: 3 }),
      store.completeStatement(sts[2]!.id, { durationMs: 99 }),
    ]);
    expect(twice.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    // A statement and two results in one batch.
    const st4 = statement(s, 4, { id: gateId(4) });
    const inBatch = await Promise.allSettled([
      store.recordStatement(st4),
      store.completeStatement(st4.id, { durationMs: 4 }),
      store.completeStatement(st4.id, { durationMs: 99 }),
    ]);
    expect(inBatch.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    // Another store instance (a restart) finds the results in the record.
    if (store instanceof SqliteStore) await store.foldStaged();
    const again = await fresh(location);
    for (const st of [...sts, st4])
      await expect(again.completeStatement(st.id, { durationMs: 99 })).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });

    const events = await again.getEvents(s.id);
    expect(events.filter((e) => e.type === 'result').map((e) => [e.statement, e.data.durationMs])).toEqual([
      [sts[0]!.id, 1],
      [sts[1]!.id, 2],
      [sts[2]!.id, 3],
      [st4.id, 4],
    ]);
    let prev = GENESIS_PREV;
    for (const e of events) {
      expect(e.prev).toBe(prev);
      prev = e.hash;
    }
    const got = await again.getSession(s.id);
    expect(got?.statements.map((x) => x.result?.durationMs)).toEqual([1, 2, 3, 4]);
  });
});
