// A materialized view keeps the rows its query computed, and column lineage traces it through its
// definition as it reads today: through the views it names, by their definitions of today. Replacing
// such a view (`CREATE OR REPLACE VIEW`, or its `_RETURN` rule) relabelled the stored rows, so values
// computed from a masked column were read back as what the new definition computes, in clear
// (docs/security.md, class 301). So did a ruled child detached from the parent such a view reads,
// and a generated column it reads computed anew by another expression.
// Through the real listener, the `pg` client and a real server.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { VAULT_POLICIES, VAULT_SECRET as SECRET, asPrincipal, refusal } from './testkit/masked-vault.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: VAULT_POLICIES,
    setupSql: `
      CREATE TABLE vault (id int PRIMARY KEY, token text NOT NULL);
      INSERT INTO vault VALUES (1, '${SECRET}');
      CREATE TABLE notes (id int, body text);
      INSERT INTO notes VALUES (1, 'hello');
      -- A ruled child's rows read through its parent: inheritance, and a partition.
      CREATE TABLE dad (id int, val text);
      CREATE TABLE kid () INHERITS (dad);
      INSERT INTO kid VALUES (1, '${SECRET}');
      CREATE TABLE drawers (id int, val text) PARTITION BY LIST (id);
      CREATE TABLE drawer_one PARTITION OF drawers FOR VALUES IN (1);
      INSERT INTO drawers VALUES (1, '${SECRET}');
      -- A generated column computed from a ruled column.
      CREATE TABLE gen_src (id int, val text, g text GENERATED ALWAYS AS (upper(val)) STORED);
      INSERT INTO gen_src (id, val) VALUES (1, '${SECRET}');
      CREATE TABLE plain_parent (id int, val text);
      CREATE TABLE plain_child () INHERITS (plain_parent);
      GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC;`,
    extra: {
      masking: {
        columns: [
          { column: 'public.vault.token', style: 'redact', tag: 'vault_token' },
          { column: 'public.kid.val', style: 'redact', tag: 'kid' },
          { column: 'public.drawer_one.val', style: 'redact', tag: 'drawer' },
          { column: 'public.gen_src.val', style: 'redact', tag: 'gen' },
        ],
      },
    },
  });
});
afterAll(async () => gw?.stop());

/** Every value of every row `sql` returns, as text. */
async function values(groups: string[], subject: string, sql: string): Promise<string[]> {
  return asPrincipal(gw, groups, subject, async (c) =>
    (await c.query<Record<string, unknown>>(sql)).rows.flatMap((r) => Object.values(r).map(String)),
  );
}

