// Issue 11, classes 1–3 and 7, through the real wire: the bytes Gatehouse decides are the bytes the
// server reads (pinned lexer settings, a tripwire and a barrier for changes it cannot see), the
// extended protocol's state is Gatehouse's own, and masking follows the portal that runs. Every
// attack runs as an agent under the default policy with a canary table that must survive.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { BackendCode, decodeDataRow } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, errorsIn, msg } from './testkit/raw-pg-client.js';

const run = promisify(execFile);
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: `
      CREATE TABLE canary (id int PRIMARY KEY);
      INSERT INTO canary SELECT generate_series(1, 3);
      CREATE TABLE api_keys (id int PRIMARY KEY, service text, secret text);
      INSERT INTO api_keys VALUES (1, 'billing', '${SECRET}'), (2, 'mail', '${SECRET}');
      -- Code Gatehouse cannot see into: functions that change the settings it pins.
      CREATE FUNCTION sneaky_strings() RETURNS int LANGUAGE plpgsql AS $$
        BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); RETURN 1; END $$;
      CREATE FUNCTION sneaky_encoding() RETURNS int LANGUAGE plpgsql AS $$
        BEGIN PERFORM set_config('client_encoding', 'SJIS', false); RETURN 1; END $$;`,
    extra: { masking: { columns: [{ column: 'api_keys.secret', tag: 'api_secret' }] } },
    // Column lineage would refuse the agent's calls of the functions above (their bodies cannot be
    // seen) before they run; these tests need them to run, so untraceable results are masked instead.
    connectionExtra: { masking: { unprovenLineage: 'mask' } },
  });
});
afterAll(async () => gw?.stop());

const agentToken = (subject = 'claude') => gw.token({ subject, groups: ['ai-agents'], agent: true });
const dbaToken = () => gw.token({ subject: 'dana', groups: ['dba'] });

async function canaryRows(): Promise<number> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    return (await c.query('SELECT count(*)::int AS n FROM canary')).rows[0].n as number;
  } finally {
    await c.end();
  }
}

