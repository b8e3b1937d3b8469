// Settings a session may change freely because they "only change how values are printed"
// (extra_float_digits, bytea_output, xmlbinary, quote_all_identifiers) also decide what a cast to text
// computes inside a statement, and gin_fuzzy_search_limit decides which rows a GIN index scan returns.
// An approval binds the settings that change a statement's meaning and its preview runs under them
// (classes 4, 27, 31); these were left out, so the approver saw a preview and a settings line for
// the statement under the defaults while it ran under the agent's values (docs/security.md,
// class 63). Real PostgreSQL, real `pg`, the approval API.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TestGateway } from './testkit/gateway.js';
import { api, flaggedRows, startDbaHoldGateway, type Json, waitForRequest } from './approvals-kit.js';

let gw: TestGateway;
let agent: string;
let alice: string;

const SETUP_SQL = `CREATE TABLE readings (id int PRIMARY KEY, r float8, b bytea, flag text);
      INSERT INTO readings VALUES (1, 0.1234, 'abc', NULL), (2, 0.1289, 'abd', NULL), (3, 0.5, 'xyz', NULL);`;

beforeAll(async () => {
  ({ gw, agent, alice } = await startDbaHoldGateway(inject('pgUrl'), SETUP_SQL));
});
afterAll(async () => gw?.stop());

const flagged = (flag: string): Promise<number> => flaggedRows(gw, 'readings', flag);

const CASES: [string, string, string, (flag: string) => string, number][] = [
  // 0.1234 and 0.1289 print as '0.1' with one significant digit; with the default, as themselves.
  [
    'extra_float_digits',
    '-14',
    "SET extra_float_digits = '-14'",
    (flag) => `UPDATE readings SET flag = '${flag}' WHERE r::text = '0.1'`,
    2,
  ],
  // 'abc' is '\x616263' in hex output (the default) and 'abc' in escape output.
  [
    'bytea_output',
    'escape',
    "SET bytea_output = 'escape'",
    (flag) => `UPDATE readings SET flag = '${flag}' WHERE b::text LIKE 'ab%'`,
    2,
  ],
  // The name a regclass prints is readings, or "readings" when every identifier is quoted.
  [
    'quote_all_identifiers',
    'on',
    'SET quote_all_identifiers = on',
    (flag) => `UPDATE readings SET flag = '${flag}' WHERE 'readings'::regclass::text LIKE '"%' AND id = 3`,
    1,
  ],
];

let n = 0;

describe('settings said to change only printing change what a statement computes (class 63)', () => {
  it.each(CASES)(
    '%s: the approver sees the value it runs under, and the preview runs under it',
    async (name, value, set, update, rows) => {
      const c = gw.client(agent);
      c.on('error', () => undefined);
      await c.connect();
      try {
        await c.query(set);
        const flag = `${name}-${++n}`;
        const held = c.query(update(flag)).catch((e: unknown) => e);
        const r = await waitForRequest(
          gw,
          alice,
          (x: Json) => typeof x.statement?.text === 'string' && x.statement.text.includes(`'${flag}'`),
        );
        // What the approver is shown: the setting, and the rows the statement changes under it.
        expect(r.preview.settings).toMatchObject({ [name]: value });
        expect(r.preview.rowCount).toBe(rows);
        expect((await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(200);
        expect(await held).not.toBeInstanceOf(Error);
        expect(await flagged(flag)).toBe(rows);
      } finally {
        await c.end();
      }
    },
  );

  it('a value Gatehouse cannot read refuses the statement until it is set again', async () => {
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      await c.query("SELECT set_config('extra_float_digits', '-' || '14', false)");
      const flag = `computed-${++n}`;
      const e = (await c
        .query(`UPDATE readings SET flag = '${flag}' WHERE r::text = '0.1'`)
        .catch((x: unknown) => x)) as pg.DatabaseError;
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe('42501');
      expect(e.message).toMatch(/cannot tell the value of extra_float_digits/);
      expect(await flagged(flag)).toBe(0);
    } finally {
      await c.end();
    }
  });
});
