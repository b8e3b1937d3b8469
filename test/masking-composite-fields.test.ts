// A composite value holds the fields of its type (docs/security.md class 189): a column typed by a
// ruled table's row type (`k api_keys`), by a composite type with a field named like a secret
// (`c cred` with `password`), or by a domain, an array or a range of one, carries those fields into
// every result, as the table's own row does. Before, `(k).secret`, `upper((k).secret)`, `k`, `(c).password`
// and a whole row holding such a column came back in clear for a masked agent or person (the field's
// rule names its type's relation, which the statement never reads); now each is masked whole, in the
// simple and the extended protocol, text and binary, with or without column rules of the profile's own.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SECRET = 'plainVaultSecret7q';
const SECRET_UP = SECRET.toUpperCase();
const PASSWORD = 'horse-staple-Battery9';
const INNER = 'nestedSecretKz4';

const SETUP = `
  CREATE TABLE api_keys (id int PRIMARY KEY, service text, secret text);
  INSERT INTO api_keys VALUES (1, 'aws', '${SECRET}');
  CREATE TYPE cred AS (login text, password text);
  CREATE TYPE wrapper AS (label text, inner_cred cred);
  CREATE DOMAIN cred_d AS cred;
  CREATE TABLE archive (id int, k api_keys, ka api_keys[], c cred, cd cred_d, w wrapper, note text);
  CREATE VIEW key_view AS SELECT id, upper(secret) AS s FROM api_keys;
  CREATE TABLE view_archive (id int, v key_view);
  INSERT INTO view_archive SELECT 1, kv FROM key_view kv;
  INSERT INTO archive SELECT 1, k, ARRAY[k], ROW('bob', '${PASSWORD}')::cred, ROW('eve', '${PASSWORD}')::cred::cred_d,
    ROW('x'::text, ROW('carl', '${INNER}')::cred)::wrapper, 'plain note' FROM api_keys k;
`;

const MASKED_PERSON: PolicyConfig = {
  id: 'masked-people',
  subjects: { groups: ['analysts'] },
  connections: ['app'],
  rules: [{ id: 'analysts-all-masked', effect: 'allow', match: {}, mask: true }],
};

const POLICIES = [...defaultAgentPolicies(['app'], { mask: true }), MASKED_PERSON];

interface Tapped {
  readonly client: pg.Client;
  readonly wire: () => string;
}

async function connect(gw: TestGateway, agent: boolean): Promise<Tapped> {
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

const PROBES = [
  'SELECT (k).secret FROM archive',
  'SELECT upper((k).secret) AS s FROM archive',
  'SELECT k FROM archive',
  'SELECT ka FROM archive',
  'SELECT (ka[1]).secret FROM archive',
  'SELECT a FROM archive a',
  'SELECT a.* FROM archive a',
  'SELECT * FROM archive',
  'SELECT (c).password, c FROM archive',
  'SELECT (cd).password, cd FROM archive',
  'SELECT ((w).inner_cred).password, w FROM archive',
  'SELECT x FROM (SELECT (k).secret AS x FROM archive) s',
  'WITH t AS (SELECT k FROM archive) SELECT (t.k).secret FROM t',
  // a view's row type: the field holds what the view's column is computed from
  'SELECT (v).s, lower((v).s) AS l, v FROM view_archive',
];

let rules: TestGateway;
let named: TestGateway;
beforeAll(async () => {
  rules = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: SETUP,
    extra: { masking: { columns: [{ column: 'public.api_keys.secret', tag: 'api_secret' }] } },
  });
  // No column rules of the profile's own: only the names (`password`, `secret`) mask.
  named = await startTestGateway({ superUrl: inject('pgUrl'), policies: POLICIES, setupSql: SETUP });
}, 120_000);
afterAll(async () => {
  await rules?.stop();
  await named?.stop();
});

describe('class 189: the fields a composite value holds', () => {
  for (const [label, gwOf] of [
    ['with column rules', () => rules],
    ['with named columns only', () => named],
  ] as const) {
    for (const agent of [true, false]) {
      it(`are masked for a masked ${agent ? 'agent' : 'person'} ${label} (before: the secret in clear)`, async () => {
        const t = await connect(gwOf(), agent);
        try {
          for (const sql of PROBES) {
            for (const q of modes(sql)) {
              const r = await t.client.query(q);
              expect(r.rows.length, sql).toBe(1);
              const seen = t.wire();
              for (const s of [SECRET, SECRET_UP, PASSWORD, INNER]) expect(seen, `${sql}`).not.toContain(s);
            }
          }
          // Columns that hold no composite are untouched.
          const r = await t.client.query('SELECT id, note FROM archive');
          expect(r.rows).toEqual([{ id: 1, note: 'plain note' }]);
        } finally {
          await t.client.end();
        }
      }, 60_000);
    }
  }

  it('a filter on a field is a masked predicate for the agent', async () => {
    const t = await connect(rules, true);
    try {
      await expect(
        t.client.query("SELECT count(*) FROM archive WHERE (k).secret LIKE 'p%'"),
      ).rejects.toMatchObject({ detail: expect.stringContaining('masking-predicate') });
    } finally {
      await t.client.end();
    }
  });

  it('COPY of a table with such a column is withheld', async () => {
    const t = await connect(named, true);
    try {
      await t.client.query('COPY archive TO STDOUT').catch(() => undefined);
      const seen = t.wire();
      for (const s of [SECRET, PASSWORD, INNER]) expect(seen).not.toContain(s);
    } finally {
      await t.client.end();
    }
  });
});
