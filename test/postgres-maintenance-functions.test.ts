// Built-in functions that maintain an index write it (WAL-logged changes to its pages) and PostgreSQL
// does not refuse them in a read-only transaction: brin_summarize_new_values, brin_summarize_range,
// brin_desummarize_range and gin_clean_pending_list ran from a SELECT that Gatehouse decided as a
// plain read, past "reads run read-only" (docs/security.md, class 67). Real PostgreSQL, real `pg`.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

// An agent that may read, and nothing else: no write of any kind.
const POLICIES: PolicyConfig[] = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['*'],
    rules: [
      { id: 'agents-read', effect: 'allow', match: { categories: ['read', 'transaction', 'session'] } },
    ],
  },
];

const SETUP_SQL = `
  -- No autovacuum: it would clean the GIN pending list itself (seen on a loaded machine), and the
  -- test's last check would then see nothing left for the server to clean.
  CREATE TABLE events (id int, tags int[]) WITH (autovacuum_enabled = off);
  INSERT INTO events SELECT g, ARRAY[g % 7] FROM generate_series(1, 20000) g;
  CREATE INDEX events_brin ON events USING brin (id) WITH (pages_per_range = 1, autosummarize = off);
  CREATE INDEX events_gin ON events USING gin (tags) WITH (fastupdate = on);
  -- Into the GIN index's pending list; then every BRIN range is summarized.
  INSERT INTO events SELECT g, ARRAY[g % 5] FROM generate_series(1, 2000) g;
  SELECT brin_summarize_new_values('events_brin');
`;

let gw: TestGateway;
let direct: pg.Client;
let agent: string;

beforeAll(async () => {
  gw = await startTestGateway({ superUrl: inject('pgUrl'), policies: POLICIES, setupSql: SETUP_SQL });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  agent = await gw.token({ subject: 'claude', agent: true });
});
afterAll(async () => {
  await direct?.end();
  await gw?.stop();
});

describe('index maintenance from a read (class 67)', () => {
  it('the server runs them in a read-only transaction', async () => {
    const c = new pg.Client({ connectionString: gw.directUrl });
    await c.connect();
    try {
      await c.query('SET default_transaction_read_only = on');
      await c.query('BEGIN READ ONLY');
      expect((await c.query("SELECT brin_desummarize_range('events_brin', 0)")).rowCount).toBe(1);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
    // Range 0 was desummarized: summarizing again finds it.
    expect((await direct.query("SELECT brin_summarize_new_values('events_brin') AS n")).rows[0].n).toBe(1);
  });

  it.each([
    ["SELECT brin_desummarize_range('events_brin', 0)"],
    ["SELECT brin_summarize_range('events_brin', 0)"],
    ["SELECT brin_summarize_new_values('events_brin')"],
    ["SELECT gin_clean_pending_list('events_gin')"],
    // It writes a WAL record of the running transactions (superuser by default; this login is one).
    ['SELECT pg_log_standby_snapshot()'],
    ["SELECT pg_catalog.gin_clean_pending_list('events_gin'::regclass) FROM events LIMIT 1"],
  ])('%s: decided as a write, refused for a principal who may only read', async (text) => {
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      const e = (await c.query(text).catch((x: unknown) => x)) as pg.DatabaseError;
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe('42501');
    } finally {
      await c.end();
    }
    // Nothing ran: the pending list is still there, and range 0 still summarized.
    expect((await direct.query("SELECT brin_summarize_new_values('events_brin') AS n")).rows[0].n).toBe(0);
  });

  it('the GIN pending list is left for the server to clean', async () => {
    expect(
      Number((await direct.query("SELECT gin_clean_pending_list('events_gin') AS n")).rows[0].n),
    ).toBeGreaterThan(0);
  });
});
