// A client that keeps sending while the upstream has not answered (docs/security.md, class 25): a
// statement runs upstream (here it waits on an advisory lock the test holds), and behind it the client
// sends hundreds of thousands of cheap messages Gatehouse answers itself (Close of a name that does
// not exist): each answer must wait for the statement's, in order. What the connection holds for
// them stays under its bound (read from the gateway: connectionStats().awaited) because it stops
// reading the client, as PostgreSQL reads nothing while it executes; once the statement ends, every
// CloseComplete arrives in order and the session goes on, COPY FROM STDIN queued behind them included.
// A deep pipeline of large inserts with one Sync at the end, which the bound pauses several times,
// completes: the server is asked (Flush) for the answers it buffers until a Sync still unread.

import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MAX_AWAITED_BYTES } from '../src/engines/postgres/client-connection.js';
import {
  BackendCode,
  FrameReader,
  decodeDataRow,
  decodeErrorFields,
  encode,
  type Frame,
} from '../src/wire/postgres/index.js';
import { ALLOW_ALL, startTestGateway, type TestGateway } from './testkit/gateway.js';
import { msg, typed } from './testkit/raw-pg-client.js';

/** The bound, and one message more (the one read when it was reached). */
const BOUND = MAX_AWAITED_BYTES + 64 * 1024;

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A raw session through the gateway that keeps every frame's type (hundreds of thousands of them)
 * and the frames other than CloseComplete whole.
 */
class Tap {
  readonly types: number[] = [];
  readonly frames: Frame[] = [];
  private readonly reader = new FrameReader(1 << 26);
  ready = 0;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.reader.push(d);
      for (let f = this.reader.next(); f; f = this.reader.next()) {
        this.types.push(f.type);
        if (f.type !== BackendCode.CloseComplete) this.frames.push(f);
        if (f.type === BackendCode.ReadyForQuery) this.ready++;
      }
    });
    socket.on('error', () => undefined);
  }

  static async open(gw: TestGateway, token: string): Promise<Tap> {
    const socket = net.connect({ host: '127.0.0.1', port: gw.port });
    await new Promise((r) => socket.once('connect', r));
    const t = new Tap(socket);
    socket.write(encode.startupMessage({ user: 'raw', database: gw.connection }));
    await until(() => t.types.includes(BackendCode.Authentication), 'the password request');
    socket.write(encode.passwordMessage(token));
    await until(() => t.ready === 1, 'the session to start');
    t.types.length = 0;
    t.frames.length = 0;
    t.ready = 0;
    return t;
  }

  errors(): string[] {
    return this.frames
      .filter((f) => f.type === BackendCode.ErrorResponse)
      .map((f) => decodeErrorFields(f.body).M ?? '?');
  }
}

const copyData = (line: string) => typed('d', Buffer.from(line));
const copyDone = () => typed('c');

