import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { answerClientError, PrincipalRequests, UploadClock, type OnRequestEnd } from './client-limits.js';

/** A request end the test triggers. */
function ending(): { onEnd: OnRequestEnd; end: () => void } {
  const callbacks: (() => void)[] = [];
  let ended = false;
  return {
    onEnd: (c) => (ended ? c() : callbacks.push(c)),
    end: () => {
      ended = true;
      for (const c of callbacks.splice(0)) c();
    },
  };
}

describe('PrincipalRequests', () => {
  const ann = { issuer: 'gatehouse', subject: 'ann', agent: false };
  const bob = { issuer: 'gatehouse', subject: 'bob', agent: false };

  it('bounds each principal on its own and gives a slot back once, however often its request ends', () => {
    const r = new PrincipalRequests();
    const a1 = ending();
    const a2 = ending();
    expect(r.take(ann, 2, a1.onEnd)).toBe(true);
    expect(r.take(ann, 2, a2.onEnd)).toBe(true);
    expect(r.take(ann, 2, ending().onEnd)).toBe(false);
    // Another principal, the same subject from another issuer, and an agent holding a token in
    // ann's name (class 289) are not affected.
    expect(r.take(bob, 2, ending().onEnd)).toBe(true);
    expect(r.take({ issuer: 'https://idp', subject: 'ann', agent: false }, 2, ending().onEnd)).toBe(true);
    expect(r.take({ ...ann, agent: true }, 2, ending().onEnd)).toBe(true);
    expect(r.count(ann)).toBe(2);
    a1.end();
    a1.end();
    expect(r.count(ann)).toBe(1);
    expect(r.take(ann, 2, ending().onEnd)).toBe(true);
    expect(r.take(ann, 2, ending().onEnd)).toBe(false);
    // A request already over when its slot is taken gives it back at once.
    a2.end();
    const over = ending();
    over.end();
    expect(r.take(ann, 2, over.onEnd)).toBe(true);
    expect(r.count(ann)).toBe(1);
  });
});

describe('UploadClock', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const destroyed = vi.fn();

  function request(complete = false) {
    const socket = Object.assign(new EventEmitter(), { destroyed: false, destroy: destroyed });
    return { headers: { 'content-length': '10' }, complete, socket } as unknown as IncomingMessage & {
      complete: boolean;
    };
  }

  it('runs out after the limit, not counting the time it is paused', () => {
    const req = request();
    const expired = vi.fn();
    const clock = UploadClock.start(req, ending().onEnd, 1000, false, expired)!;
    vi.advanceTimersByTime(600);
    clock.pause();
    vi.advanceTimersByTime(60_000); // held for approval
    clock.resume();
    vi.advanceTimersByTime(399);
    expect(expired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it('starts only when a client waiting for 100 Continue is told to send', () => {
    const expired = vi.fn();
    const clock = UploadClock.start(request(), ending().onEnd, 1000, true, expired)!;
    vi.advanceTimersByTime(10_000);
    expect(expired).not.toHaveBeenCalled();
    clock.resume();
    vi.advanceTimersByTime(1000);
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it('does nothing for a body that has arrived, and needs no clock without a body', () => {
    const req = request();
    const expired = vi.fn();
    UploadClock.start(req, ending().onEnd, 1000, false, expired);
    req.complete = true;
    vi.advanceTimersByTime(2000);
    expect(expired).not.toHaveBeenCalled();
    const noBody = { headers: {}, complete: true } as unknown as IncomingMessage;
    expect(UploadClock.start(noBody, ending().onEnd, 1000, false, expired)).toBeUndefined();
  });

  it('closes the socket, without answering, when a body still comes after the response', () => {
    destroyed.mockClear();
    const req = request();
    const expired = vi.fn();
    const e = ending();
    const clock = UploadClock.start(req, e.onEnd, 1000, false, expired)!;
    clock.pause(); // answered while deciding: the clock must run again for what is still coming
    e.end();
    vi.advanceTimersByTime(1000);
    expect(expired).not.toHaveBeenCalled();
    expect(destroyed).toHaveBeenCalledTimes(1);
  });
});

describe('answerClientError', () => {
  it('answers no TLS handshake that ran out of time, even one that completes late', async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
    });
    const server = https.createServer(
      { key: pems.private, cert: pems.cert, handshakeTimeout: 200 },
      (_req, res) => res.end('answered'),
    );
    const errors: string[] = [];
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      errors.push(err.code ?? '');
      answerClientError(err, socket, () => 'HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as net.AddressInfo;
      const raw = net.connect(port, '127.0.0.1');
      await new Promise((r) => raw.once('connect', r));
      // The client's hello and request are sent at once; the server's event loop is then held past
      // its handshake timeout, so the timer fires before the hello is read and the handshake goes on.
      const client = tls.connect({ socket: raw, rejectUnauthorized: false });
      client.write('GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
      client.on('error', () => undefined);
      const busyUntil = Date.now() + 400;
      while (Date.now() < busyUntil);
      let got = '';
      client.on('data', (d: Buffer) => (got += d.toString('latin1')));
      await new Promise((r) => client.once('close', r));
      expect(errors).toContain('ERR_TLS_HANDSHAKE_TIMEOUT');
      // Closed without an HTTP answer (it used to be sent a 400 once the handshake caught up).
      expect(got).toBe('');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
