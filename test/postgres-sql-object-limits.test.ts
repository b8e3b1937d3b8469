// The per-session bounds on prepared statements and cursors (listeners.postgres.maxPreparedStatements,
// maxPreparedBytes, maxPortals) held only for the protocol's Parse and Bind: SQL PREPARE and DECLARE
// were never counted, so a session could make the gateway hold any number of statements and cursors
// of any size (30 PREPAREs of 4 MiB: 128 MiB more; the bound is 16 MiB) — docs/security.md, class 184.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BackendCode, decodeDataRow, decodeErrorFields, type Frame } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    listener: { maxPreparedStatements: 3, maxPreparedBytes: 64 * 1024, maxPortals: 3 },
  });
}, 60_000);
afterAll(async () => gw?.stop());

/** Each answer as a short string: CommandComplete C, an error's SQLSTATE, a row's cells. */
const shown = (frames: Frame[]) =>
  frames
    .filter((f) => f.type !== BackendCode.RowDescription && f.type !== BackendCode.ReadyForQuery)
    .map((f) =>
      f.type === BackendCode.ErrorResponse
        ? `E${decodeErrorFields(f.body).C}`
        : f.type === BackendCode.DataRow
          ? decodeDataRow(f.body)
              .map((x) => x?.toString())
              .join('|')
          : String.fromCharCode(f.type),
    );

async function query(c: RawPgClient, text: string): Promise<string[]> {
  c.send(msg.query(text));
  return shown(await c.ready());
}

async function session<T>(body: (c: RawPgClient) => Promise<T>): Promise<T> {
  const c = await RawPgClient.open(gw.port, gw.connection, await gw.token());
  try {
    return await body(c);
  } finally {
    c.close();
  }
}

const preparedUpstream = (c: RawPgClient) =>
  query(c, 'SELECT count(*) FROM pg_prepared_statements WHERE from_sql');

describe('class 184: SQL PREPARE and DECLARE count against the session bounds', () => {
  it('a fourth SQL PREPARE is refused, as a fourth Parse is (before: all ran)', async () => {
    await session(async (c) => {
      const answers: string[][] = [];
      for (const n of [1, 2, 3, 4]) answers.push(await query(c, `PREPARE q${n} AS SELECT ${n}`));
      expect(answers).toEqual([['C'], ['C'], ['C'], ['E54000']]);
      expect(await preparedUpstream(c)).toEqual(['3', 'C']);
      // DEALLOCATE makes room again.
      expect(await query(c, 'DEALLOCATE q1')).toEqual(['C']);
      expect(await query(c, 'PREPARE q5 AS SELECT 5')).toEqual(['C']);
    });
  });

  it('the text they hold is bounded, cursors included', async () => {
    await session(async (c) => {
      const long = `'${'x'.repeat(40 * 1024)}'`;
      expect(await query(c, `PREPARE big1 AS SELECT length(${long})`)).toEqual(['C']);
      expect(await query(c, `PREPARE big2 AS SELECT length(${long})`)).toEqual(['E54000']);
      expect(await query(c, 'BEGIN')).toEqual(['C']);
      expect(await query(c, `DECLARE c1 CURSOR FOR SELECT length(${long})`)).toEqual(['E54000']);
      expect(await query(c, 'ROLLBACK')).toEqual(['C']);
    });
  });

  it('a fourth cursor is refused, as a fourth portal is', async () => {
    await session(async (c) => {
      const answers: string[][] = [await query(c, 'BEGIN')];
      for (const n of [1, 2, 3, 4]) answers.push(await query(c, `DECLARE c${n} CURSOR FOR SELECT ${n}`));
      expect(answers).toEqual([['C'], ['C'], ['C'], ['C'], ['E54000']]);
      expect(await query(c, 'ROLLBACK')).toEqual(['C']);
    });
  });

  it('statements pipelined behind each other are counted before they are answered', async () => {
    await session(async (c) => {
      // Five Query messages in one write: each is decided while those before it are still upstream.
      c.send(...[1, 2, 3, 4, 5].map((n) => msg.query(`PREPARE p${n} AS SELECT ${n}`)));
      const answers: string[][] = [];
      for (let i = 0; i < 5; i++) answers.push(shown(await c.ready()));
      expect(answers.filter((a) => a[0] === 'C')).toHaveLength(3);
      expect(await preparedUpstream(c)).toEqual(['3', 'C']);
    });
  });

  it('statements created through portals count when they run, with those pipelined before them', async () => {
    await session(async (c) => {
      // Parse, Bind and Execute of PREPARE five times in one batch: the fourth Parse is refused.
      c.send(
        ...[1, 2, 3, 4, 5].flatMap((n) => [
          msg.parse('', `PREPARE e${n} AS SELECT ${n}`),
          msg.bind('', ''),
          msg.execute('', 0),
        ]),
        msg.sync(),
      );
      expect(shown(await c.ready())).toEqual(['1', '2', 'C', '1', '2', 'C', '1', '2', 'C', 'E54000']);
      expect(await preparedUpstream(c)).toEqual(['3', 'C']);
    });
    await session(async (c) => {
      // Both Binds are decided before either Execute creates anything; the second Execute is refused.
      expect(await query(c, 'PREPARE x1 AS SELECT 1')).toEqual(['C']);
      expect(await query(c, 'PREPARE x2 AS SELECT 2')).toEqual(['C']);
      c.send(
        msg.parse('', 'PREPARE y1 AS SELECT 1'),
        msg.bind('a', ''),
        msg.parse('', 'PREPARE y2 AS SELECT 2'),
        msg.bind('b', ''),
        msg.execute('a', 0),
        msg.execute('b', 0),
        msg.sync(),
      );
      expect(shown(await c.ready())).toEqual(['1', '2', '1', '2', 'C', 'E54000']);
      expect(await preparedUpstream(c)).toEqual(['3', 'C']);
    });
  });
});
