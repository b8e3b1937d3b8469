// `RESET transaction_read_only` (or `SET transaction_read_only TO DEFAULT`) at the start of a
// transaction sets it to the setting's built-in default, off: PostgreSQL 15 and older then run the
// transaction read-write (16 and later refuse the RESET, 0A000). Gatehouse let RESET of the access
// mode through as keeping read-only, so an agent that may only read ran `BEGIN; RESET
// transaction_read_only; SELECT 1::canary_checked` and the domain's CHECK deleted every canary row
// (docs/security.md, class 175). Against the machine's PostgreSQL 15 (127.0.0.1:5432, trust;
// `PG15_TEST_URL` for another) when it answers, skipped saying so when not; the refusal is also
// checked against the test PostgreSQL (18), where it must be Gatehouse's (42501), not the server's.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { DIFFERENTIAL_FIXTURE_SQL } from './testkit/differential.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const PG15_URL = process.env.PG15_TEST_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** An agent that may read, and nothing else. */
const POLICIES: PolicyConfig[] = [
  {
    id: 'readers',
    subjects: { agent: true },
    connections: ['*'],
    rules: [{ id: 'reads', effect: 'allow', match: { categories: ['read', 'transaction', 'session'] } }],
  },
];

/** Each a list of Query messages; the last reaches code (a domain CHECK, a cast) that deletes. */
const ATTEMPTS: readonly (readonly string[])[] = [
  ['BEGIN', 'RESET transaction_read_only', 'SELECT 1::canary_checked'],
  ['BEGIN', 'SET transaction_read_only TO DEFAULT', 'SELECT 1::canary_pair'],
  ['BEGIN', 'SET LOCAL transaction_read_only = DEFAULT', 'SELECT 1::canary_checked'],
  [
    'START TRANSACTION ISOLATION LEVEL SERIALIZABLE',
    'RESET transaction_read_only',
    'SELECT 1::canary_checked',
  ],
  ['RESET transaction_read_only; SELECT 1::canary_checked'],
  ['BEGIN; RESET transaction_read_only; SELECT 1::canary_checked; COMMIT'],
  // `ext:` — sent through the extended protocol (Parse/Bind/Execute/Sync)
  ['BEGIN', 'ext:RESET transaction_read_only', 'ext:SELECT 1::canary_checked'],
];

async function probe(url: string): Promise<number | string> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    const v = (await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v;
    return Math.floor(Number(v) / 10000);
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function canaryRows(gw: TestGateway): Promise<number> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM canary')).rows[0]!.n;
  } finally {
    await c.end();
  }
}

/** Runs one attempt as the agent; the first error's code, or undefined when all ran. */
async function attempt(gw: TestGateway, queries: readonly string[]): Promise<string | undefined> {
  const c = gw.client(await gw.token({ subject: 'reader', agent: true }));
  c.on('error', () => undefined);
  await c.connect();
  try {
    for (const q of queries) {
      const run = q.startsWith('ext:') ? c.query({ text: q.slice(4), values: [] }) : c.query(q);
      const e = await run.then(
        () => undefined,
        (x: unknown) => x as pg.DatabaseError,
      );
      if (e !== undefined) return e.code ?? e.message;
    }
    return undefined;
  } finally {
    await c.end().catch(() => undefined);
  }
}

function suite(label: string, url: () => string, direct: boolean): void {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ superUrl: url(), policies: POLICIES, setupSql: DIFFERENTIAL_FIXTURE_SQL });
  }, 120_000);
  afterAll(async () => gw?.stop());

  if (direct)
    it(`${label} itself runs the transaction read-write after the RESET (directly)`, async () => {
      const c = new pg.Client({
        connectionString: gw.directUrl,
        options: '-c default_transaction_read_only=on',
      });
      await c.connect();
      try {
        await c.query('BEGIN');
        await c.query('RESET transaction_read_only');
        expect((await c.query('SHOW transaction_read_only')).rows[0].transaction_read_only).toBe('off');
        await c.query('ROLLBACK');
      } finally {
        await c.end();
      }
    });

  it.each(ATTEMPTS.map((a) => [a.join(' → '), a] as const))(
    `${label}: %s is refused by Gatehouse; the canary is intact`,
    async (_label, queries) => {
      expect(await attempt(gw, queries)).toBe('42501');
      expect(await canaryRows(gw)).toBe(3);
    },
  );

  it(`${label}: a RESET of the default, and read-only forms, still run`, async () => {
    const c = gw.client(await gw.token({ subject: 'reader', agent: true }));
    await c.connect();
    try {
      await c.query('RESET default_transaction_read_only');
      await c.query('BEGIN');
      await c.query('SET TRANSACTION READ ONLY');
      expect((await c.query('SELECT count(*)::int AS n FROM canary')).rows[0].n).toBe(3);
      await c.query('COMMIT');
      await c.query('RESET ALL');
    } finally {
      await c.end();
    }
  });
}

const pg15 = await probe(PG15_URL);
const why =
  typeof pg15 === 'string'
    ? `no PostgreSQL at ${PG15_URL} (${pg15})`
    : pg15 >= 16
      ? `the server at ${PG15_URL} is PostgreSQL ${pg15}, which refuses the RESET itself`
      : undefined;
if (why) console.warn(`skipped: class 175 against an older server: ${why}`);

describe.skipIf(why !== undefined)('class 175 on PostgreSQL 15 and older', () => {
  suite(`PostgreSQL ${String(pg15)}`, () => PG15_URL, true);
});

describe('class 175 on the test PostgreSQL', () => {
  suite('the test PostgreSQL', () => inject('pgUrl'), false);
});
