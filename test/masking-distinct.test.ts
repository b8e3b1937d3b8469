// Plain DISTINCT over a value derived from a masked column (docs/security.md class 137), through
// the real wire against a real PostgreSQL with the demo's column rules: how many rows come back says
// whether values are equal, so for the default agent it is a masked predicate, as UNION is, in the
// simple protocol and the extended protocol with text and binary results; DISTINCT over unmasked
// columns is untouched.

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

describe('class 137: plain DISTINCT compares whole rows', () => {
  it('is a masked predicate for the agent when a masked column feeds a row (before: the count answered a guess)', async () => {
    const agent = await connect(['ai-agents'], true, 'claude');
    try {
      for (const sql of [
        // Before: 1 exactly when the secret starts with `w`, no review.
        "SELECT count(*) FROM (SELECT DISTINCT x FROM (SELECT substr(secret, 1, 1) AS x FROM api_keys WHERE id = 1 UNION ALL SELECT 'w') t) u",
        'SELECT count(*) FROM (SELECT DISTINCT substr(secret, 1, 1) FROM api_keys) u',
        'SELECT DISTINCT left(card_number, 1) AS d FROM customers',
        'SELECT count(*) FROM (SELECT DISTINCT c.country, k.secret FROM customers c JOIN api_keys k ON k.customer_id = c.id) u',
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

  it('DISTINCT over unmasked columns is untouched, and a masked person still gets masked values', async () => {
    const agent = await connect(['ai-agents'], true, 'claude');
    const person = await connect(['analysts'], false, 'ana');
    try {
      const o = await attempt(agent, 'SELECT DISTINCT country FROM customers ORDER BY country');
      expect(o.ok && o.rows).toEqual([{ country: 'FI' }, { country: 'GB' }, { country: 'US' }]);
      const p = await attempt(person, 'SELECT DISTINCT upper(secret) AS s FROM api_keys');
      expect(p.ok && p.rows.every((r) => r.s === '[REDACTED:api_secret]')).toBe(true);
    } finally {
      await agent.client.end();
      await person.client.end();
    }
  });
});
