// Reads run read-only (issue 11, docs/security.md): a SELECT that reaches code Gatehouse cannot see in
// its text (a view's function, a user-defined operator, cast or domain CHECK) is still decided as a
// read, and PostgreSQL itself refuses the write that code attempts, because an agent's session runs
// its reads in read-only transactions. A statement admitted as a write gets a read-write transaction
// Gatehouse opens itself. Real PostgreSQL, real clients (pg, psql, pgbench); the agent here may read
// and write (allow-all policy), so nothing but the access mode stands between it and the canary.

import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BackendCode, decodeDataRow } from '../src/wire/postgres/index.js';
import { HIDDEN_CODE_READS } from './testkit/differential-corpus.js';
import { DIFFERENTIAL_FIXTURE_SQL, LOG_SCHEMA } from './testkit/differential.js';
import { ALLOW_ALL, startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, errorsIn, msg } from './testkit/raw-pg-client.js';

const EXTRA_SQL = `
  -- Code a read reaches that turns the session's read-only default off.
  CREATE FUNCTION sneaky_rw() RETURNS int LANGUAGE plpgsql AS $$
    BEGIN PERFORM set_config('default_transaction_read_only', 'off', false); RETURN 1; END $$;
  CREATE VIEW sneaky_rw_view AS SELECT sneaky_rw() AS x;
`;

let gw: TestGateway;
let direct: pg.Client;
let agentToken: string;
let personToken: string;
let narrowToken: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    setupSql: DIFFERENTIAL_FIXTURE_SQL + EXTRA_SQL,
    policies: [
      ...ALLOW_ALL,
      {
        // An agent that may read anything but write only table t (nothing allows other writes).
        id: 'narrow',
        subjects: { groups: ['narrow'] },
        connections: ['*'],
        rules: [
          { id: 'writes-to-t', effect: 'allow', match: { categories: ['write'], tables: ['t'] } },
          { id: 'reads', effect: 'allow', match: { categories: ['read', 'transaction', 'session'] } },
        ],
      },
    ],
  });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  agentToken = await gw.token({ subject: 'agent-rw', agent: true });
  narrowToken = await gw.token({ subject: 'agent-narrow', groups: ['narrow'], agent: true });
  personToken = await gw.token({ subject: 'pat' });
});
afterAll(async () => {
  await direct?.end();
  await gw?.stop();
});

async function canaryRows(): Promise<number> {
  return (await direct.query('SELECT count(*)::int AS n FROM canary')).rows[0].n as number;
}

async function restore(): Promise<void> {
  await direct.query(
    `INSERT INTO canary SELECT g, 'row ' || g FROM generate_series(1, 3) g ON CONFLICT DO NOTHING;
     UPDATE canary SET v = 'row ' || id; UPDATE t SET v = 'v' || id; TRUNCATE ${LOG_SCHEMA}.dml_log, ${LOG_SCHEMA}.ddl_log`,
  );
}

async function clientOf(token: string): Promise<pg.Client> {
  const c = gw.client(token);
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const agentClient = () => clientOf(agentToken);

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string; detail?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string; detail?: string };
  }
  throw new Error('expected the statement to fail');
}

