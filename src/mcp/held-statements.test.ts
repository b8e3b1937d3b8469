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
});
