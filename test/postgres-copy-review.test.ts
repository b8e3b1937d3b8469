// A COPY … FROM STDIN held for approval is approved with its rows: Gatehouse answers CopyInResponse
// for the server, collects the rows, asks for the approval with them shown and bound by their digest,
// and forwards exactly those rows after it (docs/security.md class 33, docs/approvals.md). Driven by
// psql's \copy and by a raw protocol client, differentially against PostgreSQL itself where
// Gatehouse answers in the server's place.

import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { BackendCode, type Frame } from '../src/wire/postgres/index.js';
import { api, waitForRequest, type Json } from './approvals-kit.js';
import { hasCommand, run, type RunResult } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, errorsIn, msg, typed } from './testkit/raw-pg-client.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const POLICIES: PolicyConfig[] = [
  {
    id: 'testers',
    subjects: { groups: ['testers'] },
    connections: ['app'],
    rules: [
      {
        id: 'copy-deferred',
        effect: 'review',
        mode: 'defer',
        approval: 'ops',
        match: { kinds: ['copy'], tables: ['deferred_items'] },
      },
      { id: 'copy-held', effect: 'review', approval: 'ops', match: { kinds: ['copy'], tables: ['items'] } },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

const copyData = (data: string | Buffer) => typed('d', Buffer.from(data));
const copyDone = () => typed('c');
const copyFail = (why: string) => typed('f', Buffer.from(`${why}\0`));

describe('COPY FROM STDIN held for approval, with its rows', { timeout: 120_000 }, () => {
  let gw: TestGateway;
  let agent: string;
  let olga: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: POLICIES,
      setupSql: `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, note text);
                 CREATE TABLE deferred_items (id int PRIMARY KEY, name text NOT NULL);`,
      extra: {
        listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
        approvals: { rules: { ops: { approverGroups: ['ops'] } } },
      },
    });
    agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
    olga = await gw.token({ subject: 'olga', groups: ['ops'] });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const direct = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: gw.directUrl });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const rowsOf = (table: string) =>
    direct(async (c) => (await c.query(`SELECT * FROM ${table} ORDER BY id`)).rows);

  const psqlCopy = (table: string, input: string): Promise<RunResult> =>
    run(
      'psql',
      ['-X', '-v', 'ON_ERROR_STOP=1', gw.url(agent), '-c', `\\copy ${table} FROM STDIN WITH (FORMAT csv)`],
      {
        input,
      },
    );

  const pendingFor = (table: string) =>
    waitForRequest(
      gw,
      olga,
      (r: Json) =>
        r.status === 'pending' && new RegExp(`^COPY\\s+${table}\\s`).test(String(r.statement?.text ?? '')),
    );

  describe.skipIf(!hasCommand('psql'))('with psql', () => {
    it('shows the rows, loads nothing before the approval, and exactly those rows after it', async () => {
      const data = '1,alpha,\n2,"beta, with a comma",x\n';
      const copy = psqlCopy('items', data);
      const req = await pendingFor('items');
      const shown = (req.statement.params as string[]).join('\n');
      expect(shown).toBe(`rows (${data.length} bytes, sha256 ${sha256(data)}): ${data}`);
      expect(await rowsOf('items'), 'rows reached the table before the approval').toEqual([]);

      const ok = await api(gw, olga, 'POST', `/api/approvals/${req.id}/approve`, {});
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const r = await copy;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('COPY 2');
      expect(await rowsOf('items')).toEqual([
        { id: 1, name: 'alpha', note: null },
        { id: 2, name: 'beta, with a comma', note: 'x' },
      ]);

      // The record holds the rows' digest with the statement.
      const sessions = await gw.gateway.store.listSessions({ subject: 'claude', limit: 1000 });
      const bodies: unknown[] = [];
      for (const s of sessions)
        for (const e of await gw.gateway.store.getEvents(s.id))
          if (e.type === 'statement' && /^COPY\s+items\s/.test(String(e.data['text'])))
            bodies.push(e.data['body']);
      expect(bodies).toContainEqual({ sha256: sha256(data), bytes: data.length });
      // And the rows themselves, recorded before they went upstream (docs/security.md class 60).
      const parts: string[] = [];
      for (const s of sessions)
        for (const e of await gw.gateway.store.getEvents(s.id))
          if (e.type === 'copy.data') parts.push(String(e.data['text']));
      expect(parts).toContain(data);
    });

    it('loads nothing when the approval is denied', async () => {
      const copy = psqlCopy('items', '10,never\n');
      const req = await pendingFor('items');
      const no = await api(gw, olga, 'POST', `/api/approvals/${req.id}/deny`, { comment: 'no' });
      expect(no.status, JSON.stringify(no.body)).toBe(200);
      const r = await copy;
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/denied|refused/i);
      expect((await rowsOf('items')).map((x) => x.id)).not.toContain(10);
    });

    it('an approval of some rows does not cover other rows under the same statement', async () => {
      const approved = '1,one\n';
      const first = await psqlCopy('deferred_items', approved);
      expect(first.code).not.toBe(0);
      const id = /request ([0-9a-f-]{36}) was created/.exec(first.stderr)?.[1];
      expect(id, first.stderr).toBeDefined();
      const ok = await api(gw, olga, 'POST', `/api/approvals/${id}/approve`, {});
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);

      const swapped = await psqlCopy('deferred_items', '1,one\n666,admin\n');
      expect(swapped.code).not.toBe(0);
      expect(swapped.stderr).toMatch(/request ([0-9a-f-]{36}) was created/);
      expect(swapped.stderr).not.toContain(id);
      expect(await rowsOf('deferred_items'), 'other rows ran on the approval of one').toEqual([]);

      const again = await psqlCopy('deferred_items', approved);
      expect(again.code, again.stderr).toBe(0);
      expect(await rowsOf('deferred_items')).toEqual([{ id: 1, name: 'one' }]);
    });
  });

  /** What a raw client gets for a COPY FROM STDIN, then the messages `after`, until ReadyForQuery. */
  const copyExchange = async (c: RawPgClient, statement: string, after: Buffer[]) => {
    c.send(msg.query(statement));
    const start = await c.until(
      (f) => f.type === BackendCode.CopyInResponse || f.type === BackendCode.ReadyForQuery,
    );
    const copyIn = start.find((f) => f.type === BackendCode.CopyInResponse);
    c.send(...after);
    const end = await c.ready();
    return { copyIn: copyIn?.raw.toString('hex'), end };
  };
  const codes = (frames: readonly Frame[]) => errorsIn(frames).map((e) => ({ C: e['C'], M: e['M'] }));

  it('answers as PostgreSQL does: CopyInResponse, CopyFail, and a message out of place', async () => {
    // Each with a row PostgreSQL accepts as it streams (it checks rows as they come; Gatehouse, which
    // sends them only after the approval, answers a CopyFail without looking at them).
    const statements: [string, Buffer[]][] = [
      ['COPY items FROM STDIN', [copyData('1\tx\t\\N\n')]],
      ['COPY items (name, id) FROM STDIN WITH (FORMAT csv)', [copyData('x,1\n')]],
      ['COPY items FROM STDIN WITH (FORMAT binary)', []],
    ];
    for (const [statement, rows] of statements) {
      for (const after of [[...rows, copyFail('changed my mind')], [msg.query('SELECT 1')]]) {
        const d = await RawPgClient.direct(gw.directUrl);
        const g = await RawPgClient.open(gw.port, gw.connection, agent);
        try {
          const want = await copyExchange(d, statement, after);
          const got = await copyExchange(g, statement, after);
          expect(got.copyIn, statement).toBe(want.copyIn);
          expect(codes(got.end), statement).toEqual(codes(want.end));
          expect(got.end.some((f) => f.type === BackendCode.ReadyForQuery)).toBe(
            want.end.some((f) => f.type === BackendCode.ReadyForQuery),
          );
          if (!g.closed) {
            // The session goes on after a CopyFail: a later statement runs.
            g.send(msg.query('SELECT 41 + 1'));
            expect(codes(await g.ready())).toEqual([]);
          }
        } finally {
          d.close();
          g.close();
        }
      }
    }
    expect(await rowsOf('items')).not.toContainEqual(expect.objectContaining({ name: 'x' }));
  });

  it('refuses a reviewed COPY FROM STDIN among other statements or through the extended protocol', async () => {
    const g = await RawPgClient.open(gw.port, gw.connection, agent);
    try {
      g.send(msg.query('SELECT 1; COPY items FROM STDIN'));
      const multi = await g.ready();
      expect(multi.some((f) => f.type === BackendCode.CopyInResponse)).toBe(false);
      expect(errorsIn(multi)[0]?.['M']).toMatch(/send it as a simple query on its own/);

      g.send(msg.parse('', 'COPY items FROM STDIN'), msg.bind('', ''), msg.execute(''), msg.sync());
      const extended = await g.ready();
      expect(extended.some((f) => f.type === BackendCode.CopyInResponse)).toBe(false);
      expect(errorsIn(extended)[0]?.['M']).toMatch(/send it as a simple query on its own/);
    } finally {
      g.close();
    }
  });

  it('refuses rows past what it holds for the approver, and drops the rest as PostgreSQL would', async () => {
    const g = await RawPgClient.open(gw.port, gw.connection, agent);
    try {
      const row = Buffer.from(`${'z'.repeat(1023)}\n`);
      const chunk = copyData(Buffer.concat(Array.from({ length: 256 }, () => row))); // 256 KiB
      const after = [...Array.from({ length: 20 }, () => chunk), copyDone()];
      const { copyIn, end } = await copyExchange(g, 'COPY items (name) FROM STDIN', after);
      expect(copyIn).toBeDefined();
      expect(codes(end)).toEqual([{ C: '54000', M: expect.stringMatching(/larger than the 4194304 bytes/) }]);
      g.send(msg.query('SELECT 41 + 1'));
      expect(codes(await g.ready())).toEqual([]);
    } finally {
      g.close();
    }
    expect((await rowsOf('items')).filter((r) => String(r.name).startsWith('zzz'))).toEqual([]);
  });
});