describe('PostgreSQL listener: answers queued behind a statement still running upstream', () => {
  let gw: TestGateway;
  let token: string;
  let direct: pg.Client;

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: ALLOW_ALL,
      setupSql: 'CREATE TABLE copied (n int); CREATE TABLE docs (id int, body text);',
    });
    token = await gw.token({ subject: 'awaited-pg', groups: ['testers'] });
    direct = new pg.Client({ connectionString: gw.directUrl });
    await direct.connect();
  });
  afterAll(async () => {
    await direct?.end();
    await gw?.stop();
  });

  async function lockWaiters(): Promise<number> {
    const r = await direct.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
    );
    return r.rows[0]!.n;
  }

  it(
    'stops reading the client at its bound, then sends every CloseComplete in order and goes on',
    { timeout: 120_000 },
    async () => {
      await direct.query('SELECT pg_advisory_lock(4242)');
      const t = await Tap.open(gw, token);
      try {
        // The head statement: it runs upstream until the lock is released (no Sync yet).
        t.socket.write(
          Buffer.concat([
            msg.parse('', 'SELECT pg_advisory_lock(4242) AS locked'),
            msg.bind('', ''),
            msg.execute(''),
          ]),
        );
        await until(async () => (await lockWaiters()) === 1, 'the statement to wait on the lock');

        // 300,000 Close of a statement that does not exist, a Sync, then a COPY FROM STDIN.
        const closes = 300_000;
        const close = msg.close('S', 'nope');
        const flood = Buffer.alloc(close.length * closes);
        for (let i = 0; i < flood.length; i += close.length) close.copy(flood, i);
        const rows = Array.from({ length: 100 }, (_, i) => copyData(`${i}\n`));
        t.socket.write(
          Buffer.concat([flood, msg.sync(), msg.query('COPY copied FROM STDIN'), ...rows, copyDone()]),
        );

        // Until the gateway stops reading this client (or, without the bound, holds past it).
        let largest = 0;
        await until(async () => {
          const s = await gw.gateway.connectionStats();
          largest = Math.max(largest, s.awaited);
          return s.readsHeld === 1 || s.awaited > BOUND;
        }, 'the gateway to stop reading the client');
        expect(largest).toBeLessThan(BOUND);
        // Nothing of Gatehouse's own answers went out before the statement's.
        expect(t.types).toEqual([]);

        await direct.query('SELECT pg_advisory_unlock(4242)');
        await until(async () => {
          const st = await gw.gateway.connectionStats();
          largest = Math.max(largest, st.awaited);
          return t.ready >= 2;
        }, 'the answers');
        expect(largest).toBeLessThan(BOUND);
        expect(t.errors()).toEqual([]);

        // In order: the statement's answers, every CloseComplete, ReadyForQuery; then the COPY's.
        const head = [
          BackendCode.ParseComplete,
          BackendCode.BindComplete,
          BackendCode.DataRow,
          BackendCode.CommandComplete,
        ];
        expect(t.types.slice(0, 4)).toEqual(head);
        const answers = t.types.slice(4, 4 + closes);
        expect(answers.length).toBe(closes);
        expect(answers.every((x) => x === BackendCode.CloseComplete)).toBe(true);
        expect(t.types.slice(4 + closes)).toEqual([
          BackendCode.ReadyForQuery,
          BackendCode.CopyInResponse,
          BackendCode.CommandComplete,
          BackendCode.ReadyForQuery,
        ]);
        const tags = t.frames
          .filter((f) => f.type === BackendCode.CommandComplete)
          .map((f) => f.body.subarray(0, -1).toString());
        expect(tags).toEqual(['SELECT 1', 'COPY 100']);

        // The session still answers.
        t.socket.write(msg.query('SELECT 42 AS v'));
        await until(() => t.ready === 3, 'the next query');
        const row = t.frames.find(
          (f) => f.type === BackendCode.DataRow && decodeDataRow(f.body)[0]?.toString() === '42',
        );
        expect(row).toBeDefined();
        expect((await gw.gateway.connectionStats()).awaited).toBeLessThan(64 * 1024);
      } finally {
        t.socket.destroy();
        await direct.query('SELECT pg_advisory_unlock_all()');
      }
    },
  );

  it(
    'a deep pipeline of large inserts with one Sync completes through the bound',
    { timeout: 120_000 },
    async () => {
      const t = await Tap.open(gw, token);
      try {
        // 1,000 inserts of 4 kB each, one Sync: the bound is reached several times over, and each
        // time the server holds the answers it has (about 5 kB) until a Flush or a Sync.
        const inserts = 1000;
        const body = 'x'.repeat(4000);
        const pipeline: Buffer[] = [msg.parse('ins', 'INSERT INTO docs VALUES ($1::int, $2::text)')];
        for (let i = 0; i < inserts; i++)
          pipeline.push(msg.bind('', 'ins', [String(i), body]), msg.execute(''));
        pipeline.push(msg.sync());
        t.socket.write(Buffer.concat(pipeline));
        await until(() => t.ready === 1, 'the pipeline to complete');
        expect(t.errors()).toEqual([]);
        const types = t.types;
        expect(types[0]).toBe(BackendCode.ParseComplete);
        for (let i = 0; i < inserts; i++) {
          expect(types[1 + 2 * i]).toBe(BackendCode.BindComplete);
          expect(types[2 + 2 * i]).toBe(BackendCode.CommandComplete);
        }
        expect(types.length).toBe(2 + 2 * inserts);
        const r = await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM docs');
        expect(r.rows[0]!.n).toBe(inserts);
      } finally {
        t.socket.destroy();
      }
    },
  );

  it('answers it gives at once leave nothing behind in the queue', { timeout: 120_000 }, async () => {
    const t = await Tap.open(gw, token);
    try {
      // Nothing in flight: each Close is answered at once; the queue must not keep a slot for each.
      const closes = 300_000;
      const close = msg.close('S', 'nope');
      const flood = Buffer.alloc(close.length * closes);
      for (let i = 0; i < flood.length; i += close.length) close.copy(flood, i);
      t.socket.write(flood);
      // All but the last few (written at the Sync, as PostgreSQL writes its buffer).
      await until(() => t.types.length >= closes - 256, 'the CloseCompletes');
      expect((await gw.gateway.connectionStats()).awaited).toBeLessThan(64 * 1024);
      t.socket.write(msg.sync());
      await until(() => t.ready === 1, 'the Sync');
      expect(t.types.length).toBe(closes + 1);
      expect(t.types.slice(0, closes).every((x) => x === BackendCode.CloseComplete)).toBe(true);
    } finally {
      t.socket.destroy();
    }
  });
});
