// Checks the PostgreSQL classifier against a real PostgreSQL 18: it must split a submitted string into
// exactly the statements the server runs, and what it calls a read must not change data on the server.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createPostgresClassifier,
  type PostgresClassifier,
} from '../src/sql/postgres/postgres-classifier.js';
import { createTestDatabase } from './testkit/databases.js';

let classifier: PostgresClassifier;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;

/** Runs `text` with the simple query protocol (no parameters) and returns one command tag per statement. */
async function run(text: string): Promise<(string | null)[]> {
  const result = (await client.query(text)) as pg.QueryResult | pg.QueryResult[];
  return (Array.isArray(result) ? result : [result]).map((r) => r.command);
}

async function count(table: string): Promise<number> {
  const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(result.rows[0]!.n);
}

beforeAll(async () => {
  classifier = await createPostgresClassifier();
  database = await createTestDatabase(inject('pgUrl'), 'sqlcls');
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('CREATE TABLE keep (id int); INSERT INTO keep SELECT generate_series(1, 5)');
});

afterAll(async () => {
  await client?.end();
  await database?.drop();
});

describe('statement splitting matches the server', () => {
  const scripts = [
    'SELECT 1; SELECT 2',
    `CREATE TABLE "tä😀ble" (id int, v text); INSERT INTO "tä😀ble" VALUES (1, 'é;ü'), (2, $$;$$);
     SELECT * FROM "tä😀ble" /*prompt='p1'*/; DROP TABLE "tä😀ble"`,
    'SELECT $$DROP TABLE keep$$',
    "SELECT E'\\'; DROP TABLE keep; --'",
    "SELECT 'a' /* ; DROP TABLE keep */; SELECT 'b' -- ; DROP TABLE keep\n",
    "SELECT '名前'; SELECT $x$ ; $x$ ; SELECT 3",
    'BEGIN; SELECT 1; COMMIT',
    'DrOp/**/TaBlE IF EXISTS\n\tmissing_table',
  ];

  it.each(scripts)('%j', async (script) => {
    const classified = classifier.classify(script);
    expect(classified.parseError).toBeUndefined();
    const tags = await run(script);
    expect(classified.statements).toHaveLength(tags.length);
    // Each statement text, run on its own, gives the tag the server gave it within the whole script.
    await client.query('BEGIN');
    try {
      for (const [index, statement] of classified.statements.entries()) {
        if (statement.categories.includes('transaction')) continue;
        expect(await run(statement.text)).toEqual([tags[index]]);
      }
    } finally {
      await client.query('ROLLBACK');
    }
    expect(await count('keep')).toBe(5);
  });

  it('agrees that only whitespace, comments and semicolons make an empty query', async () => {
    for (const text of [';;;', '/* only a comment */', ' -- dash comment\n ; ']) {
      expect(classifier.classify(text).statements).toEqual([]);
      expect(await run(text)).toEqual([null]); // EmptyQueryResponse
    }
  });
});

describe('categories match what the server does', () => {
  it('EXPLAIN ANALYZE of a DELETE deletes; EXPLAIN alone does not', async () => {
    await client.query('CREATE TABLE victims AS SELECT generate_series(1, 3) AS id');
    expect(classifier.classify('EXPLAIN DELETE FROM victims').statements[0]!.categories).toEqual(['read']);
    await client.query('EXPLAIN DELETE FROM victims');
    expect(await count('victims')).toBe(3);
    expect(classifier.classify('EXPLAIN ANALYZE DELETE FROM victims').statements[0]!.categories).toContain(
      'write',
    );
    await client.query('EXPLAIN ANALYZE DELETE FROM victims');
    expect(await count('victims')).toBe(0);
  });

  it('a SELECT with a writable CTE writes, and is classified as a write', async () => {
    await client.query('CREATE TABLE cte_victims AS SELECT generate_series(1, 3) AS id');
    const sql = 'WITH d AS (DELETE FROM cte_victims RETURNING *) SELECT count(*) FROM d';
    expect(classifier.classify(sql).statements[0]!.categories).toEqual(['read', 'write', 'write-unbounded']);
    await client.query(sql);
    expect(await count('cte_victims')).toBe(0);
  });

  it('dollar-quoted and E-string SQL is data, not a statement', async () => {
    const sql = "SELECT $$DROP TABLE keep$$, E'\\'; DROP TABLE keep; --'";
    const { statements } = classifier.classify(sql);
    expect(statements.map((s) => s.categories)).toEqual([['read']]);
    await client.query(sql);
    expect(await count('keep')).toBe(5);
  });
});
