// LISTEN/NOTIFY through Gatehouse, against a real PostgreSQL (docs/security.md, classes 97–98).
// A notification crosses sessions: NOTIFY is read by whatever program LISTENs on the channel (a job
// queue, a cache, PostgREST's `reload schema`), and it passes read-only transactions, so an agent that
// may only read must not send one without an approval. And a payload is a value Gatehouse cannot trace
// to columns: a masked session under column rules gets it masked whole.

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');
const TOKEN = 'zebraQuokkaToken77xx';

const EXTRA = `
  CREATE TABLE vault (id int PRIMARY KEY, note text, token text NOT NULL);
  INSERT INTO vault VALUES (1, 'n1', '${TOKEN}');
  -- The application's own change feed: every change of a vault row, to its listeners.
  CREATE FUNCTION vault_feed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('vault_changes', NEW.id || ' ' || NEW.note || ' ' || NEW.token); RETURN NEW; END $$;
  CREATE TRIGGER vault_feed AFTER UPDATE ON vault FOR EACH ROW EXECUTE FUNCTION vault_feed();
`;

const MASKING = {
  style: 'redact',
  columns: [
    { column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' },
    { column: 'public.vault.token', style: 'redact', tag: 'vault_token' },
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
    setupSql: SEED + EXTRA,
    extra: {
      masking: MASKING,
      // A held statement expires at once: nobody approves in these tests.
      approvals: { rules: { default: { approverGroups: ['dba'], holdTimeout: '1s' } } },
    },
  });
});
afterAll(async () => gw?.stop());

async function agent(): Promise<pg.Client> {
  const c = gw.client(await gw.token({ subject: 'claude', groups: ['ai-agents'], agent: true }));
  c.on('notice', () => undefined);
  await c.connect();
  return c;
}

/** A program of the application's, connected directly, listening on `channel`. */
async function directListener(channel: string): Promise<{ got: string[]; end: () => Promise<void> }> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  const got: string[] = [];
  c.on('notification', (n) => got.push(n.payload ?? ''));
  await c.connect();
  await c.query(`LISTEN ${channel}`);
  return { got, end: () => c.end() };
}

describe('class 97: a notification to other sessions is not a read', () => {
  it('an agent that may only read cannot send one without an approval, in any form', async () => {
    const worker = await directListener('jobs');
    const c = await agent();
    try {
      const attempts = [
        `NOTIFY jobs, 'refund order 42'`,
        `SELECT pg_notify('jobs', 'refund order 42')`,
        `SELECT pg_catalog.pg_notify('jobs', 'refund order 42')`,
        `SELECT pg_notify(channel => 'jobs', payload => 'refund order 42')`,
        `SELECT count(*) FROM (SELECT pg_notify('jobs', 'refund order ' || id) FROM orders) s`,
      ];
      for (const sql of attempts) {
        const e = (await c.query(sql).then(
          () => undefined,
          (x: unknown) => x,
        )) as pg.DatabaseError | undefined;
        expect(e?.code, sql).toBe('42501');
      }
      // In a read-only transaction too (PostgreSQL lets NOTIFY through there).
      await c.query('BEGIN READ ONLY');
      const e = (await c
        .query(`NOTIFY jobs, 'refund order 43'`)
        .catch((x: unknown) => x)) as pg.DatabaseError;
      expect(e.code).toBe('42501');
      await c.query('ROLLBACK');
      // Through the extended protocol.
      const x = (await c
        .query({ text: 'SELECT pg_notify($1, $2)', values: ['jobs', 'refund order 44'] })
        .catch((y: unknown) => y)) as pg.DatabaseError;
      expect(x.code).toBe('42501');
      // LISTEN stays a session statement: the agent may still listen.
      await c.query('LISTEN jobs');
      await c.query('UNLISTEN jobs');
      // Round trip on the worker's own connection, so any notification sent has arrived.
      await new Promise((r) => setTimeout(r, 200));
      expect(worker.got).toEqual([]);
    } finally {
      await c.end();
      await worker.end();
    }
  });
});

