// Before authentication, a client's message was bounded only by listeners.postgres.maxMessageBytes
// (64 MiB), the bound of an authenticated session: a PasswordMessage that long was read whole, so
// each connection that nobody had authenticated could make the gateway hold 64 MiB, and a few dozen
// held gigabytes (docs/security.md, class 181). PostgreSQL reads at most 65535 bytes
// (PG_MAX_AUTH_TOKEN_LENGTH) there, and so does Gatehouse now.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BackendCode,
  FrameReader,
  decodeErrorFields,
  encode,
  type Frame,
} from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ superUrl: inject('pgUrl') });
}, 60_000);
afterAll(async () => gw?.stop());

/** Logs in with `password` (a PasswordMessage body of any length); the frames up to the first error. */
async function login(password: Buffer): Promise<Frame[]> {
  const socket = net.connect({ host: '127.0.0.1', port: gw.port });
  socket.on('error', () => undefined);
  const reader = new FrameReader(1 << 20);
  const frames: Frame[] = [];
  let wake: () => void = () => undefined;
  socket.on('data', (d: Buffer) => {
    reader.push(d);
    for (let f = reader.next(); f; f = reader.next()) frames.push(f);
    wake();
  });
  socket.on('close', () => wake());
  const until = async (done: () => boolean) => {
    while (!done() && !socket.destroyed) await new Promise<void>((r) => (wake = r));
  };
  await new Promise((r) => socket.once('connect', r));
  socket.write(encode.startupMessage({ user: 'raw', database: gw.connection }));
  await until(() => frames.some((f) => f.type === BackendCode.Authentication));
  const head = Buffer.alloc(5);
  head[0] = 0x70;
  head.writeInt32BE(4 + password.length, 1);
  socket.write(Buffer.concat([head, password]));
  await until(() =>
    frames.some((f) => f.type === BackendCode.ErrorResponse || f.type === BackendCode.ReadyForQuery),
  );
  socket.destroy();
  return frames;
}

const errorCode = (frames: Frame[]) =>
  frames.filter((f) => f.type === BackendCode.ErrorResponse).map((f) => decodeErrorFields(f.body).C);

describe('class 181: a message before authentication is bounded as PostgreSQL bounds it', () => {
  it('a password message longer than 65535 bytes is refused before it is read', async () => {
    // A wrong token padded past the bound: before the fix it was read whole (up to 64 MiB) and
    // answered as a wrong password (28P01).
    const long = Buffer.concat([Buffer.from('not-a-token'), Buffer.alloc(70_000, 0x61), Buffer.from([0])]);
    expect(errorCode(await login(long))).toEqual(['54000']);
    // Within the bound, a wrong token is still a wrong password.
    const short = Buffer.concat([Buffer.from('not-a-token'), Buffer.alloc(60_000, 0x61), Buffer.from([0])]);
    expect(errorCode(await login(short))).toEqual(['28P01']);
  });

  it('once authenticated, messages are bounded by maxMessageBytes again', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await gw.token());
    try {
      c.send(msg.query(`SELECT length('${'x'.repeat(200_000)}')`));
      const frames = await c.ready();
      expect(frames.some((f) => f.type === BackendCode.ErrorResponse)).toBe(false);
      expect(frames.some((f) => f.type === BackendCode.DataRow)).toBe(true);
    } finally {
      c.close();
    }
  });

  it('FrameReader takes a bound for the messages after the startup packet', () => {
    const r = new FrameReader(1 << 20, true);
    r.startupDone(100);
    r.push(Buffer.concat([Buffer.from([0x70, 0, 0, 0, 200]), Buffer.alloc(196)]));
    expect(() => r.next()).toThrow(/exceeds the limit of 100 bytes/);
    const later = new FrameReader(1 << 20, true);
    later.startupDone(100);
    later.limitMessages(1000);
    later.push(Buffer.concat([Buffer.from([0x51, 0, 0, 0, 200]), Buffer.alloc(196)]));
    expect(later.next()?.type).toBe(0x51);
  });
});
