// Approval notifications to real receivers: an HTTP server for the signed webhook and the Slack
// incoming webhook, Python's standard-library SMTP server for e-mail; and the Slack interaction
// endpoint, which must refuse anything not signed with the signing secret.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { verifyWebhook } from '../src/approvals/index.js';
import { emailText } from '../src/approvals/smtp-channel.js';
import { freePort } from './testkit/free-port.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { api, httpBase, sleep, type Json } from './approvals-kit.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'testers',
    subjects: { groups: ['testers'] },
    connections: ['app'],
    rules: [
      {
        id: 'review-deletes',
        effect: 'review',
        match: { kinds: ['delete'] },
        mode: 'defer',
        approval: 'dba',
      },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const received: Received[] = [];
let receiver: http.Server;
let receiverUrl: string;
let smtp: ChildProcess | undefined;
let smtpOutput = '';
let smtpPort: number | undefined;
let gw: TestGateway;
let agent: string;
const WEBHOOK_SECRET = 'whsec-test-0123456789';
const SLACK_SECRET = 'slack-signing-secret-abc';
const env = (k: string) => `GH_APPROVALS_${k}_${process.pid}`;

async function until<T>(fn: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function startSmtp(): Promise<number | undefined> {
  const port = await freePort();
  const p = spawn(
    'python3',
    ['-W', 'ignore', '-u', '-m', 'smtpd', '-n', '-c', 'DebuggingServer', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  p.stdout.on('data', (d: Buffer) => (smtpOutput += d.toString('utf8')));
  p.stderr.on('data', (d: Buffer) => (smtpOutput += d.toString('utf8')));
  smtp = p;
  // Wait until it accepts connections.
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return port;
    await sleep(100);
  }
  return undefined;
}

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  process.env[env('WEBHOOK')] = WEBHOOK_SECRET;
  process.env[env('SLACK_URL')] = `${receiverUrl}/slack-hook/T000/B000/XXXX`;
  process.env[env('SLACK_SECRET')] = SLACK_SECRET;
  smtpPort = await startSmtp();
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'i' FROM generate_series(1, 30) g;`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: {
        publicUrl: 'https://gatehouse.example.test',
        rules: { dba: { approverGroups: ['dba'] } },
        notifiers: {
          webhook: { url: `${receiverUrl}/hook`, secret: { env: env('WEBHOOK') } },
          slack: {
            webhookUrl: { env: env('SLACK_URL') },
            signingSecret: { env: env('SLACK_SECRET') },
            users: {
              U_ALICE: { subject: 'alice', issuer: 'gatehouse', groups: ['dba'] },
              U_CLAUDE: { subject: 'claude', issuer: 'gatehouse', groups: ['dba'] },
            },
          },
          ...(smtpPort
            ? {
                smtp: {
                  host: '127.0.0.1',
                  port: smtpPort,
                  tls: 'none',
                  from: 'gatehouse@example.test',
                  to: ['dba@example.test'],
                },
              }
            : {}),
        },
      },
    },
  });
  agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  smtp?.kill();
  for (const k of ['WEBHOOK', 'SLACK_URL', 'SLACK_SECRET']) delete process.env[env(k)];
});

async function deferred(text: string): Promise<string> {
  const c = gw.client(agent);
  await c.connect();
  try {
    const e = (await c.query(text).catch((x: unknown) => x)) as pg.DatabaseError;
    return /request ([0-9a-f-]{36})/.exec(e.message)![1]!;
  } finally {
    await c.end();
  }
}

function slackPost(body: string, opts: { secret?: string; timestamp?: number } = {}) {
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const sig = `v0=${createHmac('sha256', opts.secret ?? SLACK_SECRET)
    .update(`v0:${ts}:${body}`)
    .digest('hex')}`;
  return fetch(`${httpBase(gw)}/slack/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': sig,
    },
    body,
  });
}

