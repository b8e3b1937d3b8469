// An approval covers exactly the action the approver saw, through the real listeners and the real
// approvals service: a deferred SSH command approved once runs again only as that whole command line,
// with or without a terminal as it was asked; a command that shares only its first kilobytes (what
// the record clips) or asks for a terminal it was not approved with is a new request and never runs.
// Likewise a statement's bind parameters are bound whole, not as the record's 1024-byte clip.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';
import { api as apiOf, type Json } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import {
  startCheckingUpstream,
  startDynalite,
  type CheckingUpstream,
  type RunningFake,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['prod-bastion'],
    rules: [
      {
        id: 'agents-exec-deferred',
        effect: 'review',
        mode: 'defer',
        approval: 'ops',
        match: { sshRequests: ['exec'] },
      },
    ],
  },
];

describe.skipIf(!hasSshd())('an approval is bound to the whole action', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let agent: string;
  let olga: string;

  const api = async (token: string, method: string, p: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`http://127.0.0.1:${gw.gateway.http!.port}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.json() };
  };

  /** Runs a command that the policy defers; returns the id of the request it opened. */
  const deferred = async (args: string[]): Promise<string> => {
    const r = await gw.ssh(agent, args);
    expect(r.code, r.stderr).toBe(126);
    const m = /Approval request ([0-9a-f-]{36}) (was created|is still pending)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    return m![1]!;
  };

  const approve = async (id: string) => {
    const r = await api(olga, 'POST', `/api/approvals/${id}/approve`, { comment: 'ok' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.request.status).toBe('approved');
  };

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({
      sshd,
      policies: POLICIES,
      realApprovals: true,
      extra: {
        listeners: { ssh: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
        approvals: { rules: { ops: { approverGroups: ['ops'] } } },
      },
    });
    agent = await gw.token({ subject: 'claude', agent: true });
    olga = await gw.token({ subject: 'olga', groups: ['ops'], agent: false });
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it('an approved long command does not cover another that shares its first 4096 characters', async () => {
    const marker = path.join(sshd.work, 'tail-ran');
    const head = `echo ${'a'.repeat(4200)} > /dev/null`;
    const approved = `${head}; true`;
    const other = `${head}; touch ${marker}`;
    const id = await deferred([approved]);
    await approve(id);

    const r = await gw.ssh(agent, [other]);
    expect(existsSync(marker), 'the command approved for another tail ran').toBe(false);
    expect(r.code, r.stderr).toBe(126);
    const second = /Approval request ([0-9a-f-]{36}) was created/.exec(r.stderr)?.[1];
    expect(second, r.stderr).toBeDefined();
    expect(second).not.toBe(id);
    // The request shows the whole command line the approver decides on.
    const shown = await api(olga, 'GET', `/api/approvals/${second}`);
    expect(shown.body.request.statement.text).toBe(other);

    // The approval still covers the command it was given for, once.
    const ok = await gw.ssh(agent, [approved]);
    expect(ok.code, ok.stderr).toBe(0);
    const used = await api(olga, 'GET', `/api/approvals/${id}`);
    expect(used.body.request.uses).toBe(1);
  });

  it('a command approved without a terminal is not approved with one', async () => {
    const marker = path.join(sshd.work, 'tty-ran');
    const cmd = `touch ${marker}`;
    const id = await deferred([cmd]);
    await approve(id);

    const withTty = await gw.ssh(agent, ['-tt', '--', cmd], { input: '' });
    expect(existsSync(marker), 'ran with a terminal on an approval given without one').toBe(false);
    expect(withTty.code, withTty.stdout + withTty.stderr).toBe(126);
    const second = /Approval request ([0-9a-f-]{36}) was created/.exec(withTty.stdout + withTty.stderr)?.[1];
    expect(second).toBeDefined();
    expect(second).not.toBe(id);
    const shown = await api(olga, 'GET', `/api/approvals/${second}`);
    expect(shown.body.request.statement.kind).toMatch(/with a terminal/);

    const ok = await gw.ssh(agent, [cmd]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });
  it('a command approved with one value of an environment variable is not approved with another', async () => {
    const marker = path.join(sshd.work, 'env-ran');
    const cmd = `touch ${marker}`;
    const withEnv = (value: string) => ['-o', `SetEnv=GH_ALLOWED=${value}`, '--', cmd];
    const id = await deferred(withEnv('staging'));
    await approve(id);

    const other = await gw.ssh(agent, withEnv('production'));
    expect(existsSync(marker), 'ran with another environment on an approval given for one').toBe(false);
    expect(other.code, other.stderr).toBe(126);
    expect(other.stderr).toMatch(/Approval request ([0-9a-f-]{36}) was created/);
    expect(other.stderr).not.toContain(id);

    const ok = await gw.ssh(agent, withEnv('staging'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(marker)).toBe(true);
    // The approver saw the environment the command runs with.
    const shown = await api(olga, 'GET', `/api/approvals/${id}`);
    expect(shown.body.request.statement.params).toEqual(['GH_ALLOWED=staging']);
  });
});

describe('an approval is bound to the whole of each bind parameter', () => {
  let gw: TestGateway;
  let agent: string;
  let olga: string;

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
              id: 'updates-deferred',
              effect: 'review',
              mode: 'defer',
              approval: 'ops',
              match: { kinds: ['update'] },
            },
            { id: 'allow-rest', effect: 'allow', match: {} },
          ],
        },
      ],
      setupSql: `CREATE TABLE settings (id int PRIMARY KEY, doc text NOT NULL);
                 INSERT INTO settings VALUES (1, 'original');`,
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

  const update = async (value: string | Buffer): Promise<string | undefined> => {
    const c = gw.client(agent);
    await c.connect();
    try {
      await c.query('UPDATE settings SET doc = $1 WHERE id = 1', [value]);
      return undefined;
    } catch (e) {
      return (e as pg.DatabaseError).message;
    } finally {
      await c.end();
    }
  };

  const stored = async (): Promise<string> => {
    const c = gw.client(agent);
    await c.connect();
    try {
      return (await c.query<{ doc: string }>('SELECT doc FROM settings WHERE id = 1')).rows[0]!.doc;
    } finally {
      await c.end();
    }
  };

  it('a value approved for one tail does not cover another with the same first 1024 bytes', async () => {
    const head = `{"theme":"dark","notes":"${'n'.repeat(1100)}"`;
    const approved = `${head},"admin":false}`;
    const other = `${head},"admin":true}`;
    const refused = await update(approved);
    const id = /request ([0-9a-f-]{36}) was created/.exec(refused ?? '')?.[1];
    expect(id, refused).toBeDefined();
    const ok = await apiOf(gw, olga, 'POST', `/api/approvals/${id}/approve`, {});
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    // The request shows the whole value (not the record's clip: class 28), and the approval is for it.
    expect(ok.body.request.statement.params[0]).toBe(approved);

    const swapped = await update(other);
    expect(await stored(), 'the approval of one value let another run').toBe('original');
    expect(swapped).toMatch(/request ([0-9a-f-]{36}) was created/);
    expect(swapped).not.toContain(id);

    expect(await update(approved)).toBeUndefined();
    expect(await stored()).toBe(approved);
  });

  it('a value approved in text form does not cover the same rendering sent in binary', async () => {
    // The text `\x41444d494e` and the binary bytes "ADMIN" (pg sends a Buffer in binary format) are
    // both shown as `\x41444d494e`: the approval is bound to the parameters' formats too.
    const text = '\\x41444d494e';
    const refused = await update(text);
    const id = /request ([0-9a-f-]{36}) was created/.exec(refused ?? '')?.[1];
    expect(id, refused).toBeDefined();
    const ok = await apiOf(gw, olga, 'POST', `/api/approvals/${id}/approve`, {});
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);

    const binary = await update(Buffer.from('ADMIN'));
    expect(await stored(), 'the approval of a text value let binary bytes run').not.toBe('ADMIN');
    expect(binary).toMatch(/request ([0-9a-f-]{36}) was created/);
    expect(binary).not.toContain(id);

    expect(await update(text)).toBeUndefined();
    expect(await stored()).toBe(text);
  });
});

describe('an approval is bound to the approval rule that asked for it', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    // One agent subject, two group sets: deletes by the `low` token need any one on-call engineer;
    // by the `high` token, a DBA.
    const deletes = (id: string, approval: string): PolicyConfig['rules'][number] => ({
      id,
      effect: 'review',
      mode: 'defer',
      approval,
      match: { kinds: ['delete'] },
    });
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: [
        {
          id: 'low',
          subjects: { groups: ['low'] },
          connections: ['app'],
          rules: [deletes('low-deletes', 'oncall'), { id: 'low-rest', effect: 'allow', match: {} }],
        },
        {
          id: 'high',
          subjects: { groups: ['high'] },
          connections: ['app'],
          rules: [deletes('high-deletes', 'dba'), { id: 'high-rest', effect: 'allow', match: {} }],
        },
      ],
      setupSql: `CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 10);`,
      extra: {
        listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
        approvals: {
          rules: { oncall: { approverGroups: ['oncall'] }, dba: { approverGroups: ['dba'] } },
        },
      },
    });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const run = async (token: string, sql: string): Promise<string | undefined> => {
    const c = gw.client(token);
    await c.connect();
    try {
      await c.query(sql);
      return undefined;
    } catch (e) {
      return (e as pg.DatabaseError).message;
    } finally {
      await c.end();
    }
  };

  it("an approval under a lax rule does not meet a stricter rule's demand for the same statement", async () => {
    const low = await gw.token({ subject: 'claude', groups: ['low'], agent: true });
    const high = await gw.token({ subject: 'claude', groups: ['high'], agent: true });
    const oncall = await gw.token({ subject: 'otto', groups: ['oncall'] });
    const sql = 'DELETE FROM orders WHERE id > 5';

    const first = await run(low, sql);
    const id = /request ([0-9a-f-]{36}) was created/.exec(first ?? '')?.[1];
    expect(id, first).toBeDefined();
    // Two runs allowed by the on-call engineer.
    const ok = await apiOf(gw, oncall, 'POST', `/api/approvals/${id}/approve`, { uses: 2 });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);

    const strict = await run(high, sql);
    expect(strict, 'the on-call approval was taken where a DBA had to approve').toMatch(
      /request ([0-9a-f-]{36}) was created/,
    );
    expect(strict).not.toContain(id);
    const second = /request ([0-9a-f-]{36})/.exec(strict!)![1]!;
    const asked = await apiOf(gw, oncall, 'GET', `/api/approvals/${second}`);
    expect(asked.status).toBe(403);
    const used = await apiOf(gw, oncall, 'GET', `/api/approvals/${id}`);
    expect(used.body.request.uses).toBe(0);

    // Under the rule it was given for, it still runs.
    expect(await run(low, sql)).toBeUndefined();
  });
});

describe('an approval of an AWS request is bound to its operation', () => {
  const REAL = {
    accessKeyId: 'AKIAGATEWAYREAL00002',
    secretAccessKey: `Real${randomBytes(15).toString('hex')}`,
  };
  let ddb: RunningFake;
  let up: CheckingUpstream;
  let gw: HttpTestGateway;
  let olga: string;
  let agentKey: { accessKeyId: string; secretAccessKey: string };

  beforeAll(async () => {
    ddb = await startDynalite();
    up = await startCheckingUpstream({ credentials: [REAL], forwardTo: ddb.url });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_BINDING_SECRET: REAL.secretAccessKey },
      realApprovals: true,
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_BINDING_SECRET' } },
            endpoints: { dynamodb: up.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['aws'],
          rules: [
            { id: 'ddb-reads', effect: 'allow', match: { operations: ['dynamodb:DescribeTable'] } },
            {
              id: 'ddb-writes-deferred',
              effect: 'review',
              mode: 'defer',
              approval: 'ops',
              match: { operations: ['dynamodb:PutItem', 'dynamodb:DeleteTable'] },
            },
          ],
        },
        {
          id: 'ops',
          subjects: { groups: ['ops'], agent: false },
          connections: ['aws'],
          rules: [{ id: 'ops-all', effect: 'allow', match: { operations: ['*'] } }],
        },
      ],
      extra: {
        listeners: { http: { address: '127.0.0.1:0' } },
        approvals: { rules: { ops: { approverGroups: ['ops'] } } },
      },
    });
    olga = await gw.token({ subject: 'olga', groups: ['ops'] });
    // Both keys before the first request: the gateway re-reads the key list at most once a second.
    agentKey = await gw.awsKey({ subject: 'claude', agent: true });
    const opsKey = await gw.awsKey({ subject: 'olga', groups: ['ops'] });
    await client(opsKey).send(
      new CreateTableCommand({
        TableName: 'orders',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.stop();
    await ddb?.stop();
  });

  const client = (key: { accessKeyId: string; secretAccessKey: string }) =>
    new DynamoDBClient({
      endpoint: gw.endpoint('aws'),
      region: 'us-east-1',
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
      maxAttempts: 1,
    });

  const approvals = async (): Promise<Json[]> => {
    const res = await fetch(`http://127.0.0.1:${gw.gateway.http!.port}/api/approvals?status=all`, {
      headers: { authorization: `Bearer ${olga}` },
    });
    return ((await res.json()) as { requests: Json[] }).requests;
  };

  it('an approved PutItem on a table does not let DeleteTable of that table through', async () => {
    const agent = client(agentKey);
    const put = () => agent.send(new PutItemCommand({ TableName: 'orders', Item: { id: { S: 'o-1' } } }));
    const first = (await put().catch((e: unknown) => e)) as Error;
    expect(first.message).toMatch(/was created/);
    const asked = (await approvals()).find((r) => r.statement?.kind === 'dynamodb:PutItem');
    expect(asked).toBeDefined();
    const ok = await fetch(`http://127.0.0.1:${gw.gateway.http!.port}/api/approvals/${asked.id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${olga}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(ok.status).toBe(200);

    const del = (await agent
      .send(new DeleteTableCommand({ TableName: 'orders' }))
      .catch((e: unknown) => e)) as Error | undefined;
    const table = await agent
      .send(new DescribeTableCommand({ TableName: 'orders' }))
      .catch((e: unknown) => e);
    expect(table, 'DeleteTable ran on the approval of a PutItem').not.toBeInstanceOf(Error);
    expect(del?.message).toMatch(/was created/);

    // The approval still covers the PutItem it was given for.
    await expect(put()).resolves.toBeDefined();
  });
});