describe('a read that reaches hidden code cannot write', () => {
  it.each(HIDDEN_CODE_READS.map((e) => [String(e.text), e.why]))(
    '%s (%s): 25006, the canary intact',
    async (text) => {
      const c = await agentClient();
      try {
        // simple protocol
        expect((await failure(c.query(String(text)))).code).toBe('25006');
        expect(await canaryRows()).toBe(3);
        // extended protocol (a parameter forces Parse/Bind/Execute)
        const ext = await failure(c.query(`${String(text)} WHERE $1::int = 1`, [1]));
        expect(ext.code).toBe('25006');
        expect(await canaryRows()).toBe(3);
      } finally {
        await c.end();
        await restore();
      }
    },
  );

  it('inside BEGIN … COMMIT, and after a write in the same connection', async () => {
    const c = await agentClient();
    try {
      await c.query('BEGIN');
      expect((await failure(c.query('SELECT * FROM canary_report'))).code).toBe('25006');
      await c.query('ROLLBACK');
      // An admitted write runs (read-write, opened by Gatehouse)…
      expect((await c.query("UPDATE canary SET v = 'written' WHERE id = 1")).rowCount).toBe(1);
      // …and the next read is read-only again.
      expect((await failure(c.query('SELECT * FROM canary_report'))).code).toBe('25006');
      expect(await canaryRows()).toBe(3);
      expect((await direct.query('SELECT v FROM canary WHERE id = 1')).rows[0].v).toBe('written');
    } finally {
      await c.end();
      await restore();
    }
  });

  it('pipelined: a write and a hidden-write read sent together', async () => {
    const raw = await RawPgClient.open(gw.port, gw.connection, agentToken);
    try {
      raw.send(
        msg.query("UPDATE canary SET v = 'piped' WHERE id = 2"),
        msg.query('SELECT * FROM canary_report'),
      );
      const first = await raw.until((f) => f.type === BackendCode.ReadyForQuery);
      expect(errorsIn(first)).toEqual([]);
      const second = await raw.until((f) => f.type === BackendCode.ReadyForQuery);
      expect(errorsIn(second).map((e) => e.C)).toEqual(['25006']);
      // The same with the extended protocol: a write batch, then a read batch.
      raw.send(
        msg.parse('', "UPDATE canary SET v = 'ext' WHERE id = 3"),
        msg.bind('', ''),
        msg.execute(''),
        msg.sync(),
        msg.parse('', 'SELECT 1 ### 2'),
        msg.bind('', ''),
        msg.execute(''),
        msg.sync(),
      );
      const w = await raw.until((f) => f.type === BackendCode.ReadyForQuery);
      expect(errorsIn(w)).toEqual([]);
      const r = await raw.until((f) => f.type === BackendCode.ReadyForQuery);
      expect(errorsIn(r).map((e) => e.C)).toEqual(['25006']);
      expect(await canaryRows()).toBe(3);
      expect((await direct.query('SELECT v FROM canary ORDER BY id')).rows.map((x) => x.v)).toEqual([
        'row 1',
        'piped',
        'ext',
      ]);
    } finally {
      raw.close();
      await restore();
    }
  });

  it('code that turns the read-only default off ends the session', async () => {
    const c = await agentClient();
    const err = await failure(c.query('SELECT * FROM sneaky_rw_view'));
    expect(err.message).toMatch(/default_transaction_read_only was turned off/);
    await c.end().catch(() => undefined);
  });

  it('a person is not affected (readOnlyReads: agents)', async () => {
    const c = gw.client(personToken);
    await c.connect();
    try {
      await c.query('SELECT * FROM canary_report');
      expect(await canaryRows()).toBe(0);
    } finally {
      await c.end();
      await restore();
    }
  });
});

