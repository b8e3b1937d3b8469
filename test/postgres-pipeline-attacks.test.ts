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
