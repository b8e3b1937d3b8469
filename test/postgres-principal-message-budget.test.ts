// What one principal's sessions make the gateway hold of their messages is bounded across them
// (docs/security.md class 215): each session bounds a message at maxMessageBytes, and a Bind held
// for approval keeps its parameters until it is decided, so a principal with many sessions could
// make the gateway hold many such messages at once. Through the real listener and approvals.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { BackendCode, decodeErrorFields, type Frame } from '../src/wire/postgres/index.js';
import { api, waitForRequest, type Json } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

const MIB = 1024 * 1024;

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
let olga: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: 'CREATE TABLE items (id int, v text);',
    extra: {
      listeners: {
        postgres: { address: '127.0.0.1:0', messageBytesPerPrincipal: 8 * MIB },
        http: { address: '127.0.0.1:0' },
      },
      approvals: { rules: { dba: { approverGroups: ['dba'] } } },
    },
  });
  olga = await gw.token({ subject: 'olga', groups: ['dba'] });
});
afterAll(async () => gw?.stop());

const errors = (frames: Frame[]) =>
  frames.filter((f) => f.type === BackendCode.ErrorResponse).map((f) => decodeErrorFields(f.body));
const agentToken = (subject: string) => gw.token({ subject, groups: ['testers'], agent: true });

/** A session that sends a DELETE held for approval with a parameter of `bytes`. */
async function held(token: string, tag: string, bytes: number): Promise<RawPgClient> {
  const c = await RawPgClient.open(gw.port, gw.connection, token);
  c.send(
    msg.parse('', `DELETE FROM items WHERE v = $1 /* ${tag} */`),
    msg.bind('', '', [tag.padEnd(bytes, 'x')]),
    msg.execute('', 0),
    msg.sync(),
  );
  return c;
}
const pendingFor = (tag: string) =>
  waitForRequest(
    gw,
    olga,
    (r: Json) => r.status === 'pending' && String(r.statement?.text ?? '').includes(tag),
  );

describe('the bytes one principal’s sessions hold', { timeout: 60_000 }, () => {
  it('are bounded across its sessions, and not another principal’s', async () => {
    const a = await agentToken('claude-a');
    const first = await held(a, 'a1', 3 * MIB);
    const second = await held(a, 'a2', 3 * MIB);
    const r1 = await pendingFor('a1');
    const r2 = await pendingFor('a2');
    // A third message of 3 MiB would make claude-a hold 9 MiB: its session ends, unread.
    const third = await held(a, 'a3', 3 * MIB);
    const refused = await third.until((f) => f.type === BackendCode.ErrorResponse);
    const e = errors(refused)[0]!;
    expect(e.C).toBe('54000');
    expect(e.M).toMatch(/messageBytesPerPrincipal/);
    third.socket.destroy();

    // Another principal is not charged for claude-a's messages.
    const b = await agentToken('claude-b');
    const other = await held(b, 'b1', 3 * MIB);
    const rb = await pendingFor('b1');

    // Once a held statement is decided, its bytes are given back.
    const no = await api(gw, olga, 'POST', `/api/approvals/${r1.id}/deny`, { comment: 'no' });
    expect(no.status, JSON.stringify(no.body)).toBe(200);
    const denied = await first.ready();
    expect(errors(denied).length).toBe(1);
    const fourth = await held(a, 'a4', 3 * MIB);
    const r4 = await pendingFor('a4');
    for (const [r, c] of [
      [r2, second],
      [rb, other],
      [r4, fourth],
    ] as const) {
      const ok = await api(gw, olga, 'POST', `/api/approvals/${r.id}/approve`, {});
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const done = await c.ready();
      expect(errors(done)).toEqual([]);
      c.socket.destroy();
    }
    first.socket.destroy();
  });

  it('a message under way counts from its header: the budget is never read past', async () => {
    const a = await agentToken('claude-c');
    const c = await RawPgClient.open(gw.port, gw.connection, a);
    // A Query whose length says 20 MiB, of which only the first bytes are sent.
    const header = Buffer.alloc(5);
    header.write('Q', 0);
    header.writeInt32BE(20 * MIB + 4, 1);
    c.socket.write(Buffer.concat([header, Buffer.from('SELECT 1 -- ')]));
    const refused = await c.until((f) => f.type === BackendCode.ErrorResponse);
    expect(errors(refused)[0]!.C).toBe('54000');
    c.socket.destroy();
  });
});
