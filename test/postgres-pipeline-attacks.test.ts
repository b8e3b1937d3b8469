// Hostile pipelines against the PostgreSQL engine's fast paths, through the real wire and a real
// server: names Gatehouse uses for its own upstream messages, literal templates, skipped messages
// after errors. Every bypass found becomes a test here (DESIGN.md example 10).

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { BackendCode, decodeDataRow, decodeErrorFields, type Frame } from '../src/wire/postgres/index.js';
import { ALLOW_ALL, startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg, typed } from './testkit/raw-pg-client.js';

const CARD = '4111111111111111';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: `
      CREATE TABLE cards (id int PRIMARY KEY, holder text, number text);
      INSERT INTO cards SELECT g, 'holder ' || g, '${CARD}' FROM generate_series(1, 5) g;`,
    extra: { masking: { columns: [{ column: 'cards.number', tag: 'card' }] } },
  });
});
afterAll(async () => gw?.stop());

const agentToken = () => gw.token({ subject: 'claude-pipeline', groups: ['ai-agents'], agent: true });
const rawText = (frames: Frame[]) => Buffer.concat(frames.map((f) => f.raw)).toString('latin1');
const errors = (frames: Frame[]) =>
  frames.filter((f) => f.type === BackendCode.ErrorResponse).map((f) => decodeErrorFields(f.body));

describe("names of Gatehouse's own upstream messages", () => {
  it('a cursor named like the poison portal cannot make a refusal return its rows unmasked', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    try {
      c.send(msg.query('BEGIN'));
      await c.ready();
      c.send(msg.query('DECLARE "gatehouse refused this message" CURSOR FOR SELECT number FROM cards'));
      const declared = await c.ready();
      // Whether the name is refused outright or not, what follows must never leak the card.
      // A Bind to a statement that does not exist is refused; in a transaction the refusal goes upstream.
      c.send(msg.bind('', 'no such statement'), msg.sync());
      const refused = await c.ready();
      // The refusal aborted the transaction, as PostgreSQL's own error would.
      c.send(msg.query('ROLLBACK'), msg.query('SELECT 1'));
      await c.ready();
      const after = await c.ready();
      const all = [...declared, ...refused, ...after];
      expect(rawText(all)).not.toContain(CARD);
      expect(refused.filter((f) => f.type === BackendCode.DataRow)).toHaveLength(0);
      expect(errors(refused).length).toBeGreaterThan(0);
      // The session stays in step: the next query answers for itself.
      const rows = after.filter((f) => f.type === BackendCode.DataRow).map((f) => decodeDataRow(f.body));
      expect(rows.map((r) => r.map((x) => x?.toString()))).toEqual([['1']]);
    } finally {
      c.socket.destroy();
    }
  });
});

describe('messages the upstream answers where Gatehouse expects nothing', () => {
  // A Flush or Sync with bytes after its type and length is an ERROR upstream (invalid message
  // format); after a Flush the server then skips to Sync. A tracker that did not expect that error
  // would attribute every later answer to the message before it.
  for (const [name, bad] of [
    ['Flush', typed('H', Buffer.from('x'))],
    ['Sync', typed('S', Buffer.from('x'))],
  ] as const) {
    it(`a ${name} with a body cannot put the relay out of step with the server`, async () => {
      const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
      try {
        c.send(bad);
        const first = await c.until(
          (f) => f.type === BackendCode.ErrorResponse || f.type === BackendCode.ReadyForQuery,
        );
        const batch = () => [
          msg.parse('', 'SELECT number FROM cards ORDER BY id'),
          msg.bind('', ''),
          msg.execute('', 0),
          msg.sync(),
        ];
        const seen: Frame[] = [...first];
        // A batch the server would skip whole if it were still skipping (its Sync ends the skip).
        if (!c.closed) {
          c.send(msg.parse('', 'SELECT 1'), msg.sync());
          seen.push(...(await c.ready()));
        }
        for (let i = 0; i < 2 && !c.closed; i++) {
          c.send(...batch());
          seen.push(...(await c.ready()));
        }
        expect(rawText(seen)).not.toContain(CARD);
        if (!c.closed) {
          const cells = seen
            .filter((f) => f.type === BackendCode.DataRow)
            .map((f) => decodeDataRow(f.body)[0]?.toString());
          for (const cell of cells) expect(cell).toBe('[REDACTED:card]');
        }
      } finally {
        c.socket.destroy();
      }
    });
  }
});

