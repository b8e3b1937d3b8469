// The fast-path FunctionCall ('F') names a function by OID and carries its arguments in the message.
// Gatehouse decided, recorded and asked approval for it as `oid N` alone: an approver saw no argument,
// the record kept none, and an approval of one call (deferred, so consumed by a later identical
// request) was consumed by the same function called with any other arguments (docs/security.md,
// class 133). Through the real wire against a real PostgreSQL.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { decodeErrorFields, BackendCode } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';
import { api } from './approvals-kit.js';

let gw: TestGateway;
let agent: string;
let olga: string;
let setval = 0;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: [
      {
        id: 'testers',
        subjects: { groups: ['testers'] },
        connections: ['app'],
        rules: [
          {
            id: 'fast-path-deferred',
            effect: 'review',
            mode: 'defer',
            approval: 'ops',
            match: { kinds: ['function call'] },
          },
          { id: 'allow-rest', effect: 'allow', match: {} },
        ],
      },
    ],
    setupSql: 'CREATE SEQUENCE orders_seq; CREATE SEQUENCE invoices_seq;',
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: { rules: { ops: { approverGroups: ['ops'] } } },
    },
  });
  agent = await gw.token({ subject: 'claude-fastpath', groups: ['testers'], agent: true });
  olga = await gw.token({ subject: 'olga', groups: ['ops'] });
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  setval = (await c.query<{ oid: number }>("SELECT 'setval(regclass, bigint)'::regprocedure::oid AS oid"))
    .rows[0]!.oid;
  await c.end();
});
afterAll(async () => gw?.stop());

/** The sequences' last values, read directly. */
async function lastValues(): Promise<string[]> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    const r = await c.query<{ o: string; i: string }>(
      'SELECT (SELECT last_value FROM orders_seq)::text AS o, (SELECT last_value FROM invoices_seq)::text AS i',
    );
    return [r.rows[0]!.o, r.rows[0]!.i];
  } finally {
    await c.end();
  }
}

/** Sends one FunctionCall of setval; the error's message, or undefined when it ran. */
async function call(args: string[]): Promise<string | undefined> {
  const c = await RawPgClient.open(gw.port, gw.connection, agent);
  try {
    c.send(msg.functionCall(setval, args));
    const frames = await c.ready();
    const err = frames.find((f) => f.type === BackendCode.ErrorResponse);
    return err ? (decodeErrorFields(err.body).M ?? '?') : undefined;
  } finally {
    c.close();
  }
}

describe('class 133: a fast-path FunctionCall is decided with its arguments', () => {
  it('the approver sees the arguments, the approval covers only them, and the record keeps them', async () => {
    const refused = await call(['orders_seq', '5']);
    const id = /request ([0-9a-f-]{36}) was created/.exec(refused ?? '')?.[1];
    expect(id, refused).toBeDefined();
    const ok = await api(gw, olga, 'POST', `/api/approvals/${id}/approve`, {});
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    // What the approver was shown: the call's arguments, whole.
    expect(ok.body.request.statement.params).toEqual(['orders_seq', '5']);

    // The same function with other arguments is not what was approved (before: it consumed it and ran).
    const other = await call(['invoices_seq', '999']);
    expect(other).toMatch(/request ([0-9a-f-]{36}) was created/);
    expect(other).not.toContain(id);
    expect(await lastValues()).toEqual(['1', '1']);

    // The approved call runs, once.
    expect(await call(['orders_seq', '5'])).toBeUndefined();
    expect(await lastValues()).toEqual(['5', '1']);

    // The record holds each call's arguments: the refused ones and the one that ran.
    let recorded: unknown[] = [];
    for (let i = 0; i < 50 && recorded.length < 4; i++) {
      recorded = [];
      const sessions = await gw.gateway.store.listSessions({ subject: 'claude-fastpath', limit: 10 });
      for (const s of sessions)
        for (const e of await gw.gateway.store.getEvents(s.id))
          if (e.type === 'statement') recorded.push((e.data as { params?: unknown }).params);
      if (recorded.length < 4) await new Promise((res) => setTimeout(res, 50));
    }
    expect(recorded).toContainEqual(['invoices_seq', '999']);
    expect(recorded.filter((p) => JSON.stringify(p) === '["orders_seq","5"]')).toHaveLength(2);
  });
});