async function withClient<T>(
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

const refusal = async (c: pg.Client, sql: string) =>
  (await c.query(sql).then(
    () => undefined,
    (e: unknown) => e as pg.DatabaseError,
  ))!;
const rule = (e: pg.DatabaseError | undefined) => /Gatehouse rule: (\S+)/.exec(e?.detail ?? '')?.[1];

describe('class 1: the lexer is pinned', () => {
  it.each([
    ['SET standard_conforming_strings = off'],
    ['SET LOCAL standard_conforming_strings TO 0'],
    ["SELECT set_config('standard_conforming_strings', 'off', false)"],
    ["SET client_encoding = 'SJIS'"],
    ["SET NAMES 'BIG5'"],
    ["SELECT set_config('client_encoding', 'GBK', false)"],
    ['SET backslash_quote = on'],
    ["UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'"],
    ["SELECT set_config(name, 'off', false) FROM pg_settings WHERE name LIKE 'standard%'"],
    ["ALTER ROLE CURRENT_USER SET client_encoding = 'SJIS'"],
    ['ALTER DATABASE current SET standard_conforming_strings = off'],
    ["CREATE FUNCTION f() RETURNS int LANGUAGE sql SET client_encoding = 'SJIS' AS 'select 1'"],
  ])('refuses %s for agents and for people alike', async (sql) => {
    for (const token of [await agentToken(), await dbaToken()]) {
      await withClient(token, async (c) => {
        const e = await refusal(c, sql);
        expect(e?.code, sql).toBe('42501');
        expect(rule(e)).toBe('pinned-setting');
      });
    }
  });

  it('keeps the pinned values, and allows setting them to what they are', async () => {
    await withClient(await agentToken(), async (c) => {
      await c.query("SET client_encoding = 'UTF8'");
      await c.query('SET standard_conforming_strings = on');
      await c.query('RESET ALL');
      const r = await c.query(
        "SELECT current_setting('client_encoding') AS e, current_setting('standard_conforming_strings') AS s, current_setting('backslash_quote') AS b",
      );
      expect(r.rows[0]).toEqual({ e: 'UTF8', s: 'on', b: 'safe_encoding' });
    });
  });

  it('a backslash string the server would split under standard_conforming_strings = off stays one literal', async () => {
    await withClient(await agentToken(), async (c) => {
      await refusal(c, 'SET standard_conforming_strings = off');
      const r = await c.query({ text: `SELECT 'x\\', ' ; DROP TABLE canary; -- '`, rowMode: 'array' });
      expect(r.rows[0]).toEqual(['x\\', ' ; DROP TABLE canary; -- ']);
    });
    expect(await canaryRows()).toBe(3);
  });

  it('refuses another client encoding at startup, with what to do', async () => {
    const token = await agentToken();
    for (const enc of ['SJIS', 'BIG5', 'GBK', 'GB18030', 'LATIN1']) {
      const e = (await RawPgClient.open(gw.port, gw.connection, token, { client_encoding: enc }).catch(
        (x: unknown) => x,
      )) as Error;
      expect(e.message).toMatch(/client_encoding is pinned to UTF8.*PGCLIENTENCODING/);
    }
    // UTF8 under any of its names is fine.
    (await RawPgClient.open(gw.port, gw.connection, token, { client_encoding: 'utf-8' })).close();
    const o = (await gw
      .client(token, { options: '-c standard_conforming_strings=off' })
      .connect()
      .catch((x: unknown) => x)) as pg.DatabaseError;
    expect(o.code).toBe('22023');
    expect(o.message).toMatch(/standard_conforming_strings is pinned/);
  });

  it('psql with PGCLIENTENCODING=SJIS is refused at startup', async () => {
    const psql = await run('which', ['psql']).then(
      () => 'psql',
      () => undefined,
    );
    if (!psql) return;
    const out = await run('psql', [gw.url(await agentToken()), '-Atc', 'SELECT 1'], {
      env: { ...process.env, PGCLIENTENCODING: 'SJIS', PGCONNECT_TIMEOUT: '5' },
    }).catch((e: { stderr: string }) => e);
    expect(String(out.stderr)).toMatch(/client_encoding is pinned to UTF8/);
  });

  it('an agent cannot call code that changes a pinned setting: a user function is procedural', async () => {
    await withClient(await agentToken(), async (c) => {
      expect(rule(await refusal(c, 'SELECT sneaky_strings()'))).toBe('agents-review-procedural');
    });
  });

  it('a hidden change of a pinned setting ends the session before any later text is read', async () => {
    // People may call user functions; the tripwire holds for them.
    for (const fn of ['sneaky_strings', 'sneaky_encoding']) {
      const c = await RawPgClient.open(gw.port, gw.connection, await dbaToken());
      // Two Query messages in one write: the second is held until the first has been answered, and
      // the first's ParameterStatus (the changed setting) ends the session before that.
      c.send(msg.query(`SELECT ${fn}()`), msg.query(`SELECT 'x\\', ' ; DROP TABLE canary; -- '`));
      const frames = await c.until(() => false);
      const fatal = errorsIn(frames).find((e) => e.S === 'FATAL');
      expect(fatal?.M, fn).toMatch(/was changed to .* by code Gatehouse could not see into/);
      expect(c.closed).toBe(true);
      expect(await canaryRows()).toBe(3);
    }
  });

  it('text that depends on the settings is refused after an Execute in the same pipeline without Sync', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await dbaToken());
    c.send(
      msg.parse('', 'SELECT sneaky_strings()'),
      msg.bind('', ''),
      msg.execute(''),
      msg.parse('evil', `SELECT 'x\\', ' ; DROP TABLE canary; -- '`),
      msg.sync(),
    );
    const frames = await c.until((f) => f.type === BackendCode.ReadyForQuery || c.closed);
    const errors = errorsIn(frames);
    expect(errors.some((e) => /lexer-barrier|could not see into/.test(`${e.D ?? ''} ${e.M ?? ''}`))).toBe(
      true,
    );
    c.close();
    expect(await canaryRows()).toBe(3);
  });

  it('ASCII text without backslashes goes through a pipeline as it is', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    c.send(
      msg.parse('', 'SELECT 1'),
      msg.bind('', ''),
      msg.execute(''),
      msg.parse('two', 'SELECT 2'),
      msg.bind('', 'two'),
      msg.execute(''),
      msg.sync(),
    );
    const frames = await c.ready();
    expect(errorsIn(frames)).toEqual([]);
    expect(frames.filter((f) => f.type === BackendCode.DataRow)).toHaveLength(2);
    c.close();
  });
});