describe('a pipeline that outruns a busy server', () => {
  let open: TestGateway;
  beforeAll(async () => {
    open = await startTestGateway({ superUrl: inject('pgUrl'), policies: ALLOW_ALL });
  });
  afterAll(async () => open?.stop());

  it('messages that arrive while Gatehouse waits for the upstream to drain are still handled', async () => {
    const c = await RawPgClient.open(open.port, open.connection, await open.token());
    try {
      // The server sleeps, so what follows fills the socket buffers towards it: Gatehouse's writes
      // upstream wait for 'drain' while the client's last messages arrive.
      const filler = `SELECT 1 /* ${'x'.repeat(60_000)} */`;
      const parses = Array.from({ length: 120 }, () => msg.parse('', filler));
      c.send(msg.query('SELECT pg_sleep(1.5)'), ...parses);
      await new Promise((r) => setTimeout(r, 500));
      c.send(msg.bind('', ''), msg.execute('', 0), msg.sync());
      const answered = await Promise.race([
        (async () => {
          await c.ready();
          return c.ready();
        })(),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
      ]);
      expect(answered, 'the pipeline was answered').toBeDefined();
      const rows = answered!.filter((f) => f.type === BackendCode.DataRow).map((f) => decodeDataRow(f.body));
      expect(rows.map((r) => r.map((x) => x?.toString()))).toEqual([['1']]);
    } finally {
      c.socket.destroy();
    }
  }, 30_000);
});

describe('messages split at every byte', () => {
  it('a mixed pipeline sent one byte per write is answered as when sent whole, masked', async () => {
    const token = await agentToken();
    const pipeline = Buffer.concat([
      msg.parse('s', 'SELECT id, number FROM cards WHERE id <= 2 ORDER BY id'),
      msg.bind('', 's'),
      msg.execute('', 1),
      msg.execute('', 0),
      msg.bind('no', 'missing'),
      msg.execute('no', 0),
      msg.sync(),
      msg.query('SELECT number FROM cards WHERE id = 3; SELECT 2'),
      msg.bind('', 's'),
      msg.describePortal(''),
      msg.execute('', 0),
      msg.close('S', 's'),
      msg.sync(),
    ]);
    const shape = (frames: Frame[]) =>
      frames.map((f) =>
        f.type === BackendCode.DataRow
          ? `D:${decodeDataRow(f.body)
              .map((x) => x?.toString())
              .join(',')}`
          : f.type === BackendCode.ErrorResponse
            ? `E:${decodeErrorFields(f.body).C}`
            : String.fromCharCode(f.type),
      );
    const run = async (split: boolean) => {
      const c = await RawPgClient.open(gw.port, gw.connection, token);
      try {
        c.socket.setNoDelay(true);
        if (!split) c.send(pipeline);
        else
          for (let i = 0; i < pipeline.length; i++) {
            c.socket.write(pipeline.subarray(i, i + 1));
            await new Promise((r) => setTimeout(r, 0));
          }
        const frames = [...(await c.ready()), ...(await c.ready()), ...(await c.ready())];
        expect(rawText(frames)).not.toContain(CARD);
        return shape(frames);
      } finally {
        c.socket.destroy();
      }
    };
    const whole = await run(false);
    expect(whole).toContain('D:1,[REDACTED:card]');
    expect(await run(true)).toEqual(whole);
  }, 60_000);
});

