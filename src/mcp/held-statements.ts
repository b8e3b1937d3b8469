// Statements the gate is holding for a person's decision, kept running on their own loopback session
// after the tool call that sent them has returned its pending result; `wait_for_approval` collects
// the outcome by request id. In memory, in this process only: nothing here decides anything.

import type { RunOutcome, RunStatement } from './statement-runner.js';
import { principalKey } from '../core/identity.js';

/** How long a finished outcome waits to be collected before it is dropped. */
export const KEEP_OUTCOME_MS = 15 * 60_000;
/** Most statements held at once by this process (a bound on open loopback sessions). */
export const MAX_HELD = 200;
/**
 * Most of them one principal may have, outcomes not yet collected included: one agent that holds and
 * withdraws statements in a loop cannot take every place for the 15 minutes an outcome is kept.
 */
export const MAX_HELD_PER_PRINCIPAL = 20;

export interface HeldRun {
  readonly requestId: string;
  readonly run: RunStatement;
  readonly outcome: Promise<RunOutcome>;
  /** Set once the statement has finished (run, refused, withdrawn). */
  readonly settled: () => RunOutcome | undefined;
}

interface Entry extends HeldRun {
  readonly controller: AbortController;
  readonly principal: string;
  timer?: NodeJS.Timeout;
}

/** Whose held statement it is: the caller's principal key (issuer, subject, agent or not). */
function principalOf(run: RunStatement): string {
  return principalKey(run.caller.identity);
}

/** A place taken before the statement is sent: counted at once, given back once (or kept by `add`). */
export interface HeldPlace {
  release(): void;
}

export class HeldStatements {
  readonly #runs = new Map<string, Entry>();
  /** Entries and places taken, per principal (principalOf). */
  readonly #perPrincipal = new Map<string, number>();
  /** Places taken by calls still waiting to learn whether their statement is held. */
  #reserved = 0;
  /** Bumped by close(): a place taken before it is not given back twice. */
  #generation = 0;

  get size(): number {
    return this.#runs.size;
  }

  /** Why another statement of this caller cannot be held now; undefined when it can. */
  fullFor(run: RunStatement): 'gateway' | 'principal' | undefined {
    if (this.#runs.size + this.#reserved >= MAX_HELD) return 'gateway';
    if ((this.#perPrincipal.get(principalOf(run)) ?? 0) >= MAX_HELD_PER_PRINCIPAL) return 'principal';
    return undefined;
  }

  /**
   * Takes a place for a statement that may be held, before it is sent (the call then awaits the gate,
   * and concurrent calls must not all pass the bound before any is added): the place, or why there is
   * none. `add` with the place keeps it; every other way out must release it.
   */
  reserve(run: RunStatement): HeldPlace | 'gateway' | 'principal' {
    const full = this.fullFor(run);
    if (full !== undefined) return full;
    const principal = principalOf(run);
    this.#reserved++;
    this.#count(principal, 1);
    const generation = this.#generation;
    let taken = true;
    return {
      release: () => {
        if (!taken) return;
        taken = false;
        if (generation !== this.#generation) return;
        this.#reserved--;
        this.#count(principal, -1);
      },
    };
  }

  #count(principal: string, by: number): void {
    const n = (this.#perPrincipal.get(principal) ?? 0) + by;
    if (n > 0) this.#perPrincipal.set(principal, n);
    else this.#perPrincipal.delete(principal);
  }

  #remove(requestId: string, e: Entry): void {
    if (this.#runs.get(requestId) !== e) return;
    this.#runs.delete(requestId);
    this.#count(e.principal, -1);
  }

  /** Holds a statement; with the place reserved for it, that place becomes this entry. */
  add(
    requestId: string,
    run: RunStatement,
    outcome: Promise<RunOutcome>,
    controller: AbortController,
    place?: HeldPlace,
  ): HeldRun {
    place?.release();
    let settled: RunOutcome | undefined;
    const principal = principalOf(run);
    const entry: Entry = { requestId, run, outcome, controller, principal, settled: () => settled };
    const previous = this.#runs.get(requestId);
    if (previous) this.#remove(requestId, previous);
    this.#runs.set(requestId, entry);
    this.#perPrincipal.set(principal, (this.#perPrincipal.get(principal) ?? 0) + 1);
    void outcome.then((o) => {
      settled = o;
      entry.timer = setTimeout(() => this.#remove(requestId, entry), KEEP_OUTCOME_MS);
      entry.timer.unref();
    });
    return entry;
  }

  get(requestId: string): HeldRun | undefined {
    return this.#runs.get(requestId);
  }

  /** Forgets a collected outcome. */
  delete(requestId: string): void {
    const e = this.#runs.get(requestId);
    if (e?.settled()) {
      clearTimeout(e.timer);
      this.#remove(requestId, e);
    }
  }

  /** Closes every held session: the gate withdraws their requests (the client went away). */
  close(): void {
    for (const e of this.#runs.values()) {
      clearTimeout(e.timer);
      e.controller.abort();
    }
    this.#runs.clear();
    this.#perPrincipal.clear();
    // Places still reserved are gone with everything else; their calls' releases do nothing.
    this.#reserved = 0;
    this.#generation++;
  }
}
