// PostgreSQL fidelity (issue 19): clients change only an address, so what they see through
// Gatehouse is what PostgreSQL shows them — startup settings applied like SET, PostgreSQL's own
// SQLSTATEs, silence where the server is silent, one FATAL when the server ends a session — through
// the real `pg` client and psql. The differential run of node-postgres's own suite is
// scripts/pg-client-suite.ts (docs/postgres-fidelity.md).

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { hasCommand, run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, errorsIn, msg } from './testkit/raw-pg-client.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: [
      {
        id: 'people',
        subjects: { groups: ['testers'] },
        connections: ['app'],
        rules: [
          { id: 'no-drop-table', effect: 'deny', match: { kinds: ['drop table'] }, message: 'Not here.' },
          { id: 'allow-rest', effect: 'allow', match: {} },
        ],
      },
      ...defaultAgentPolicies(['app']),
    ],
    setupSql: 'CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (1);',
  });
});
afterAll(async () => gw?.stop());

const person = () => gw.token();
const agent = () => gw.token({ subject: 'claude', groups: ['ai-agents'], agent: true });

async function session<T>(
  token: string,
  f: (c: pg.Client) => Promise<T>,
  extra: Partial<pg.ClientConfig> = {},
): Promise<T> {
  const c = gw.client(token, extra);
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function direct<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as pg.DatabaseError,
  );

