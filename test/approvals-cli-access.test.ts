// The approver CLI and time-bound access grants against a real gateway: `gatehouse access request`
// elevates a principal's live session once approved with `gatehouse approvals approve`.

import { Command, CommanderError } from 'commander';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { accessCommand } from '../src/cli/access-command.js';
import { approvalsCommand } from '../src/cli/approvals-command.js';
import type { CliIo } from '../src/cli/cli-io.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { api, httpBase, sleep, type Json } from './approvals-kit.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'readers',
    subjects: { groups: ['testers'] },
    connections: ['app'],
    rules: [
      { id: 'no-drops', effect: 'deny', match: { categories: ['ddl-drop'] } },
      { id: 'read', effect: 'allow', match: { categories: ['read', 'transaction', 'session'] } },
    ],
  },
];

let gw: TestGateway;
let dave: string; // requester (a person with read-only rights)
let alice: string; // approver

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'i' || g FROM generate_series(1, 5) g;`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: {
        rules: { dba: { approverGroups: ['dba'] } },
        grants: {
          'app-write': {
            description: 'write access to app',
            connections: ['app'],
            approval: 'dba',
            maxDuration: '2h',
            rules: [
              {
                id: 'grant-app-writes',
                effect: 'allow',
                match: { categories: ['write', 'write-unbounded', 'ddl-drop'] },
              },
            ],
          },
        },
      },
    },
  });
  dave = await gw.token({ subject: 'dave', groups: ['testers'] });
  alice = await gw.token({ subject: 'alice', groups: ['dba'] });
});
afterAll(async () => gw?.stop());

async function cli(
  which: 'approvals' | 'access',
  token: string,
  args: string[],
): Promise<{ out: string; err: string; exitCode: number }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stdin: (async function* () {})(),
    env: { GATEHOUSE_HTTP_URL: httpBase(gw), GATEHOUSE_TOKEN: token },
  };
  const program = new Command('gatehouse').exitOverride();
  const cmd = which === 'approvals' ? approvalsCommand({ io }) : accessCommand({ io, pollMs: 50 });
  for (const c of [cmd, ...cmd.commands])
    c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  program.addCommand(cmd);
  try {
    await program.parseAsync([which, ...args], { from: 'user' });
    return { out, err, exitCode: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, exitCode: e.exitCode };
    throw e;
  }
}

async function refusedCode(c: pg.Client, sql: string): Promise<string | undefined> {
  try {
    await c.query(sql);
    return undefined;
  } catch (e) {
    return (e as pg.DatabaseError).code;
  }
}

describe('time-bound access grants through the CLI', () => {
  it('elevates the live session once approved, with deny rules still winning', async () => {
    const c = gw.client(dave);
    await c.connect();
    try {
      expect(await refusedCode(c, `UPDATE items SET name = 'x' WHERE id = 1`)).toBe('42501');

      const req = await cli('access', dave, [
        'request',
        '--connection',
        'app',
        '--for',
        '1h',
        '--reason',
        'fix the item names (TICKET-42)',
        '--json',
      ]);
      expect(req.exitCode).toBe(0);
      const id = JSON.parse(req.out).request.id as string;
      expect(JSON.parse(req.out).request).toMatchObject({
        status: 'pending',
        kind: 'access',
        grantName: 'app-write',
        requestedDurationMs: 3_600_000,
      });

      // The requester cannot approve it themselves.
      const self = await cli('approvals', dave, ['approve', id]);
      expect(self.exitCode).toBe(1);
      expect(self.err).toMatch(/own request|approver/);

      const list = await cli('approvals', alice, ['list']);
      expect(list.out).toContain(id);
      expect(list.out).toContain('access app-write for 60m');
      // Each request's approval page, as the README's tour says.
      expect(list.out).toMatch(new RegExp(`${id}\\s+http://127\\.0\\.0\\.1:\\d+/approvals/${id}`));
      const show = await cli('approvals', alice, ['show', id]);
      expect(show.out).toContain('fix the item names (TICKET-42)');
      expect(show.out).toContain('approval.requested');

      const ok = await cli('approvals', alice, ['approve', id, '--comment', 'go ahead']);
      expect(ok.exitCode).toBe(0);
      expect(ok.out).toContain(`request ${id} is approved (by alice (gatehouse))`);

      // The same, already open session is decided anew with the grant's rules.
      let code: string | undefined = '42501';
      for (let i = 0; i < 40 && code !== undefined; i++) {
        code = await refusedCode(c, `UPDATE items SET name = 'granted' WHERE id = 1`);
        if (code !== undefined) await sleep(50);
      }
      expect(code).toBeUndefined();
      // Deny wins: the principal's own deny rule still applies under the grant.
      expect(await refusedCode(c, 'DROP TABLE items')).toBe('42501');

      const grants = await api(gw, dave, 'GET', '/api/access-grants');
      expect(grants.body.grants.map((g: Json) => g.id)).toEqual([id]);
      const mine = await cli('access', dave, ['list', '--active']);
      expect(mine.out).toContain(id);

      // Others are not elevated.
      const erin = await gw.token({ subject: 'erin', groups: ['testers'] });
      const e = gw.client(erin);
      await e.connect();
      try {
        expect(await refusedCode(e, `UPDATE items SET name = 'no' WHERE id = 2`)).toBe('42501');
      } finally {
        await e.end();
      }
    } finally {
      await c.end();
    }
  });

  it('refuses a duration beyond the grant, an unknown connection, and reports a denial with --wait', async () => {
    const tooLong = await cli('access', dave, [
      'request',
      '--connection',
      'app',
      '--for',
      '3h',
      '--reason',
      'r',
    ]);
    expect(tooLong.exitCode).toBe(1);
    expect(tooLong.err).toMatch(/between 1m and 2h/);
    const unknown = await cli('access', dave, [
      'request',
      '--connection',
      'nope',
      '--for',
      '1h',
      '--reason',
      'r',
    ]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.err).toMatch(/no access grant/);

    const waiting = cli('access', dave, [
      'request',
      '--connection',
      'app',
      '--for',
      '30m',
      '--reason',
      'again',
      '--wait',
    ]);
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      const l = await api(gw, alice, 'GET', '/api/approvals?status=pending&kind=access');
      id = l.body.requests.find((r: Json) => r.reason === 'again')?.id;
      if (!id) await sleep(50);
    }
    expect(id).toBeDefined();
    const denied = await cli('approvals', alice, ['deny', id!, '--comment', 'use the ticket queue']);
    expect(denied.out).toContain('denied');
    const res = await waiting;
    expect(res.exitCode).toBe(1);
    expect(res.out).toContain('denied by alice (gatehouse): use the ticket queue');
  });

  it('fails clearly without a gateway URL or token', async () => {
    let err = '';
    const io: CliIo = {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err += s) },
      stdin: (async function* () {})(),
      env: {},
    };
    const cmd = approvalsCommand({ io });
    for (const c of [cmd, ...cmd.commands]) c.exitOverride().configureOutput({ writeErr: (s) => (err += s) });
    await expect(cmd.parseAsync(['list'], { from: 'user' })).rejects.toBeInstanceOf(CommanderError);
    expect(err).toMatch(/GATEHOUSE_HTTP_URL/);
  });
});
