// A LATERAL item on the right of an explicit JOIN reading the join's left side (docs/security.md
// class 136), through the real wire against a real PostgreSQL with the demo's column rules: the
// value must come back masked and a filter on it must count as a masked predicate, in the simple
// protocol and the extended protocol with text and binary results, for the default agent and for a
// masked person; ordinary lateral joins stay clear.

import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');

const MASKING = {
  style: 'redact',
  columns: [
    { column: 'public.customers.card_number', style: 'partial', tag: 'card_number' },
    { column: 'public.customers.email', style: 'hash', tag: 'customer_email' },
    { column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' },
  ],
};

/** A person whose results are masked and who may run anything. */
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
    setupSql: SEED,
    extra: { masking: MASKING },
  });
});
afterAll(async () => gw?.stop());

interface Tapped {
  readonly client: pg.Client;
  readonly take: () => string;
}

async function connect(groups: string[], agent: boolean, subject: string): Promise<Tapped> {
  const client = gw.client(await gw.token({ subject, groups, agent }));
  const chunks: Buffer[] = [];
  client.on('notice', () => undefined);
  await client.connect();
  (client as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
    'data',
    (d: Buffer) => chunks.push(d),
  );
  return { client, take: () => Buffer.concat(chunks.splice(0)).toString('latin1') };
}

type Outcome =
  | { readonly ok: true; readonly rows: Record<string, unknown>[] }
  | { readonly ok: false; readonly error: pg.DatabaseError };

async function attempt(t: Tapped, sql: string | pg.QueryConfig): Promise<Outcome> {
  try {
    const r = await t.client.query(sql);
    return { ok: true, rows: r.rows as Record<string, unknown>[] };
  } catch (e) {
    return { ok: false, error: e as pg.DatabaseError };
  }
}

const modes = (sql: string): (string | pg.QueryConfig)[] => [
  sql,
  { text: sql, queryMode: 'extended' } as pg.QueryConfig,
  { text: sql, queryMode: 'extended', binary: true } as pg.QueryConfig,
];

// Pieces of the seeded secrets and cards, in the forms the probes below would show them.
const LEAKS = [
  'WJALRXUTNFEMI',
  'wJalrXUtnFEMI',
  'SK_LIVE_51',
  'ghp_EXAMPLE',
  'GHP_EXAMPLE',
  '4111 1111',
  '5555555555',
  'ADA@EXAMPLE',
];

function expectNone(bytes: string, label: string): void {
  for (const v of LEAKS) expect(bytes.includes(v), `${label} leaked ${v}`).toBe(false);
}

describe('class 136: a LATERAL item on the right of a JOIN reads the left side', () => {
  it('values derived through it are masked, for the agent and the person', async () => {
    const agent = await connect(['ai-agents'], true, 'claude');
    const person = await connect(['analysts'], false, 'ana');
    try {
      for (const who of [agent, person]) {
        for (const sql of [
          // Before: the secrets upper-cased, in clear.
          'SELECT t.x FROM api_keys k LEFT JOIN LATERAL (SELECT upper(secret) AS x) t ON true',
          'SELECT t.x FROM api_keys k JOIN LATERAL (SELECT upper(k.secret) AS x) t ON true',
          'SELECT t.x FROM api_keys k CROSS JOIN LATERAL (SELECT reverse(reverse(k.secret)) AS x) t',
          "SELECT t.x FROM api_keys k CROSS JOIN LATERAL (VALUES (k.secret || '')) t(x)",
          'SELECT t.x FROM customers c CROSS JOIN LATERAL (SELECT upper(c.email) AS x) t',
          "SELECT t.x FROM customers c CROSS JOIN LATERAL (SELECT replace(c.card_number, ' ', '') AS x) t",
          // Nested joins: the lateral item sees every item of the left side.
          'SELECT t.x FROM customers c JOIN api_keys k ON k.customer_id = c.id CROSS JOIN LATERAL (SELECT upper(k.secret) AS x) t',
        ]) {
          for (const q of modes(sql)) {
            who.take();
            const o = await attempt(who, q);
            expectNone(who.take(), sql);
            expect(o.ok, sql).toBe(true);
            if (o.ok) for (const r of o.rows) expect(String(r.x), sql).toMatch(/^\[REDACTED:/);
          }
        }
      }
    } finally {
      await agent.client.end();
      await person.client.end();
    }
  });

  it('a filter inside it is a masked predicate for the agent (before: one row exactly for a right guess, no review)', async () => {
    const agent = await connect(['ai-agents'], true, 'claude');
    try {
      for (const sql of [
        "SELECT k.id, t.x FROM api_keys k CROSS JOIN LATERAL (SELECT 'hit' AS x WHERE k.secret LIKE 'w%') t",
        "SELECT k.id FROM api_keys k JOIN LATERAL (SELECT 1 AS one WHERE k.secret > 'm') t ON true",
        'SELECT count(*) FROM api_keys k CROSS JOIN LATERAL generate_series(1, ascii(k.secret)) g',
      ]) {
        for (const q of modes(sql)) {
          const o = await attempt(agent, q);
          expect(!o.ok && o.error.detail, sql).toContain('masking-predicate');
        }
      }
    } finally {
      await agent.client.end();
    }
  });

  it('lateral joins over unmasked columns are untouched', async () => {
    const agent = await connect(['ai-agents'], true, 'claude');
    try {
      const o = await attempt(
        agent,
        `SELECT c.name, t.n, t.s FROM customers c
           JOIN LATERAL (SELECT count(*) AS n, upper(c.country) AS s FROM orders o WHERE o.customer_id = c.id) t ON true
         ORDER BY c.id LIMIT 2`,
      );
      expect(o.ok && o.rows).toEqual([
        { name: 'Ada Lovelace', n: '5', s: 'GB' },
        { name: 'Grace Hopper', n: '5', s: 'US' },
      ]);
    } finally {
      await agent.client.end();
    }
  });
});
