// An approval binds the session settings a statement runs under, and its preview applies them with
// set_config() (classes 4, 27, 31). Gatehouse read the value of `SET name = …` as the words written,
// but PostgreSQL stores it otherwise in two cases (flatten_set_variable_args): in a list setting such
// as search_path each string or identifier is quoted as an identifier (`SET search_path = "Archive"`
// is the schema Archive; set_config('search_path', 'Archive') is archive), and `SET TIME ZONE
// INTERVAL '+02:00' HOUR TO MINUTE` is two hours east where the time zone '+02:00' is two hours west.
// So the approver was shown, and the preview ran under, another setting than the statement
// (docs/security.md, class 64). Real PostgreSQL, real `pg`, the approval API.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TestGateway } from './testkit/gateway.js';
import { api, flaggedRows, startDbaHoldGateway, type Json, waitForRequest } from './approvals-kit.js';

// A policy that lets the session set search_path (the default agent policy refuses it), so the
// approval's binding of it is all that stands between the approver and the wrong schema.

// "Archive".events holds the rows that matter; archive.events (what the unquoted name folds to) none.
const SETUP_SQL = `
  CREATE SCHEMA "Archive"; CREATE SCHEMA archive; CREATE SCHEMA "a, b"; CREATE SCHEMA a; CREATE SCHEMA b;
  CREATE TABLE "Archive".events (id int PRIMARY KEY, at timestamptz, flag text);
  INSERT INTO "Archive".events VALUES (1, '2026-01-01 00:00Z', NULL), (2, '2026-01-01 00:30Z', NULL), (3, '2026-01-02 00:00Z', NULL);
  CREATE TABLE archive.events (LIKE "Archive".events);
  CREATE TABLE "a, b".events AS TABLE "Archive".events;
  CREATE TABLE a.events (LIKE "Archive".events);
  CREATE TABLE public.events AS TABLE "Archive".events;
`;

let gw: TestGateway;
let agent: string;
let alice: string;

beforeAll(async () => {
  ({ gw, agent, alice } = await startDbaHoldGateway(inject('pgUrl'), SETUP_SQL));
});
afterAll(async () => gw?.stop());

const flagged = (table: string, flag: string): Promise<number> => flaggedRows(gw, table, flag);

async function connect(): Promise<pg.Client> {
  const c = gw.client(agent);
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

let n = 0;

describe('the value of SET is read as the server stores it (class 64)', () => {
  it.each([
    ['a quoted identifier', 'SET search_path = "Archive"', '"Archive"', '"Archive".events'],
    ['a string holding a comma', "SET search_path = 'a, b'", '"a, b"', '"a, b".events'],
  ])(
    'search_path given %s: the approver sees the schema it runs in, and the preview runs there',
    async (_label, set, shown, table) => {
      const c = await connect();
      try {
        const flag = `sp${++n}`;
        // In one query string: the statement runs under the SET before it (class 31).
        const held = c
          .query(`${set}; UPDATE events SET flag = '${flag}' WHERE id < 3`)
          .catch((e: unknown) => e);
        const r = await waitForRequest(
          gw,
          alice,
          (x: Json) => typeof x.statement?.text === 'string' && x.statement.text.includes(`'${flag}'`),
        );
        expect(r.preview.settings).toMatchObject({ search_path: shown });
        // The preview counts the rows of the table the UPDATE will change (the decoy has none).
        expect(r.preview.rowCount).toBe(2);
        expect((await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(200);
        expect(await held).not.toBeInstanceOf(Error);
        expect(await flagged(table, flag)).toBe(2);
      } finally {
        await c.end();
      }
    },
  );

  it('SET TIME ZONE INTERVAL in the same string: refused until the server reports the zone', async () => {
    const c = await connect();
    try {
      // '2026-01-01 01:00' is 2025-12-31 23:00Z two hours east, 03:00Z read as the zone '+02:00'.
      const update = (flag: string) =>
        `UPDATE events SET flag = '${flag}' WHERE at < '2026-01-01 01:00' AND id < 10`;
      let flag = `tz${++n}`;
      const e = (await c
        .query(`SET TIME ZONE INTERVAL '+02:00' HOUR TO MINUTE; ${update(flag)}`)
        .catch((x: unknown) => x)) as pg.DatabaseError;
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe('42501');
      expect(e.message).toMatch(/cannot tell the value of timezone/);
      expect(await flagged('public.events', flag)).toBe(0);
      // Once the SET has run on its own, the server reports the zone, and that is what is bound.
      await c.query(`SET TIME ZONE INTERVAL '+02:00' HOUR TO MINUTE`);
      const zone = (await c.query<{ z: string }>('SELECT current_setting($1) AS z', ['TimeZone'])).rows[0]!.z;
      flag = `tz${++n}`;
      const held = c.query(update(flag)).catch((x: unknown) => x);
      const r = await waitForRequest(
        gw,
        alice,
        (x: Json) => typeof x.statement?.text === 'string' && x.statement.text.includes(`'${flag}'`),
      );
      expect(r.preview.settings).toMatchObject({ timezone: zone });
      expect(r.preview.rowCount).toBe(0);
      expect((await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(200);
      expect(await held).not.toBeInstanceOf(Error);
      expect(await flagged('public.events', flag)).toBe(0);
    } finally {
      await c.end();
    }
  });
});
