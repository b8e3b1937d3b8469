// Statements the gate is holding for a person's decision, kept running on their own loopback session
// after the tool call that sent them has returned its pending result; `wait_for_approval` collects
// the outcome by request id. In memory, in this process only: nothing here decides anything.

import type { RunOutcome, RunStatement } from './statement-runner.js';

/** How long a finished outcome waits to be collected before it is dropped. */
export const KEEP_OUTCOME_MS = 15 * 60_000;
/** Most statements held at once by this process (a bound on open loopback sessions). */
export const MAX_HELD = 200;

export interface HeldRun {
  readonly requestId: string;
  readonly run: RunStatement;
  readonly outcome: Promise<RunOutcome>;
  /** Set once the statement has finished (run, refused, withdrawn). */
  readonly settled: () => RunOutcome | undefined;
}

interface Entry extends HeldRun {
  readonly controller: AbortController;
  timer?: NodeJS.Timeout;
}

export class HeldStatements {
  readonly #runs = new Map<string, Entry>();

  get size(): number {
    return this.#runs.size;
  }

  get full(): boolean {
    return this.#runs.size >= MAX_HELD;
  }

  add(
    requestId: string,
    run: RunStatement,
    outcome: Promise<RunOutcome>,
    controller: AbortController,
  ): HeldRun {
    let settled: RunOutcome | undefined;
    const entry: Entry = { requestId, run, outcome, controller, settled: () => settled };
    this.#runs.set(requestId, entry);
    void outcome.then((o) => {
      settled = o;
      entry.timer = setTimeout(
        () => this.#runs.get(requestId) === entry && this.#runs.delete(requestId),
        KEEP_OUTCOME_MS,
      );
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
      this.#runs.delete(requestId);
    }
  }

  /** Closes every held session: the gate withdraws their requests (the client went away). */
  close(): void {
    for (const e of this.#runs.values()) {
      clearTimeout(e.timer);
      e.controller.abort();
    }
    this.#runs.clear();
  }
}
