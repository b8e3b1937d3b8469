// A column rule may name a view's or a materialized view's column (`public.summary.contact`). It was
// applied only where the server's RowDescription named that column as the origin: anything derived
// from it (`upper(contact)`), a view over it, and a rename or move of the view returned the values in
// clear, because lineage traced a view's column to what its definition reads and never to the view
// itself (docs/security.md, class 302). Through the real listener, the `pg` client and a real server.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { VAULT_POLICIES, asPrincipal, refusal } from './testkit/masked-vault.js';

const SECRET = 'viewOnlySecret42abc';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: VAULT_POLICIES,
    setupSql: `
      CREATE TABLE people (id int, contact text);
      INSERT INTO people VALUES (1, '${SECRET}');
      CREATE VIEW summary AS SELECT id, contact FROM people;
      CREATE MATERIALIZED VIEW summary_m AS SELECT id, contact FROM people;
      CREATE SCHEMA elsewhere;
      GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC;`,
    extra: {
      masking: {
        columns: [
          { column: 'public.summary.contact', style: 'redact', tag: 'summary_contact' },
          { column: 'public.summary_m.contact', style: 'redact', tag: 'summary_m_contact' },
        ],
      },
    },
  });
});
afterAll(async () => gw?.stop());

describe('a column rule that names a view or a materialized view', { timeout: 60_000 }, () => {
  it('holds for what is derived from the column, and for a view over it', async () => {
    await asPrincipal(gw, ['analysts'], 'ann', async (c) => {
      const read = async (sql: string) =>
        (await c.query<Record<string, unknown>>(sql)).rows.flatMap((r) => Object.values(r).map(String));
      expect(await read('SELECT contact FROM summary')).toEqual(['[REDACTED:summary_contact]']);
      for (const sql of [
        'SELECT upper(contact) FROM summary',
        `SELECT contact || '' FROM summary`,
        'SELECT x FROM (SELECT contact AS x FROM summary) s',
        'SELECT upper(contact) FROM summary_m',
        'SELECT row_to_json(m)::text FROM summary_m m',
      ]) {
        const got = (await read(sql)).join();
        expect(got, sql).not.toContain(SECRET);
        expect(got.toLowerCase(), sql).not.toContain(SECRET.toLowerCase());
      }
      await c.query(`CREATE VIEW over_summary AS SELECT contact || '!' AS shout FROM summary`);
      expect((await read('SELECT shout FROM over_summary')).join()).not.toContain(SECRET);
    });
  });

  it('a rename or move of the view or the materialized view is refused', async () => {
    await asPrincipal(gw, ['analysts'], 'ann2', async (c) => {
      for (const sql of [
        'ALTER VIEW summary RENAME TO summary2',
        'ALTER TABLE summary RENAME TO summary2',
        'ALTER VIEW summary RENAME COLUMN contact TO c2',
        'ALTER VIEW summary SET SCHEMA elsewhere',
        'ALTER MATERIALIZED VIEW summary_m RENAME TO summary_m2',
        'ALTER MATERIALIZED VIEW summary_m SET SCHEMA elsewhere',
      ]) {
        const e = await refusal(c, sql);
        expect(e.code, sql).toBe('42501');
        expect(e.message, sql).toMatch(/masked column public\.summary(_m)?\.contact/);
      }
      // Its definition can still be replaced: the view keeps its name, and its rule.
      await c.query('CREATE OR REPLACE VIEW summary AS SELECT id, contact FROM people WHERE id > 0');
      expect((await c.query('SELECT upper(contact) AS u FROM summary')).rows).toEqual([
        { u: '[REDACTED:summary_contact]' },
      ]);
    });
  });

  it('a principal without a mask obligation reads and renames as before', async () => {
    await asPrincipal(gw, ['dba'], 'olga', async (c) => {
      expect((await c.query('SELECT upper(contact) AS u FROM summary_m')).rows).toEqual([
        { u: SECRET.toUpperCase() },
      ]);
      await c.query('ALTER MATERIALIZED VIEW summary_m RENAME TO summary_m3');
    });
  });
});