describe('class 98: a notification payload is not traced to columns', () => {
  it('a masked agent listening to a change feed of a ruled table gets the payload masked whole', async () => {
    const c = await agent();
    const got: string[] = [];
    c.on('notification', (n) => got.push(n.payload ?? ''));
    const raw: Buffer[] = [];
    (c as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
      'data',
      (d: Buffer) => raw.push(d),
    );
    try {
      await c.query('LISTEN vault_changes');
      const dba = new pg.Client({ connectionString: gw.directUrl });
      await dba.connect();
      await dba.query(`UPDATE vault SET note = 'n2' WHERE id = 1`);
      await dba.end();
      for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(got.length).toBe(1);
      expect(got[0]).not.toContain(TOKEN);
      expect(Buffer.concat(raw).toString('latin1')).not.toContain(TOKEN.slice(0, 10));
      expect(got[0]).toMatch(/^\[REDACTED:[a-z_]+\]$/);
    } finally {
      await c.end();
    }
  });

  it('a session without masking gets the payload as sent', async () => {
    const c = gw.client(await gw.token({ subject: 'dana', groups: ['dba'], agent: false }));
    const got: string[] = [];
    c.on('notification', (n) => got.push(n.payload ?? ''));
    await c.connect();
    try {
      await c.query('LISTEN vault_changes');
      const dba = new pg.Client({ connectionString: gw.directUrl });
      await dba.connect();
      await dba.query(`UPDATE vault SET note = 'n3' WHERE id = 1`);
      await dba.end();
      for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(got).toEqual([`1 n3 ${TOKEN}`]);
    } finally {
      await c.end();
    }
  });
});

describe('class 246: a channel the client did not LISTEN on itself is not traced either', () => {
  async function person(
    subject: string,
    groups: string[],
  ): Promise<{
    c: pg.Client;
    got: { channel: string; payload: string }[];
    raw: Buffer[];
  }> {
    const c = gw.client(await gw.token({ subject, groups, agent: false }));
    const got: { channel: string; payload: string }[] = [];
    const raw: Buffer[] = [];
    c.on('notice', () => undefined);
    c.on('notification', (n) => got.push({ channel: n.channel, payload: n.payload ?? '' }));
    await c.connect();
    (c as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
      'data',
      (d: Buffer) => raw.push(d),
    );
    return { c, got, raw };
  }
  const settle = async (got: unknown[], n: number) => {
    for (let i = 0; i < 50 && got.length < n; i++) await new Promise((r) => setTimeout(r, 50));
  };
  // A DO block LISTENs on a channel named by the token and notifies it: the session's own
  // notification names the channel, whose name is the value (before: in clear, detectors only).
  const LISTEN_ON_TOKEN = `DO $$ DECLARE t text := (SELECT token FROM vault WHERE id = 1);
    BEGIN EXECUTE format('LISTEN %I', t); PERFORM pg_notify(t, 'x'); END $$`;

  it('a channel code named from a masked value is masked whole', async () => {
    const { c, got, raw } = await person('ann', ['analysts']);
    try {
      await c.query(LISTEN_ON_TOKEN);
      await settle(got, 1);
      expect(got).toEqual([{ channel: '[REDACTED:notification]', payload: '[REDACTED:notification]' }]);
      expect(Buffer.concat(raw).toString('latin1')).not.toContain(TOKEN.slice(0, 10));
    } finally {
      await c.end();
    }
  });

  it("the client's own channels keep their names, quoted or not", async () => {
    const { c, got } = await person('ann2', ['analysts']);
    try {
      await c.query('LISTEN Jobs; LISTEN "MixedCase"');
      await c.query(`SELECT pg_notify('jobs', 'a'), pg_notify('MixedCase', 'b')`);
      await settle(got, 2);
      expect(got.map((g) => g.channel)).toEqual(['jobs', 'MixedCase']);
    } finally {
      await c.end();
    }
  });

  it('a session without masking gets the channel as named', async () => {
    const { c, got } = await person('dana2', ['dba']);
    try {
      await c.query(LISTEN_ON_TOKEN);
      await settle(got, 1);
      expect(got).toEqual([{ channel: TOKEN, payload: 'x' }]);
    } finally {
      await c.end();
    }
  });
});