describe('class 4: settings that change what a statement means', () => {
  it.each([
    ['SET transform_null_equals = on'],
    ['SET array_nulls = off'],
    ["SELECT set_config('transform_null_equals', 'on', false)"],
  ])('%s is refused for agents', async (sql) => {
    await withClient(await agentToken(), async (c) => {
      expect(rule(await refusal(c, sql))).toBe('agents-no-admin');
    });
  });
});

describe('class 2: Gatehouse owns the extended protocol', () => {
  it('a statement that needs review is not sent upstream before it is approved', async () => {
    await withClient(await agentToken(), async (c) => {
      const held = (await c
        .query({ name: 'pending_delete', text: 'DELETE FROM canary WHERE id = $1', values: [1] })
        .catch((e: unknown) => e)) as pg.DatabaseError;
      expect(held.code).toBe('42501'); // no approver configured: refused at Bind
      const prepared = await c.query('SELECT statement FROM pg_prepared_statements');
      expect(prepared.rows.map((r: { statement: string }) => r.statement).join('\n')).not.toContain('DELETE');
    });
    expect(await canaryRows()).toBe(3);
  });

  it('a re-Parse of an existing name is refused with 42P05 and the name keeps its first text', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    c.send(msg.parse('s1', 'SELECT 41 + 1'), msg.sync());
    await c.ready();
    c.send(msg.parse('s1', 'DELETE FROM canary WHERE id > 0'), msg.sync());
    const err = errorsIn(await c.ready());
    expect(err[0]?.C).toBe('42P05');
    c.send(msg.bind('', 's1'), msg.execute(''), msg.sync());
    const frames = await c.ready();
    const row = frames.find((f) => f.type === BackendCode.DataRow)!;
    expect(decodeDataRow(row.body)[0]!.toString()).toBe('42');
    c.close();
    expect(await canaryRows()).toBe(3);
  });

  it('EXECUTE of a name never prepared here is refused, in a Parse as in a Query', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    c.send(msg.parse('x', 'EXECUTE q'), msg.sync());
    expect(errorsIn(await c.ready())[0]?.D).toBe('Gatehouse rule: unknown-prepared-statement');
    c.send(msg.query('EXPLAIN ANALYZE EXECUTE q'));
    expect(errorsIn(await c.ready())[0]?.D).toMatch(/unknown-prepared-statement|agents-no-unknown/);
    c.close();
  });

  it('a PREPARE the server refused leaves nothing for EXECUTE', async () => {
    await withClient(await agentToken(), async (c) => {
      const e = await refusal(c, 'PREPARE r AS SELECT * FROM no_such_table');
      expect(e?.code).toBe('42P01');
      expect(rule(await refusal(c, 'EXECUTE r'))).toBe('unknown-prepared-statement');
    });
  });

  it('EXECUTE inherits the decision of what it runs', async () => {
    await withClient(await agentToken(), async (c) => {
      // PREPARE of a write is itself reviewed (no approver here: refused); so is its EXECUTE.
      expect(rule(await refusal(c, 'PREPARE w AS DELETE FROM canary WHERE id = $1'))).toBe(
        'agents-review-writes',
      );
      await c.query('PREPARE r AS SELECT count(*) FROM canary');
      expect((await c.query('EXECUTE r')).rows[0].count).toBe('3');
    });
  });

  it('a protocol portal cannot be driven from SQL (MOVE, FETCH), and reserved names are refused', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    c.send(msg.query('BEGIN'));
    await c.ready();
    c.send(msg.parse('', 'SELECT id FROM canary'), msg.bind('cur', ''), msg.sync());
    expect(errorsIn(await c.ready())).toEqual([]);
    c.send(msg.query('MOVE ALL IN cur'));
    expect(errorsIn(await c.ready())[0]?.D).toBe('Gatehouse rule: unknown-cursor');
    c.send(msg.query('ROLLBACK'));
    await c.ready();
    c.send(msg.query('FETCH ALL IN gatehouse_p1'));
    expect(errorsIn(await c.ready())[0]?.D).toBe('Gatehouse rule: reserved-name');
    c.close();
  });
});

