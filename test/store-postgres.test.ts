// PostgreSQL-only store behaviour: schemas, replicas sharing state, timeouts, type parsing.
// The contract both stores share is in store-contract.test.ts.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { SessionRecord, StatementRecord } from '../src/core/records.js';
import { openStore } from '../src/store/index.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { createTestDatabase } from './testkit/databases.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgUrl'), 'storepg');
});
afterAll(async () => {
  await db.drop();
});

async function query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

const session = (id: string): SessionRecord => ({
  id,
  startedAt: new Date('2026-02-01T00:00:00.000Z'),
  subject: 'alice',
  groups: ['g'],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'https://idp',
  clientAddress: '10.1.1.1:4000',
  connection: 'prod',
  protocol: 'postgres',
});
const stmt = (sessionId: string, seq: number): StatementRecord => ({
  id: `${sessionId}-${seq}`,
  sessionId,
  seq,
  at: new Date(Date.parse('2026-02-01T00:00:00.000Z') + seq),
  via: 'simple',
  text: `select ${seq}`,
  kind: 'select',
  categories: ['read'],
  effect: 'allow',
  ruleId: 'r',
});

describe('PostgresStore', () => {
  test('keeps its tables in the schema it is given', async () => {
    const store = await PostgresStore.open({ url: db.url, schema: 'gh_schema_test' });
    try {
      const rows = await query<{ table_name: string }>(
        `select table_name from information_schema.tables where table_schema = 'gh_schema_test' order by 1`,
      );
      expect(rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining([
          'prompt_contexts',
          'service_tokens',
          'session_events',
          'session_seals',
          'sessions',
          'statements',
          'store_migrations',
        ]),
      );
      const pub = await query(
        `select 1 from information_schema.tables where table_schema = 'public' and table_name = 'sessions'`,
      );
      expect(pub).toHaveLength(0);
    } finally {
      await store.close();
    }
  });

  test('refuses a schema name that is not a plain identifier', async () => {
    await expect(PostgresStore.open({ url: db.url, schema: 'x; drop table y' })).rejects.toThrow(
      /identifier/,
    );
  });

  test('two replicas share sessions and token revocations', async () => {
    const a = await PostgresStore.open({ url: db.url, schema: 'gh_replicas' });
    const b = await PostgresStore.open({ url: db.url, schema: 'gh_replicas' });
    try {
      await a.saveServiceToken({
        id: 'jti-r',
        subject: 'bot',
        groups: [],
        agent: true,
        issuedAt: new Date(1),
        expiresAt: new Date(2_000_000_000_000),
      });
      expect(await b.isRevoked('jti-r')).toBe(false);
      expect(await b.revokeServiceToken('jti-r', new Date(5))).toBe(true);
      expect(await a.isRevoked('jti-r')).toBe(true);

      // Both replicas write statements of their own sessions at the same time.
      await Promise.all([a.startSession(session('ra')), b.startSession(session('rb'))]);
      await Promise.all([
        ...Array.from({ length: 200 }, (_, i) => a.recordStatement(stmt('ra', i + 1))),
        ...Array.from({ length: 200 }, (_, i) => b.recordStatement(stmt('rb', i + 1))),
      ]);
      expect((await a.getSession('rb'))?.statements).toHaveLength(200);
      expect((await b.getSession('ra'))?.statements).toHaveLength(200);
      expect((await a.listSessions({})).map((s) => s.id).sort()).toEqual(['ra', 'rb']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('a write blocked by a lock rejects after the query timeout instead of hanging', async () => {
    const store = await PostgresStore.open({ url: db.url, schema: 'gh_timeout', queryTimeoutMs: 300 });
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await store.startSession(session('t1'));
      await locker.query('begin');
      await locker.query('lock table gh_timeout.statements in access exclusive mode');
      const started = Date.now();
      await expect(store.recordStatement(stmt('t1', 1))).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      expect(Date.now() - started).toBeLessThan(3000);
      await locker.query('rollback');
      // The store recovers once the database does.
      await store.recordStatement(stmt('t1', 2));
      expect((await store.getSession('t1'))?.statements.map((s) => s.seq)).toEqual([2]);
    } finally {
      await locker.end();
      await store.close();
    }
  });

  test('batches are bounded by maxBatch', async () => {
    const store = await PostgresStore.open({ url: db.url, schema: 'gh_maxbatch', maxBatch: 100 });
    try {
      await store.startSession(session('mb'));
      const before = store.stats().commits;
      await Promise.all(Array.from({ length: 1000 }, (_, i) => store.recordStatement(stmt('mb', i + 1))));
      expect(store.stats().commits - before).toBeGreaterThanOrEqual(10);
      expect(store.stats().largestBatch).toBe(100);
      expect((await store.getSession('mb'))?.statements).toHaveLength(1000);
    } finally {
      await store.close();
    }
  });

  test('int8 columns read as numbers in the store without changing pg parsing for anyone else', async () => {
    const store = await PostgresStore.open({ url: db.url, schema: 'gh_types' });
    try {
      await store.startSession(session('ty'));
      await store.recordStatement(stmt('ty', 1));
      await store.completeStatement('ty-1', { durationMs: 1, rows: 9_007_199_254_740_991 });
      const got = await store.getSession('ty');
      expect(got?.session.startedAt).toEqual(new Date('2026-02-01T00:00:00.000Z'));
      expect(got?.statements[0]?.result?.rows).toBe(9_007_199_254_740_991);
      const [row] = await query<{ n: unknown }>('select 1::int8 as n');
      expect(row?.n).toBe('1');
    } finally {
      await store.close();
    }
  });

  test('openStore resolves the URL secret reference', async () => {
    const refs: unknown[] = [];
    const store = await openStore(
      { kind: 'postgres', url: { env: 'GATEHOUSE_TEST_STORE_URL' } },
      '/nonexistent',
      async (ref) => {
        refs.push(ref);
        return db.url;
      },
    );
    try {
      expect(store.kind).toBe('postgres');
      expect(refs).toEqual([{ env: 'GATEHOUSE_TEST_STORE_URL' }]);
      await store.startSession(session('os'));
      expect((await store.getSession('os'))?.session.id).toBe('os');
    } finally {
      await store.close();
    }
  });
});