describe('answers that arrive after later messages went upstream', () => {
  // The ReadyForQuery of a slow batch ends that batch's transaction, and its portals with it; a Bind
  // the client sent after that batch (forwarded before the answer came back) binds a portal of the
  // next transaction, which the server keeps. Seen as a spurious 34000 when a client's Describe came
  // in a later TCP segment than its Bind while the server was slow (the split test above, under load).
  it('a portal bound while an earlier batch was still running outlives that batch’s ReadyForQuery', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    try {
      c.send(msg.parse('s', 'SELECT id, number FROM cards WHERE id <= 2 ORDER BY id'), msg.sync());
      await c.ready();
      for (const portal of ['', 'named']) {
        c.send(msg.query('SELECT pg_sleep(0.4)'));
        await new Promise((r) => setTimeout(r, 100));
        // Forwarded while the sleep runs: the server binds it after the Query, in a new transaction.
        c.send(msg.bind(portal, 's'));
        const slept = await c.ready();
        expect(errors(slept)).toEqual([]);
        c.send(msg.describePortal(portal), msg.execute(portal, 0), msg.sync());
        const frames = await c.ready();
        expect(errors(frames)).toEqual([]);
        const rows = frames.filter((f) => f.type === BackendCode.DataRow).map((f) => decodeDataRow(f.body));
        expect(rows.map((r) => r.map((x) => x?.toString()))).toEqual([
          ['1', '[REDACTED:card]'],
          ['2', '[REDACTED:card]'],
        ]);
        expect(rawText(frames)).not.toContain(CARD);
      }
    } finally {
      c.socket.destroy();
    }
  }, 30_000);
});