describe('class 3: masking follows the portal being executed', () => {
  it('Describe of one portal and Execute of another: the executed one is masked', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    c.send(
      msg.parse('harmless', 'SELECT 1::int4'),
      msg.parse('secrets', 'SELECT secret FROM api_keys'),
      msg.bind('pa', 'harmless'),
      msg.bind('pb', 'secrets'),
      msg.describePortal('pa'),
      msg.execute('pb'),
      msg.sync(),
    );
    const frames = await c.ready();
    expect(errorsIn(frames)).toEqual([]);
    const rows = frames.filter((f) => f.type === BackendCode.DataRow);
    expect(rows).toHaveLength(2);
    const all = Buffer.concat(frames.map((f) => f.raw)).toString('latin1');
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(SECRET.slice(0, 12));
    c.close();
  });
});

describe('class 7: bounded session state', () => {
  it('large named Parse messages are refused past the per-session cap, and the gateway stays small', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    const filler = `SELECT '${'x'.repeat(200 * 1024)}'`;
    // What this process keeps, after a full collection: the process's RSS also counts garbage not yet
    // collected and what earlier test files in this worker left (seen 112 MB in a clean-clone CI run).
    const before = retained();
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      c.send(msg.parse(`big${i}`, filler), msg.sync());
      const errors = errorsIn(await c.ready());
      if (errors.length > 0) {
        expect(errors[0]!.C).toBe('54000');
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(300);
    // 400 texts of 200 KiB are 80 MiB, held at least twice (the text and what is sent upstream) without
    // the cap; with it, one session holds at most maxPreparedBytes (16 MiB) of them.
    expect(retained() - before).toBeLessThan(64 * 1024 * 1024);
    // Closing some makes room again.
    c.send(msg.close('S', 'big0'), msg.close('S', 'big1'), msg.parse('again', 'SELECT 1'), msg.sync());
    expect(errorsIn(await c.ready())).toEqual([]);
    c.close();
  });
});

describe('the record of a refused query string', () => {
  it('says why each sibling of a refused statement did not run', async () => {
    await withClient(await agentToken('recorded-agent'), async (c) => {
      const e = await refusal(c, 'SELECT 1; DROP TABLE canary');
      expect(e.code).toBe('42501');
    });
    expect(await canaryRows()).toBe(3);
    const sessions = await gw.gateway.store.listSessions({ subject: 'recorded-agent', limit: 5 });
    const got = await gw.gateway.store.getSession(sessions[0]!.id);
    const select = got!.statements.find((s) => s.text === 'SELECT 1')!;
    expect(JSON.stringify(select)).toMatch(/another statement in the same query string was refused/);
    expect(JSON.stringify(select)).not.toMatch(/an earlier error/);
  });
});

/** The heap and the buffers this process keeps once everything unreachable is collected. */
function retained(): number {
  collectGarbage();
  collectGarbage();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

let gcFunction: (() => void) | undefined;
function collectGarbage(): void {
  if (!gcFunction) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  gcFunction();
}
