// A raw PostgreSQL protocol client for tests, with messages built from the spec (55.7), for the
// paths `pg` and psql hide: pipelines without Sync, Describe of one portal and Execute of another,
// bytes no driver would send.

import net from 'node:net';
import {
  BackendCode,
  FrameReader,
  decodeErrorFields,
  encode,
  type Frame,
} from '../../src/wire/postgres/index.js';
import { openUpstream } from '../../src/engines/postgres/upstream-connection.js';

export function typed(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}
export const cstr = (s: string | Buffer): Buffer =>
  Buffer.concat([typeof s === 'string' ? Buffer.from(s, 'utf8') : s, Buffer.from([0])]);
const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

export const msg = {
  query: (text: string | Buffer) => typed('Q', cstr(text)),
  parse: (name: string, text: string | Buffer) => typed('P', cstr(name), cstr(text), i16(0)),
  bind: (portal: string, statement: string, params: (string | null)[] = []) =>
    typed(
      'B',
      cstr(portal),
      cstr(statement),
      i16(0),
      i16(params.length),
      ...params.map((p) =>
        p === null ? i32(-1) : Buffer.concat([i32(Buffer.byteLength(p)), Buffer.from(p)]),
      ),
      i16(0),
    ),
  describePortal: (portal: string) => typed('D', Buffer.from('P'), cstr(portal)),
  describeStatement: (name: string) => typed('D', Buffer.from('S'), cstr(name)),
  execute: (portal: string, maxRows = 0) => typed('E', cstr(portal), i32(maxRows)),
  close: (target: 'S' | 'P', name: string) => typed('C', Buffer.from(target), cstr(name)),
  sync: () => typed('S'),
  flush: () => typed('H'),
  /** FunctionCall (the fast path): text arguments, text result. */
  functionCall: (oid: number, args: string[] = []) =>
    typed(
      'F',
      i32(oid),
      i16(1),
      i16(0),
      i16(args.length),
      ...args.map((a) => Buffer.concat([i32(Buffer.byteLength(a)), Buffer.from(a)])),
      i16(0),
    ),
};

/** A raw protocol session through a gateway, collecting every frame it receives. */
export class RawPgClient {
  private readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(
    readonly socket: net.Socket,
    private readonly reader = new FrameReader(1 << 26),
  ) {
    for (let f = this.reader.next(); f; f = this.reader.next()) this.frames.push(f);
    socket.on('data', (d: Buffer) => {
      this.reader.push(d);
      for (let f = this.reader.next(); f; f = this.reader.next()) this.frames.push(f);
      this.wake();
    });
    socket.on('error', () => undefined);
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

  static async open(
    port: number,
    database: string,
    token: string,
    params: Record<string, string> = {},
  ): Promise<RawPgClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => socket.once('connect', r));
    const c = new RawPgClient(socket);
    socket.write(encode.startupMessage({ user: 'raw', database, ...params }));
    await c.until((f) => f.type === BackendCode.Authentication);
    socket.write(encode.passwordMessage(token));
    const hello = await c.until(
      (f) => f.type === BackendCode.ReadyForQuery || f.type === BackendCode.ErrorResponse,
    );
    const err = hello.find((f) => f.type === BackendCode.ErrorResponse);
    if (err) throw new Error(decodeErrorFields(err.body).M ?? 'refused');
    return c;
  }

  /**
   * A raw session straight to PostgreSQL (no gateway), logged in by Gatehouse's own upstream login
   * code with these startup parameters: what the server does with bytes, seen without Gatehouse.
   */
  static async direct(url: string, params: Record<string, string> = {}): Promise<RawPgClient> {
    const u = new URL(url);
    const password = decodeURIComponent(u.password);
    const session = await openUpstream(
      {
        host: u.hostname,
        port: Number(u.port || 5432),
        database: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
        user: decodeURIComponent(u.username),
        password: () => password,
        tls: { mode: 'disable' },
        connectTimeoutMs: 10_000,
      },
      params,
      1 << 26,
    );
    return new RawPgClient(session.socket, session.reader);
  }

  /** Waits for a frame matching `done` (or the connection closing); returns every frame so far. */
  async until(done: (f: Frame) => boolean): Promise<Frame[]> {
    for (;;) {
      const i = this.frames.findIndex(done);
      if (i >= 0 || this.closed) return this.frames.splice(0, i >= 0 ? i + 1 : this.frames.length);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Waits for the next ReadyForQuery. */
  ready(): Promise<Frame[]> {
    return this.until((f) => f.type === BackendCode.ReadyForQuery);
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  close(): void {
    this.socket.destroy();
  }
}

export function errorsIn(frames: readonly Frame[]): Record<string, string>[] {
  return frames.filter((f) => f.type === BackendCode.ErrorResponse).map((f) => decodeErrorFields(f.body));
}
