import { describe, expect, test } from 'vitest';
import type { SessionRecord } from '../core/records.js';
import { canonicalJson } from '../recording/canonical-json.js';
import { eventHash, GENESIS_PREV, sha256Hex } from '../recording/record-format.js';
import { eventToChained } from '../recording/recording-export.js';
import { planBatch, type WriteOp } from './batch-plan.js';
import { EventChain, isoTime } from './event-chain.js';

const session: SessionRecord = {
  id: 's1',
  startedAt: new Date(1_000),
  subject: 'a',
  groups: [],
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
  clientAddress: '127.0.0.1:1',
  connection: 'c',
  protocol: 'postgres',
};

function plan(chain: EventChain, ops: WriteOp[]) {
  return chain.plan(ops, planBatch(ops).invalid, new Map(), 5_000);
}

describe('EventChain', () => {
  test('the hand-built event text is exactly the canonical JSON of the event', () => {
    const chain = new EventChain();
    chain.onCommitted(() => undefined); // the listeners' copies are built only when someone listens
    const p = plan(chain, [
      { kind: 'start-session', record: session },
      {
        kind: 'append-event',
        sessionId: 's1',
        event: {
          type: 'x "quoted"',
          at: new Date(2_000),
          statementId: 's1:00000001',
          data: { z: [1, { b: 2, a: 'é\u0000' }] },
        },
      },
    ]);
    for (const e of p.committed) {
      const stored = { ...e };
      expect(e.hash).toBe(sha256Hex(canonicalJson(eventToChained(stored))));
      expect(e.hash).toBe(eventHash(eventToChained(stored)));
    }
    expect(p.committed.map((e) => e.prev)).toEqual([GENESIS_PREV, p.committed[0]!.hash]);
  });

  test('tails advance only on commit; a failed batch is forgotten and re-read', () => {
    const chain = new EventChain();
    const first = plan(chain, [{ kind: 'start-session', record: session }]);
    chain.commit(first, [{ kind: 'start-session', record: session }]);
    const ops: WriteOp[] = [
      { kind: 'append-event', sessionId: 's1', event: { type: 'a', at: new Date(3_000), data: {} } },
    ];
    const failed = plan(chain, ops);
    expect(failed.events[0]).toMatchObject({ seq: 2, prev_hash: first.events[0]!.hash });
    chain.forget(ops); // the transaction failed
    expect(chain.missingTails(ops)).toEqual(['s1']);
    const retried = chain.plan(
      ops,
      [undefined],
      new Map([['s1', { seq: 1, hash: first.events[0]!.hash, ended: false }]]),
    );
    expect(retried.events[0]).toMatchObject({ seq: 2, prev_hash: first.events[0]!.hash });
  });

  test('ending a session seals its last hash with the sealer; later appends seal again', () => {
    const chain = new EventChain();
    const signed: Buffer[] = [];
    chain.setSealer({
      keyId: 'sha256:k',
      sign: (m) => (signed.push(m), Buffer.from('sig')),
      // Stands for the key's check: a seal it made over exactly this message.
      verify: (m, sig) => sig === Buffer.from('sig').toString('base64url') && signed.some((x) => x.equals(m)),
    });
    const ops: WriteOp[] = [
      { kind: 'start-session', record: session },
      { kind: 'end-session', id: 's1', endedAt: new Date(9_000), reason: 'bye' },
    ];
    const p = plan(chain, ops);
    expect(p.seals).toEqual([
      {
        session_id: 's1',
        seq: 2,
        hash: p.events[1]!.hash,
        signature: Buffer.from('sig').toString('base64url'),
        key_id: 'sha256:k',
        at: 5_000,
      },
    ]);
    expect(signed[0]!.toString()).toContain(p.events[1]!.hash);
    chain.commit(p, ops);
    // The ended session's tail was dropped: a late event reads it back (ended, with the seal over it)
    // and re-seals.
    const late: WriteOp[] = [
      { kind: 'append-event', sessionId: 's1', event: { type: 'late', at: new Date(10_000), data: {} } },
    ];
    expect(chain.missingTails(late)).toEqual(['s1']);
    const seal = {
      seq: 2,
      hash: p.events[1]!.hash,
      signature: p.seals[0]!.signature,
      keyId: 'sha256:k',
      at: isoTime(5_000),
    };
    const q = chain.plan(
      late,
      [undefined],
      new Map([['s1', { seq: 2, hash: p.events[1]!.hash, ended: true, seal }]]),
    );
    expect(q.seals.map((s) => s.seq)).toEqual([3]);
    // A stored tail no valid seal of this key covers (the chain rewritten in the store, the seal
    // deleted or left over another hash) is chained onto, and never sealed again (docs/security.md
    // class 49).
    const forged = 'f'.repeat(64);
    for (const tail of [
      { seq: 2, hash: forged, ended: true },
      { seq: 2, hash: forged, ended: true, seal },
      { seq: 2, hash: forged, ended: true, seal: { ...seal, hash: forged } },
    ]) {
      const r = chain.plan(late, [undefined], new Map([['s1', tail]]));
      expect(r.events.map((e) => e.prev_hash)).toEqual([forged]);
      expect(r.seals).toEqual([]);
    }
  });

  test('an event whose data has no JSON form is refused without breaking the chain', () => {
    const chain = new EventChain();
    const ops: WriteOp[] = [
      { kind: 'start-session', record: session },
      { kind: 'append-event', sessionId: 's1', event: { type: 'bad', at: new Date(1), data: { n: 1n } } },
      { kind: 'append-event', sessionId: 's1', event: { type: 'good', at: new Date(1), data: {} } },
    ];
    const p = plan(chain, ops);
    expect(p.invalid.map((e) => e?.message)).toEqual([
      undefined,
      'the event could not be recorded: its data is not JSON',
      undefined,
    ]);
    expect(p.events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'session.start'],
      [2, 'good'],
    ]);
  });
});

