// Recording through the real gateway: prompts posted to POST /api/context (plain and as Claude Code's
// http hooks post them) and sqlcommenter comments appear on the right statements in the replay;
// passwords are redacted before they are recorded; large result samples go to the blob store; the
// export verifies offline with the CLI, which names the event a one-byte change hit.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { recordingsCommand, type RecordingAccess } from '../src/cli/recordings-command.js';
import { sessionsCommand } from '../src/cli/sessions-command.js';
import { purgeRecordings } from '../src/recording/index.js';
import type { StoredEvent } from '../src/store/event-queries.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
let api: string;
let agentToken: string;
let otherToken: string;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-recgw-'));

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    setupSql:
      "CREATE TABLE orders (id int primary key, note text); INSERT INTO orders SELECT g, repeat('n', 80) FROM generate_series(1, 60) g;",
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      recording: { sample: { rows: 100, bytes: 65536 }, inlineSampleBytes: 512 },
    },
  });
  api = `http://127.0.0.1:${gw.gateway.http!.port}`;
  agentToken = await gw.token({ subject: 'claude-alice', groups: ['testers'], agent: true });
  otherToken = await gw.token({ subject: 'claude-bob', groups: ['testers'], agent: true });
});

afterAll(async () => {
  await gw?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function postContext(token: string, body: unknown): Promise<Response> {
  return fetch(`${api}/api/context`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function io() {
  const o = { out: '', err: '' };
  return {
    o,
    io: {
      stdout: { write: (s: string) => (o.out += s) },
      stderr: { write: (s: string) => (o.err += s) },
      stdin: (async function* () {})(),
      env: {},
    },
  };
}

function access(): RecordingAccess {
  return {
    store: gw.gateway.store,
    blobs: gw.gateway.recording.blobs,
    key: gw.gateway.recording.key,
    close: async () => undefined,
  };
}

async function runCli(cmd: Command, args: string[]): Promise<number> {
  const program = new Command('gatehouse').exitOverride();
  for (const c of [cmd, ...cmd.commands])
    c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  program.addCommand(cmd);
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
}

async function replay(id: string, extra: string[] = []): Promise<string> {
  const { o, io: cio } = io();
  const cmd = sessionsCommand({
    io: cio,
    openStore: async () => ({ ...gw.gateway.store, close: async () => undefined }) as never,
    openReplay: async () => ({
      store: gw.gateway.store,
      blobs: gw.gateway.recording.blobs,
      close: async () => undefined,
    }),
    followPollMs: 50,
  });
  const code = await runCli(cmd, ['sessions', 'replay', id, ...extra]);
  expect(code, o.err).toBe(0);
  return o.out;
}

async function sessionOf(subject: string): Promise<string> {
  const list = await gw.gateway.store.listSessions({ subject, limit: 1 });
  return list[0]!.id;
}

describe('prompt lineage through the gateway', () => {
  let sessionId: string;
  let events: StoredEvent[];

  beforeAll(async () => {
    // A plain context API call with a prompt id …
    const r1 = await postContext(agentToken, {
      session_id: 'cc-session-1',
      prompt: 'How many orders are there?',
      prompt_id: 'p-count',
    });
    expect(r1.status).toBe(200);
    expect(await r1.json()).toMatchObject({ prompt_id: 'p-count', session_id: 'cc-session-1' });
    // … and a PreToolUse hook as Claude Code posts it (its reply must be a no-decision `{}`).
    const r2 = await postContext(agentToken, {
      session_id: 'cc-session-1',
      hook_event_name: 'PreToolUse',
      tool_name: 'Bash',
      tool_input: { command: 'psql -c "select count(*) from orders"' },
      tool_use_id: 'toolu_01',
    });
    expect(await r2.json()).toEqual({});
    // Another principal's context must not leak onto alice's statements.
    await postContext(otherToken, { prompt: 'bob prompt', prompt_id: 'p-bob' });

    const c = gw.client(agentToken, { application_name: 'psql' });
    await c.connect();
    await c.query('select count(*) from orders');
    // sqlcommenter puts its comment after the statement (https://google.github.io/sqlcommenter/spec/).
    await c.query(
      "select 1 /*prompt_id='p-comment',tool_use_id='toolu_c',traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/",
    );
    // Claude Code's UserPromptSubmit hook: a new prompt for the following statements.
    const r3 = await postContext(agentToken, {
      session_id: 'cc-session-1',
      hook_event_name: 'UserPromptSubmit',
      prompt: 'Show me the first orders',
      cwd: '/x',
    });
    expect(await r3.json()).toEqual({});
    await c.query('select id, note from orders order by id');
    await c.query("CREATE ROLE gh_rec_test LOGIN PASSWORD 'Sup3r-Secret-pw'");
    await c.end();
    await new Promise((r) => setTimeout(r, 200));
    sessionId = await sessionOf('claude-alice');
    events = await gw.gateway.store.getEvents(sessionId);
  });

  test('each statement carries the prompt that caused it; the prompt text is recorded once', () => {
    const statements = events.filter((e) => e.type === 'statement');
    const byText = (t: string) => statements.find((e) => String(e.data.text).includes(t))!;
    expect(byText('count(*)').data.lineage).toEqual({
      source: 'context-api',
      promptId: 'p-count',
      toolUseId: 'toolu_01',
      agentSessionId: 'cc-session-1',
    });
    expect(byText('select 1').data.lineage).toEqual({
      source: 'comment',
      promptId: 'p-comment',
      toolUseId: 'toolu_c',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      // The comment's claim overrode the context API's current prompt, which the record keeps.
      contextPromptId: 'p-count',
    });
    const third = byText('from orders order by id').data.lineage as { source: string; promptId: string };
    expect(third.source).toBe('context-api');
    expect(third.promptId).not.toBe('p-count');
    const prompts = events.filter((e) => e.type === 'prompt');
    expect(prompts.map((p) => p.data.prompt)).toEqual([
      'How many orders are there?',
      undefined,
      'Show me the first orders',
    ]);
    expect(JSON.stringify(events)).not.toContain('bob prompt');
  });

  test('passwords are redacted before they are recorded, in the events and the statement rows', async () => {
    expect(JSON.stringify(events)).not.toContain('Sup3r-Secret-pw');
    const got = await gw.gateway.store.getSession(sessionId);
    const role = got!.statements.find((s) => s.text.includes('gh_rec_test'))!;
    expect(role.text).toBe("CREATE ROLE gh_rec_test LOGIN PASSWORD '[REDACTED]'");
  });

  test('a large result sample goes to the blob store, covered by its hash', async () => {
    const result = events.find((e) => e.type === 'result' && e.data.sampleRef !== undefined)!;
    const ref = result.data.sampleRef as { key: string; rows: number; truncated: boolean };
    expect(ref).toMatchObject({ rows: 60, truncated: false });
    const blob = await gw.gateway.recording.blobs.get(ref.key);
    expect(JSON.parse(blob!.toString('utf8'))).toMatchObject({ columns: ['id', 'note'] });
    // A small sample stays inline.
    const inline = events.find((e) => e.type === 'result' && e.data.sample !== undefined)!;
    expect(inline.data.sample).toMatchObject({ columns: ['count'], rows: [['60']] });
  });

  test('the replay shows each statement under the prompt that led to it, with decision, rule and sample table', async () => {
    const out = await replay(sessionId);
    const countPrompt = out.indexOf('── prompt p-count (context-api)');
    const countStmt = out.indexOf('select count(*) from orders');
    const commentPrompt = out.indexOf(
      "── prompt p-comment (comment, declared by the client; the context API's prompt was p-count)",
    );
    const commentStmt = out.indexOf('select 1');
    const showPrompt = out.indexOf('Show me the first orders');
    const showStmt = out.indexOf('select id, note from orders order by id');
    expect(countPrompt).toBeGreaterThan(-1);
    expect(out).toContain('│ How many orders are there?');
    expect(countPrompt).toBeLessThan(countStmt);
    expect(countStmt).toBeLessThan(commentPrompt);
    expect(commentPrompt).toBeLessThan(commentStmt);
    expect(commentStmt).toBeLessThan(showPrompt);
    expect(showPrompt).toBeLessThan(showStmt);
    expect(out).toMatch(/#1 {2}allow {2}rule=allow-everything {2}select {2}\[read\] {2}tool_use=toolu_01/);
    // The blob-stored sample, as a table.
    expect(out).toMatch(/id +\| note\n +-+-\+-+\n +1 +\| n{39}…/);
    expect(out).toContain('… 50 more row(s) in the sample');
    expect(out).toMatch(/session ended \(client/);
    const json = (await replay(sessionId, ['--json']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record: string; event: { seq: number } });
    expect(json.map((l) => l.event.seq)).toEqual(events.map((e) => e.seq));
  });

  test('export, then verify offline with the CLI; one changed byte is named', async () => {
    const file = path.join(tmp, 'session.jsonl');
    const pub = path.join(tmp, 'record.pub.pem');
    let { o, io: cio } = io();
    expect(
      await runCli(recordingsCommand({ open: async () => access(), purge: async () => 0, io: cio }), [
        'recordings',
        'export',
        sessionId,
        '-o',
        file,
      ]),
    ).toBe(0);
    ({ o, io: cio } = io());
    expect(
      await runCli(recordingsCommand({ open: async () => access(), purge: async () => 0, io: cio }), [
        'recordings',
        'public-key',
      ]),
    ).toBe(0);
    writeFileSync(pub, o.out);

    ({ o, io: cio } = io());
    expect(
      await runCli(
        recordingsCommand({
          open: async () => {
            throw new Error('offline: no store');
          },
          purge: async () => 0,
          io: cio,
        }),
        ['recordings', 'verify', file, '--public-key', pub],
      ),
    ).toBe(0);
    expect(o.out).toContain('chain: intact');
    expect(o.out).toMatch(/signature: valid, covers every event/);
    expect(o.out).toContain('blobs: 1 verified');

    // Change one byte inside the recorded text of the count statement.
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf('count(*) from orders');
    const tampered = `${text.slice(0, at)}COUNT${text.slice(at + 5)}`;
    const line = text.slice(0, at).split('\n').length;
    const seq = (JSON.parse(text.split('\n')[line - 1]!) as { event: { seq: number } }).event.seq;
    const bad = path.join(tmp, 'tampered.jsonl');
    writeFileSync(bad, tampered);
    ({ o, io: cio } = io());
    expect(
      await runCli(recordingsCommand({ open: async () => access(), purge: async () => 0, io: cio }), [
        'recordings',
        'verify',
        bad,
        '--public-key',
        pub,
      ]),
    ).toBe(1);
    expect(o.out).toContain(`CHANGED: line ${line} (event ${seq}): event ${seq} was changed`);
    // A changed record is not reported as one whose session merely did not end.
    expect(o.out).not.toMatch(/did not end|unsigned/);
    expect(o.out).toMatch(
      /signature: (not checked — the record was changed|valid through event \d+; nothing after the change)/,
    );

    // Changing the blob (the sample) is caught too.
    const blobLine = text.split('\n').find((l) => l.includes('"record":"blob"'))!;
    const cell = text.indexOf(blobLine) + blobLine.indexOf('nnnn');
    writeFileSync(bad, `${text.slice(0, cell)}X${text.slice(cell + 1)}`);
    ({ o, io: cio } = io());
    expect(
      await runCli(recordingsCommand({ open: async () => access(), purge: async () => 0, io: cio }), [
        'recordings',
        'verify',
        bad,
      ]),
    ).toBe(1);
    expect(o.out, o.out).toMatch(/blob .* was changed/);

    // Verifying by id reads the store directly.
    ({ o, io: cio } = io());
    expect(
      await runCli(recordingsCommand({ open: async () => access(), purge: async () => 0, io: cio }), [
        'recordings',
        'verify',
        sessionId,
      ]),
    ).toBe(0);
  });
});

describe('context API', () => {
  test('needs a token and a usable body', async () => {
    expect((await fetch(`${api}/api/context`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await postContext(agentToken, { prompt: 5 })).status).toBe(400);
    expect((await postContext(agentToken, {})).status).toBe(400);
    expect(
      await (await postContext(agentToken, { hook_event_name: 'Stop', session_id: 'x' })).json(),
    ).toEqual({});
    const current = (await (
      await fetch(`${api}/api/context`, { headers: { authorization: `Bearer ${otherToken}` } })
    ).json()) as { context: { prompt_id: string } };
    expect(current.context.prompt_id).toBe('p-bob');
  });
});

describe('replay --follow', () => {
  test('tails a live session until it ends', async () => {
    const token = await gw.token({ subject: 'follower', groups: ['testers'] });
    const c = gw.client(token);
    await c.connect();
    await c.query('select 41');
    const id = await sessionOf('follower');
    const following = replay(id, ['--follow']);
    await new Promise((r) => setTimeout(r, 300));
    await c.query('select 42 as answer');
    await c.end();
    const out = await following;
    expect(out).toContain('select 41');
    expect(out).toContain('select 42 as answer');
    expect(out).toMatch(/session ended/);
  });
});

describe('retention purge', () => {
  test('deletes old sessions with their events, seals and blobs, and keeps newer ones', async () => {
    const token = await gw.token({ subject: 'purgeme', groups: ['testers'] });
    const c = gw.client(token);
    await c.connect();
    await c.query('select id, note from orders');
    await c.end();
    await new Promise((r) => setTimeout(r, 200));
    const id = await sessionOf('purgeme');
    const ref = (await gw.gateway.store.getEvents(id)).find((e) => e.data.sampleRef)!.data.sampleRef as {
      key: string;
    };
    expect(await gw.gateway.recording.blobs.get(ref.key)).toBeDefined();
    const before = (await gw.gateway.store.listSessions({ limit: 1000 })).length;
    // Nothing is older than an hour: nothing goes.
    expect(
      await purgeRecordings(gw.gateway.store, gw.gateway.recording.blobs, new Date(Date.now() - 3_600_000)),
    ).toBe(0);
    const n = await purgeRecordings(
      gw.gateway.store,
      gw.gateway.recording.blobs,
      new Date(Date.now() + 1000),
    );
    expect(n).toBe(before);
    expect(await gw.gateway.store.getEvents(id)).toEqual([]);
    expect(await gw.gateway.store.getSeals(id)).toEqual([]);
    expect(await gw.gateway.recording.blobs.get(ref.key)).toBeUndefined();
  });

  test('never deletes a session still open: its later statements land on its whole chain, which verifies', async () => {
    const token = await gw.token({ subject: 'purge-live', groups: ['testers'] });
    const c = gw.client(token);
    await c.connect();
    await c.query('select id, note from orders');
    const id = await sessionOf('purge-live');
    let { o, io: cio } = io();
    // A purge whose cutoff is after everything: the open session is older than it, and stays.
    const cmd = () =>
      recordingsCommand({
        open: async () => access(),
        purge: (a, before) => purgeRecordings(a.store, a.blobs, before),
        io: cio,
        now: () => new Date(Date.now() + 2 * 86_400_000),
      });
    expect(await runCli(cmd(), ['recordings', 'purge', '--older-than', '1d'])).toBe(0);
    expect((await gw.gateway.store.getSession(id))?.session.id).toBe(id);
    expect(o.out).toMatch(/purged \d+ session\(s\) ended \(or last active\) before/);
    await c.query('select 2 as two');
    await c.end();
    await new Promise((r) => setTimeout(r, 200));
    const events = await gw.gateway.store.getEvents(id);
    expect(events[0]?.type).toBe('session.start');
    expect(events.filter((e) => e.type === 'statement').map((e) => e.data.text)).toEqual([
      'select id, note from orders',
      'select 2 as two',
    ]);
    expect(events.at(-1)?.type).toBe('session.end');
    ({ o, io: cio } = io());
    expect(await runCli(cmd(), ['recordings', 'verify', id])).toBe(0);
    expect(o.out).toContain('chain: intact');
  });
});

describe('replay of a refused multi-statement query', () => {
  test('blames the statement that was refused, not the one before it', async () => {
    const g = await startTestGateway({
      superUrl: inject('pgUrl'),
      setupSql: 'CREATE TABLE orders (id int primary key)',
      policies: [
        {
          id: 'agents',
          subjects: { groups: ['testers'] },
          connections: ['*'],
          rules: [
            { id: 'no-drop', effect: 'deny', match: { categories: ['ddl-drop'] } },
            { id: 'read', effect: 'allow', match: { categories: ['read'] } },
          ],
        },
      ],
    });
    try {
      const c = g.client(await g.token({ subject: 'claude-multi', agent: true }));
      await c.connect();
      await expect(c.query('SELECT 1; DROP TABLE orders')).rejects.toThrow(/no-drop/);
      await c.end();
      const id = (await g.gateway.store.listSessions({ subject: 'claude-multi', limit: 1 }))[0]!.id;
      const { o, io: cio } = io();
      const cmd = sessionsCommand({
        io: cio,
        openStore: async () => ({ ...g.gateway.store, close: async () => undefined }) as never,
        openReplay: async () => ({
          store: g.gateway.store,
          blobs: g.gateway.recording.blobs,
          close: async () => undefined,
        }),
      });
      expect(await runCli(cmd, ['sessions', 'replay', id])).toBe(0);
      const select = o.out.slice(o.out.indexOf('#1'), o.out.indexOf('#2'));
      expect(select).toContain('SELECT 1');
      expect(select).toContain('not run: another statement of the same request was refused');
      expect(select).not.toMatch(/error|earlier/);
      const drop = o.out.slice(o.out.indexOf('#2'));
      expect(drop).toMatch(/#2 {2}deny {2}rule=no-drop/);
      expect(drop).toContain('DROP TABLE is refused by rule no-drop');
    } finally {
      await g.stop();
    }
  });
});
