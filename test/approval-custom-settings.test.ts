// Custom settings (`app.tenant`, any name with a dot: the settings applications and row-level
// security policies read with current_setting) change what a statement does as much as search_path
// does. An approval binds the settings that change a statement's meaning and its preview runs under
// them (classes 4, 27, 31, 63); custom settings were left out, so the approver saw a preview of the
// statement with the setting unset (no rows) and no word of it, and approved what then ran under the
// session's value (docs/security.md, class 71). Real PostgreSQL, real `pg`, the approval API.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TestGateway } from './testkit/gateway.js';
import { api, flaggedRows, startDbaHoldGateway, type Json, waitForRequest } from './approvals-kit.js';

let gw: TestGateway;
let agent: string;
let alice: string;

// The view reads the setting, as a row-level security policy would (the upstream role here is a
// superuser, which row-level security does not apply to).
const SETUP_SQL = `CREATE TABLE accounts (id int PRIMARY KEY, tenant text, flag text);
      INSERT INTO accounts VALUES (1, 'acme', NULL), (2, 'acme', NULL), (3, 'globex', NULL);
      CREATE VIEW my_accounts AS SELECT * FROM accounts WHERE tenant = current_setting('app.tenant', true);`;

beforeAll(async () => {
  ({ gw, agent, alice } = await startDbaHoldGateway(inject('pgUrl'), SETUP_SQL));
});
afterAll(async () => gw?.stop());

const flagged = (flag: string): Promise<number> => flaggedRows(gw, 'accounts', flag);

let n = 0;

async function heldAndApproved(c: pg.Client, flag: string, tenant: string, rows: number): Promise<void> {
  const held = c.query(`UPDATE my_accounts SET flag = '${flag}'`).catch((e: unknown) => e);
  const r = await waitForRequest(
    gw,
    alice,
    (x: Json) => typeof x.statement?.text === 'string' && x.statement.text.includes(`'${flag}'`),
  );
  // What the approver is shown: the setting, and the rows the statement changes under it.
  expect(r.preview.settings).toMatchObject({ 'app.tenant': tenant });
  expect(r.preview.rowCount, 'the preview ran without the session’s app.tenant').toBe(rows);
  expect((await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(200);
  expect(await held).not.toBeInstanceOf(Error);
  expect(await flagged(flag)).toBe(rows);
}

describe('custom settings are bound to an approval (class 71)', () => {
  it('a custom setting given at startup is shown to the approver, and the preview runs under it', async () => {
    const c = gw.client(agent, { options: '-c app.tenant=acme' });
    c.on('error', () => undefined);
    await c.connect();
    try {
      await heldAndApproved(c, `startup-${++n}`, 'acme', 2);
    } finally {
      await c.end();
    }
  });

  it('a custom setting SET in the session is bound too (it was taken for code that voided every approval)', async () => {
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      await c.query("SET app.tenant = 'acme'");
      await heldAndApproved(c, `set-${++n}`, 'acme', 2);
      await c.query("SET app.tenant = 'globex'");
      await heldAndApproved(c, `set-${++n}`, 'globex', 1);
    } finally {
      await c.end();
    }
  });

  it('a custom value Gatehouse cannot read refuses the statement until it is set again', async () => {
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      await c.query("SELECT set_config('app.tenant', 'ac' || 'me', false)");
      const flag = `computed-${++n}`;
      const e = (await c
        .query(`UPDATE my_accounts SET flag = '${flag}'`)
        .catch((x: unknown) => x)) as pg.DatabaseError;
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe('42501');
      expect(e.message).toMatch(/cannot tell the value of .*app\.tenant/);
      expect(await flagged(flag)).toBe(0);
      // Set again to values Gatehouse reads, it is bound again (DISCARD ALL first: set_config is admin,
      // which may run code, so every meaning-changing setting became unknown, and temporary tables
      // may have been made, which a preview could not see).
      await c.query('DISCARD ALL');
      await c.query("SET app.tenant = 'globex'");
      await heldAndApproved(c, `again-${++n}`, 'globex', 1);
    } finally {
      await c.end();
    }
  });
});