describe('writes the gate admitted run', () => {
  it('autocommit, with parameters (extended), and in a transaction that begins with the write', async () => {
    const c = await agentClient();
    try {
      expect((await c.query('UPDATE canary SET v = $1 WHERE id = $2', ['p', 1])).rowCount).toBe(1);
      await c.query('BEGIN');
      await c.query("UPDATE canary SET v = 'tx' WHERE id = 2");
      expect((await c.query('SELECT v FROM canary WHERE id = 2')).rows[0].v).toBe('tx');
      await c.query('COMMIT');
      await c.query("BEGIN; UPDATE canary SET v = 'one string' WHERE id = 3; COMMIT");
      expect((await direct.query('SELECT v FROM canary ORDER BY id')).rows.map((x) => x.v)).toEqual([
        'p',
        'tx',
        'one string',
      ]);
      // DDL, sequences and SELECT … FOR UPDATE are writes too.
      await c.query('CREATE TABLE scratch_rw (id int)');
      await c.query("SELECT nextval('s')");
      await c.query('BEGIN');
      await c.query('SELECT * FROM canary WHERE id = 1 FOR UPDATE');
      await c.query('COMMIT');
      await c.query('DROP TABLE scratch_rw');
    } finally {
      await c.end();
      await restore();
    }
  });

  it('a transaction that has already read cannot write (the server says 25006)', async () => {
    const c = await agentClient();
    try {
      await c.query('BEGIN');
      await c.query('SELECT 1');
      expect((await failure(c.query("UPDATE canary SET v = 'x' WHERE id = 1"))).code).toBe('25006');
      await c.query('ROLLBACK');
    } finally {
      await c.end();
    }
  });

  it.each(['simple', 'extended', 'prepared'])('pgbench TPC-B as the agent, %s protocol', async (mode) => {
    const init = await run('pgbench', ['-i', '-s', '1', '-q', gw.directUrl]);
    expect(init.code, init.stderr).toBe(0);
    const r = await run('pgbench', ['-n', '-M', mode, '-c', '2', '-t', '20'], {
      PGPASSWORD: agentToken,
      PGHOST: '127.0.0.1',
      PGPORT: String(gw.port),
      PGUSER: 'agent',
      PGDATABASE: gw.connection,
      PGSSLMODE: 'disable',
    });
    expect(r.stderr).not.toMatch(/error|FATAL/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('number of transactions actually processed: 40/40');
  });
});

describe('Gatehouse’s own access-mode steps leave the client’s objects alone', () => {
  // The steps are Gatehouse's own statements, sent between the client's batches. As a simple Query
  // they dropped the server's unnamed prepared statement (PostgreSQL drops it at every Query), so a
  // client that bound its unnamed statement again after a write got 26000 where PostgreSQL answers.
  it('an unnamed statement bound again across a write and back runs as it would directly', async () => {
    const raw = await RawPgClient.open(gw.port, gw.connection, agentToken);
    try {
      raw.send(msg.parse('', 'SELECT v FROM t WHERE id = 1'), msg.sync());
      expect(errorsIn(await raw.ready())).toEqual([]);
      // A write (a named statement): read-write first, by a step of Gatehouse's own.
      raw.send(
        msg.parse('w', "UPDATE t SET v = 'written' WHERE id = 2"),
        msg.bind('', 'w'),
        msg.execute(''),
        msg.sync(),
      );
      expect(errorsIn(await raw.ready())).toEqual([]);
      // The read: read-only again first, by another step; the unnamed statement is still the client's.
      for (let i = 0; i < 2; i++) {
        raw.send(msg.bind('', ''), msg.execute(''), msg.sync());
        const frames = await raw.ready();
        expect(errorsIn(frames)).toEqual([]);
        expect(
          frames
            .filter((f) => f.type === BackendCode.DataRow)
            .map((f) => decodeDataRow(f.body)[0]?.toString()),
        ).toEqual(['v1']);
        raw.send(msg.bind('', 'w'), msg.execute(''), msg.sync());
        expect(errorsIn(await raw.ready())).toEqual([]);
      }
      expect((await direct.query('SELECT v FROM t WHERE id = 2')).rows[0].v).toBe('written');
    } finally {
      raw.close();
      await restore();
    }
  });
});

describe('a read in a read-write transaction is decided as a write too', () => {
  // The agent may write table t only. A read that runs in the read-write transaction opened for its
  // write is no longer protected by read-only, so it needs what a write of the tables it reads needs.
  const narrow = () => clientOf(narrowToken);

  it('in the same query string as the write', async () => {
    const c = await narrow();
    try {
      // A plain read of another table: in the write's read-write transaction it is decided as a write
      // of it. (A read of canary_report, whose view calls user code, is procedural since class 130.)
      const err = await failure(c.query("UPDATE t SET v = 'x' WHERE id = 1; SELECT * FROM canary"));
      expect(err.code).toBe('42501');
      expect(err.message).toMatch(/decided as a write/);
      expect(await canaryRows()).toBe(3);
      expect((await direct.query('SELECT v FROM t WHERE id = 1')).rows[0].v).toBe('v1');
    } finally {
      await c.end();
      await restore();
    }
  });

  it('later in the transaction block, in both protocols; after it, reads run read-only', async () => {
    const c = await narrow();
    try {
      await c.query('BEGIN');
      await c.query("UPDATE t SET v = 'y' WHERE id = 2");
      // Even a read of the table it wrote: code a read reaches could write any table.
      expect((await failure(c.query('SELECT v FROM t WHERE id = $1', [2]))).message).toMatch(
        /decided as a write/,
      );
      await c.query('ROLLBACK');
      await c.query('BEGIN');
      await c.query("UPDATE t SET v = 'y' WHERE id = 2");
      expect((await failure(c.query('SELECT * FROM canary'))).message).toMatch(/decided as a write/);
      await c.query('ROLLBACK');
      await c.query('BEGIN');
      await c.query("UPDATE t SET v = 'y' WHERE id = 2");
      // A user operator is user code whatever the transaction (class 125): refused as procedural,
      // which this principal may not run.
      expect((await failure(c.query('SELECT 1 ### $1', [2]))).message).toMatch(/procedural/);
      await c.query('ROLLBACK');
      // After the transaction, reads are read-only again and allowed as reads; the write's RETURNING
      // is how to read in the same statement.
      expect((await c.query('SELECT v FROM t WHERE id = 2')).rows[0].v).toBe('v2');
      expect((await c.query("UPDATE t SET v = 'z' WHERE id = 2 RETURNING v")).rows[0].v).toBe('z');
      // A view that calls user code is procedural (class 130), which this principal may not run.
      expect((await failure(c.query('SELECT * FROM canary_report'))).message).toMatch(/\(procedural\)/);
      expect((await c.query('SELECT count(*)::int AS n FROM canary')).rows[0].n).toBe(3);
      expect(await canaryRows()).toBe(3);
    } finally {
      await c.end();
      await restore();
    }
  });

  it('COMMIT AND CHAIN carries the read-write mode into the next transaction, and the decision with it', async () => {
    const c = await narrow();
    try {
      for (const begin of ["BEGIN; UPDATE t SET v = 'c' WHERE id = 3", 'BEGIN']) {
        // As one string (the window Gatehouse opened), and as BEGIN then the write (SET TRANSACTION).
        await c.query(begin);
        if (begin === 'BEGIN') await c.query("UPDATE t SET v = 'c' WHERE id = 3");
        await c.query('COMMIT AND CHAIN');
        expect((await failure(c.query('SELECT * FROM canary'))).message).toMatch(/decided as a write/);
        await c.query('ROLLBACK');
        expect(await canaryRows()).toBe(3);
      }
    } finally {
      await c.end();
      await restore();
    }
  });
});

describe('turning the default back on does not make an open read-write transaction read-only (class 173)', () => {
  // The write opened its transaction while the default was off (one Query string, sent idle). The
  // client then turns the default on inside the block: the server reports it, but the open
  // transaction stays read-write. Gatehouse took the report for the transaction's mode and decided
  // the next reads as reads: a domain CHECK or a user cast then emptied the canary, which this
  // principal may not write.
  const narrow = () => clientOf(narrowToken);

  it.each([
    ['SET default_transaction_read_only = on'],
    ['SET LOCAL default_transaction_read_only = on'],
    ['RESET default_transaction_read_only'],
    ['RESET ALL'],
  ])('after %s, reads in the block are still decided as writes', async (flip) => {
    for (const read of ['SELECT 1::canary_checked', 'SELECT 1::canary_pair', 'SELECT * FROM canary']) {
      const c = await narrow();
      try {
        await c.query("BEGIN; UPDATE t SET v = 'f' WHERE id = 3");
        await c.query(flip);
        // The domain's CHECK and the user cast call purge_canary(): since class 225 Gatehouse sees
        // them as user code (procedural, which this principal may not run).
        expect((await failure(c.query(read))).message).toMatch(/decided as a write|\(procedural\)/);
        expect(await canaryRows()).toBe(3);
      } finally {
        await c.end().catch(() => undefined);
        await restore();
      }
    }
  });

  it('the extended protocol too', async () => {
    const c = await narrow();
    try {
      await c.query("BEGIN; UPDATE t SET v = 'f' WHERE id = 3");
      await c.query('RESET ALL');
      expect((await failure(c.query('SELECT $1::int::canary_checked', [1]))).message).toMatch(
        /decided as a write|\(procedural\)/,
      );
      expect(await canaryRows()).toBe(3);
    } finally {
      await c.end().catch(() => undefined);
      await restore();
    }
  });

  it('a transaction that starts after the default is on again runs reads read-only', async () => {
    const c = await narrow();
    try {
      await c.query("BEGIN; UPDATE t SET v = 'f' WHERE id = 3");
      await c.query('COMMIT');
      await c.query('RESET ALL');
      // The transaction is read-only again (the domain CHECK and the user cast, which would show it
      // with 25006, are user code Gatehouse refuses this principal since class 225).
      expect((await c.query('SHOW transaction_read_only')).rows[0].transaction_read_only).toBe('on');
      expect((await c.query('SELECT count(*)::int AS n FROM canary')).rows[0].n).toBe(3);
      expect(await canaryRows()).toBe(3);
    } finally {
      await c.end().catch(() => undefined);
      await restore();
    }
  });
});

describe('a prepared write run by SQL EXECUTE is a write', () => {
  it('gets its read-write transaction; a prepared hidden-code read stays read-only', async () => {
    const c = await agentClient();
    try {
      // r first: preparing a read of a view that calls user code counts as that code (class 225),
      // after which a statement prepared before it is no longer trusted.
      await c.query('PREPARE r AS SELECT * FROM canary_report');
      await c.query("PREPARE w AS UPDATE canary SET v = 'prepared' WHERE id = 1");
      expect((await c.query('EXECUTE w')).rowCount).toBe(1);
      expect((await failure(c.query('EXECUTE r'))).code).toBe('25006');
      expect(await canaryRows()).toBe(3);
      expect((await direct.query('SELECT v FROM canary WHERE id = 1')).rows[0].v).toBe('prepared');
    } finally {
      await c.end();
      await restore();
    }
  });
});

describe('the access mode is Gatehouse’s', () => {
  it.each([
    'BEGIN READ WRITE',
    'START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE',
    'SET TRANSACTION READ WRITE',
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
    'SET default_transaction_read_only = off',
    'SET transaction_read_only = false',
    "SELECT set_config('default_transaction_read_only', 'off', false)",
  ])('%s is refused', async (text) => {
    const c = await agentClient();
    try {
      const err = await failure(c.query(text));
      expect(err.code).toBe('42501');
      expect(err.detail ?? '').toContain('read-only-reads');
    } finally {
      await c.end();
    }
  });

  it('BEGIN READ ONLY and RESET are fine', async () => {
    const c = await agentClient();
    try {
      // What the README's tour shows: the server's value, set by Gatehouse at login.
      expect(
        (await c.query('SHOW default_transaction_read_only')).rows[0].default_transaction_read_only,
      ).toBe('on');
      await c.query('BEGIN READ ONLY');
      await c.query('ROLLBACK');
      await c.query('RESET default_transaction_read_only');
      await c.query('RESET ALL');
      expect((await failure(c.query('SELECT * FROM canary_report'))).code).toBe('25006');
    } finally {
      await c.end();
      await restore();
    }
  });

  it('at startup: options -c default_transaction_read_only=off is refused', async () => {
    const c = gw.client(agentToken, { options: '-c default_transaction_read_only=off' });
    const err = await failure(c.connect());
    expect(err.message).toMatch(/read-only transactions/);
  });
});

function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
