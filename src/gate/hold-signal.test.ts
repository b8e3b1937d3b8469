// holdSignal: a held action's signal is withdrawn by the client or the session (with their reason)
// and by the hold timeout, and the timeout fires even after a garbage collection. The last is what
// `AbortSignal.any([..., AbortSignal.timeout(ms)])` does not do on Node 20 (nodejs/node#57736): the
// gateway's holds used it, and a held SSH line then waited past its timeout (test/ssh-shell.test.ts,
// 'refuses a held line nobody decides once the connection’s holdTimeout passes', hung in CI). Nor
// may the fix leave a listener on the long-lived signals a hold follows (a session's end).

import { getEventListeners } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { holdSignal } from './gate.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Collects garbage a few times, letting finalizers (which clear collected signals' timers) run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('holdSignal', () => {
  it('fires at its timeout, with a TimeoutError, even when the collector ran in between', async () => {
    const session = new AbortController();
    const reasons: unknown[] = [];
    // Held the way the gate holds them: only the returned signal, with its listener, is kept.
    const held = Array.from({ length: 20 }, () => {
      const s = holdSignal(80, session.signal)();
      s.addEventListener('abort', () => reasons.push(s.reason), { once: true });
      return s;
    });
    await collect();
    await sleep(250);
    expect(reasons).toHaveLength(20);
    for (const r of reasons) expect((r as DOMException).name).toBe('TimeoutError');
    expect(held.every((s) => s.aborted)).toBe(true);
    // Nothing is left listening on the session's signal once each hold is over.
    expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
  });

  it('is withdrawn by any of its signals, with that signal’s reason, and stops its timer', async () => {
    const client = new AbortController();
    const session = new AbortController();
    const s = holdSignal(60_000, client.signal, session.signal)();
    expect(s.aborted).toBe(false);
    // No listener on the signals it follows, not even while it is held (see the next test).
    expect(getEventListeners(client.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
    const why = new Error('the client went away');
    client.abort(why);
    expect(s.aborted).toBe(true);
    expect(s.reason).toBe(why);
    expect(getEventListeners(client.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
    session.abort(new Error('later'));
    expect(s.reason).toBe(why);
  });

  it('leaves nothing on a signal many holds share: a session held a dozen times gets no leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const session = new AbortController();
      const held = Array.from({ length: 12 }, () => holdSignal(60_000, session.signal)());
      await sleep(20);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
      session.abort(new Error('session ended'));
      expect(held.every((s) => s.aborted && (s.reason as Error).message === 'session ended')).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('is aborted at once when a signal already was', () => {
    const session = new AbortController();
    const why = new Error('session ended');
    session.abort(why);
    const s = holdSignal(60_000, session.signal)();
    expect(s.aborted).toBe(true);
    expect(s.reason).toBe(why);
  });

  it('times out with no other signal to follow', async () => {
    const s = holdSignal(20)();
    await sleep(60);
    expect(s.aborted).toBe(true);
    expect((s.reason as DOMException).name).toBe('TimeoutError');
  });
});
