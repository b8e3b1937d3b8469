import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventEmitter, getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { GateSession } from '../../gate/gate.js';
import type { HttpConnectionSettings } from './http-settings.js';
import { admitOptions, newExchange, upstreamSignal } from './exchange-context.js';

/** An exchange over a response that closes when told, finished (answered whole) or not. */
function exchange() {
  const res = Object.assign(new EventEmitter(), { writableFinished: false });
  const socket = Object.assign(new EventEmitter(), { destroyed: false });
  const x = newExchange(
    { socket, headers: {} } as unknown as IncomingMessage,
    res as unknown as ServerResponse,
    { holdTimeoutMs: 60_000 } as HttpConnectionSettings,
    false,
  );
  const close = (finished: boolean) => {
    res.writableFinished = finished;
    res.emit('close');
  };
  /** The socket closes and the response does not (a pipelined response still queued). */
  const closeSocket = () => {
    socket.destroyed = true;
    socket.emit('close');
  };
  return { x, res, socket, close, closeSocket };
}

describe('the exchange', () => {
  it('says the client went away when the response closed unfinished, and not when it finished', () => {
    const a = exchange();
    expect(a.x.isClientGone()).toBe(false);
    a.close(false);
    expect(a.x.isClientGone()).toBe(true);
    // clientGone made after the fact is aborted at once; made before, it is aborted by the close.
    expect(a.x.clientGone.aborted).toBe(true);
    const b = exchange();
    const early = b.x.clientGone;
    expect(early.aborted).toBe(false);
    b.close(false);
    expect(early.aborted).toBe(true);
    const c = exchange();
    c.close(true);
    expect(c.x.isClientGone()).toBe(false);
    expect(c.x.clientGone.aborted).toBe(false);
  });

  it('says the client went away when its socket closed under a response that never closes', () => {
    const ended: string[] = [];
    const a = exchange();
    const b = exchange();
    a.x.onEnd(() => ended.push('a'));
    b.x.onEnd(() => ended.push('b'));
    a.closeSocket();
    expect(a.x.isClientGone()).toBe(true);
    expect(a.x.clientGone.aborted).toBe(true);
    expect(ended).toEqual(['a']);
    // Each end is told once, however many ways it ends; a callback added after the end runs at once.
    a.close(false);
    b.close(true);
    b.closeSocket();
    expect(ended).toEqual(['a', 'b']);
    a.x.onEnd(() => ended.push('late'));
    expect(ended).toEqual(['a', 'b', 'late']);
    expect(b.x.isClientGone()).toBe(false);
    expect(a.socket.listenerCount('close')).toBe(0);
  });

  it("admitOptions' hold signal is made only when asked (a held request), and follows the client", () => {
    const a = exchange();
    const options = admitOptions(a.x);
    expect(typeof options.signal).toBe('function');
    const held = (options.signal as () => AbortSignal)();
    expect(held.aborted).toBe(false);
    a.close(false);
    expect(held.aborted).toBe(true);
  });
});

describe('upstreamSignal', () => {
  it('follows the client and the session, with their reasons', () => {
    const ended = new AbortController();
    const session = { ended: ended.signal } as GateSession;
    const a = exchange();
    const s1 = upstreamSignal(a.x, session);
    expect(s1.aborted).toBe(false);
    a.close(false);
    expect(s1.aborted).toBe(true);
    expect((s1.reason as Error).name).toBe('AbortError');
    expect(s1.reason).toBe(a.x.clientGone.reason);

    // A response answered whole does not abort the upstream call.
    const f = exchange();
    const s0 = upstreamSignal(f.x, session);
    f.close(true);
    expect(s0.aborted).toBe(false);

    const b = exchange();
    const s2 = upstreamSignal(b.x, session);
    ended.abort(new Error('session ended'));
    expect((s2.reason as Error).message).toBe('session ended');
    // Already ended: aborted from the start.
    expect(upstreamSignal(exchange().x, session).aborted).toBe(true);
    // The client already gone: aborted from the start, with its reason.
    const g = exchange();
    g.close(false);
    const s3 = upstreamSignal(g.x, { ended: new AbortController().signal } as GateSession);
    expect(s3.aborted).toBe(true);
    expect(s3.reason).toBe(g.x.clientGone.reason);
  });

  it('leaves no listener on the session once the response has closed', () => {
    const ended = new AbortController();
    const session = { ended: ended.signal } as GateSession;
    for (let i = 0; i < 50; i++) {
      const { x, close } = exchange();
      upstreamSignal(x, session);
      close(i % 2 === 0);
    }
    expect(getEventListeners(ended.signal, 'abort')).toHaveLength(0);
  });
});
