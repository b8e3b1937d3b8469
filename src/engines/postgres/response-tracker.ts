// What each message forwarded upstream (or answered by Gatehouse itself) will produce, in order, so
// results and errors are attributed to the right statement, model changes are confirmed only by the
// upstream's own answer, and Gatehouse's answers take their place in the stream exactly where
// PostgreSQL would have put them. Model (protocol 55.2.3): after an error in the extended protocol
// the server discards messages until Sync.

import type { GatewayError } from '../../core/errors.js';
import type { RowMasker } from '../../core/masking.js';
import type { SqlStatement } from '../../core/sql-statement.js';
import type { Admission } from '../../gate/gate.js';
import type { ColumnDescription } from '../../wire/postgres/index.js';

/** One admitted execution whose results we are relaying (a portal's, a statement's in a Query…). */
export interface Run {
  readonly admission: Admission & { allowed: true };
  /** The statement it runs, when known: the transaction record follows its savepoints and ends. */
  readonly statement?: SqlStatement;
  /**
   * One of several statements of a simple Query: PostgreSQL runs them in an implicit transaction
   * block, where a procedure (CALL, DO) cannot commit or roll back.
   */
  readonly inQueryBlock?: true;
  rows: number;
  /** Row masker for the current result set, when masking applies. */
  rowMasker?: RowMasker;
  /** Which cells of a row the row masker needs (cellsToMask of it, asked once per result set). */
  rowWork?: readonly boolean[] | undefined;
  /** Column formats of the current result set (0 text, 1 binary), when known. */
  formats?: number[];
  /** Settled in the record (once). */
  settled?: boolean;
  /** Rows (or COPY lines) past the admission's rowCap not relayed since the last result end. */
  withheldHere?: number;
  /** The client was told that rows were withheld. */
  capNoticed?: boolean;
}

/** A statement of a simple Query: its run, and what its success changes in the session model. */
export interface QueryRun {
  readonly run: Run;
  readonly statement: SqlStatement;
  /** The session's epoch when it runs (ProtocolState.epoch): what it creates dates from then. */
  epoch?: number;
  /** The epoch after it, when it runs code Gatehouse cannot see into (ProtocolState.applyCompleted). */
  after?: number;
  /** A DISCARD ALL or TEMP: the temporary relations noted before it was forwarded (client-connection.ts). */
  temporaryCut?: number;
}

/** Callbacks of a forwarded message: `done(true)` on the upstream's confirmation, `done(false)`
 * when it failed or was skipped (the model change is then rolled back). */
interface Confirmed {
  readonly done?: (ok: boolean) => void;
}

export type Expected =
  | ({ readonly kind: 'parse' | 'bind' | 'close'; readonly silent?: boolean } & Confirmed)
  | ({
      readonly kind: 'describe';
      readonly silent?: boolean;
      /** Statement Describe: ParameterDescription first. */
      readonly statement: boolean;
      /** The RowDescription (or undefined for NoData); may return true to stall relaying. */
      readonly columns?: (columns: ColumnDescription[] | undefined, raw: Buffer) => boolean | void;
    } & Confirmed)
  | ({ readonly kind: 'execute'; readonly run: Run | undefined; readonly portal: string } & Confirmed)
  | { readonly kind: 'sync'; readonly execSeq: number }
  /** A simple Query: one run per statement, then ReadyForQuery. */
  | {
      readonly kind: 'query';
      readonly runs: QueryRun[];
      index: number;
      readonly refusal?: GatewayError;
      readonly execSeq: number;
      /**
       * A reviewed COPY FROM STDIN: Gatehouse answered the client's CopyInResponse itself and collected
       * the rows before the approval (copy-in-review.ts); the upstream's CopyInResponse is withheld.
       */
      readonly copyInAnswered?: boolean;
    }
  /** A FunctionCall: its result, then ReadyForQuery. */
  | {
      readonly kind: 'function';
      readonly run: Run | undefined;
      readonly refusal?: GatewayError;
      readonly execSeq: number;
    }
  /**
   * A Query of Gatehouse's own (the access mode: read-only-reads.ts). Everything it produces is
   * withheld from the client; `done(false)` when it failed.
   */
  | { readonly kind: 'own'; readonly sql: string; failed?: boolean; readonly done: (ok: boolean) => void }
  /** A poison message sent in place of a refused extended-protocol message. */
  | { readonly kind: 'refusal'; readonly refusal: GatewayError }
  /** An answer Gatehouse gives itself (ParseComplete of a statement held back), emitted in order. */
  | {
      readonly kind: 'synthetic';
      readonly bytes: Buffer;
      readonly emitted?: () => void;
      readonly dropped?: () => void;
    };

/**
 * What one queued entry is counted as holding (heldBytes), on top of the bytes it carries: the
 * entry, its callbacks and what they close over, as an estimate (a few JavaScript objects).
 */
export const ENTRY_COST = 128;
/** What one slot of the queue's array holds (a pointer). */
const SLOT_COST = 8;

export class ResponseTracker {
  private readonly queue: (Expected | undefined)[] = [];
  /** What each queued entry is counted as holding, alongside `queue`. */
  private readonly costs: number[] = [];
  private head = 0;
  /** The sum of `costs` from head on. */
  private held = 0;
  /** The upstream is skipping client messages until the next Sync (55.2.3). */
  private discarding = false;
  /** heldBelow()'s waiter: resolved once heldBytes is at most `limit`. */
  private waiter: { readonly limit: number; readonly resolve: () => void } | undefined;

