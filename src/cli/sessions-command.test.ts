import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SessionRecord, StatementRecord } from '../core/records.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { parseTimeBound, printable, sessionsCommand } from './sessions-command.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-sessions-cli-'));
const file = path.join(dir, 'gatehouse.db');
const NOW = new Date('2026-03-01T12:00:00.000Z');

const alice: SessionRecord = {
  id: 'sess-alice',
  startedAt: new Date('2026-03-01T10:00:00.000Z'),
  endedAt: new Date('2026-03-01T10:05:00.000Z'),
  endReason: 'client closed',
  subject: 'alice@example.com',
  groups: ['dba'],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'https://idp.example.com',
  clientAddress: '10.0.0.7:51234',
  clientUser: 'postgres',
  application: 'psql',
  connection: 'prod',
  protocol: 'postgres',
};
const claude: SessionRecord = {
  ...alice,
  id: 'sess-claude',
  startedAt: new Date('2026-03-01T11:30:00.000Z'),
  subject: 'claude-prod',
  agent: true,
  tokenKind: 'service',
  issuer: 'gatehouse',
};
const httpSession: SessionRecord = { ...alice, id: 'sess-http', protocol: 'http', connection: 'api' };
const BODY_SHA256 = 'c0ffee'.repeat(10) + 'beef';
delete (claude as { endedAt?: Date }).endedAt;
delete (claude as { endReason?: string }).endReason;

const st = (s: SessionRecord, seq: number, over: Partial<StatementRecord>): StatementRecord => ({
  id: `${s.id}-${seq}`,
  sessionId: s.id,
  seq,
  at: new Date(s.startedAt.getTime() + seq * 1500),
  via: 'simple',
  text: 'select 1',
  kind: 'select',
  categories: ['read'],
  effect: 'allow',
  ruleId: 'read-only',
  ...over,
});

beforeAll(async () => {
  const store = await SqliteStore.open({ path: file });
  await store.startSession(alice);
  await store.startSession(claude);
  await store.recordStatement(st(alice, 1, { text: 'select * from orders' }));
  await store.completeStatement('sess-alice-1', { durationMs: 1.25, rows: 3 });
  await store.recordStatement(st(claude, 1, { text: 'select count(*)\nfrom users', params: ['x', null] }));
  await store.completeStatement('sess-claude-1', { durationMs: 0.5, rows: 1, masked: { email: 2 } });
  await store.recordStatement(
    st(claude, 2, {
      text: 'DROP TABLE users \u001b[31m',
      kind: 'drop table',
      categories: ['ddl-drop'],
      effect: 'deny',
      ruleId: 'no-drops',
      message: 'Dropping tables is not allowed on prod.',
    }),
  );
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `gatehouse [--config X] sessions …` in-process against the real store file. */
async function run(
  args: string[],
  db = file,
): Promise<{ out: string; err: string; configs: (string | undefined)[]; exitCode?: number }> {
  let out = '';
  let err = '';
  const configs: (string | undefined)[] = [];
  const io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stdin: (async function* () {})(),
    env: {},
  };
  const program = new Command('gatehouse').option('-c, --config <file>', 'config').exitOverride();
  const sessions = sessionsCommand({
    io,
    now: () => NOW,
    async openStore(configPath) {
      configs.push(configPath);
      return SqliteStore.open({ path: db });
    },
  });
  for (const c of [sessions, ...sessions.commands]) {
    c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  }
  program.addCommand(sessions);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, err, configs };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, configs, exitCode: e.exitCode };
    throw e;
  }
}

