// A column rule written for a partition or an inheritance child follows that child's rows into every
// read of its parents (docs/security.md class 188). A read of a parent returns its children's rows
// under the parent's names, and the rule named only the child: before, `SELECT s FROM parent` showed
// the child's values in clear to a masked agent or person. Now a parent's column carries the names of
// the same column of every descendant, so the child's rule masks it (and a filter on it is a masked
// predicate), through an expression, a view, a whole row, in text and binary.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const PART = 'partitionSecretQ7';
const CHILD = 'childSecretZ9x';

const SETUP = `
  CREATE TABLE ledger (id int, code text, note text) PARTITION BY RANGE (id);
  CREATE TABLE ledger_2020 PARTITION OF ledger FOR VALUES FROM (0) TO (100) PARTITION BY RANGE (id);
  CREATE TABLE ledger_2020a PARTITION OF ledger_2020 FOR VALUES FROM (0) TO (50);
  CREATE TABLE ledger_2021 PARTITION OF ledger FOR VALUES FROM (100) TO (200);
  INSERT INTO ledger VALUES (1, '${PART}', 'n1'), (150, 'open-code', 'n2');
  CREATE TABLE things (id int, code text);
  CREATE TABLE secret_things (extra int) INHERITS (things);
  INSERT INTO things VALUES (1, 'plain-thing');
  INSERT INTO secret_things VALUES (2, '${CHILD}', 7);
  CREATE VIEW things_v AS SELECT id, code FROM things;
`;

const MASKED_PERSON: PolicyConfig = {
  id: 'masked-people',
  subjects: { groups: ['analysts'] },
  connections: ['app'],
  rules: [{ id: 'analysts-all-masked', effect: 'allow', match: {}, mask: true }],
};

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: [...defaultAgentPolicies(['app'], { mask: true }), MASKED_PERSON],
    setupSql: SETUP,
    extra: {
      masking: {
        columns: [
          // the grandchild partition, and the inheritance child
          { column: 'public.ledger_2020a.code', tag: 'ledger_code' },
          { column: 'public.secret_things.code', tag: 'thing_code' },
        ],
      },
    },
  });
}, 120_000);
afterAll(async () => gw?.stop());

async function connect(agent: boolean): Promise<{ client: pg.Client; wire: () => string }> {
  const client = gw.client(
    await gw.token(
      agent
        ? { subject: 'claude', groups: ['ai-agents'], agent: true }
        : { subject: 'ana', groups: ['analysts'], agent: false },
    ),
  );
  client.on('notice', () => undefined);
  await client.connect();
  const chunks: Buffer[] = [];
  (client as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
    'data',
    (d: Buffer) => chunks.push(d),
  );
  return { client, wire: () => Buffer.concat(chunks.splice(0)).toString('latin1') };
}

const modes = (sql: string): (string | pg.QueryConfig)[] => [
  sql,
  { text: sql, queryMode: 'extended' } as pg.QueryConfig,
  { text: sql, queryMode: 'extended', binary: true } as pg.QueryConfig,
];

describe("class 188: a rule on a child covers the child's rows read through a parent", () => {
  for (const agent of [true, false]) {
    it(`masks them for a masked ${agent ? 'agent' : 'person'} (before: in clear)`, async () => {
      const t = await connect(agent);
      try {
        for (const sql of [
          'SELECT code FROM ledger',
          'SELECT code FROM ledger_2020',
          'SELECT upper(code) AS c FROM ledger',
          'SELECT * FROM ledger',
          'SELECT l FROM ledger l',
          'SELECT row_to_json(l) AS j FROM ledger l',
          'SELECT code FROM things',
          'SELECT t.* FROM things t',
          'SELECT t FROM things t',
          'SELECT code FROM things_v',
          'SELECT x FROM (SELECT code AS x FROM ledger UNION ALL SELECT code FROM things) s',
        ]) {
          for (const q of modes(sql)) {
            const r = await t.client.query(q);
            expect(r.rows.length, sql).toBeGreaterThan(0);
            const seen = t.wire();
            expect(seen, sql).not.toContain(PART);
            expect(seen, sql).not.toContain(CHILD);
          }
        }
        // The child itself, as before.
        const own = await t.client.query('SELECT code FROM secret_things');
        expect(own.rows).toEqual([{ code: '[REDACTED:thing_code]' }]);
        // Columns no descendant's rule names stay readable.
        const notes = await t.client.query('SELECT id, note FROM ledger ORDER BY id');
        expect(notes.rows).toEqual([
          { id: 1, note: 'n1' },
          { id: 150, note: 'n2' },
        ]);
      } finally {
        await t.client.end();
      }
    }, 60_000);
  }

  it("a filter on the parent's column is a masked predicate for the agent", async () => {
    const t = await connect(true);
    try {
      for (const sql of [
        "SELECT count(*) FROM ledger WHERE code LIKE 'p%'",
        "SELECT count(*) FROM things WHERE code < 'm'",
      ])
        await expect(t.client.query(sql), sql).rejects.toMatchObject({
          detail: expect.stringContaining('masking-predicate'),
        });
    } finally {
      await t.client.end();
    }
  });
});