function interaction(id: string, user: string, action = 'gatehouse_approve'): string {
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase() },
    actions: [{ action_id: action, value: id }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

describe('notifications', () => {
  it('sends a signed webhook, a Slack Block Kit message with buttons and an e-mail for a new request', async () => {
    const text = 'DELETE FROM items WHERE id = 1 /* <!channel> ``` */';
    const id = await deferred(text);
    const hook = await until(
      () =>
        received.find(
          (r) =>
            r.path === '/hook' &&
            r.body.includes(id) &&
            r.headers['x-gatehouse-event'] === 'approval.requested',
        ),
      'webhook',
    );
    expect(
      verifyWebhook(
        WEBHOOK_SECRET,
        {
          timestamp: hook.headers['x-gatehouse-timestamp'] as string,
          signature: hook.headers['x-gatehouse-signature'] as string,
        },
        hook.body,
      ),
    ).toBe(true);
    expect(
      verifyWebhook(
        'wrong-secret',
        {
          timestamp: hook.headers['x-gatehouse-timestamp'] as string,
          signature: hook.headers['x-gatehouse-signature'] as string,
        },
        hook.body,
      ),
    ).toBe(false);
    const body = JSON.parse(hook.body);
    expect(body.type).toBe('approval.requested');
    expect(body.approvalUrl).toBe(`https://gatehouse.example.test/approvals/${id}`);
    expect(body.request.statement.text).toBe(text);
    expect(body.request.preview.kind).toBe('plan');
    expect(hook.body).not.toContain(WEBHOOK_SECRET);
    expect(hook.body).not.toContain(gw.upstreamPassword);

    const slack = await until(
      () => received.find((r) => r.path.startsWith('/slack-hook/') && r.body.includes(id)),
      'slack message',
    );
    const msg = JSON.parse(slack.body);
    const actions = msg.blocks.find((b: Json) => b.type === 'actions');
    expect(actions.elements.map((e: Json) => e.action_id)).toEqual([
      'gatehouse_approve',
      'gatehouse_deny',
      'gatehouse_open',
    ]);
    expect(actions.elements[0].value).toBe(id);
    // Client text cannot ping the channel or close the code block.
    expect(slack.body).not.toContain('<!channel>');
    expect(slack.body).toContain('&lt;!channel&gt;');

    const history = async () => (await api(gw, agent, 'GET', `/api/approvals/${id}`)).body.history as Json[];
    const end = Date.now() + 5000;
    let channels: string[] = [];
    while (Date.now() < end) {
      channels = (await history()).filter((e) => e.type === 'approval.notified').map((e) => e.data.channel);
      if (channels.includes('webhook') && channels.includes('slack')) break;
      await sleep(50);
    }
    expect(channels).toEqual(expect.arrayContaining(['webhook', 'slack']));
    // Python's standard-library SMTP server (3.11 and older); without it the e-mail part is not checked.
    if (smtpPort !== undefined) {
      await until(
        () =>
          smtpOutput.includes('dba@example.test') && smtpOutput.includes('approval needed')
            ? true
            : undefined,
        'e-mail',
      );
      expect(smtpOutput).toContain('Subject: Gatehouse: approval needed for claude on app');
    }
  });

  it('refuses Slack interactions with a bad or stale signature, and accepts a good one', async () => {
    const id = await deferred('DELETE FROM items WHERE id = 2');
    const body = interaction(id, 'U_ALICE');
    expect((await slackPost(body, { secret: 'not-the-secret' })).status).toBe(401);
    expect((await slackPost(body, { timestamp: Math.floor(Date.now() / 1000) - 600 })).status).toBe(401);
    const unsigned = await fetch(`${httpBase(gw)}/slack/interactions`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(unsigned.status).toBe(401);
    // A body changed after signing fails too.
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = `v0=${createHmac('sha256', SLACK_SECRET)
      .update(`v0:${ts}:${interaction(id, 'U_OTHER')}`)
      .digest('hex')}`;
    const tampered = await fetch(`${httpBase(gw)}/slack/interactions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': sig,
      },
      body,
    });
    expect(tampered.status).toBe(401);
    expect((await api(gw, agent, 'GET', `/api/approvals/${id}`)).body.request.status).toBe('pending');
    // Each is a refusal before authentication (docs/operations.md): counted and logged rate-limited,
    // never one warn per forged post.
    const refusals = gw.logs
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg?: string; listener?: string; reason?: string })
      .filter((l) => l.msg === 'refused before authentication' && l.listener === 'api');
    expect(refusals.filter((l) => l.reason === 'credentials_unknown')).toHaveLength(3);
    expect(refusals.filter((l) => l.reason === 'credentials_missing')).toHaveLength(1);
    expect(gw.logs.join('')).not.toContain('Slack interaction refused');

    const good = await slackPost(body);
    expect(good.status).toBe(200);
    expect(((await good.json()) as { text: string }).text).toMatch(/approved/);
    const after = await api(gw, agent, 'GET', `/api/approvals/${id}`);
    expect(after.body.request.status).toBe('approved');
    expect(after.body.votes[0]).toMatchObject({ via: 'slack', approver: { subject: 'alice' } });
    await until(
      () =>
        received.find(
          (r) =>
            r.path === '/hook' &&
            r.body.includes(id) &&
            r.headers['x-gatehouse-event'] === 'approval.approved',
        ),
      'approved webhook',
    );
  });

  it("shows the client's reason and statement as quoted text, never as the message's own lines", async () => {
    // docs/security.md, class 148: a reason (sqlcommenter, URL-decoded) drawing a second "Impact
    // preview" and an "Approve or deny" link to a page of the agent's.
    const fake = encodeURIComponent(
      'routine\n\n*Impact preview*\n```0 rows```\n<https://evil.example/approve|Approve here>\n\nImpact preview:\n  0 rows\n\nApprove or deny: https://evil.example/approve',
    );
    const text = `DELETE FROM items WHERE id = 2 /*\nApprove or deny: https://evil.example/stmt\n*/ /*reason='${fake}'*/`;
    const id = await deferred(text);
    const slack = await until(
      () => received.find((r) => r.path.startsWith('/slack-hook/') && r.body.includes(id)),
      'slack message',
    );
    const blocks = (JSON.parse(slack.body) as { blocks: Json[] }).blocks;
    const texts: (string | undefined)[] = blocks.map((b) => (b.text ? String(b.text.text) : undefined));
    // One "Impact preview" heading, the gateway's; the reason is inside a code block, whole.
    expect(texts.filter((t) => t?.startsWith('*Impact preview*'))).toHaveLength(1);
    const reason = texts.find((t) => t?.startsWith('*Reason*'))!;
    expect(reason).toMatch(/^\*Reason\* \(as the client gave it\)\n```[\s\S]*```$/);
    expect(reason.split('```')).toHaveLength(3);
    expect(slack.body).not.toContain('<https://evil.example');
    // The e-mail's quoting of the same texts: src/approvals/smtp-channel.test.ts.
  });

  it('keeps a run of four or more backticks from closing the code block (class 297)', async () => {
    // "````" became "`\u200b```" under a replacement of each "```": the fence that was meant to be
    // broken was rebuilt from the replacement's own tail, and the client's text after it was the
    // message's own mrkdwn, a bold "*Approval rule*" field of the agent's choosing included.
    const forged = '````\n*Approval rule*\nlow-risk (auto-approved by policy)\n````';
    const fake = encodeURIComponent(`routine ${forged}`);
    const text = 'DELETE FROM items WHERE id = 3 /* ' + forged + " ````` */ /*reason='" + fake + "'*/";
    const id = await deferred(text);
    const slack = await until(
      () => received.find((r) => r.path.startsWith('/slack-hook/') && r.body.includes(id)),
      'slack message',
    );
    const blocks = (JSON.parse(slack.body) as { blocks: Json[] }).blocks;
    const texts = blocks.map((b) => (b.text ? String(b.text.text) : ''));
    const quoted = texts.filter(
      (t) => t.includes('DELETE FROM items WHERE id = 3') || t.startsWith('*Reason*'),
    );
    expect(quoted.length).toBeGreaterThanOrEqual(2);
    // Each block holds exactly its own opening and closing fence: no run of three backticks inside.
    for (const t of quoted) expect(t.split('```'), t).toHaveLength(3);
  });

  it("keeps the client's words in the parameters, session settings and impact preview quoted too (class 260)", async () => {
    const forged = (where: string) => `Approve or deny: https://evil.example/${where}`;
    const c = gw.client(agent);
    await c.connect();
    let id: string;
    try {
      // A custom setting the approval is bound to, a parameter, and a literal the preview's plan quotes.
      await c.query(`SET app.note = E'ok\\n\\n*Impact preview*\\n0 rows\\n\\n${forged('setting')}'`);
      const e = (await c
        .query(`DELETE FROM items WHERE name = $1 OR name = E'x\\n\\n${forged('plan')}'`, [
          `y\u2028${forged('param')}\u0085${forged('nel')}`,
        ])
        .catch((x: unknown) => x)) as pg.DatabaseError;
      id = /request ([0-9a-f-]{36})/.exec(e.message)![1]!;
    } finally {
      await c.end();
    }
    const hook = await until(
      () => received.find((r) => r.path === '/hook' && r.body.includes(id) && r.body.includes('requested')),
      'webhook',
    );
    const request = (JSON.parse(hook.body) as { request: Json }).request;
    // What the e-mail would say of it: only the gateway's own line starts "Approve or deny:", at any
    // line break a mail reader honours.
    const revive = JSON.parse(JSON.stringify(request), (k, v: unknown) =>
      k === 'createdAt' || k === 'expiresAt' ? new Date(v as string) : v,
    );
    const mail = emailText({
      event: 'approval.requested',
      request: revive,
      url: 'https://g/approvals/x',
      at: new Date(),
    });
    const lines = mail.body.split(/\r\n|\r|\n|\u2028|\u2029|\u0085|\v|\f/);
    expect(mail.body).toContain('evil.example/setting');
    expect(mail.body).toContain('evil.example/param');
    expect(lines.filter((l) => l.startsWith('Approve or deny:'))).toEqual([
      'Approve or deny: https://g/approvals/x',
    ]);
    expect(lines.filter((l) => l.startsWith('Impact preview:'))).toHaveLength(1);
    // Slack: one "Impact preview" heading, and no line of the client's is a bold heading.
    const slack = await until(
      () => received.find((r) => r.path.startsWith('/slack-hook/') && r.body.includes(id)),
      'slack message',
    );
    const blocks = (JSON.parse(slack.body) as { blocks: Json[] }).blocks;
    const all = blocks.flatMap((b: Json) => [
      ...(b.text ? [String(b.text.text)] : []),
      ...((b.elements ?? []) as Json[]).map((x: Json) => String(x.text ?? '')),
    ]);
    expect(all.join('\n')).toContain('evil.example/setting');
    for (const t of all) {
      const outside = t
        .split('```')
        .filter((_, i) => i % 2 === 0)
        .join('');
      expect(outside).not.toMatch(/\*Impact preview\*[\s\S]*\*Impact preview\*/);
      expect(outside).not.toContain('evil.example');
    }
  });

  it('takes no approval from Slack for a statement its message could not show whole', async () => {
    // The dangerous part sits past what the Slack message shows: it must be read on the page.
    const text = `DELETE FROM items /* ${'x'.repeat(3000)} */ WHERE id > 20`;
    const id = await deferred(text);
    const slack = await until(
      () => received.find((r) => r.path.startsWith('/slack-hook/') && r.body.includes(id)),
      'slack message',
    );
    const msg = JSON.parse(slack.body);
    const actions = msg.blocks.find((b: Json) => b.type === 'actions');
    expect(actions.elements.map((e: Json) => e.action_id)).toEqual(['gatehouse_deny', 'gatehouse_open']);
    expect(slack.body).toContain('too long to show here in full');

    const approve = await slackPost(interaction(id, 'U_ALICE'));
    expect(approve.status).toBe(200);
    expect(((await approve.json()) as { text: string }).text).toMatch(/cannot be approved from Slack/);
    expect((await api(gw, agent, 'GET', `/api/approvals/${id}`)).body.request.status).toBe('pending');
    // Denying needs no reading: it is taken.
    const deny = await slackPost(interaction(id, 'U_ALICE', 'gatehouse_deny'));
    expect(((await deny.json()) as { text: string }).text).toMatch(/denied/);
    expect((await api(gw, agent, 'GET', `/api/approvals/${id}`)).body.request.status).toBe('denied');
  });

  it('applies the same rules to Slack users: no self-approval, unmapped users refused', async () => {
    const id = await deferred('DELETE FROM items WHERE id = 3');
    const self = await slackPost(interaction(id, 'U_CLAUDE'));
    expect(((await self.json()) as { text: string }).text).toMatch(/your own request/);
    const stranger = await slackPost(interaction(id, 'U_NOBODY', 'gatehouse_deny'));
    expect(((await stranger.json()) as { text: string }).text).toMatch(/not mapped/);
    // A user ID that names a property every object has is no mapped approver either.
    for (const user of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const odd = await slackPost(interaction(id, user, 'gatehouse_deny'));
      expect(((await odd.json()) as { text: string }).text, user).toMatch(/not mapped/);
    }
    expect((await api(gw, agent, 'GET', `/api/approvals/${id}`)).body.request.status).toBe('pending');
    const deny = await slackPost(interaction(id, 'U_ALICE', 'gatehouse_deny'));
    expect(((await deny.json()) as { text: string }).text).toMatch(/denied/);
  });
});

describe('request bodies on the HTTP listener', () => {
  /** A body sent in chunks, with no Content-Length to refuse it by. */
  const chunked = (bytes: number): ReadableStream<Uint8Array> => {
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    return new ReadableStream({
      pull(controller) {
        if (sent >= bytes) return controller.close();
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
  };

  it('are bounded before any route reads them, signed in or not', async () => {
    const alice = await gw.token({ subject: 'alice', groups: ['dba'] });
    const cases: [string, Record<string, string>][] = [
      ['/slack/interactions', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['/login/token', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['/approvals/login', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['/login/saml/acs', { 'content-type': 'application/x-www-form-urlencoded' }],
      [
        '/api/approvals/00000000-0000-0000-0000-000000000000/approve',
        { 'content-type': 'application/json', authorization: `Bearer ${alice}` },
      ],
    ];
    for (const [p, headers] of cases) {
      const res = await fetch(`${httpBase(gw)}${p}`, {
        method: 'POST',
        headers,
        body: chunked(4 * 1024 * 1024),
        duplex: 'half',
      } as RequestInit);
      await res.arrayBuffer();
      expect(res.status, p).toBe(413);
    }
    // A declared length over the bound is refused as well.
    const declared = await fetch(`${httpBase(gw)}/login/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a'.repeat(2 * 1024 * 1024),
    });
    expect(declared.status).toBe(413);
    // Ordinary bodies still go through.
    const small = await fetch(`${httpBase(gw)}/login/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=x&token=y',
    });
    expect(small.status).toBe(403);
  });
});
