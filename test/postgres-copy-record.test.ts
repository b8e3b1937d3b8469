// The rows of a COPY … FROM STDIN that policy allows are recorded before they are forwarded: in the
// session's hash-chained record, as `copy.data` events of the COPY's statement, attributed by stream
// order, with a `copy.end` binding their size and SHA-256 (src/engines/postgres/copy-in-record.ts,
// docs/recording.md, docs/security.md class 60). Driven by psql (`\copy`, and COPY piped), and by a
// raw protocol client for pipelined, multi-statement and extended-protocol COPYs.

import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import type { SessionEvent } from '../src/core/records.js';
import type { StoredEvent } from '../src/store/event-queries.js';
import type { SqliteStore } from '../src/store/index.js';
import { COPY_DATA_EVENT, COPY_END_EVENT } from '../src/engines/postgres/copy-in-record.js';
import { EVENT_TYPES } from '../src/recording/event-data.js';
import { Timeline } from '../src/recording/replay-timeline.js';
import { sessionsCommand } from '../src/cli/sessions-command.js';
import { sessionDetailPage } from '../src/console/pages/session-pages.js';
import { BackendCode } from '../src/wire/postgres/index.js';
import { hasCommand, run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, errorsIn, msg, typed } from './testkit/raw-pg-client.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const POLICIES: PolicyConfig[] = [
  {
    id: 'testers',
    subjects: { groups: ['testers'] },
    connections: ['app'],
    rules: [
      { id: 'no-secrets', effect: 'deny', match: { tables: ['secrets'] } },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

it('the engine writes the event types the record readers know', () => {
  expect([COPY_DATA_EVENT, COPY_END_EVENT]).toEqual([EVENT_TYPES.copyData, EVENT_TYPES.copyEnd]);
});

const copyData = (data: string | Buffer) => typed('d', Buffer.from(data));
const copyDone = () => typed('c');
const copyFail = (why: string) => typed('f', Buffer.from(`${why}\0`));

/** What the record holds of each COPY statement's rows: the bytes of its parts joined, and its end. */
interface Recorded {
  text: string;
  rows: Buffer;
  parts: number;
  end?: Record<string, unknown>;
}

describe(
  'the rows of an allowed COPY FROM STDIN are recorded before they are forwarded',
  { timeout: 180_000 },
  () => {
    let gw: TestGateway;
    let agent: string;

    beforeAll(async () => {
      gw = await startTestGateway({
        superUrl: inject('pgUrl'),
        policies: POLICIES,
        setupSql: `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, note text);
                 CREATE TABLE other (id int PRIMARY KEY, name text);
                 CREATE TABLE secrets (id int, v text);
                 CREATE TABLE big (id int, payload text);`,
      });
      agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
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
    const truncate = (...tables: string[]) => direct((c) => c.query(`TRUNCATE ${tables.join(', ')}`));

    /** Sessions since the current test began (each test's own). */
    let since = new Date();
    beforeEach(() => {
      since = new Date();
    });

    const allEvents = async (): Promise<StoredEvent[]> => {
      const store = gw.gateway.store as SqliteStore;
      const sessions = await store.listSessions({ subject: 'claude', since, limit: 1000 });
      const out: StoredEvent[] = [];
      for (const s of sessions) out.push(...(await store.getEvents(s.id)));
      return out;
    };

    /** The COPY statements recorded whose text matches, with what the record holds of their rows. */
    const recorded = async (text: RegExp): Promise<Recorded[]> => {
      const events = await allEvents();
      const byStatement = new Map<string, Recorded>();
      for (const e of events) {
        if (e.type === 'statement' && text.test(String(e.data['text'])) && e.statement)
          byStatement.set(e.statement, { text: String(e.data['text']), rows: Buffer.alloc(0), parts: 0 });
      }
      for (const e of events) {
        const r = e.statement ? byStatement.get(e.statement) : undefined;
        if (!r) continue;
        if (e.type === 'copy.data') {
          const d = e.data;
          const bytes =
            typeof d['text'] === 'string'
              ? Buffer.from(d['text'])
              : Buffer.from(String(d['base64']), 'base64');
          expect(bytes.length).toBe(d['bytes']);
          r.rows = Buffer.concat([r.rows, bytes]);
          r.parts++;
        }
        if (e.type === 'copy.end') r.end = e.data;
      }
      return [...byStatement.values()];
    };

    describe.skipIf(!hasCommand('psql'))('with psql', () => {
      it('\\copy of several MB arrives intact, and the record holds every byte of it, bound by its digest', async () => {
        await truncate('big');
        const lines: string[] = [];
        // About 7.8 MB, with non-ASCII text (a character may fall across two messages or two parts).
        for (let i = 1; i <= 40_000; i++) lines.push(`${i},row ${i} ${'héllo wörld – '.repeat(10)}`);
        const data = `${lines.join('\n')}\n`;
        const r = await run(
          'psql',
          ['-X', '-v', 'ON_ERROR_STOP=1', gw.url(agent), '-c', '\\copy big FROM STDIN WITH (FORMAT csv)'],
          { input: data, timeoutMs: 120_000 },
        );
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.trim()).toBe('COPY 40000');
        const loaded = await direct(
          async (c) =>
            (
              await c.query(
                `SELECT count(*)::int AS n, md5(string_agg(id || ',' || payload, E'\\n' ORDER BY id) || E'\\n') AS h FROM big`,
              )
            ).rows[0] as { n: number; h: string },
        );
        expect(loaded.n).toBe(40_000);
        expect(loaded.h).toBe(createHash('md5').update(data).digest('hex'));

        const [copy, ...more] = await recorded(/^COPY\s+big\s+FROM\s+STDIN/i);
        expect(more).toEqual([]);
        expect(copy!.rows.equals(Buffer.from(data)), 'the record holds exactly the rows loaded').toBe(true);
        expect(copy!.parts).toBeGreaterThan(1);
        expect(copy!.end).toMatchObject({
          end: 'done',
          bytes: Buffer.byteLength(data),
          sha256: sha256(data),
          parts: copy!.parts,
        });
      });

      it('COPY … FROM STDIN piped through psql is recorded too', async () => {
        await truncate('items');
        const script = 'COPY items (id, name) FROM STDIN;\n1\tpiped one\n2\tpiped two\n\\.\nSELECT 1;\n';
        const r = await run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', gw.url(agent)], { input: script });
        expect(r.code, r.stderr).toBe(0);
        expect(await rowsOf('items')).toEqual([
          { id: 1, name: 'piped one', note: null },
          { id: 2, name: 'piped two', note: null },
        ]);
        const [copy] = await recorded(/^COPY items \(id, name\) FROM STDIN;?$/);
        // psql sends the end-of-data line too; the server reads it as the end of the rows.
        const sent = '1\tpiped one\n2\tpiped two\n\\.\n';
        expect(copy!.rows.toString()).toBe(sent);
        expect(copy!.end).toMatchObject({ end: 'done', sha256: sha256(sent) });
      });
    });

    it('attributes rows by stream order: two COPYs in one Query, sent before any CopyInResponse', async () => {
      await truncate('items', 'other');
      const g = await RawPgClient.open(gw.port, gw.connection, agent);
      try {
        // Everything in one write: the server has not answered CopyInResponse for either COPY yet.
        g.send(
          msg.query('COPY items (id, name) FROM STDIN; COPY other (id, name) FROM STDIN'),
          copyData('10\tfor items\n'),
          copyData('11\talso items\n'),
          copyDone(),
          copyData('20\tfor other\n'),
          copyDone(),
        );
        const end = await g.ready();
        expect(errorsIn(end)).toEqual([]);
        expect(end.filter((f) => f.type === BackendCode.CopyInResponse)).toHaveLength(2);
      } finally {
        g.close();
      }
      expect((await rowsOf('items')).map((r) => r.name)).toEqual(['for items', 'also items']);
      expect((await rowsOf('other')).map((r) => r.name)).toEqual(['for other']);
      const got = await recorded(/^COPY (items|other) \(id, name\) FROM STDIN$/);
      const byText = Object.fromEntries(got.map((r) => [r.text, r.rows.toString()]));
      expect(byText).toEqual({
        'COPY items (id, name) FROM STDIN': '10\tfor items\n11\talso items\n',
        'COPY other (id, name) FROM STDIN': '20\tfor other\n',
      });
    });

    it('records the rows of a COPY through the extended protocol, pipelined with its Sync', async () => {
      await truncate('items');
      const g = await RawPgClient.open(gw.port, gw.connection, agent);
      try {
        // libpq's way: Parse, Bind, Execute and Sync at once (the server ignores that Sync in COPY),
        // the rows, CopyDone and a second Sync.
        g.send(
          msg.parse('', 'COPY items (id, name) FROM STDIN WITH (FORMAT csv)'),
          msg.bind('', ''),
          msg.execute(''),
          msg.sync(),
          copyData('30,extended\n'),
          copyDone(),
          msg.sync(),
        );
        const end = await g.ready();
        expect(errorsIn(end)).toEqual([]);
        g.send(msg.query('SELECT 41 + 1'));
        const next = await g.ready();
        expect(errorsIn(next)).toEqual([]);
        expect(next.some((f) => f.type === BackendCode.DataRow && f.body.includes(Buffer.from('42')))).toBe(
          true,
        );
      } finally {
        g.close();
      }
      expect(await rowsOf('items')).toEqual([{ id: 30, name: 'extended', note: null }]);
      const [copy] = await recorded(/^COPY items \(id, name\) FROM STDIN WITH \(FORMAT csv\)$/);
      expect(copy!.rows.toString()).toBe('30,extended\n');
    }, 30_000);

    it('records a CopyFail and its rows; the rows of a refused COPY are neither recorded nor sent', async () => {
      await truncate('items', 'secrets');
      const g = await RawPgClient.open(gw.port, gw.connection, agent);
      try {
        g.send(
          msg.query('COPY items (id, name) FROM STDIN'),
          copyData('40\tabandoned\n'),
          copyFail('changed my mind'),
        );
        const failed = await g.ready();
        expect(errorsIn(failed).map((e) => e['C'])).toEqual(['57014']);
        g.send(msg.query('COPY secrets FROM STDIN'), copyData('1\tsmuggled\n'), copyDone());
        const refused = await g.ready();
        expect(errorsIn(refused)[0]?.['M']).toMatch(/no-secrets|refused/);
        g.send(msg.query('SELECT 41 + 1'));
        expect(errorsIn(await g.ready())).toEqual([]);
      } finally {
        g.close();
      }
      expect(await rowsOf('items')).toEqual([]);
      expect(await rowsOf('secrets')).toEqual([]);
      const [abandoned] = await recorded(/^COPY items \(id, name\) FROM STDIN$/);
      expect(abandoned!.rows.toString()).toContain('40\tabandoned\n');
      const events = await allEvents();
      expect(events.find((e) => e.type === 'copy.end' && e.data['end'] === 'fail')?.data).toMatchObject({
        end: 'fail',
        message: 'changed my mind',
      });
      expect(events.some((e) => e.type === 'copy.data' && String(e.data['text']).includes('smuggled'))).toBe(
        false,
      );
    });

    it('records the rows of a COPY another message cut off, which the server ends the session at', async () => {
      await truncate('items');
      const g = await RawPgClient.open(gw.port, gw.connection, agent);
      try {
        g.send(
          msg.query('COPY items (id, name) FROM STDIN'),
          copyData('60\tcut off\n'),
          msg.query('SELECT 1'),
        );
        const end = await g.until(() => false);
        expect(errorsIn(end).map((e) => e['C'])).toContain('08P01');
      } finally {
        g.close();
      }
      expect(await rowsOf('items')).toEqual([]);
      const [copy] = await recorded(/^COPY items \(id, name\) FROM STDIN$/);
      expect(copy!.rows.toString()).toBe('60\tcut off\n');
      expect(copy!.end).toMatchObject({ end: 'interrupted', bytes: 11, sha256: sha256('60\tcut off\n') });
    });

    it('shows the rows a COPY sent in the replay, sessions show and the console, clipped, with their size and digest', async () => {
      await truncate('other');
      const g = await RawPgClient.open(gw.port, gw.connection, agent);
      const rows = Array.from({ length: 3000 }, (_, i) => `${i}\tname ${i}\n`).join('');
      try {
        g.send(msg.query('COPY other FROM STDIN'), copyData(rows), copyDone());
        expect(errorsIn(await g.ready())).toEqual([]);
      } finally {
        g.close();
      }
      const store = gw.gateway.store as SqliteStore;
      const [session] = await store.listSessions({ subject: 'claude', since, limit: 1000 });
      const head = `rows sent: ${Buffer.byteLength(rows)} bytes in 1 part(s), sha256 ${sha256(rows)}, ended by CopyDone`;

      const replay = new Timeline().render(await store.getEvents(session!.id));
      expect(replay).toContain(`rows of #1: ${head}`);
      expect(replay).toContain('│ 0  name 0\n');
      expect(replay).toMatch(/\n +│ [^\n]*… \(clipped: 42780 characters in all\)\n/);

      // `gatehouse sessions show`, on the gateway's own store (left open).
      let out = '';
      const io = {
        stdout: { write: (t: string) => (out += t) },
        stderr: { write: () => true },
        stdin: (async function* () {})(),
        env: {},
      };
      const unclosed = new Proxy(store, {
        get: (t, p) => {
          if (p === 'close') return async () => undefined;
          const v: unknown = Reflect.get(t, p);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
      await sessionsCommand({ io, openStore: async () => unclosed }).parseAsync(['show', session!.id], {
        from: 'user',
      });
      expect(out).toContain(`      ${head}\n      │ 0\tname 0\n`);
      expect(out).toMatch(/\(clipped: 42780 characters in all\)/);

      // The console's session page, from the same events.
      const page = sessionDetailPage({
        viewer: { label: 'olga', admin: true, csrf: 'x' },
        session: session!,
        statements: (await store.getSession(session!.id))!.statements,
        events: await store.getEvents(session!.id),
        eventsCut: false,
        prompts: new Map(),
        samples: new Map(),
        live: false,
      });
      expect(page).toContain(head);
      expect(page).toContain('0\tname 0\n1\tname 1');
    });

    it('ends the session, and sends nothing more, when the rows cannot be recorded', async () => {
      await truncate('items');
      const store = gw.gateway.store as SqliteStore;
      const append = store.appendEvent.bind(store);
      store.appendEvent = (sessionId: string, event: SessionEvent) =>
        event.type === 'copy.data' ? Promise.reject(new Error('disk full')) : append(sessionId, event);
      const g = await RawPgClient.open(gw.port, gw.connection, agent);
      try {
        g.send(msg.query('COPY items (id, name) FROM STDIN'), copyData('50\tunrecorded\n'), copyDone());
        const end = await g.until(() => false);
        expect(errorsIn(end).at(-1)).toMatchObject({
          S: 'FATAL',
          M: expect.stringMatching(/could not be recorded/),
        });
        expect(g.closed).toBe(true);
      } finally {
        g.close();
        store.appendEvent = append;
      }
      expect(await rowsOf('items')).toEqual([]);
    }, 30_000);
  },
);

describe('a Sync sent inside an extended-protocol COPY', { timeout: 60_000 }, () => {
  const SECRET = 'hunter2-correct-horse-battery';
  let gw: TestGateway;
  let agent: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: [
        {
          id: 'masked',
          subjects: { groups: ['masked'] },
          connections: ['app'],
          rules: [{ id: 'masked-all', effect: 'allow', match: {}, mask: true }],
        },
      ],
      setupSql: `CREATE TABLE api_keys (id int PRIMARY KEY, secret text);
                 INSERT INTO api_keys VALUES (1, '${SECRET}');
                 CREATE TABLE scratch (id int, v text);`,
      extra: { masking: { columns: [{ column: 'api_keys.secret', tag: 'api_secret' }] } },
    });
    agent = await gw.token({ subject: 'claude', groups: ['masked'], agent: false });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  /** The messages, then `SELECT 42`: the answers' types (errors, CopyInResponse, ReadyForQuery) up to 42's. */
  const exchange = async (c: RawPgClient, messages: Buffer[]): Promise<string> => {
    c.send(...messages, msg.query('SELECT 42'));
    const frames = await c.until((f) => f.type === BackendCode.DataRow);
    frames.push(...(await c.ready()));
    return frames
      .map((f) => String.fromCharCode(f.type))
      .filter((t) => 'EGZD'.includes(t))
      .join('');
  };
  const pipelined = (statement: string) => [
    msg.parse('', statement),
    msg.bind('', ''),
    msg.execute(''),
    msg.sync(),
    copyData('1\tone\n'),
    copyDone(),
    msg.sync(),
  ];

  it('is answered as PostgreSQL answers it, whether the COPY started or not', async () => {
    for (const statement of ['COPY scratch FROM STDIN', 'COPY no_such_table FROM STDIN']) {
      const d = await RawPgClient.direct(gw.directUrl);
      const g = await RawPgClient.open(gw.port, gw.connection, agent);
      try {
        const want = await exchange(d, pipelined(statement));
        expect(await exchange(g, pipelined(statement)), statement).toBe(want);
      } finally {
        d.close();
        g.close();
      }
    }
  });

  it('leaves the answers that follow attributed to their statements, and masked', async () => {
    const g = await RawPgClient.open(gw.port, gw.connection, agent);
    try {
      g.send(...pipelined('COPY scratch FROM STDIN'));
      const copied = await g.ready();
      expect(errorsIn(copied)).toEqual([]);
      for (let i = 0; i < 2; i++) {
        g.send(msg.query('SELECT secret FROM api_keys'));
        const answer = await g.ready();
        expect(errorsIn(answer)).toEqual([]);
        const rows = answer.filter((f) => f.type === BackendCode.DataRow);
        expect(rows).toHaveLength(1);
        expect(
          Buffer.concat(rows.map((f) => f.raw)).includes(Buffer.from(SECRET)),
          'the secret went out unmasked',
        ).toBe(false);
      }
    } finally {
      g.close();
    }
  });
});
