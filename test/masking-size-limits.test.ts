// A value built near the server's size limits (docs/security.md class 212). PostgreSQL refuses a
// jsonb array whose elements pass 256 MB, a text past 1 GB and a result row past 1 GB; a statement
// that builds a value just below such a limit next to a value derived from a masked column fails
// exactly when the masked value is long enough: `translate(substr(secret, 1, 1), 'w', '')` is empty
// when the first character is `w`, one character otherwise, so whether the statement fails answers
// "is the first character w?". The test shows the oracle on the real server directly, then that the
// masked agent gets the same answer either way through the gateway (held as a masked predicate, never
// run), while statements that build nothing large still run and come back masked.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SECRET = 'wq7-Kz93-plainVault';

/**
 * jsonb_build_array(repeat('a', N), x) with N this size fits when x is empty and not when it holds one
 * character (the elements' total passes 268,435,455 bytes): measured on PostgreSQL 15 and 18.
 */
const N = 268_435_443;
const probe = (set: string) =>
  `SELECT pg_column_size(jsonb_build_array(repeat('a', ${N}), translate(substr(secret, 1, 1), '${set}', ''))) AS n FROM api_keys WHERE id = 1`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: `CREATE TABLE api_keys (id int PRIMARY KEY, service text, secret text);
      INSERT INTO api_keys VALUES (1, 'aws', '${SECRET}');`,
    extra: {
      masking: { columns: [{ column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' }] },
    },
  });
}, 120_000);
afterAll(async () => gw?.stop());

type Outcome =
  { readonly ok: true; readonly rows: unknown[] } | { readonly ok: false; readonly error: pg.DatabaseError };

async function attempt(client: pg.Client, q: string | pg.QueryConfig): Promise<Outcome> {
  try {
    return { ok: true, rows: (await client.query(q)).rows };
  } catch (e) {
    return { ok: false, error: e as pg.DatabaseError };
  }
}

describe('class 212: a value built near the size limits next to a masked value', () => {
  it('is an oracle on the real server: the statement fails exactly when the first character is outside the set', async () => {
    const direct = new pg.Client({ connectionString: gw.directUrl });
    await direct.connect();
    try {
      const inSet = await attempt(direct, probe('w'));
      const outOfSet = await attempt(direct, probe('x'));
      expect(inSet.ok).toBe(true);
      expect(!outOfSet.ok && outOfSet.error.message).toMatch(
        /total size of jsonb array elements exceeds the maximum/,
      );
    } finally {
      await direct.end();
    }
  });

  it('is held as a masked predicate for the agent, whichever the character (before: ran, and answered)', async () => {
    const agent = gw.client(await gw.token({ subject: 'claude', groups: ['ai-agents'], agent: true }));
    agent.on('notice', () => undefined);
    await agent.connect();
    try {
      const statements = [
        probe('w'),
        probe('x'),
        // The text limit (1 GB) and the result row's, the same way.
        "SELECT repeat('a', 1073741819) || translate(substr(secret, 1, 1), 'w', '') FROM api_keys",
        "SELECT repeat('a', 1073741000) AS pad, translate(secret, 'w', '') AS s FROM api_keys",
        // A value computed once and used many times; rows multiplied into an aggregate.
        "WITH b AS (SELECT repeat('a', 100000000) AS v) SELECT b.v || b.v || b.v || translate(secret, 'w', '') FROM b, api_keys",
        "SELECT string_agg(translate(substr(secret, 1, 1), 'w', ''), '') FROM api_keys, generate_series(1, 1073741824)",
      ];
      for (const sql of statements) {
        for (const q of [sql, { text: sql, queryMode: 'extended' } as pg.QueryConfig]) {
          const o = await attempt(agent, q);
          expect(!o.ok && o.error.detail, sql).toContain('masking-predicate');
          // (`||` on an operand not known to be a scalar was already a failure of its own: class 153.)
          expect(!o.ok && o.error.message, sql).toMatch(
            /size can reach the server's limits|hands masked column .* to operator \|\|/,
          );
        }
      }
      // What builds nothing large runs, masked.
      const ok = await attempt(
        agent,
        "SELECT service || ': ' || upper(secret) AS s, translate(secret, 'w', '') AS t, repeat('-', 3) AS d FROM api_keys",
      );
      expect(ok.ok && ok.rows).toEqual([
        { s: '[REDACTED:api_secret]', t: '[REDACTED:api_secret]', d: '---' },
      ]);
    } finally {
      await agent.end();
    }
  });
});
