// The PostgreSQL listener bounded the connections it holds only by maxConnections (2000): one source
// address, with no token, could hold every slot with connections that stop at the password prompt
// (each lasts authTimeout, 10 s, and is opened again), and every agent and person was refused "too
// many connections" (docs/security.md, class 182). Now, as on the HTTP and Kubernetes listeners, one
// address holds at most `unauthenticatedPerAddress` connections that have not authenticated.

import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BackendCode, FrameReader, decodeErrorFields, encode } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

let gw: TestGateway;
let tlsGw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    listener: { maxConnections: 10, unauthenticatedPerAddress: 4 },
  });
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-addr-'));
  writeFileSync(path.join(dir, 'gw.crt'), pems.cert);
  writeFileSync(path.join(dir, 'gw.key'), pems.private);
  tlsGw = await startTestGateway({
    superUrl: inject('pgUrl'),
    listener: {
      tls: { cert: path.join(dir, 'gw.crt'), key: path.join(dir, 'gw.key') },
      unauthenticatedPerAddress: 2,
    },
  });
}, 60_000);
afterAll(async () => {
  await gw?.stop();
  await tlsGw?.stop();
});

/** A socket from `from` that sends a startup packet; what the gateway answers first: R, or an error's code. */
async function startLogin(from: string): Promise<{ socket: net.Socket; first: string; reader: FrameReader }> {
  const socket = net.connect({ host: '127.0.0.1', port: gw.port, localAddress: from });
  socket.on('error', () => undefined);
  const reader = new FrameReader(1 << 20);
  await new Promise((r) => socket.once('connect', r));
  socket.write(encode.startupMessage({ user: 'raw', database: gw.connection }));
  const first = await new Promise<string>((resolve) => {
    const onData = (d: Buffer) => {
      reader.push(d);
      const f = reader.next();
      if (!f) return;
      socket.off('data', onData);
      resolve(
        f.type === BackendCode.ErrorResponse ? decodeErrorFields(f.body).C! : String.fromCharCode(f.type),
      );
    };
    socket.on('data', onData);
    socket.once('close', () => resolve('closed'));
  });
  return { socket, first, reader };
}

describe('class 182: connections before authentication are bounded per source address', () => {
  it('one address cannot hold the listener with connections that never authenticate', async () => {
    const held: net.Socket[] = [];
    try {
      const answers: string[] = [];
      for (let i = 0; i < 10; i++) {
        const l = await startLogin('127.0.0.2');
        held.push(l.socket);
        answers.push(l.first);
      }
      // Before the fix: ten R (all ten slots held), and the person below refused with 53300.
      expect(answers).toEqual(['R', 'R', 'R', 'R', ...Array<string>(6).fill('53300')]);
      const c = await RawPgClient.open(gw.port, gw.connection, await gw.token());
      try {
        c.send(msg.query('SELECT 1'));
        const frames = await c.ready();
        expect(frames.some((f) => f.type === BackendCode.DataRow)).toBe(true);
      } finally {
        c.close();
      }
      // A connection that authenticates stops counting against its address.
      const first = held[0]!;
      first.write(encode.passwordMessage(await gw.token()));
      await new Promise<void>((resolve) => {
        const reader = new FrameReader(1 << 20);
        first.on('data', (d: Buffer) => {
          reader.push(d);
          for (let f = reader.next(); f; f = reader.next())
            if (f.type === BackendCode.ReadyForQuery) resolve();
        });
      });
      const again = await startLogin('127.0.0.2');
      held.push(again.socket);
      expect(again.first).toBe('R');
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('a connection that went to TLS and closed without authenticating no longer counts', async () => {
    // SSLRequest, the handshake, then close: the socket the guard counted was handed to TLS.
    const viaTls = async (): Promise<string> => {
      const raw = net.connect({ host: '127.0.0.1', port: tlsGw.port, localAddress: '127.0.0.3' });
      raw.on('error', () => undefined);
      await new Promise((r) => raw.once('connect', r));
      raw.write(encode.sslRequest());
      const answer = await new Promise<string>((r) => {
        raw.once('data', (d: Buffer) => r(String.fromCharCode(d[0]!)));
        raw.once('close', () => r('closed'));
      });
      if (answer !== 'S') {
        raw.destroy();
        return answer;
      }
      const secure = tls.connect({ socket: raw, rejectUnauthorized: false, ALPNProtocols: ['postgresql'] });
      secure.on('error', () => undefined);
      await new Promise((r) => secure.once('secureConnect', r));
      secure.destroy();
      await new Promise((r) => raw.once('close', r));
      return answer;
    };
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) answers.push(await viaTls());
    expect(answers).toEqual(['S', 'S', 'S', 'S', 'S']);
  });
});
