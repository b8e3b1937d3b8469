import { describe, expect, it } from 'vitest';
import { HeldStatements, MAX_HELD, MAX_HELD_PER_PRINCIPAL } from './held-statements.js';
import type { RunOutcome, RunStatement } from './statement-runner.js';

/** Only what HeldStatements reads of a run: whose it is. */
function runOf(subject: string, issuer = 'https://idp.example'): RunStatement {
  return { caller: { identity: { subject, issuer } } } as unknown as RunStatement;
}

function pending(): { outcome: Promise<RunOutcome>; settle: () => void } {
  let settle!: () => void;
  const outcome = new Promise<RunOutcome>((resolve) => {
    settle = () => resolve({ kind: 'refused' } as unknown as RunOutcome);
  });
  return { outcome, settle };
}

describe('HeldStatements', () => {
  it("bounds one principal's held statements, outcomes not yet collected included, and not another's", async () => {
    const held = new HeldStatements();
    const mine = runOf('claude');
    const settles: (() => void)[] = [];
    for (let i = 0; i < MAX_HELD_PER_PRINCIPAL; i++) {
      expect(held.fullFor(mine)).toBeUndefined();
      const p = pending();
      settles.push(p.settle);
      held.add(`r${i}`, mine, p.outcome, new AbortController());
    }
    expect(held.fullFor(mine)).toBe('principal');
    // The same subject from another issuer is another principal.
    expect(held.fullFor(runOf('claude', 'https://other.example'))).toBeUndefined();
    expect(held.fullFor(runOf('gemini'))).toBeUndefined();

    // Finished but not collected: still counted.
    for (const s of settles) s();
    await new Promise((r) => setImmediate(r));
    expect(held.fullFor(mine)).toBe('principal');
    // Collected: the place is free again.
    held.delete('r0');
    expect(held.fullFor(mine)).toBeUndefined();
    held.close();
  });

  it('bounds the gateway as a whole', () => {
    const held = new HeldStatements();
    for (let i = 0; i < MAX_HELD; i++) {
      const who = runOf(`agent-${i % (MAX_HELD / MAX_HELD_PER_PRINCIPAL)}`);
      held.add(`r${i}`, who, pending().outcome, new AbortController());
    }
    expect(held.size).toBe(MAX_HELD);
    expect(held.fullFor(runOf('newcomer'))).toBe('gateway');
    held.close();
    expect(held.fullFor(runOf('newcomer'))).toBeUndefined();
  });

  it('counts a place from the moment it is reserved, so calls at once cannot all pass the bound', () => {
    const held = new HeldStatements();
    const mine = runOf('claude');
    // MAX_HELD_PER_PRINCIPAL calls reserve before any of them learns whether its statement is held.
    const places = Array.from({ length: MAX_HELD_PER_PRINCIPAL }, () => held.reserve(mine));
    expect(places.every((p) => typeof p === 'object')).toBe(true);
    expect(held.reserve(mine)).toBe('principal');
    expect(held.fullFor(mine)).toBe('principal');
    expect(held.fullFor(runOf('gemini'))).toBeUndefined();
    // One is held: its place becomes the entry (still counted); one finds nothing held and gives its
    // place back, twice without effect.
    const [first, second] = places as [{ release(): void }, { release(): void }];
    held.add('r1', mine, pending().outcome, new AbortController(), first);
    expect(held.fullFor(mine)).toBe('principal');
    second.release();
    second.release();
    first.release();
    expect(held.fullFor(mine)).toBeUndefined();
    expect(typeof held.reserve(mine)).toBe('object');
    expect(held.reserve(mine)).toBe('principal');
    // close() forgets every place; a call releasing its place afterwards changes nothing.
    held.close();
    const late = places[2] as { release(): void };
    late.release();
    expect(held.fullFor(mine)).toBeUndefined();
    const again = Array.from({ length: MAX_HELD_PER_PRINCIPAL }, () => held.reserve(mine));
    expect(again.every((p) => typeof p === 'object')).toBe(true);
    expect(held.reserve(mine)).toBe('principal');
    held.close();
  });

  it('bounds the gateway as a whole, reserved places included', () => {
    const held = new HeldStatements();
    for (let i = 0; i < MAX_HELD; i++) {
      const who = runOf(`agent-${i % (MAX_HELD / MAX_HELD_PER_PRINCIPAL)}`);
      expect(typeof held.reserve(who)).toBe('object');
    }
    expect(held.reserve(runOf('newcomer'))).toBe('gateway');
    held.close();
  });
});