// Code that runs inside the upstream session and that Gatehouse cannot see into (a DO block, CALL, a
// user-defined function doing dynamic SQL) can find every prepared statement and cursor by name
// (pg_prepared_statements, pg_cursors) and replace it: DEALLOCATE, then PREPARE of the same name.
// Once such a statement is admitted, what a later Bind, EXECUTE, Execute or FETCH runs must still be
// what Gatehouse decided (or be refused), and a masked column must never come back in clear.
describe('code Gatehouse cannot see into replacing its prepared statements and portals', () => {
  let gwp: TestGateway;
  /** Without masking: in a transaction after a DO block, or with a function's results, column rules
   * would withhold results Gatehouse cannot trace (before any of what is tested here happens). */
  let plain: TestGateway;
  const statementsSql = `
    names := ARRAY(SELECT name FROM pg_prepared_statements);
    FOREACH n IN ARRAY names LOOP
      EXECUTE format('DEALLOCATE %I', n);
      EXECUTE format('PREPARE %I AS SELECT number FROM cards ORDER BY id LIMIT 1', n);
    END LOOP;`;
  const cursorsSql = `
    names := ARRAY(SELECT name FROM pg_cursors WHERE name <> '' AND name NOT LIKE '<unnamed%');
    FOREACH n IN ARRAY names LOOP
      EXECUTE format('CLOSE %I', n);
      EXECUTE format('DECLARE %I CURSOR WITH HOLD FOR SELECT number FROM cards ORDER BY id', n);
    END LOOP;`;
  const hijackDo = `DO $$ DECLARE names text[]; n text; BEGIN ${statementsSql} ${cursorsSql} END $$`;

  beforeAll(async () => {
    gwp = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: [
        {
          id: 'procedural-allowed',
          subjects: { groups: ['ai-agents'] },
          connections: ['*'],
          rules: [{ id: 'allow-everything-masked', effect: 'allow', match: {}, mask: true }],
        },
      ],
      setupSql: `
        CREATE TABLE cards (id int PRIMARY KEY, holder text, number text);
        INSERT INTO cards SELECT g, 'holder ' || g, '${CARD}' FROM generate_series(1, 5) g;
        CREATE FUNCTION hijack() RETURNS int LANGUAGE plpgsql AS $f$
          DECLARE names text[]; n text; BEGIN ${statementsSql} ${cursorsSql} RETURN 1; END $f$;
        CREATE PROCEDURE hijack_proc() LANGUAGE plpgsql AS $f$ BEGIN PERFORM hijack(); END $f$;`,
      extra: { masking: { columns: [{ column: 'cards.number', tag: 'card' }] } },
    });
    plain = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: ALLOW_ALL,
      setupSql: `
        CREATE TABLE cards (id int PRIMARY KEY, holder text, number text);
        INSERT INTO cards SELECT g, 'holder ' || g, '${CARD}' FROM generate_series(1, 5) g;
        CREATE FUNCTION hijack_statements() RETURNS int LANGUAGE plpgsql AS $f$
          DECLARE names text[]; n text; BEGIN ${statementsSql} RETURN 1; END $f$;`,
    });
  });
  afterAll(async () => {
    await gwp?.stop();
    await plain?.stop();
  });
  const openPlain = async () => RawPgClient.open(plain.port, plain.connection, await plain.token());

  const open = async () =>
    RawPgClient.open(
      gwp.port,
      gwp.connection,
      await gwp.token({ subject: 'claude-hijack', groups: ['ai-agents'], agent: true }),
    );
  const cells = (frames: Frame[]) =>
    frames
      .filter((f) => f.type === BackendCode.DataRow)
      .map((f) => decodeDataRow(f.body).map((x) => x?.toString() ?? null));
  const types = (frames: Frame[]) => frames.map((f) => String.fromCharCode(f.type)).join('');
  const hijack = async (c: RawPgClient) => {
    c.send(msg.query(hijackDo));
    const done = await c.ready();
    expect(errors(done), 'the DO block is admitted and runs').toEqual([]);
    return done;
  };

  it('a DO block cannot replace a protocol prepared statement: Bind prepares the decided text again', async () => {
    const c = await open();
    try {
      c.send(msg.parse('s', "SELECT 'decided' AS v"), msg.sync());
      expect(types(await c.ready())).toBe('1Z');
      await hijack(c);
      for (let i = 0; i < 2; i++) {
        c.send(msg.bind('', 's'), msg.execute('', 0), msg.sync());
        const frames = await c.ready();
        expect(rawText(frames)).not.toContain(CARD);
        expect(errors(frames)).toEqual([]);
        expect(cells(frames)).toEqual([['decided']]);
        // Exactly what PostgreSQL answers: no ParseComplete or CloseComplete of Gatehouse's own.
        expect(types(frames)).toBe('2DCZ');
      }
      // Describe of the statement answers for the decided text too.
      await hijack(c);
      c.send(msg.describeStatement('s'), msg.sync());
      const described = await c.ready();
      expect(types(described)).toBe('tTZ');
      expect(rawText(described)).toContain('v\0');
      c.send(msg.bind('', 's'), msg.execute('', 0), msg.sync());
      expect(cells(await c.ready())).toEqual([['decided']]);
    } finally {
      c.close();
    }
  });

  it('a DO block cannot replace a statement prepared in SQL: EXECUTE and Bind of it are refused', async () => {
    const c = await open();
    try {
      c.send(msg.query("PREPARE q AS SELECT 'decided' AS v"));
      expect(errors(await c.ready())).toEqual([]);
      await hijack(c);
      c.send(msg.query('EXECUTE q'));
      const executed = await c.ready();
      expect(rawText(executed)).not.toContain(CARD);
      expect(cells(executed)).toEqual([]);
      expect(errors(executed).map((e) => e.M)).toEqual([expect.stringContaining('PREPARE it again')]);
      // By protocol too: the name is the client's own, which SQL reaches (not prepared again behind it).
      c.send(msg.bind('', 'q'), msg.execute('', 0), msg.sync());
      const bound = await c.ready();
      expect(rawText(bound)).not.toContain(CARD);
      expect(types(bound)).toBe('EZ');
      expect(errors(bound).map((e) => [e.C, e.M])).toEqual([
        ['55000', expect.stringContaining('PREPARE it again')],
      ]);
      // DEALLOCATE and PREPARE again restore it.
      c.send(msg.query("DEALLOCATE q; PREPARE q AS SELECT 'again' AS v; EXECUTE q"));
      const again = await c.ready();
      expect(errors(again)).toEqual([]);
      expect(cells(again)).toEqual([['again']]);
      // Within one query string: the DO block comes between PREPARE and EXECUTE.
      c.send(msg.query(`PREPARE q2 AS SELECT 'decided'; ${hijackDo}; EXECUTE q2`));
      const inOne = await c.ready();
      expect(rawText(inOne)).not.toContain(CARD);
      expect(cells(inOne)).toEqual([]);
      expect(errors(inOne)).toHaveLength(1);
    } finally {
      c.close();
    }
  });

  it('a DO block cannot replace a portal or an SQL cursor: Execute and FETCH are refused', async () => {
    const c = await open();
    try {
      c.send(msg.query('BEGIN'));
      await c.ready();
      c.send(
        msg.parse('s', "SELECT 'decided' AS v FROM generate_series(1, 3)"),
        msg.bind('p', 's'),
        msg.execute('p', 1),
        msg.sync(),
      );
      expect(cells(await c.ready())).toEqual([['decided']]);
      c.send(msg.query("DECLARE c CURSOR FOR SELECT 'decided' AS v FROM generate_series(1, 3)"));
      expect(errors(await c.ready())).toEqual([]);
      await hijack(c);
      c.send(msg.execute('p', 0), msg.sync());
      const executed = await c.ready();
      expect(rawText(executed)).not.toContain(CARD);
      expect(cells(executed)).toEqual([]);
      expect(errors(executed).map((e) => [e.C, e.M])).toEqual([
        ['55000', expect.stringContaining('bind it again')],
      ]);
      c.send(msg.query('ROLLBACK'));
      await c.ready();
      // An SQL cursor (WITH HOLD, so it outlives the transaction the DO block runs in).
      c.send(msg.query("DECLARE h CURSOR WITH HOLD FOR SELECT 'decided' AS v FROM generate_series(1, 3)"));
      expect(errors(await c.ready())).toEqual([]);
      await hijack(c);
      c.send(msg.query('FETCH ALL h'));
      const fetched = await c.ready();
      expect(rawText(fetched)).not.toContain(CARD);
      expect(cells(fetched)).toEqual([]);
      expect(errors(fetched).map((e) => e.M)).toEqual([expect.stringContaining('DECLARE it again')]);
      c.send(msg.query("CLOSE h; DECLARE h CURSOR WITH HOLD FOR SELECT 'again'; FETCH ALL h; CLOSE h"));
      const again = await c.ready();
      expect(errors(again)).toEqual([]);
      expect(cells(again)).toEqual([['again']]);
    } finally {
      c.close();
    }
  });

  it('the hijack and the Bind pipelined before one Sync: the decided statement runs, the portal is refused', async () => {
    // Masked, the Bind after the DO block in the same (implicit) transaction is withheld by column
    // rules already (the catalog may have changed); without them, it runs, and must run as decided.
    const masked = await open();
    try {
      masked.send(msg.parse('s', "SELECT 'decided' AS v"), msg.sync());
      await masked.ready();
      masked.send(
        msg.parse('', hijackDo),
        msg.bind('', ''),
        msg.execute('', 0),
        msg.bind('', 's'),
        msg.execute('', 0),
        msg.sync(),
      );
      const frames = await masked.ready();
      expect(rawText(frames)).not.toContain(CARD);
      expect(cells(frames)).toEqual([]);
    } finally {
      masked.close();
    }
    const c = await openPlain();
    try {
      c.send(msg.parse('s', "SELECT 'decided' AS v"), msg.sync());
      await c.ready();
      // A DO block run by protocol, then the Bind, in the same batch.
      c.send(
        msg.bind('early', 's'),
        msg.parse('', hijackDo),
        msg.bind('', ''),
        msg.execute('', 0),
        msg.bind('', 's'),
        msg.execute('', 0),
        msg.sync(),
      );
      const frames = await c.ready();
      expect(rawText(frames)).not.toContain(CARD);
      expect(errors(frames)).toEqual([]);
      expect(cells(frames)).toEqual([['decided']]);
      expect(types(frames)).toBe('212C2DCZ');
      // A portal bound before the function ran, executed after it in the same batch, is refused.
      c.send(
        msg.query('BEGIN'),
        msg.bind('early', 's'),
        msg.parse('', hijackDo),
        msg.bind('', ''),
        msg.execute('', 0),
        msg.execute('early', 0),
        msg.sync(),
        msg.query('ROLLBACK'),
      );
      await c.ready();
      const batch = await c.ready();
      await c.ready();
      expect(rawText(batch)).not.toContain(CARD);
      expect(cells(batch)).toEqual([]);
      expect(types(batch)).toBe('212CEZ');
      expect(errors(batch).map((e) => e.C)).toEqual(['55000']);
    } finally {
      c.close();
    }
  });

  it('in an aborted transaction the Bind fails as PostgreSQL fails it, and runs the decided text after ROLLBACK', async () => {
    const c = await openPlain();
    try {
      c.send(msg.query('BEGIN'));
      await c.ready();
      c.send(msg.parse('s', "SELECT 'decided' AS v"), msg.sync());
      await c.ready();
      await hijack(c);
      c.send(msg.query("SELECT 'x'::int"));
      expect(errors(await c.ready())).toHaveLength(1);
      c.send(msg.bind('', 's'), msg.execute('', 0), msg.sync());
      const aborted = await c.ready();
      expect(rawText(aborted)).not.toContain(CARD);
      expect(types(aborted)).toBe('EZ');
      expect(errors(aborted).map((e) => e.C)).toEqual(['25P02']);
      // Pipelined past the Sync that follows the failure, ROLLBACK, then the Bind again.
      c.send(msg.bind('', 's'), msg.execute('', 0), msg.sync(), msg.query('ROLLBACK'));
      c.send(msg.bind('', 's'), msg.execute('', 0), msg.sync());
      expect(types(await c.ready())).toBe('EZ');
      await c.ready();
      const after = await c.ready();
      expect(rawText(after)).not.toContain(CARD);
      expect(errors(after)).toEqual([]);
      expect(cells(after)).toEqual([['decided']]);
      expect(types(after)).toBe('2DCZ');
    } finally {
      c.close();
    }
  });

  it('a statement that replaces itself: EXECUTE runs it once, then it must be prepared again', async () => {
    const c = await openPlain();
    try {
      c.send(msg.query('PREPARE q AS SELECT hijack_statements()'));
      expect(errors(await c.ready())).toEqual([]);
      c.send(msg.query('EXECUTE q'));
      const first = await c.ready();
      expect(errors(first)).toEqual([]);
      expect(cells(first)).toEqual([['1']]);
      // It replaced q itself (DEALLOCATE q; PREPARE q AS SELECT number FROM cards).
      c.send(msg.query('EXECUTE q'));
      const second = await c.ready();
      expect(rawText(second)).not.toContain(CARD);
      expect(errors(second).map((e) => e.M)).toEqual([expect.stringContaining('PREPARE it again')]);
      // A protocol EXECUTE of such a statement counts as such code too.
      c.send(msg.query('PREPARE q3 AS SELECT hijack_statements()'));
      await c.ready();
      c.send(msg.parse('s', "SELECT 'decided' AS v"), msg.parse('e', 'EXECUTE q3'), msg.sync());
      await c.ready();
      c.send(msg.bind('', 'e'), msg.execute('', 0), msg.bind('', 's'), msg.execute('', 0), msg.sync());
      const viaExecute = await c.ready();
      expect(rawText(viaExecute)).not.toContain(CARD);
      expect(errors(viaExecute)).toEqual([]);
      expect(cells(viaExecute)).toEqual([['1'], ['decided']]);
      expect(types(viaExecute)).toBe('2DC2DCZ');
      // A protocol statement of such code is prepared again at each Bind.
      c.send(msg.parse('f', 'SELECT hijack_statements()'), msg.sync());
      await c.ready();
      for (let i = 0; i < 2; i++) {
        c.send(msg.bind('', 'f'), msg.execute('', 0), msg.sync());
        const frames = await c.ready();
        expect(rawText(frames)).not.toContain(CARD);
        expect(cells(frames)).toEqual([['1']]);
        expect(types(frames)).toBe('2DCZ');
      }
    } finally {
      c.close();
    }
  });

  it('a cursor of the code itself can be fetched on', async () => {
    const c = await openPlain();
    try {
      c.send(
        msg.query(
          'BEGIN; DECLARE c CURSOR FOR SELECT hijack_statements() FROM generate_series(1, 3); FETCH 1 c',
        ),
      );
      expect(cells(await c.ready())).toEqual([['1']]);
      c.send(msg.query('FETCH ALL c'));
      const rest = await c.ready();
      expect(errors(rest)).toEqual([]);
      expect(cells(rest)).toEqual([['1'], ['1']]);
      c.send(msg.query('COMMIT'));
      await c.ready();
    } finally {
      c.close();
    }
  });

  it('a portal of the code itself keeps running (a suspended Execute of a user-defined function)', async () => {
    const c = await openPlain();
    try {
      c.send(msg.query('BEGIN'));
      await c.ready();
      c.send(
        msg.parse('f', 'SELECT hijack_statements() FROM generate_series(1, 3)'),
        msg.bind('fp', 'f'),
        msg.execute('fp', 1),
        msg.execute('fp', 0),
        msg.sync(),
      );
      const frames = await c.ready();
      expect(errors(frames)).toEqual([]);
      expect(cells(frames)).toEqual([['1'], ['1'], ['1']]);
      expect(types(frames)).toBe('12DsDDCZ');
      c.send(msg.query('COMMIT'));
      await c.ready();
    } finally {
      c.close();
    }
  });
});
