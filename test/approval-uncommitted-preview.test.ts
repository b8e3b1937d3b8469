// The impact preview runs on a connection of its own, so it reads committed data. A statement held
// for approval after writes its own transaction has not committed (earlier in the block, or earlier
// in the same query string) runs on data the preview cannot see: an agent filled a staging table
// with every customer id, then asked for `DELETE FROM customers WHERE id IN (SELECT id FROM
// staging)`, and the approver was shown "0 rows" for a statement that deleted all of them
// (docs/security.md, class 66). Real PostgreSQL, real `pg`, the approval API.

import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { api, waitForRequest, type Json } from './approvals-kit.js';

// Writes to the scratch table are the agent's own business; deleting customers needs a person.
const POLICIES: PolicyConfig[] = [
  {
    id: 'testers',
    subjects: { groups: ['testers'] },
    connections: ['app'],
    rules: [
      { id: 'review-deletes', effect: 'review', match: { kinds: ['delete'] }, mode: 'hold', approval: 'dba' },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

let gw: TestGateway;
let direct: pg.Client;
let agent: string;
let alice: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE customers (id int PRIMARY KEY); CREATE TABLE staging (id int);`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: { rules: { dba: { approverGroups: ['dba'], holdTimeout: '20s' } } },
    },
  });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
  alice = await gw.token({ subject: 'alice', groups: ['dba'] });
});
afterAll(async () => {
  await direct?.end();
  await gw?.stop();
});
beforeEach(async () => {
  await direct.query(
    'TRUNCATE customers, staging; INSERT INTO customers SELECT generate_series(1, 20); INSERT INTO staging VALUES (1)',
  );
});

const customers = async () =>
  (await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM customers')).rows[0]!.n;

let n = 0;
const DELETE = (tag: string) => `DELETE FROM customers WHERE id IN (SELECT id FROM staging) /* ${tag} */`;

/** Sends the session's statements, waits for the held DELETE, and returns what the approver saw. */
async function held(
  c: pg.Client,
  before: string[],
  inString: string | undefined,
  tag: string,
): Promise<Json> {
  for (const s of before) await c.query(s);
  const text = inString === undefined ? DELETE(tag) : `${inString}; ${DELETE(tag)}`;
  const running = c.query(text).catch((e: unknown) => e);
  const r = await waitForRequest(
    gw,
    alice,
    (x: Json) => typeof x.statement?.text === 'string' && x.statement.text.includes(tag),
  );
  expect((await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(200);
  expect(await running).not.toBeInstanceOf(Error);
  return r;
}

describe('a held statement after writes its transaction has not committed (class 66)', () => {
  it.each<[string, string[], string | undefined]>([
    [
      'earlier in the transaction block',
      ['BEGIN', 'INSERT INTO staging SELECT id FROM customers'],
      undefined,
    ],
    ['earlier in the same query string', [], 'INSERT INTO staging SELECT id FROM customers'],
  ])('%s: the approver is not shown a preview of other data', async (_label, before, inString) => {
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      const r = await held(c, before, inString, `u${++n}`);
      // The preview could only have counted the committed staging table (1 row): it is left out,
      // and the approver is told why and which writes it could not see.
      expect(r.preview.rowCount).toBeUndefined();
      expect(r.preview.kind).toBe('none');
      expect(r.preview.notes.join(' ')).toMatch(
        /not committed.*INSERT INTO staging SELECT id FROM customers/,
      );
      if (before.includes('BEGIN')) await c.query('COMMIT');
      expect(await customers()).toBe(0);
    } finally {
      await c.end();
    }
  });

  it('a temporary table the session made shadows a name the preview reads elsewhere', async () => {
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      // Committed, but in the session's own temporary schema, which its unqualified names reach first.
      const r = await held(
        c,
        ['CREATE TEMP TABLE staging AS SELECT id FROM customers'],
        undefined,
        `t${++n}`,
      );
      expect(r.preview.rowCount).toBeUndefined();
      expect(r.preview.notes.join(' ')).toMatch(
        /temporary tables.*CREATE TEMP TABLE staging AS SELECT id FROM customers.*DISCARD TEMP/,
      );
      expect(await customers()).toBe(0);
    } finally {
      await c.end();
    }
  });

  it('a temporary table made after a DISCARD TEMP in the same string still counts (class 167)', async () => {
    // The DISCARD's completion cleared every note, also those of statements forwarded after it.
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      const r = await held(
        c,
        ['DISCARD TEMP; CREATE TEMP TABLE staging AS SELECT id FROM customers'],
        undefined,
        `x${++n}`,
      );
      expect(r.preview.rowCount).toBeUndefined();
      expect(r.preview.notes.join(' ')).toMatch(/temporary tables.*CREATE TEMP TABLE staging/);
      expect(await customers()).toBe(0);
    } finally {
      await c.end();
    }
  });

  it('after a commit, or DISCARD TEMP, the preview counts again', async () => {
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      const r = await held(
        c,
        ['CREATE TEMP TABLE staging AS SELECT id FROM customers', 'DISCARD TEMP'],
        undefined,
        `d${++n}`,
      );
      expect(r.preview.rowCount).toBe(1);
      expect(await customers()).toBe(19);
    } finally {
      await c.end();
    }
  });

  it('after a commit, the preview counts again', async () => {
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      const r = await held(c, ['BEGIN', 'INSERT INTO staging VALUES (2)', 'COMMIT'], undefined, `c${++n}`);
      expect(r.preview.rowCount).toBe(2);
      expect(await customers()).toBe(18);
    } finally {
      await c.end();
    }
  });
});
