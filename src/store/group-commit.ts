// Group commit: writes that arrive in the same event-loop turn, or while a commit is in flight, are
// written by one transaction, and every caller's promise settles only when that transaction has.
// Deferrable writes (a statement's result, which nothing waits on) start no commit of their own: they
// join the next one, or are committed `maxDeferMs` later when nothing else comes. Whether a write is
// deferrable is the caller's choice: the SQLite store defers a result only while other statements
// await theirs (sqlite-store.ts), the PostgreSQL store always, so one statement after another costs
// one PostgreSQL commit per statement, not two.
// It must never resolve a write that did not commit, and never leave a caller waiting after close().

import { ERROR_CODES, GatewayError } from '../core/errors.js';

/**
 * Writes a batch in one transaction. Resolves with one entry per op (an Error rejects just that op,
 * e.g. an update whose row does not exist) once committed; throws when the transaction failed.
 */
export type BatchWriter<Op> = (ops: readonly Op[]) => Promise<readonly (Error | undefined)[]>;

/** Which row an op creates or changes, and which row must already be committed before it runs. */
export interface OpKeys {
  /** Key of the row this op creates or changes (e.g. `statement:<id>`). */
  readonly provides?: string;
  /** Key of a row this op changes: it must not run concurrently with, or before, the op providing it. */
  readonly dependsOn?: string;
}

export interface GroupCommitOptions<Op> {
  readonly write: BatchWriter<Op>;
  /** Upper bound on ops per transaction (keeps a synchronous SQLite commit short). */
  readonly maxBatch: number;
  /**
   * Transactions allowed in flight at once (default 1). Above 1, a server that shares one WAL flush
   * among concurrent commits (PostgreSQL) commits more per fsync; ordering is kept by `keys`.
   */
  readonly maxInFlight?: number;
  /** Needed when maxInFlight > 1: an op never starts while the batch providing its dependency is in flight. */
  readonly keys?: (op: Op) => OpKeys;
  /**
   * True when a failed batch may be retried op by op because the failure was caused by one op's
   * data (a constraint violation) rather than by the store itself (closed, full, unreachable).
   */
  readonly isDataError: (err: unknown) => boolean;
  /** Longest a deferrable write waits for another write to share its commit (default 10 ms). */
  readonly maxDeferMs?: number;
}

export interface GroupCommitStats {
  /** Transactions committed. */
  readonly commits: number;
  /** Ops resolved as durable. */
  readonly written: number;
  /** Ops rejected. */
  readonly rejected: number;
  /** Transactions that failed. */
  readonly failedCommits: number;
  /** Writes waiting for a commit now, including those in the commit in flight. */
  readonly queued?: number;
  readonly largestBatch: number;
}

interface Pending<Op> {
  readonly op: Op;
  resolve(): void;
  reject(err: Error): void;
}

/** The error every caller sees when the store could not make its write durable. */
export function recordFailed(cause: unknown): GatewayError {
  if (cause instanceof GatewayError) return cause;
  return new GatewayError(ERROR_CODES.RECORD_FAILED, 'the gateway could not write to its session store', {
    cause,
  });
}

/** How long a deferrable write waits for company by default (GroupCommitOptions.maxDeferMs). */
export const DEFAULT_MAX_DEFER_MS = 10;

export class GroupCommitQueue<Op> {
  readonly #opts: GroupCommitOptions<Op>;
  readonly #maxInFlight: number;
  #queue: Pending<Op>[] = [];
  #scheduled = false;
  /** Commits the deferred writes when no other write has come within maxDeferMs. */
  #deferTimer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  #inFlightOps = 0;
  /** Keys provided by batches in flight, with how many in-flight ops provide each. */
  readonly #inFlightKeys = new Map<string, number>();
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  #stats = { commits: 0, written: 0, rejected: 0, failedCommits: 0, largestBatch: 0 };

  constructor(opts: GroupCommitOptions<Op>) {
    if (!(opts.maxBatch >= 1)) throw new RangeError('maxBatch must be at least 1');
    const maxInFlight = opts.maxInFlight ?? 1;
    if (!(maxInFlight >= 1)) throw new RangeError('maxInFlight must be at least 1');
    if (maxInFlight > 1 && !opts.keys) throw new RangeError('maxInFlight > 1 needs keys() to keep ordering');
    this.#opts = opts;
    this.#maxInFlight = maxInFlight;
  }

