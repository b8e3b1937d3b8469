// A column of the operator's own tables named like a secret (`password`, `api_key`, `token`, `*_secret`:
// the profile's jsonKeys, matched as a JSON key is) is masked whole for a masked principal without any
// column rule, by lineage, as a JSON key or a text's field of that name already was: through an alias,
// an expression, a view, a CTE, in text and binary format; a filter on it is a masked predicate; COPY
// of its table is withheld. Values no detector recognises, so only the name can say what they are.
// `namedColumns: false` turns it off. docs/masking.md ("Columns named like a secret").

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const PASSWORD = 'correct-horse-battery';
const API_KEY = 'k3yValue99plain';
const TOKEN = 'plain0ld7okenText';
const WEBHOOK = 'whsecretPlain42';
const SECRETS = [PASSWORD, API_KEY, TOKEN, WEBHOOK];

const SETUP = `
  CREATE TABLE app_users (id int PRIMARY KEY, login text, password text, api_key varchar(64), token text,
                          webhook_secret text, reset_code text, note text);
  INSERT INTO app_users VALUES (1, 'ann', '${PASSWORD}', '${API_KEY}', '${TOKEN}', '${WEBHOOK}', 'rc-7', 'hello');
  CREATE VIEW app_users_v AS SELECT id, login, api_key AS k FROM app_users;
  CREATE TABLE plain_items (id int PRIMARY KEY, name text);
  INSERT INTO plain_items VALUES (1, 'widget');
`;

let gw: TestGateway;
let off: TestGateway;
let direct: pg.Client;
let agent: pg.Client;
let agentOff: pg.Client;
const received: Buffer[] = [];

async function agentOf(g: TestGateway): Promise<pg.Client> {
  const c = g.client(await g.token({ subject: 'claude-named', groups: ['ai-agents'], agent: true }));
  await c.connect();
  return c;
}

beforeAll(async () => {
  const policies = defaultAgentPolicies(['app'], { mask: true });
  gw = await startTestGateway({ superUrl: inject('pgUrl'), policies, setupSql: SETUP });
  off = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies,
    setupSql: SETUP,
    extra: { masking: { namedColumns: false } },
  });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  agent = await agentOf(gw);
  agentOff = await agentOf(off);
  (agent as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
    'data',
    (d: Buffer) => received.push(d),
  );
}, 120_000);
afterAll(async () => {
  await agent?.end();
  await agentOff?.end();
  await direct?.end();
  await gw?.stop();
  await off?.stop();
});

/** Runs as the agent in text and binary format; no secret may be in the bytes it received. */
async function asAgent(sql: string): Promise<Record<string, unknown>[][]> {
  const out: Record<string, unknown>[][] = [];
  for (const binary of [false, true]) {
    received.length = 0;
    const r = await agent.query({ text: sql, binary } as pg.QueryConfig);
    const bytes = Buffer.concat(received).toString('latin1');
    for (const s of SECRETS) expect(bytes, `${sql} (${binary ? 'binary' : 'text'})`).not.toContain(s);
    out.push(r.rows as Record<string, unknown>[]);
  }
  return out;
}

describe('columns named like a secret', () => {
  it('are masked whole under the name they match; other columns arrive as stored', async () => {
    for (const rows of await asAgent('SELECT * FROM app_users')) {
      expect(rows).toEqual([
        {
          id: 1,
          login: 'ann',
          password: '[REDACTED:password]',
          // The tag of the entry it matches: `api_key` and `apikey` are one key, tagged as JSON is.
          api_key: '[REDACTED:apikey]',
          token: '[REDACTED:token]',
          webhook_secret: '[REDACTED:secret]',
          // Not a name the list holds (as a JSON key `reset_code` is not masked either).
          reset_code: 'rc-7',
          note: 'hello',
        },
      ]);
    }
  });

  it('stay masked through an alias, an expression, a view, a CTE and a subquery', async () => {
    for (const sql of [
      'SELECT password AS p FROM app_users',
      'SELECT upper(api_key) AS p FROM app_users',
      "SELECT token || '' AS p FROM app_users",
      'SELECT substr(webhook_secret, 1, 6) AS p FROM app_users',
      'SELECT k AS p FROM app_users_v',
      'WITH x AS (SELECT api_key FROM app_users) SELECT api_key AS p FROM x',
      'SELECT (SELECT password FROM app_users u WHERE u.id = i.id) AS p FROM plain_items i',
      "SELECT concat_ws(',', login, password) AS p FROM app_users",
    ]) {
      for (const rows of await asAgent(sql)) {
        expect(rows.length, sql).toBe(1);
        expect(String(rows[0]!.p), sql).toMatch(/^\[REDACTED:(password|apikey|token|secret)\]$/);
      }
    }
  });

  it('a whole row, as a record or as JSON, is masked', async () => {
    // A value derived from a masked column is masked whole, under its tag (lineage).
    for (const rows of await asAgent('SELECT row_to_json(u) AS j FROM app_users u'))
      expect(rows[0]!.j).toMatch(/^\[REDACTED:(password|apikey|token|secret)\]$/);
    // A whole-row reference is masked field by field, each field as its column is.
    const [text] = await asAgent('SELECT u FROM app_users u');
    expect(text![0]!.u).toBe(
      '(1,ann,[REDACTED:password],[REDACTED:apikey],[REDACTED:token],[REDACTED:secret],rc-7,hello)',
    );
  });

  it('a filter on one is a masked predicate (refused for an agent with no approver), and COPY of its table is withheld', async () => {
    await expect(
      agent.query(`SELECT id FROM app_users WHERE password = '${PASSWORD}'`),
    ).rejects.toMatchObject({
      code: '42501',
    });
    received.length = 0;
    const notices: string[] = [];
    const onNotice = (n: { message?: string }) => notices.push(n.message ?? '');
    agent.on('notice', onNotice);
    await agent.query('COPY app_users TO STDOUT');
    agent.off('notice', onNotice);
    const bytes = Buffer.concat(received).toString('latin1');
    for (const s of SECRETS) expect(bytes).not.toContain(s);
    expect(notices.join('\n')).toMatch(/^Gatehouse withheld 1 rows of COPY output/);
  });

  it('a table without such a column, and a column read only for its neighbours, are as a direct connection returns them', async () => {
    const d = await direct.query('SELECT i.name, u.login FROM plain_items i JOIN app_users u USING (id)');
    for (const rows of await asAgent('SELECT i.name, u.login FROM plain_items i JOIN app_users u USING (id)'))
      expect(rows).toEqual(d.rows);
  });

  it('namedColumns: false leaves them to the detectors', async () => {
    const r = await agentOff.query('SELECT password, api_key, token, webhook_secret FROM app_users');
    expect(r.rows).toEqual([{ password: PASSWORD, api_key: API_KEY, token: TOKEN, webhook_secret: WEBHOOK }]);
  });
});