describe('EventChain.sessionOfStatement', () => {
  test("a statement's session: read from an id of the gate's shape, remembered for any other id", () => {
    const chain = new EventChain();
    // Not remembered (a refused statement is never completed); its id names its session.
    chain.noteStatement({ id: 'a:b:00000007', sessionId: 'a:b', seq: 7 });
    expect(chain.sessionOfStatement('a:b:00000007')).toBe('a:b');
    // Any other id is remembered until its completion or its session's end.
    chain.noteStatement({ id: 'free-form', sessionId: 'c', seq: 1 });
    expect(chain.sessionOfStatement('free-form')).toBe('c');
    chain.commit(
      { events: [], seals: [], committed: [], invalid: [], tails: new Map(), unknownSessions: new Set() },
      [{ kind: 'end-session', id: 'c', endedAt: new Date(), reason: 'client closed' }],
    );
    expect(chain.sessionOfStatement('free-form')).toBeUndefined();
    // An id of the gate's shape first submitted for another session (refused there), then for its own.
    chain.noteStatement({ id: 'd:00000001', sessionId: 'e', seq: 9 });
    chain.noteStatement({ id: 'd:00000001', sessionId: 'd', seq: 1 });
    expect(chain.sessionOfStatement('d:00000001')).toBe('d');
  });
});

describe('EventChain.resultSubmitted', () => {
  test('counts the other statements of the last window still awaiting a result', () => {
    const chain = new EventChain();
    chain.noteStatement({ id: 's:1', sessionId: 's', seq: 1 }, 1000);
    chain.noteStatement({ id: 't:1', sessionId: 't', seq: 1 }, 1002);
    // s:1 answered: t:1, recorded 3 ms ago, still awaits its result.
    expect(chain.resultSubmitted('s:1', 10, 1005)).toBe(1);
    // t:1 answered: none left.
    expect(chain.resultSubmitted('t:1', 10, 1006)).toBe(0);
  });

  test('a statement never answered (a refusal) stops counting once the window has passed', () => {
    const chain = new EventChain();
    chain.noteStatement({ id: 's:1', sessionId: 's', seq: 1 }, 1000); // refused: no result ever comes
    chain.noteStatement({ id: 't:1', sessionId: 't', seq: 1 }, 1001);
    expect(chain.resultSubmitted('t:1', 10, 1009)).toBe(1); // s:1 is 9 ms old: company
    chain.noteStatement({ id: 't:2', sessionId: 't', seq: 2 }, 1020);
    expect(chain.resultSubmitted('t:2', 10, 1021)).toBe(0); // s:1 is 21 ms old: dropped
    // Nothing of it is kept: a later answer for it finds nothing to remove and counts nothing.
    expect(chain.resultSubmitted('s:1', 10, 1022)).toBe(0);
  });
});

describe('isoTime', () => {
  test('is Date#toISOString for every time, whether its second was formatted last or not', () => {
    const times = [0, 1, 999, 1000, 1_767_225_600_000, 1_767_225_600_999, 253_402_300_799_999];
    const special = [-1, -62_198_755_200_000, 253_402_300_800_000, 8.64e15, 1.5, 1_767_225_600_000.25];
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
    for (let i = 0; i < 2000; i++) {
      const base = 1_600_000_000_000 + (next() % 1_000_000) * 1000;
      times.push(base + (next() % 1000), base + (next() % 1000), base + 1000 + (next() % 1000));
    }
    for (const ms of [...times, ...special, ...times.reverse()])
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});