/** The events of the newest recorded session of `subject` that has an `upstream.login` event. */
async function upstreamLogin(
  subject: string,
): Promise<{ user: string; processId: number; clientUser?: string }> {
  for (let i = 0; i < 50; i++) {
    const [s] = await gw.gateway.store.listSessions({ subject, limit: 1 });
    if (s) {
      const events = await gw.gateway.store.getEvents(s.id);
      const e = events.find((x) => x.type === 'upstream.login');
      if (e) {
        return {
          user: e.data.user as string,
          processId: e.data.processId as number,
          ...(s.clientUser ? { clientUser: s.clientUser } : {}),
        };
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no upstream.login event recorded');
}

describe('startup settings are applied as PostgreSQL applies them', () => {
  it('statement_timeout from pg times out a pg_sleep(1)', async () => {
    await session(
      await person(),
      async (c) => {
        expect((await c.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('100ms');
        const e = await failure(c.query('SELECT pg_sleep(1)'));
        expect(e?.code).toBe('57014');
        expect(e?.message).toBe('canceling statement due to statement timeout');
      },
      { statement_timeout: 100 },
    );
  });

  it("options '-c statement_timeout=100' from pg (what PGOPTIONS sets) times out a pg_sleep(1)", async () => {
    await session(
      await person(),
      async (c) => {
        expect((await c.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('100ms');
        const e = await failure(c.query('SELECT pg_sleep(1)'));
        expect([e?.code, e?.message]).toEqual(['57014', 'canceling statement due to statement timeout']);
      },
      { options: '-c statement_timeout=100' },
    );
  });

  it.skipIf(!hasCommand('psql'))(
    "PGOPTIONS='-c statement_timeout=100' psql: SHOW says 100ms and pg_sleep(1) times out",
    async () => {
      const out = await run(
        'psql',
        [gw.url(await person()), '-X', '-At', '-c', 'show statement_timeout', '-c', 'select pg_sleep(1)'],
        { env: { PGOPTIONS: '-c statement_timeout=100' } },
      );
      expect(out.stdout.trim()).toBe('100ms');
      expect(out.stderr).toContain('ERROR:  canceling statement due to statement timeout');
      expect(out.code).toBe(1);
    },
  );

  it('options in both forms (-c name=value, --name=value) become the session defaults', async () => {
    await session(
      await person(),
      async (c) => {
        const r = await c.query(
          "SELECT current_setting('default_transaction_isolation') AS iso, current_setting('lock_timeout') AS lock, current_setting('idle_in_transaction_session_timeout') AS idle",
        );
        expect(r.rows[0]).toEqual({ iso: 'serializable', lock: '250ms', idle: '3s' });
        await c.query('BEGIN');
        expect((await c.query('SHOW transaction_isolation')).rows[0].transaction_isolation).toBe(
          'serializable',
        );
        await c.query('COMMIT');
      },
      {
        options:
          '-c default_transaction_isolation=serializable --lock-timeout=250ms -cidle_in_transaction_session_timeout=3000',
      },
    );
  });

  it("an unknown setting is refused at startup with PostgreSQL's FATAL 42704, naming it", async () => {
    const c = gw.client(await person(), { options: '-c no_such_setting=1' });
    const e = (await c.connect().catch((x: unknown) => x)) as pg.DatabaseError;
    expect([e.severity, e.code]).toEqual(['FATAL', '42704']);
    expect(e.message).toBe('unrecognized configuration parameter "no_such_setting"');
    // What a compared direct connection says, word for word.
    const d = new pg.Client({
      connectionString: gw.directUrl,
      options: '-c no_such_setting=1',
    });
    const de = (await d.connect().catch((x: unknown) => x)) as pg.DatabaseError;
    expect([de.code, de.message]).toEqual([e.code, e.message]);
  });

  it.skipIf(!hasCommand('psql'))(
    "PGOPTIONS='-c no_such_setting=1' psql: FATAL 42704, as the server says it",
    async () => {
      const env = { PGOPTIONS: '-c no_such_setting=1', PGCONNECT_TIMEOUT: '10' };
      const through = await run('psql', [gw.url(await person()), '-X', '-c', 'select 1'], { env });
      const directly = await run('psql', [gw.directUrl, '-X', '-c', 'select 1'], { env });
      expect(through.code).toBe(2);
      expect(through.stderr).toContain('FATAL:  unrecognized configuration parameter "no_such_setting"');
      expect(directly.code).toBe(2);
      expect(directly.stderr).toContain('FATAL:  unrecognized configuration parameter "no_such_setting"');
    },
  );

  it('a setting the policy does not allow is refused at startup, never dropped silently', async () => {
    const c = gw.client(await agent(), {
      options: '-c session_replication_role=replica',
    });
    const e = (await c.connect().catch((x: unknown) => x)) as pg.DatabaseError;
    expect(e.severity).toBe('FATAL');
    expect(e.code).toBe('42501');
    expect(e.message).toMatch(/startup setting session_replication_role refused/);
  });
});

describe("errors carry PostgreSQL's SQLSTATE", () => {
  it.skipIf(!hasCommand('psql'))(
    'psql shows a syntax error with its LINE and caret, as the server would',
    async () => {
      const out = await run('psql', [gw.url(await person()), '-X', '-c', 'SELECT 1 FROM WHERE']);
      expect(out.code).toBe(1);
      expect(out.stderr).toContain('ERROR:  syntax error at or near "WHERE"');
      expect(out.stderr).toContain('LINE 1: SELECT 1 FROM WHERE');
      expect(out.stderr).toMatch(/\n\s+\^/);
    },
  );

  it('pg gets a syntax error as 42601 with its message and position, as directly', async () => {
    const text = 'SELECT 1 FROM WHERE';
    const viaGatehouse = await session(await person(), (c) => failure(c.query(text)));
    const directly = await direct((c) => failure(c.query(text)));
    const shape = (e: pg.DatabaseError | undefined) => [e?.severity, e?.code, e?.message, e?.position];
    expect(shape(viaGatehouse)).toEqual(['ERROR', '42601', 'syntax error at or near "WHERE"', '15']);
    expect(shape(viaGatehouse)).toEqual(shape(directly));
    // The extended protocol (a Parse) carries it the same way.
    const parsed = await session(await person(), (c) => failure(c.query({ text, values: [] })));
    expect(shape(parsed)).toEqual(shape(directly));
  });

  it('a Parse with two statements is 42601 and is in the record', async () => {
    const token = await gw.token({ subject: 'multi-parse' });
    await session(token, async (c) => {
      const e = await failure(c.query({ name: 'two', text: 'SELECT 1; DELETE FROM kept' }));
      expect([e?.code, e?.message]).toEqual([
        '42601',
        'cannot insert multiple commands into a prepared statement',
      ]);
      expect((await c.query('SELECT count(*)::int AS n FROM kept')).rows[0].n).toBe(1);
    });
    const [s] = await gw.gateway.store.listSessions({ subject: 'multi-parse', limit: 1 });
    const full = await gw.gateway.store.getSession(s!.id);
    const refused = full?.statements.find((x) => x.ruleId === 'multiple-commands');
    expect(refused?.text).toBe('SELECT 1; DELETE FROM kept');
    expect(refused?.effect).toBe('deny');
    expect(refused?.via).toBe('parse');
  });
});

describe('silence where PostgreSQL is silent', () => {
  it('pg connecting and ending in the same tick raises nothing', async () => {
    const before = gw.logs.length;
    const errors: unknown[] = [];
    const c = gw.client(await person());
    c.on('error', (e) => errors.push(e));
    // pg writes Terminate before its StartupMessage here; its connect() then never settles (as
    // against PostgreSQL itself), so only end() is awaited.
    void c.connect().catch((e: unknown) => errors.push(e));
    await c.end();
    await new Promise((r) => setTimeout(r, 300));
    expect(errors).toEqual([]);
    // Gatehouse saw Terminate where the startup packet belongs, closed without a word, and logged it.
    expect(gw.logs.slice(before).join('')).toMatch(/invalid startup packet length 1476395008/);
  });

  it('a session the server terminates gets its FATAL once, as directly', async () => {
    // The same scenario directly and through Gatehouse: what pg reports must be the same.
    const scenario = async (open: () => Promise<pg.Client>, pidOf: (c: pg.Client) => Promise<number>) => {
      const c = await open();
      const events: string[] = [];
      c.on('error', (e: Error) => events.push(`error event: ${e.message}`));
      const pid = await pidOf(c);
      const sleeping = failure(c.query({ name: 'sleeper', text: 'SELECT pg_sleep($1)', values: [5] }));
      await new Promise((r) => setTimeout(r, 200));
      await direct((d) => d.query('SELECT pg_terminate_backend($1)', [pid]));
      const e = await sleeping;
      events.unshift(`query: ${e?.code} ${e?.message}`);
      await new Promise((r) => setTimeout(r, 300));
      return events;
    };
    const viaGatehouse = await scenario(
      async () => {
        const c = gw.client(await gw.token({ subject: 'terminated' }));
        await c.connect();
        return c;
      },
      async () => (await upstreamLogin('terminated')).processId,
    );
    const directly = await scenario(
      async () => {
        const c = new pg.Client({ connectionString: gw.directUrl });
        await c.connect();
        return c;
      },
      async (c) => (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number,
    );
    expect(directly[0]).toBe('query: 57P01 terminating connection due to administrator command');
    expect(viaGatehouse).toEqual(directly);
  });
});

describe('sessions and the upstream', () => {
  it('the record says which upstream role and backend a session got (pg_stat_activity.pid)', async () => {
    const token = await gw.token({ subject: 'mapped' });
    await session(token, async (c) => {
      const r = await c.query('SELECT pg_backend_pid() AS pid, current_user AS u');
      const login = await upstreamLogin('mapped');
      expect(login.processId).toBe(r.rows[0].pid);
      expect(login.user).toBe(r.rows[0].u);
      // The client's cancel key is Gatehouse's own: the upstream's never leaves the gateway.
      expect((c as unknown as { processID: number }).processID).not.toBe(r.rows[0].pid);
    });
  });

  it('a startup user that is no role upstream is recorded, and the session runs as the configured login', async () => {
    const token = await gw.token({ subject: 'nobody-user' });
    await session(
      token,
      async (c) => {
        const r = await c.query("SELECT current_user AS u, current_setting('session_authorization') AS a");
        const login = await upstreamLogin('nobody-user');
        expect(login.clientUser).toBe('no_such_role');
        expect(r.rows[0]).toEqual({ u: login.user, a: login.user });
      },
      { user: 'no_such_role' },
    );
  });

  it('a refusal with nothing to undo never reaches the upstream (no ERROR in its log)', async () => {
    const token = await gw.token({ subject: 'quiet' });
    await session(token, async (c) => {
      const { processId } = await upstreamLogin('quiet');
      const lastQuery = () =>
        direct(
          async (d) =>
            (await d.query('SELECT query FROM pg_stat_activity WHERE pid = $1', [processId])).rows[0]
              .query as string,
        );
      await c.query('SELECT 1 AS before');
      expect((await failure(c.query('DROP TABLE kept')))?.code).toBe('42501');
      expect((await failure(c.query({ text: 'DROP TABLE kept', values: [] })))?.code).toBe('42501');
      expect((await failure(c.query('SELEC 1')))?.code).toBe('42601');
      expect(await lastQuery()).toBe('SELECT 1 AS before');
      // In a transaction the upstream must abort it, so it gets a statement that fails: the
      // transaction then behaves exactly as after any error.
      await c.query('BEGIN');
      expect((await failure(c.query('DROP TABLE kept')))?.code).toBe('42501');
      expect((await failure(c.query('SELECT 1')))?.code).toBe('25P02');
      await c.query('ROLLBACK');
      expect((await c.query('SELECT count(*)::int AS n FROM kept')).rows[0].n).toBe(1);
    });
  });

  it('a refused FunctionCall with nothing to undo never reaches the upstream; in a transaction it aborts it', async () => {
    const token = await gw.token({ subject: 'quiet-fastpath', groups: ['ai-agents'], agent: true });
    const c = await RawPgClient.open(gw.port, gw.connection, token);
    const { processId } = await upstreamLogin('quiet-fastpath');
    const lastQuery = () =>
      direct(
        async (d) =>
          (await d.query('SELECT query FROM pg_stat_activity WHERE pid = $1', [processId])).rows[0]
            .query as string,
      );
    const types = (frames: readonly { type: number }[]) =>
      frames.map((f) => String.fromCharCode(f.type)).join('');
    c.send(msg.query('SELECT 1 AS before'));
    expect(types(await c.ready())).toBe('TDCZ');
    // A fast-path call names its function by OID only (here int4pl, 177): agents' policy refuses it.
    c.send(msg.functionCall(177, ['1', '2']));
    const refused = await c.ready();
    expect(types(refused)).toBe('EZ');
    expect(errorsIn(refused)[0]).toMatchObject({
      S: 'ERROR',
      C: '42501',
      D: 'Gatehouse rule: agents-no-unknown',
    });
    expect(refused.at(-1)?.body.toString()).toBe('I');
    expect(await lastQuery()).toBe('SELECT 1 AS before');
    // In a transaction the upstream must abort it: the refusal fails it there, as any error would.
    c.send(msg.query('BEGIN'));
    await c.ready();
    c.send(msg.functionCall(177, ['1', '2']));
    const inTx = await c.ready();
    expect(types(inTx)).toBe('EZ');
    expect(errorsIn(inTx)[0]?.C).toBe('42501');
    expect(inTx.at(-1)?.body.toString()).toBe('E');
    c.send(msg.query('SELECT 1'));
    expect(errorsIn(await c.ready())[0]?.C).toBe('25P02');
    c.send(msg.query('ROLLBACK'));
    expect((await c.ready()).at(-1)?.body.toString()).toBe('I');
    c.close();
  });

  it('a refused message in a pipeline keeps PostgreSQL order: the error in place, skipped to Sync', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await person());
    c.send(
      msg.parse('ok', 'SELECT 1'),
      msg.parse('no', 'DROP TABLE kept'),
      msg.bind('', 'ok'),
      msg.execute(''),
      msg.sync(),
      msg.bind('', 'ok'),
      msg.execute(''),
      msg.sync(),
    );
    const first = await c.ready();
    expect(first.map((f) => String.fromCharCode(f.type)).join('')).toBe('1EZ');
    expect(errorsIn(first)[0]?.D).toBe('Gatehouse rule: no-drop-table');
    const second = await c.ready();
    expect(second.map((f) => String.fromCharCode(f.type)).join('')).toBe('2DCZ');
    c.close();
  });

  it('Flush without Sync gets the batch answered so far (Gatehouse sends a batch upstream in one write)', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await person());
    c.send(
      msg.parse('', 'SELECT g FROM generate_series(1, 3) g'),
      msg.bind('', ''),
      msg.execute('', 1),
      msg.flush(),
    );
    const got = await c.until((f) => String.fromCharCode(f.type) === 's');
    expect(got.map((f) => String.fromCharCode(f.type)).join('')).toBe('12Ds');
    // The portal goes on after the Flush, then Sync ends the batch.
    c.send(msg.execute('', 0), msg.sync());
    const rest = await c.ready();
    expect(rest.map((f) => String.fromCharCode(f.type)).join('')).toBe('DDCZ');
    c.close();
  });
});