  /** Entries ever queued, and ever taken off the queue: an entry's place is `taken` when at the head. */
  private queued = 0;
  private taken = 0;

  constructor(
    /**
     * Called for runs that will not execute (skipped after an error, or the session ended), and for
     * those the session ended while they were in flight upstream (`inFlight`: see drain).
     */
    private readonly onDropped: (e: Expected, inFlight: boolean) => void,
    /** Writes Gatehouse's own answers when they reach the head of the queue. */
    private readonly emit: (bytes: Buffer) => void,
  ) {}

  get pending(): number {
    return this.queue.length - this.head;
  }

  /**
   * About how many bytes the queue holds on the client's behalf until the upstream answers: every
   * entry (ENTRY_COST, plus the answer of Gatehouse's own or the refusal it carries, plus the bytes
   * its pusher says it keeps) and the queue's array. The connection reads nothing more from its
   * client while this is past its bound (client-connection.ts, pump).
   */
  get heldBytes(): number {
    return this.held + SLOT_COST * this.queue.length;
  }

  /** Resolves once heldBytes is at most `limit` (the upstream answered, or the queue was drained). */
  heldBelow(limit: number): Promise<void> {
    if (this.heldBytes <= limit) return Promise.resolve();
    this.waiter?.resolve();
    return new Promise((resolve) => (this.waiter = { limit, resolve }));
  }

  /** How many entries were ever queued: what the connection has written upstream so far is told by it. */
  get queuedTotal(): number {
    return this.queued;
  }

  /** An entry among the first `sent` ever queued is still awaited: its message is upstream, unanswered. */
  awaitsSent(sent: number): boolean {
    return this.pending > 0 && this.taken < sent;
  }

  /**
   * A ReadyForQuery is still to come (a Sync, Query or FunctionCall is unanswered): until then the
   * transaction status last reported may be out of date.
   */
  get awaitsReady(): boolean {
    for (let i = this.head; i < this.queue.length; i++) {
      const k = this.queue[i]?.kind;
      if (k === 'sync' || k === 'query' || k === 'function' || k === 'own') return true;
    }
    return false;
  }

  /** True while the upstream discards messages until Sync: whatever is forwarded now will not run. */
  get upstreamDiscarding(): boolean {
    return this.discarding;
  }

  /** Queues `e`; `keeps` is what else it holds until answered (the message's bytes, for heldBytes). */
  push(e: Expected, keeps = 0): void {
    if (this.discarding) {
      if (e.kind !== 'sync') {
        this.drop(e);
        return;
      }
      this.discarding = false;
    }
    const cost =
      ENTRY_COST +
      keeps +
      (e.kind === 'synthetic' ? e.bytes.length : 0) +
      ('refusal' in e && e.refusal !== undefined ? e.refusal.message.length : 0);
    this.queue.push(e);
    this.queued++;
    this.costs.push(cost);
    this.held += cost;
    this.emitOwnAnswers();
  }

  peek(): Expected | undefined {
    return this.queue[this.head];
  }

  shift(): Expected | undefined {
    return this.take();
  }

  /** Takes the head entry off the queue, and gives the array back as the queue empties. */
  private take(): Expected | undefined {
    const e = this.queue[this.head];
    if (e === undefined) return undefined;
    this.queue[this.head] = undefined;
    this.held -= this.costs[this.head]!;
    this.head++;
    this.taken++;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.costs.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.costs.splice(0, this.head);
      this.head = 0;
    }
    const w = this.waiter;
    if (w !== undefined && this.heldBytes <= w.limit) {
      this.waiter = undefined;
      w.resolve();
    }
    return e;
  }

  /**
   * Gatehouse's own answers at the head go out: nothing before them is still awaited. Called when
   * one is pushed, and by the relay after each upstream frame has been written out — not on shift,
   * which comes before the shifted frame's own bytes are written (and, after an error, before the
   * skip to Sync that drops them as PostgreSQL would).
   */
  emitOwnAnswers(): void {
    for (let e = this.queue[this.head]; e?.kind === 'synthetic'; e = this.queue[this.head]) {
      this.take();
      this.emit(e.bytes);
      e.emitted?.();
    }
  }

  /** After an extended-protocol error: drop everything up to the next Sync. */
  skipToSync(): void {
    for (let e = this.queue[this.head]; e !== undefined; e = this.queue[this.head]) {
      if (e.kind === 'sync') return;
      this.take();
      this.drop(e);
    }
    this.discarding = true;
  }

  private drop(e: Expected, inFlight = false): void {
    if (e.kind === 'synthetic') e.dropped?.();
    else if ('done' in e && e.done) e.done(false);
    this.onDropped(e, inFlight);
  }

  /**
   * Everything still awaited (the session is ending): rolled back and handed to onDropped, those
   * among the first `sent` entries ever queued (written upstream, unanswered) as in flight.
   */
  drain(sent = 0): void {
    for (let e = this.queue[this.head]; e !== undefined; e = this.queue[this.head]) {
      const inFlight = this.taken < sent;
      this.take();
      this.drop(e, inFlight);
    }
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }
}