describe('gatehouse sessions', () => {
  test('list prints an aligned table, newest first, and passes --config through', async () => {
    const r = await run(['--config', 'my.yaml', 'sessions', 'list']);
    expect(r.configs).toEqual(['my.yaml']);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID\s+STARTED\s+SUBJECT\s+AGENT\s+CONNECTION\s+STATEMENTS\s+DENIED$/);
    expect(lines[1]).toMatch(/^sess-claude\s+2026-03-01 11:30:00\.000Z\s+claude-prod\s+yes\s+prod\s+2\s+1$/);
    expect(lines[2]).toMatch(
      /^sess-alice\s+2026-03-01 10:00:00\.000Z\s+alice@example\.com\s+no\s+prod\s+1\s+0$/,
    );
    // Aligned: every column starts at the same offset on every line.
    const col = (l: string) => l.indexOf(l.includes('STARTED') ? 'STARTED' : '2026');
    expect(new Set(lines.map(col)).size).toBe(1);
  });

  test('list filters: --decision, --text, --since as a duration, --subject, --limit', async () => {
    expect((await run(['sessions', 'list', '--decision', 'deny'])).out).not.toContain('sess-alice');
    expect((await run(['sessions', 'list', '--text', 'ORDERS'])).out).not.toContain('sess-claude');
    const since = await run(['sessions', 'list', '--since', '1h']); // after 11:00
    expect(since.out).toContain('sess-claude');
    expect(since.out).not.toContain('sess-alice');
    expect((await run(['sessions', 'list', '--subject', 'nobody'])).out).toBe('no sessions\n');
    const limited = await run(['sessions', 'list', '--limit', '1', '--json']);
    expect((JSON.parse(limited.out) as unknown[]).length).toBe(1);
  });

  test('list --json is valid JSON with counts', async () => {
    const r = await run(['sessions', 'list', '--json', '--category', 'ddl-drop']);
    const parsed = JSON.parse(r.out) as Record<string, unknown>[];
    expect(parsed).toEqual([
      expect.objectContaining({
        id: 'sess-claude',
        subject: 'claude-prod',
        agent: true,
        startedAt: '2026-03-01T11:30:00.000Z',
        statements: 2,
        denied: 1,
      }),
    ]);
  });

  test('bad arguments are refused', async () => {
    const bad = await run(['sessions', 'list', '--since', 'yesterday']);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.err).toMatch(/ISO-8601/);
    const badDecision = await run(['sessions', 'list', '--decision', 'maybe']);
    expect(badDecision.exitCode).not.toBe(0);
    const badLimit = await run(['sessions', 'list', '--limit', '0']);
    expect(badLimit.exitCode).not.toBe(0);
  });

  test('show prints the header and every statement, escaping control characters', async () => {
    const r = await run(['sessions', 'show', 'sess-claude']);
    expect(r.out).toContain('session sess-claude\n');
    expect(r.out).toMatch(/subject\s+claude-prod \(agent\)/);
    expect(r.out).toMatch(/statements\s+2 \(1 denied, 0 review\)/);
    expect(r.out).toContain(
      '#1  +1.500s  allow  rule=read-only  select  [read]  rows=1  0.5ms  masked=email:2',
    );
    expect(r.out).toContain('      select count(*)\n      from users\n');
    expect(r.out).toContain('      params: ["x",null]');
    expect(r.out).toContain('#2  +3.000s  deny  rule=no-drops  drop table  [ddl-drop]');
    expect(r.out).toContain('      message: Dropping tables is not allowed on prod.');
    expect(r.out).toContain('DROP TABLE users ⟨U+001B⟩[31m');
    expect(r.out).not.toContain('\u001b');
  });

  test('show --json round-trips the session', async () => {
    const r = await run(['sessions', 'show', 'sess-alice', '--json']);
    const parsed = JSON.parse(r.out) as {
      session: Record<string, unknown>;
      statements: Record<string, unknown>[];
    };
    expect(parsed.session).toMatchObject({
      id: 'sess-alice',
      endReason: 'client closed',
      endedAt: '2026-03-01T10:05:00.000Z',
    });
    expect(parsed.statements).toEqual([
      expect.objectContaining({
        seq: 1,
        text: 'select * from orders',
        result: { durationMs: 1.25, rows: 3 },
      }),
    ]);
  });

  test('show prints a reviewed body’s digest and size, from the stored statement, and --json has it', async () => {
    const db = path.join(dir, 'bodies.db');
    const store = await SqliteStore.open({ path: db });
    await store.startSession(httpSession);
    await store.recordStatement(
      st(httpSession, 1, {
        via: 'http',
        text: 'POST /v1/jobs',
        kind: 'post',
        categories: ['write'],
        effect: 'review',
        ruleId: 'review-posts',
        body: { sha256: BODY_SHA256, bytes: 42 },
      }),
    );
    await store.close();
    const r = await run(['sessions', 'show', 'sess-http'], db);
    expect(r.out).toContain(`      body: 42 bytes, sha256 ${BODY_SHA256}\n`);
    const j = await run(['sessions', 'show', 'sess-http', '--json'], db);
    const parsed = JSON.parse(j.out) as { statements: Record<string, unknown>[] };
    expect(parsed.statements[0]!['body']).toEqual({ sha256: BODY_SHA256, bytes: 42 });
    const plain = JSON.parse((await run(['sessions', 'show', 'sess-alice', '--json'])).out) as {
      statements: Record<string, unknown>[];
    };
    expect(plain.statements[0]).not.toHaveProperty('body');
  });

  test('show of an unknown id fails with exit code 1', async () => {
    const r = await run(['sessions', 'show', 'nope']);
    expect(r.exitCode).toBe(1);
    expect(r.err).toContain('no session with id nope');
  });
});

describe('parseTimeBound and printable', () => {
  test('durations count back from now; ISO times parse', () => {
    expect(parseTimeBound('90s', NOW).toISOString()).toBe('2026-03-01T11:58:30.000Z');
    expect(parseTimeBound('2026-02-01T00:00:00Z', NOW).toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(() => parseTimeBound('2026-13-45', NOW)).toThrow();
    expect(() => parseTimeBound('soon', NOW)).toThrow();
  });

  test('printable escapes terminal controls', () => {
    expect(printable('a\u001b]0;x\u0007b\r\n\u009b')).toBe('a⟨U+001B⟩]0;x⟨U+0007⟩b⟨U+000D⟩⟨U+000A⟩⟨U+009B⟩');
    expect(printable('a\nb', true)).toBe('a\nb');
    expect(printable('a\u2028b\u00A0\u000c⟨', true)).toBe('a⟨U+2028⟩b⟨U+00A0⟩⟨U+000C⟩⟨U+27E8⟩');
    expect(printable(`a${'\n'.repeat(200)}b`, true)).toBe('a\n⟨199 blank lines⟩\nb');
  });

  test('printable tells a control character from the characters a client typed to spell one', () => {
    // The terminal's own `\x1b` notation read the same as the four characters `\`, `x`, `1`, `b`.
    const typed = printable('DROP TABLE users \\x1b[31m');
    const real = printable('DROP TABLE users \u001b[31m');
    expect(typed).not.toBe(real);
    expect(printable('⟨U+001B⟩')).toBe('⟨U+27E8⟩U+001B⟩');
    expect(real).toBe('DROP TABLE users ⟨U+001B⟩[31m');
  });

  test('printable shows the characters that reorder or hide text', () => {
    expect(printable('id = 1 /* \u202e x \u2066*/\u200b\u{e0041}')).toBe(
      'id = 1 /* ⟨U+202E⟩ x ⟨U+2066⟩*/⟨U+200B⟩⟨U+E0041⟩',
    );
  });
});
