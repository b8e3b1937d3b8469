// Resource failures of statements that read masked values, counted per principal (docs/security.md
// class 224). Lineage holds what it can see can fail on a masked value (classes 153, 212); what it
// cannot — a statement cancelled by statement_timeout after work a masked value decided, a value
// grown in a table by earlier writes, the server out of memory — shows as the server's resource
// errors. Through the real wire: after three such failures within the hour, the agent's next
// statement reading a masked value is held as a masked predicate, in this session and a new one;
// its statements reading no masked value still run, and another agent is not affected.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: `CREATE TABLE api_keys (id int PRIMARY KEY, service text, secret text);
      INSERT INTO api_keys VALUES (1, 'aws', 'wq7-Kz93-plainVault');`,
    extra: {
      masking: { columns: [{ column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' }] },
    },
  });
}, 120_000);
afterAll(async () => gw?.stop());

async function agent(subject: string): Promise<pg.Client> {
  const c = gw.client(await gw.token({ subject, groups: ['ai-agents'], agent: true }));
  c.on('notice', () => undefined);
  await c.connect();
  return c;
}

async function outcome(
  c: pg.Client,
  sql: string,
): Promise<{ code?: string; message?: string; rows?: unknown[] }> {
  try {
    return { rows: (await c.query(sql)).rows };
  } catch (e) {
    const err = e as pg.DatabaseError;
    return { code: err.code, message: err.message };
  }
}

/** Reads the masked column and is cancelled by the session's statement_timeout. */
const TIMED_OUT =
  'SELECT secret, (SELECT count(*) FROM generate_series(1, 400000000)) AS n FROM api_keys WHERE id = 1';

describe('class 224: resource failures of statements reading masked values', () => {
  it('three within the hour hold the principal’s next masked reads (before: every one ran)', async () => {
    const a = await agent('claude-budget');
    try {
      await a.query("SET statement_timeout = '50ms'");
      for (let i = 0; i < 3; i++) {
        // The first three fail with the server's own cancellation and are counted.
        expect((await outcome(a, TIMED_OUT)).code).toBe('57014');
      }
      const held = await outcome(a, 'SELECT secret FROM api_keys');
      expect(held.code).toBe('42501');
      expect(held.message).toMatch(/failed for want of a server resource/);
      // Reading nothing masked still runs.
      expect((await outcome(a, 'SELECT service FROM api_keys')).rows).toEqual([{ service: 'aws' }]);
    } finally {
      await a.end();
    }
    // The budget is the principal's, not the session's.
    const again = await agent('claude-budget');
    try {
      expect((await outcome(again, 'SELECT upper(secret) AS s FROM api_keys')).message).toMatch(
        /failed for want of a server resource/,
      );
    } finally {
      await again.end();
    }
    // Another agent is not affected, and a failure reading nothing masked counts for nothing.
    const other = await agent('claude-other');
    try {
      await other.query("SET statement_timeout = '50ms'");
      for (let i = 0; i < 4; i++)
        expect(
          (await outcome(other, 'SELECT (SELECT count(*) FROM generate_series(1, 400000000)) AS n')).code,
        ).toBe('57014');
      await other.query('RESET statement_timeout');
      expect((await outcome(other, 'SELECT secret FROM api_keys')).rows).toEqual([
        { secret: '[REDACTED:api_secret]' },
      ]);
    } finally {
      await other.end();
    }
  });
});
