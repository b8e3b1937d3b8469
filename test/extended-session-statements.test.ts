// SQL statements that change the session's objects (PREPARE, DEALLOCATE, DECLARE, CLOSE) sent
// through the extended protocol (Parse/Bind/Execute) instead of a simple Query. Gatehouse applied
// their effect to its model only for simple Queries, so the server's prepared statement or cursor
// could be replaced while Gatehouse kept deciding and masking its uses as the old one
// (docs/security.md, class 30). The demo agent and the demo's column rules, through `pg`, against
// a real PostgreSQL.

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');

/** The demo's column rules (src/demo/demo-config.ts). */
const MASKING = {
  style: 'redact',
  columns: [
    { column: 'public.customers.card_number', style: 'partial', tag: 'card_number' },
    { column: 'public.customers.email', style: 'hash', tag: 'customer_email' },
    { column: 'public.customers.phone', style: 'redact', tag: 'customer_phone' },
    { column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' },
  ],
};

let gw: TestGateway;
let secrets: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: SEED,
    extra: { masking: MASKING },
  });
  const direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  secrets = (await direct.query<{ s: string }>('SELECT secret AS s FROM api_keys')).rows.map((r) => r.s);
  await direct.end();
  expect(secrets).toHaveLength(4);
});
afterAll(async () => gw?.stop());

async function agent(): Promise<pg.Client> {
  const c = gw.client(await gw.token({ subject: 'agent-ext', agent: true }));
  c.on('notice', () => undefined);
  await c.connect();
  return c;
}

/** pg sends a query with a statement name through Parse/Bind/Describe/Execute/Sync. */
let n = 0;
const extended = (c: pg.Client, text: string) => c.query({ name: `ext_${++n}`, text });

function expectMasked(rows: Record<string, unknown>[], label: string): void {
  expect(rows.length, label).toBe(4);
  const all = JSON.stringify(rows);
  for (const s of secrets) {
    expect(all.toUpperCase(), label).not.toContain(s.toUpperCase());
    expect(all.toUpperCase(), label).not.toContain(s.slice(4, 16).toUpperCase());
  }
  for (const r of rows) expect(String(r['x']), label).toBe('[REDACTED:api_secret]');
}

describe('SQL session statements through the extended protocol', () => {
  it('a prepared statement replaced through Parse/Bind/Execute is decided and masked as what it now is', async () => {
    const c = await agent();
    try {
      await c.query('PREPARE p AS SELECT 1 AS x');
      await extended(c, 'DEALLOCATE p');
      await extended(c, 'PREPARE p AS SELECT upper(secret) AS x FROM api_keys');
      expectMasked((await c.query('EXECUTE p')).rows, 'EXECUTE p (simple)');
      expectMasked((await extended(c, 'EXECUTE p')).rows, 'EXECUTE p (extended)');
    } finally {
      await c.end();
    }
  });

  it('a cursor replaced through Parse/Bind/Execute is masked as what it now is', async () => {
    const c = await agent();
    try {
      await c.query('DECLARE c2 CURSOR WITH HOLD FOR SELECT 1 AS x');
      await extended(c, 'CLOSE c2');
      await extended(c, 'DECLARE c2 CURSOR WITH HOLD FOR SELECT upper(secret) AS x FROM api_keys');
      expectMasked((await c.query('FETCH ALL FROM c2')).rows, 'FETCH c2');
    } finally {
      await c.end();
    }
  });

  it('CLOSE ALL and DEALLOCATE ALL through the extended protocol leave nothing Gatehouse still trusts', async () => {
    const c = await agent();
    try {
      await c.query('PREPARE q AS SELECT 1 AS x');
      await c.query('DECLARE c3 CURSOR WITH HOLD FOR SELECT 1 AS x');
      await extended(c, 'DEALLOCATE ALL');
      await extended(c, 'CLOSE ALL');
      await extended(c, 'PREPARE q AS SELECT upper(secret) AS x FROM api_keys');
      await extended(c, 'DECLARE c3 CURSOR WITH HOLD FOR SELECT upper(secret) AS x FROM api_keys');
      expectMasked((await c.query('EXECUTE q')).rows, 'EXECUTE q');
      expectMasked((await c.query('FETCH ALL FROM c3')).rows, 'FETCH c3');
    } finally {
      await c.end();
    }
  });

  it('a cursor declared through the extended protocol can be fetched in SQL, masked', async () => {
    const c = await agent();
    try {
      await extended(c, 'DECLARE c4 CURSOR WITH HOLD FOR SELECT secret AS x FROM api_keys');
      expectMasked((await c.query('FETCH ALL FROM c4')).rows, 'FETCH c4');
      // One without HOLD lives as long as its transaction block, in Gatehouse's model too.
      await c.query('BEGIN');
      await extended(c, 'DECLARE c5 CURSOR FOR SELECT upper(secret) AS x FROM api_keys');
      expectMasked((await c.query('FETCH ALL FROM c5')).rows, 'FETCH c5');
      await c.query('COMMIT');
      await expect(c.query('FETCH ALL FROM c5')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await c.end();
    }
  });
});