  /**
   * Queues a write; resolves once it is committed, rejects with GatewayError(RECORD_FAILED) otherwise.
   * A `deferrable` write keeps its place in the order but waits (at most maxDeferMs) for another
   * write to start the commit it joins: only for writes that nothing waits on before going on.
   */
  submit(op: Op, options: { readonly deferrable?: boolean } = {}): Promise<void> {
    if (this.#closed) {
      this.#stats.rejected++;
      return Promise.reject(new GatewayError(ERROR_CODES.RECORD_FAILED, 'the session store is closed'));
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      if (options.deferrable !== true) this.#schedule();
      else if (!this.#scheduled && this.#deferTimer === undefined) {
        // One timer serves every deferred write until it fires: a commit does not clear it (at one
        // statement after another that was a timer made and cleared per statement), so a write
        // deferred later waits less than maxDeferMs, never more; firing with nothing queued is a no-op.
        this.#deferTimer = setTimeout(() => {
          this.#deferTimer = undefined;
          if (this.#queue.length > 0) this.#schedule();
        }, this.#opts.maxDeferMs ?? DEFAULT_MAX_DEFER_MS);
        // Not unref'd: a process must not exit with a write pending (it waits at most maxDeferMs).
      }
    });
  }

  stats(): GroupCommitStats {
    return { ...this.#stats, queued: this.#queue.length + this.#inFlightOps };
  }

  /** Stops accepting writes and waits until everything already queued has settled. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
    clearTimeout(this.#deferTimer);
    this.#deferTimer = undefined;
  }

  /** Starts a commit of what is queued now, deferred writes included (without waiting for it). */
  commitDeferred(): void {
    if (this.#queue.length > 0) this.#schedule();
  }

  /** Commits what is queued (deferred writes included) and resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    if (this.#queue.length > 0) this.#schedule();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return this.#inFlight === 0 && !this.#scheduled && this.#queue.length === 0;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate (not nextTick) so that every write issued by the I/O callbacks of this loop turn
    // joins the batch; after a commit it also lets sockets be served before the next (synchronous
    // SQLite) batch runs.
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /** Starts batches while there is room in flight, cutting each before an op that must wait. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#maxInFlight) {
      const limit = Math.min(this.#opts.maxBatch, this.#queue.length);
      let n = 0;
      if (this.#inFlightKeys.size === 0) {
        n = limit;
      } else {
        const keys = this.#opts.keys;
        while (n < limit) {
          const dep = keys?.((this.#queue[n] as Pending<Op>).op).dependsOn;
          if (dep !== undefined && this.#inFlightKeys.has(dep)) break;
          n++;
        }
      }
      if (n === 0) return; // the head waits for a batch in flight; its completion pumps again
      const batch = this.#queue.splice(0, n);
      const provided = this.#track(batch);
      this.#inFlight++;
      this.#inFlightOps += batch.length;
      void this.#commit(batch).finally(() => {
        this.#inFlight--;
        this.#inFlightOps -= batch.length;
        for (const k of provided) {
          const left = (this.#inFlightKeys.get(k) ?? 1) - 1;
          if (left <= 0) this.#inFlightKeys.delete(k);
          else this.#inFlightKeys.set(k, left);
        }
        if (this.#queue.length > 0) this.#schedule();
        else this.#notifyIfIdle();
      });
    }
    this.#notifyIfIdle();
  }

  #notifyIfIdle(): void {
    if (!this.#isIdle() || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #track(batch: readonly Pending<Op>[]): string[] {
    const keys = this.#opts.keys;
    if (this.#maxInFlight === 1 || !keys) return [];
    const provided: string[] = [];
    for (const p of batch) {
      const k = keys(p.op).provides;
      if (k === undefined) continue;
      provided.push(k);
      this.#inFlightKeys.set(k, (this.#inFlightKeys.get(k) ?? 0) + 1);
    }
    return provided;
  }

  async #commit(batch: Pending<Op>[]): Promise<void> {
    this.#stats.largestBatch = Math.max(this.#stats.largestBatch, batch.length);
    let outcomes: readonly (Error | undefined)[];
    try {
      outcomes = await this.#opts.write(batch.map((p) => p.op));
    } catch (err) {
      this.#stats.failedCommits++;
      if (batch.length > 1 && this.#opts.isDataError(err)) {
        await this.#commitOneByOne(batch);
      } else {
        this.#rejectAll(batch, err);
      }
      return;
    }
    this.#stats.commits++;
    this.#settle(batch, outcomes);
  }

  /** After a data error, isolate the bad op so the others in its batch still commit. */
  async #commitOneByOne(batch: Pending<Op>[]): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as Pending<Op>;
      try {
        const outcomes = await this.#opts.write([p.op]);
        this.#stats.commits++;
        this.#settle([p], outcomes);
      } catch (err) {
        this.#stats.failedCommits++;
        if (this.#opts.isDataError(err)) {
          this.#rejectAll([p], err);
        } else {
          // The store itself failed: do not try the rest one by one (each could wait for a timeout).
          this.#rejectAll(batch.slice(i), err);
          return;
        }
      }
    }
  }

  #settle(batch: readonly Pending<Op>[], outcomes: readonly (Error | undefined)[]): void {
    batch.forEach((p, i) => {
      const err = outcomes[i];
      if (err) {
        this.#stats.rejected++;
        p.reject(recordFailed(err));
      } else {
        this.#stats.written++;
        p.resolve();
      }
    });
  }

  #rejectAll(batch: readonly Pending<Op>[], cause: unknown): void {
    const err = recordFailed(cause);
    this.#stats.rejected += batch.length;
    for (const p of batch) p.reject(err);
  }
}
