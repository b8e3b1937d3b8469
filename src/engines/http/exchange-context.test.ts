import { EventEmitter, getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { GateSession } from '../../gate/gate.js';
import { upstreamSignal, type Exchange } from './exchange-context.js';

function exchange() {
  const res = new EventEmitter();
  const gone = new AbortController();
  const x = { res, clientGone: gone.signal } as unknown as Exchange;
  return { x, res, gone };
}

describe('upstreamSignal', () => {
  it('follows the client and the session, with their reasons', () => {
    const ended = new AbortController();
    const session = { ended: ended.signal } as GateSession;
    const a = exchange();
    const s1 = upstreamSignal(a.x, session);
    expect(s1.aborted).toBe(false);
    a.gone.abort(new Error('client gone'));
    expect(s1.aborted).toBe(true);
    expect((s1.reason as Error).message).toBe('client gone');

    const b = exchange();
    const s2 = upstreamSignal(b.x, session);
    ended.abort(new Error('session ended'));
    expect((s2.reason as Error).message).toBe('session ended');
    // Already ended: aborted from the start.
    expect(upstreamSignal(exchange().x, session).aborted).toBe(true);
  });

  it('leaves no listener on the session once the response has closed', () => {
    const ended = new AbortController();
    const session = { ended: ended.signal } as GateSession;
    for (let i = 0; i < 50; i++) {
      const { x, res } = exchange();
      upstreamSignal(x, session);
      res.emit('close');
    }
    expect(getEventListeners(ended.signal, 'abort')).toHaveLength(0);
  });
});
