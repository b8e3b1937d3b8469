// Tracks which upstream responses belong to which forwarded client message, so results, errors and
// Gatehouse's own refusals are attributed and ordered exactly as PostgreSQL would order them.
// Model (protocol 55.2.3): after an error in the extended protocol the server skips to Sync.

import type { GatewayError } from '../../core/errors.js';
import type { RowMasker } from '../../core/masking.js';
import type { Admission } from '../../gate/gate.js';

/** One admitted statement whose result we are waiting for. */
export interface Run {
  readonly admission: Admission & { allowed: true };
  rows: number;
  /** Row masker for the current result set, when masking applies. */
  rowMasker?: RowMasker;
  /** Column formats of the current result set (0 text, 1 binary), when known. */
  formats?: number[];
}

export type Expected =
  | { readonly kind: 'parse' | 'bind' | 'describe' | 'close' }
  | { readonly kind: 'execute'; readonly run: Run }
  | { readonly kind: 'sync' }
  /** A simple Query (or FunctionCall): one run per statement, then ReadyForQuery. */
  | { readonly kind: 'query'; readonly runs: Run[]; index: number; readonly refusal?: GatewayError }
  /** A poison message we sent in place of a refused extended-protocol message. */
  | { readonly kind: 'refusal'; readonly refusal: GatewayError };

export class ResponseTracker {
  private readonly queue: Expected[] = [];
  private head = 0;
  /** Upstream is skipping client messages until the next Sync (55.2.3). */
  private discarding = false;

  constructor(private readonly onDropped: (run: Run) => void) {}

  get pending(): number {
    return this.queue.length - this.head;
  }

  push(e: Expected): void {
    if (this.discarding) {
      if (e.kind !== 'sync') {
        if (e.kind === 'execute') this.onDropped(e.run);
        return;
      }
      this.discarding = false;
    }
    this.queue.push(e);
  }

  peek(): Expected | undefined {
    return this.queue[this.head];
  }

  shift(): Expected | undefined {
    const e = this.queue[this.head];
    if (e === undefined) return undefined;
    this.queue[this.head++] = undefined as unknown as Expected;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return e;
  }

  /** After an extended-protocol error: drop everything up to the next Sync. */
  skipToSync(): void {
    for (let e = this.peek(); e !== undefined; e = this.peek()) {
      if (e.kind === 'sync') return;
      this.shift();
      if (e.kind === 'execute') this.onDropped(e.run);
    }
    this.discarding = true;
  }

  /** Every run still waiting (for settling when the session ends). */
  drain(): Run[] {
    const runs: Run[] = [];
    for (let e = this.shift(); e !== undefined; e = this.shift()) {
      if (e.kind === 'execute') runs.push(e.run);
      else if (e.kind === 'query') runs.push(...e.runs.slice(e.index));
    }
    return runs;
  }
}
