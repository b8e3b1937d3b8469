// Masking on the protocol's less travelled paths, with a raw protocol client (frames built from the
// spec) where `pg` would hide the detail: Execute with a row limit and PortalSuspended, Execute with no
// Describe (refused), and the catalog cache following a column renamed by another session's DDL.

import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CatalogResolver } from '../src/engines/postgres/catalog-resolver.js';
import { openUpstream } from '../src/engines/postgres/upstream-connection.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { BackendCode, FrameReader, decodeDataRow, encode, type Frame } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const CARD = '4111111111111111';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: `
      CREATE TABLE cards (id int PRIMARY KEY, holder text, number text, memo text);
      INSERT INTO cards SELECT g, 'holder ' || g, '${CARD}', 'memo ' || g FROM generate_series(1, 5) g;`,
    extra: {
      masking: {
        columns: [
          { column: 'cards.number', tag: 'card' },
          { column: '*.secret_memo', tag: 'memo' },
        ],
      },
    },
  });
});
afterAll(async () => gw?.stop());

function typed(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string) => Buffer.from(`${s}\0`);
const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
// Protocol 55.7 message layouts.
const bind = (portal: string, statement: string) =>
  typed('B', cstr(portal), cstr(statement), i16(0), i16(0), i16(0));
const describePortal = (portal: string) => typed('D', Buffer.from('P'), cstr(portal));
const execute = (portal: string, maxRows: number) => typed('E', cstr(portal), i32(maxRows));
const sync = () => typed('S');

/** A raw protocol session through the gateway, collecting every frame it receives. */
class RawClient {
  private readonly reader = new FrameReader(1 << 24);
  private readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.reader.push(d);
      for (let f = this.reader.next(); f; f = this.reader.next()) this.frames.push(f);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async open(token: string): Promise<RawClient> {
    const socket = net.connect({ host: '127.0.0.1', port: gw.port });
    await new Promise((r) => socket.once('connect', r));
    const c = new RawClient(socket);
    socket.write(encode.startupMessage({ user: 'raw', database: gw.connection }));
    await c.until((f) => f.type === BackendCode.Authentication);
    socket.write(encode.passwordMessage(token));
    await c.until((f) => f.type === BackendCode.ReadyForQuery);
    c.frames.length = 0;
    return c;
  }

  /** Waits for a frame matching `done` (or the connection closing); returns every frame so far. */
  async until(done: (f: Frame) => boolean): Promise<Frame[]> {
    for (;;) {
      const i = this.frames.findIndex(done);
      if (i >= 0 || this.closed) {
        const got = this.frames.splice(0, i >= 0 ? i + 1 : this.frames.length);
        return got;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }
}

const agentToken = () => gw.token({ subject: 'claude-raw', groups: ['ai-agents'], agent: true });

describe('extended protocol paths under masking', () => {
  it('a portal executed in slices (PortalSuspended) stays masked, in one batch and across batches', async () => {
    const c = await RawClient.open(await agentToken());
    c.send(
      encode.parse('s1', 'SELECT id, number FROM cards ORDER BY id'),
      bind('', 's1'),
      describePortal(''),
      execute('', 2),
      execute('', 2),
      sync(),
    );
    const frames = await c.until((f) => f.type === BackendCode.ReadyForQuery);
    const rows = frames
      .filter((f) => f.type === BackendCode.DataRow)
      .map((f) => decodeDataRow(f.body).map((x) => x?.toString()));
    expect(rows).toHaveLength(4);
    expect(frames.filter((f) => f.type === BackendCode.PortalSuspended)).toHaveLength(2);
    for (const r of rows) expect(r[1]).toBe('[REDACTED:card]');
    // A named portal in a transaction, executed again in a later batch without a new Describe.
    c.send(encode.query('BEGIN'));
    await c.until((f) => f.type === BackendCode.ReadyForQuery);
    c.send(bind('p1', 's1'), describePortal('p1'), execute('p1', 1), sync());
    const first = await c.until((f) => f.type === BackendCode.ReadyForQuery);
    c.send(execute('p1', 3), sync());
    const later = await c.until((f) => f.type === BackendCode.ReadyForQuery);
    const cells = [...first, ...later]
      .filter((f) => f.type === BackendCode.DataRow)
      .map((f) => decodeDataRow(f.body)[1]?.toString());
    expect(cells).toEqual(['[REDACTED:card]', '[REDACTED:card]', '[REDACTED:card]', '[REDACTED:card]']);
    const all = Buffer.concat([...frames, ...first, ...later].map((f) => f.raw)).toString('latin1');
    expect(all).not.toContain(CARD);
    c.socket.destroy();
  });

  it('rows of a portal the client never described are masked: Gatehouse describes the portal itself', async () => {
    const c = await RawClient.open(await agentToken());
    c.send(encode.parse('s2', 'SELECT number FROM cards'), bind('', 's2'), execute('', 0), sync());
    const frames = await c.until((f) => f.type === BackendCode.ReadyForQuery);
    expect(frames.some((f) => f.type === BackendCode.ErrorResponse)).toBe(false);
    expect(frames.filter((f) => f.type === BackendCode.DataRow).length).toBeGreaterThan(0);
    // The client did not ask for a RowDescription, and gets none (PostgreSQL's own answer, exactly).
    expect(frames.some((f) => f.type === BackendCode.RowDescription)).toBe(false);
    expect(Buffer.concat(frames.map((f) => f.raw)).toString('latin1')).not.toContain(CARD);
    c.socket.destroy();
  });
});

describe('the catalog behind column rules', () => {
  it('another session renaming a column to a ruled name is seen at once (DDL refreshes the cache)', async () => {
    const agent = gw.client(await agentToken());
    const dba = gw.client(await gw.token({ subject: 'dana', groups: ['dba'] }));
    await agent.connect();
    await dba.connect();
    try {
      expect((await agent.query('SELECT memo FROM cards WHERE id = 1')).rows[0].memo).toBe('memo 1');
      await dba.query('ALTER TABLE cards RENAME COLUMN memo TO secret_memo');
      expect((await agent.query('SELECT secret_memo FROM cards WHERE id = 1')).rows[0].secret_memo).toBe(
        '[REDACTED:memo]',
      );
      await dba.query('ALTER TABLE cards RENAME COLUMN secret_memo TO memo');
      expect((await agent.query('SELECT memo FROM cards WHERE id = 1')).rows[0].memo).toBe('memo 1');
    } finally {
      await agent.end();
      await dba.end();
    }
  });

  it('resolves table OIDs and column numbers, forgets on invalidate, refetches when stale', async () => {
    const url = new URL(gw.directUrl);
    const target = {
      host: url.hostname,
      port: Number(url.port),
      database: url.pathname.slice(1),
      user: decodeURIComponent(url.username),
      password: () => decodeURIComponent(url.password),
      tls: { mode: 'disable' as const },
      connectTimeoutMs: 5000,
    };
    let now = 1_000;
    let opened = 0;
    const resolver = new CatalogResolver(
      () => {
        opened++;
        return openUpstream(target, {}, 1 << 20);
      },
      { ttlMs: 10_000, now: () => now },
    );
    const direct = new pg.Client({ connectionString: gw.directUrl });
    await direct.connect();
    const oid = Number((await direct.query(`SELECT 'cards'::regclass::oid AS o`)).rows[0].o);
    await direct.end();
    const cols = [
      { name: 'x', tableOid: oid, columnNumber: 3, typeOid: 25, format: 0 },
      { name: 'c', tableOid: oid, columnNumber: 0, typeOid: 1, format: 0 },
      { name: 'e', tableOid: 0, columnNumber: 0, typeOid: 25, format: 0 },
      { name: 'gone', tableOid: 999_999_999, columnNumber: 1, typeOid: 25, format: 0 },
    ];
    expect(resolver.missing(cols).sort()).toEqual([oid, 999_999_999].sort());
    await resolver.load(resolver.missing(cols));
    const [x, whole, expr, gone] = resolver.resolve(cols);
    expect(x!.source).toEqual({ schema: 'public', table: 'cards', column: 'number' });
    expect(whole!.source).toMatchObject({ schema: 'public', table: 'cards', column: '' });
    expect(
      (whole!.source as { rowColumns: readonly { name: string }[] }).rowColumns.map((c) => c.name),
    ).toEqual(['id', 'holder', 'number', 'memo']);
    expect(expr!.source).toBeUndefined();
    expect(gone!.source).toBe('unresolved');
    expect(resolver.missing(cols.slice(0, 3))).toEqual([]);
    now += 20_000;
    expect(resolver.missing(cols.slice(0, 1))).toEqual([oid]);
    await resolver.load([oid]);
    resolver.invalidate();
    expect(resolver.size).toBe(0);
    expect(opened).toBe(1);
    resolver.close();
  });
});