describe(
  'a view a materialized view is built on, replaced by a masked principal',
  { timeout: 60_000 },
  () => {
    it('CREATE OR REPLACE VIEW that stops reading the masked column is refused, and the stored rows stay masked', async () => {
      await asPrincipal(gw, ['analysts'], 'ann', async (c) => {
        await c.query('CREATE VIEW v_a AS SELECT id, token AS note FROM vault');
        await c.query('CREATE MATERIALIZED VIEW mv_a AS SELECT * FROM v_a');
        const e = await refusal(c, `CREATE OR REPLACE VIEW v_a AS SELECT id, 'x'::text AS note FROM vault`);
        expect(e.code).toBe('42501');
        expect(e.message).toMatch(/writes a value derived from masked column public\.vault\.token/);
        // Transformed by the new definition where the old passed it unchanged: a column of another
        // meaning as well.
        const e2 = await refusal(c, `CREATE OR REPLACE VIEW v_a AS SELECT id, id::text AS note FROM vault`);
        expect(e2.code).toBe('42501');
      });
      const rows = await values(['analysts'], 'ann', 'SELECT note FROM mv_a');
      expect(rows).toEqual(['[REDACTED:vault_token]']);
      expect(rows.join()).not.toContain(SECRET);
    });

    it("replacing the view's _RETURN rule is refused the same way", async () => {
      await asPrincipal(gw, ['analysts'], 'ann2', async (c) => {
        await c.query('CREATE VIEW v_b AS SELECT id, token AS note FROM vault');
        await c.query('CREATE MATERIALIZED VIEW mv_b AS SELECT * FROM v_b');
        const e = await refusal(
          c,
          `CREATE OR REPLACE RULE "_RETURN" AS ON SELECT TO v_b DO INSTEAD SELECT id, 'x'::text AS note FROM vault`,
        );
        expect(e.code).toBe('42501');
        expect(e.message).toMatch(/masked column public\.vault\.token/);
      });
      const rows = await values(['analysts'], 'ann2', 'SELECT note FROM mv_b');
      expect(rows.join()).not.toContain(SECRET);
    });

    it('a replacement that keeps what each column carries, and one of a view over unmasked columns, run', async () => {
      await asPrincipal(gw, ['analysts'], 'ann3', async (c) => {
        await c.query('CREATE VIEW v_c AS SELECT id, token AS note FROM vault');
        await c.query('CREATE MATERIALIZED VIEW mv_c AS SELECT * FROM v_c');
        await c.query(
          `CREATE OR REPLACE VIEW v_c AS SELECT id, token AS note, 'y'::text AS extra FROM vault WHERE id > 0`,
        );
        await c.query('CREATE VIEW v_d AS SELECT id, body FROM notes');
        await c.query('CREATE MATERIALIZED VIEW mv_d AS SELECT * FROM v_d');
        await c.query(`CREATE OR REPLACE VIEW v_d AS SELECT id, 'x'::text AS body FROM notes`);
        expect((await c.query('SELECT body FROM mv_d')).rows).toEqual([{ body: 'hello' }]);
      });
      expect((await values(['analysts'], 'ann3', 'SELECT note FROM mv_c')).join()).not.toContain(SECRET);
    });

    it('a ruled child taken out from under the parent a materialized view reads is refused', async () => {
      await asPrincipal(gw, ['analysts'], 'ann4', async (c) => {
        await c.query('CREATE MATERIALIZED VIEW mv_dad AS SELECT id, val FROM dad');
        await c.query('CREATE MATERIALIZED VIEW mv_drawers AS SELECT id, val FROM drawers');
        for (const sql of [
          'ALTER TABLE kid NO INHERIT dad',
          'ALTER TABLE drawers DETACH PARTITION drawer_one',
        ]) {
          const e = await refusal(c, sql);
          expect(e.code, sql).toBe('42501');
          expect(e.message, sql).toMatch(/masking-write|masked column public\.(kid|drawer_one)\.val/);
        }
        // A child no rule names leaves as before.
        await c.query('ALTER TABLE plain_child NO INHERIT plain_parent');
      });
      for (const sql of ['SELECT val FROM mv_dad', 'SELECT val FROM mv_drawers'])
        expect((await values(['analysts'], 'ann4', sql)).join(), sql).not.toContain(SECRET);
    });

    it('a generated column computed anew from less than it was, under a materialized view, is refused', async () => {
      await asPrincipal(gw, ['analysts'], 'ann5', async (c) => {
        await c.query('CREATE MATERIALIZED VIEW mv_gen AS SELECT id, g FROM gen_src');
        const e = await refusal(c, `ALTER TABLE gen_src ALTER COLUMN g SET EXPRESSION AS ('x')`);
        expect(e.code).toBe('42501');
        expect(e.message).toMatch(/masked column public\.gen_src\.val/);
        // Still computed from the ruled column: runs.
        await c.query('ALTER TABLE gen_src ALTER COLUMN g SET EXPRESSION AS (lower(val))');
      });
      const got = (await values(['analysts'], 'ann5', 'SELECT g FROM mv_gen')).join();
      expect(got).not.toContain(SECRET.toUpperCase());
    });

    it('a principal without a mask obligation replaces the view as before', async () => {
      await asPrincipal(gw, ['dba'], 'olga', async (c) => {
        await c.query('CREATE VIEW v_e AS SELECT id, token AS note FROM vault');
        await c.query('CREATE MATERIALIZED VIEW mv_e AS SELECT * FROM v_e');
        await c.query(`CREATE OR REPLACE VIEW v_e AS SELECT id, 'x'::text AS note FROM vault`);
        expect((await c.query('SELECT note FROM mv_e')).rows).toEqual([{ note: SECRET }]);
      });
    });
  },
);
