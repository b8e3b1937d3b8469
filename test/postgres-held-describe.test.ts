// A statement held for review sends nothing of itself upstream before it is decided, a Describe of
// it included: PostgreSQL's Parse of a text runs the input functions of its literals, and the input
// of an array or a row whose element is a domain runs the domain's CHECK — user code, with side
// effects (docs/security.md class 214); so does the impact preview's EXPLAIN. Through the real
// listener, approvals and a real server.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { BackendCode, decodeDataRow, decodeErrorFields, type Frame } from '../src/wire/postgres/index.js';
import { api, waitForRequest, type Json } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

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
let agent: string;
let olga: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    // note() leaves a mark in the session that ran it (a setting survives a read-only transaction).
    setupSql: `
      CREATE FUNCTION note(v text) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN
        PERFORM set_config('gh.ran', coalesce(current_setting('gh.ran', true), '') || v || ';', false);
        PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gh-victim';
        RETURN true; END $$;
      CREATE DOMAIN checked AS text CHECK (note(VALUE));
      CREATE TYPE pair AS (a checked, b int);
      CREATE TABLE items (id int, tags checked[], p pair, at timestamptz);
      INSERT INTO items (id) VALUES (1), (2);`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: { rules: { dba: { approverGroups: ['dba'] } } },
    },
  });
  agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
  olga = await gw.token({ subject: 'olga', groups: ['dba'] });
});
afterAll(async () => gw?.stop());

const types = (frames: Frame[]) => frames.map((f) => String.fromCharCode(f.type)).join('');
const errors = (frames: Frame[]) =>
  frames.filter((f) => f.type === BackendCode.ErrorResponse).map((f) => decodeErrorFields(f.body));
/** What note() ran in this session so far. */
const ran = async (c: RawPgClient): Promise<string> => {
  c.send(msg.query("SELECT coalesce(current_setting('gh.ran', true), '')"));
  const frames = await c.ready();
  const row = frames.find((f) => f.type === BackendCode.DataRow);
  return decodeDataRow(row!.body)[0]!.toString();
};
/** The parameter types of a ParameterDescription. */
const paramTypes = (frames: Frame[]): number[] => {
  const f = frames.find((x) => x.type === BackendCode.ParameterDescription)!;
  const n = f.body.readInt16BE(0);
  return Array.from({ length: n }, (_, i) => f.body.readInt32BE(2 + 4 * i));
};

describe('a Describe of a statement held for review', { timeout: 60_000 }, () => {
  it('runs nothing of its literals upstream, and describes it with their types', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, agent);
    try {
      c.send(
        msg.parse('s', "DELETE FROM items WHERE tags = '{by-array}' OR p = '(by-row,1)'::pair OR id = $1"),
        msg.describeStatement('s'),
        msg.sync(),
      );
      const frames = await c.ready();
      expect(errors(frames)).toEqual([]);
      expect(types(frames)).toBe('1tnZ');
      expect(paramTypes(frames)).toEqual([23]);
      expect(await ran(c), 'the CHECK ran before anyone approved the statement').toBe('');

      // Row-returning, with a typed literal and a cast: the columns are the statement's own.
      c.send(
        msg.parse(
          'r',
          "DELETE FROM items WHERE at < now() - interval '1 day' OR tags = '{x}'::checked[] RETURNING id, p",
        ),
        msg.describeStatement('r'),
        msg.sync(),
      );
      const rows = await c.ready();
      expect(errors(rows)).toEqual([]);
      expect(types(rows)).toBe('1tTZ');
      expect(rows.find((f) => f.type === BackendCode.RowDescription)!.raw.toString('latin1')).toMatch(
        /id\0.*p\0/s,
      );
      expect(await ran(c)).toBe('');
    } finally {
      c.socket.destroy();
    }
  });

  it('is refused where Gatehouse cannot take its literals out, and runs nothing', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, agent);
    try {
      c.send(
        msg.parse('q', "DELETE FROM items WHERE at < now() - interval '1' day OR tags = '{q}'"),
        msg.describeStatement('q'),
        msg.sync(),
      );
      const frames = await c.ready();
      expect(errors(frames).map((e) => e.C)).toEqual(['0A000']);
      expect(errors(frames)[0]!.M).toMatch(/held for review/);
      expect(await ran(c)).toBe('');
    } finally {
      c.socket.destroy();
    }
  });

  it('once approved, the statement itself runs with its literals', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, agent);
    try {
      c.send(
        msg.parse('s', "DELETE FROM items WHERE id = $1 OR tags = '{approved}'"),
        msg.describeStatement('s'),
        msg.sync(),
      );
      await c.ready();
      expect(await ran(c)).toBe('');
      // A session the CHECK would end if it ran before the approval (in the impact preview's EXPLAIN).
      const victim = new pg.Client({ connectionString: gw.directUrl, application_name: 'gh-victim' });
      victim.on('error', () => undefined);
      await victim.connect();
      c.send(msg.bind('', 's', ['2']), msg.execute('', 0), msg.sync());
      const req: Json = await waitForRequest(
        gw,
        olga,
        (r: Json) => r.status === 'pending' && /approved/.test(String(r.statement?.text ?? '')),
      );
      expect((await victim.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(req.preview?.kind).toBe('none');
      expect(String(req.preview?.notes)).toMatch(/domains with CHECK constraints/);
      await victim.end();
      const ok = await api(gw, olga, 'POST', `/api/approvals/${req.id}/approve`, {});
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const done = await c.ready();
      expect(errors(done)).toEqual([]);
      expect(
        done.some(
          (f) => f.type === BackendCode.CommandComplete && f.raw.toString('latin1').includes('DELETE 1'),
        ),
      ).toBe(true);
      expect(await ran(c)).toBe('approved;');
    } finally {
      c.socket.destroy();
    }
  });
});
