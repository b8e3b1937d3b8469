// The per-session hash chain (docs/recording.md): turns a group-commit batch into event rows (and
// seals), each carrying the SHA-256 of the previous event, written in the same transaction as the rows
// they describe. It must never chain to an event that did not commit, nor fork a session's chain.
//
// Chain order is submission order: the batch holds a session's ops in the order they were submitted
// to the store, and the group-commit keys (batch-plan.ts writeOpKeys) keep two batches holding the
// same session from committing at once. Tails advance only after a commit succeeds; after a failed
// one they are forgotten and re-read from the store, so a retried op chains to what really committed.

import { ERROR_CODES, GatewayError } from '../core/errors.js';
import { isStatementId } from '../gate/ids.js';
import { canonicalJson, jsonNumber, jsonString } from '../recording/canonical-json.js';
import {
  sessionEndData,
  EVENT_TYPES,
  resultData,
  resultDataText,
  sessionStartData,
  statementData,
  statementDataText,
} from '../recording/event-data.js';
import { GENESIS_PREV, RECORD_FORMAT_VERSION, sealMessage, sha256Hex } from '../recording/record-format.js';
import { opSessionId, type WriteOp } from './batch-plan.js';
import type { SessionEventsTable, SessionSealsTable } from './tables.js';

/** Signs a session's final hash. main.ts gives the store one (src/recording/record-signing-key.ts). */
export interface EventSealer {
  /** `sha256:<hex>` fingerprint of the public key. */
  readonly keyId: string;
  sign(message: Buffer): Buffer;
  /**
   * Checks a seal this key made (base64url signature). Without it, a session whose tail is read
   * back from the store is never sealed again (its chain cannot be vouched for).
   */
  verify?(message: Buffer, signature: string): boolean;
}

/** Where a session's chain stands: its last committed event. */
export interface ChainTail {
  readonly seq: number;
  readonly hash: string;
  /** The session has ended: events after its end are sealed again. */
  readonly ended: boolean;
  /** Read back from the store: the session's last seal, as stored. */
  readonly seal?: {
    readonly seq: number;
    readonly hash: string;
    readonly signature: string;
    readonly keyId: string;
    readonly at: string;
  };
  /**
   * The chain up to here was read back from the store, for an ended session, and no valid seal of
   * this key covers it: the store's file may have been rewritten, so it is never sealed again.
   */
  readonly unvouched?: boolean;
}

/** What the store found for a session it had no tail for. */
export type LoadedTail = ChainTail | 'no-session';

/** A committed event, as listeners (SIEM exporters, followers) receive it. */
export interface CommittedEvent {
  readonly session: string;
  readonly seq: number;
  readonly type: string;
  readonly at: Date;
  readonly statement?: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly prev: string;
  readonly hash: string;
}

export type CommittedEventListener = (events: readonly CommittedEvent[]) => void;

export interface EventPlan {
  readonly events: SessionEventsTable[];
  readonly seals: SessionSealsTable[];
  readonly committed: CommittedEvent[];
  /** Per op: an error that rejects it (appending to a session the store does not have). */
  readonly invalid: readonly (Error | undefined)[];
  readonly tails: ReadonlyMap<string, ChainTail>;
  /** Sessions of the batch the store does not have (their ops got no event). */
  readonly unknownSessions: ReadonlySet<string>;
}

/** The second isoTime last formatted, and its text up to the milliseconds (`YYYY-MM-DDTHH:MM:SS.`). */
let isoSecond = Number.NaN;
let isoPrefix = '';
const MS_DIGITS = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, '0')}Z`);

/**
 * `new Date(ms).toISOString()`, two per statement on the record's hot path: the text of the second is
 * kept, so most calls only append the milliseconds (years 1970–9999, whole ms; else Date formats it).
 */
export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < 253_402_300_800_000 && Number.isInteger(ms))) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    isoSecond = second;
  }
  return isoPrefix + (MS_DIGITS[ms - second * 1000] as string);
}

function finiteMs(d: Date | undefined, fallback: number): number {
  const t = d?.getTime();
  return t !== undefined && Number.isFinite(t) ? t : fallback;
}

/**
 * The canonical JSON of an event, built around its already-canonical data so a long statement is
 * serialised once. Keys in code-unit order: at, data, prev, seq, session, statement, type, v —
 * event-chain.test.ts checks this equals canonicalJson(event).
 */
function eventText(e: {
  at: string;
  dataText: string;
  prev: string;
  seq: number;
  session: string;
  statement: string | null;
  type: string;
}): string {
  const statement = e.statement === null ? '' : `"statement":${jsonString(e.statement)},`;
  return (
    `{"at":${jsonString(e.at)},"data":${e.dataText},"prev":${jsonString(e.prev)},` +
    `"seq":${jsonNumber(e.seq)},"session":${jsonString(e.session)},${statement}` +
    `"type":${jsonString(e.type)},"v":${RECORD_FORMAT_VERSION}}`
  );
}

interface PlannedEvent {
  readonly type: string;
  readonly at: number;
  readonly statement: string | null;
  /** Builds the data object (for the record's text when there is no dataText, and for listeners). */
  readonly data: () => Record<string, unknown>;
  /** Its canonical JSON written directly (statements and results, event-data.ts). */
  readonly dataText?: string;
}

/** The event an op adds. */
function eventOf(op: WriteOp, now: number): PlannedEvent {
  switch (op.kind) {
    case 'start-session':
      return {
        type: EVENT_TYPES.sessionStart,
        at: finiteMs(op.record.startedAt, now),
        statement: null,
        data: () => sessionStartData(op.record),
      };
    case 'record-statement':
      return {
        type: EVENT_TYPES.statement,
        at: finiteMs(op.record.at, now),
        statement: op.record.id,
        data: () => statementData(op.record),
        dataText: statementDataText(op.record),
      };
    case 'complete-statement':
      return {
        type: EVENT_TYPES.result,
        at: finiteMs(op.at, now),
        statement: op.id,
        data: () => resultData(op.result),
        dataText: resultDataText(op.result),
      };
    case 'end-session':
      return {
        type: EVENT_TYPES.sessionEnd,
        at: finiteMs(op.endedAt, now),
        statement: null,
        data: () => sessionEndData(op.reason),
      };
    case 'append-event':
      return {
        type: op.event.type,
        at: finiteMs(op.event.at, now),
        statement: op.event.statementId ?? null,
        data: () => ({ ...op.event.data }),
      };
  }
}

export class EventChain {
  readonly #tails = new Map<string, ChainTail>();
  /**
   * Statement id → session id for statements recorded through this store and not yet completed, whose
   * ids are not of the gate's shape (noteStatement).
   */
  readonly #statementSession = new Map<string, string>();
  readonly #sessionStatements = new Map<string, Set<string>>();
  /**
   * Statements recorded through this store whose results have not been submitted yet, with when each
   * was recorded (performance.now()), oldest first: only the recent ones are kept (resultSubmitted).
   */
  readonly #awaitingResult = new Map<string, number>();
  readonly #listeners = new Set<CommittedEventListener>();
  /**
   * Sessions live in this process: started through this store (their start submitted) and not ended
   * (their end not yet settled). A retention purge never deletes them (event-queries.ts).
   */
  readonly #live = new Set<string>();
  #sealer: EventSealer | undefined;
  #off = false;

  /**
   * Writes no events from now on. Only for benchmarks measuring what the record costs
   * (bench/recording-overhead.bench.ts); the gateway never calls it, and no config reaches it.
   */
  disableForBenchmark(): void {
    this.#off = true;
  }

  setSealer(sealer: EventSealer | undefined): void {
    this.#sealer = sealer;
  }

  /** The stored tail is covered by a valid seal of this sealer's key. */
  #vouched(session: string, t: ChainTail): boolean {
    const sealer = this.#sealer;
    const seal = t.seal;
    if (!sealer?.verify || !seal) return false;
    if (seal.seq !== t.seq || seal.hash !== t.hash || seal.keyId !== sealer.keyId) return false;
    const message = sealMessage({
      session,
      seq: seal.seq,
      hash: seal.hash,
      alg: 'Ed25519',
      key: seal.keyId,
      at: seal.at,
    });
    return sealer.verify(message, seal.signature);
  }

  get sealer(): EventSealer | undefined {
    return this.#sealer;
  }

  /** A session's start was submitted: it is live until its end settles. False when it already was. */
  sessionOpened(id: string): boolean {
    if (this.#live.has(id)) return false;
    this.#live.add(id);
    return true;
  }

  /** A session's end settled (or its start failed): it is no longer live in this process. */
  sessionClosed(id: string): void {
    this.#live.delete(id);
  }

  /** The sessions live in this process (sessionOpened, not yet sessionClosed). */
  get liveSessions(): ReadonlySet<string> {
    return this.#live;
  }

  /**
   * Sessions deleted by a purge: what this chain still knew of them (a tail, statements awaiting
   * their results) goes, so a later write to one of them finds no session instead of chaining to
   * events that are gone.
   */
  forgetSessions(ids: Iterable<string>): void {
    for (const id of ids) {
      this.#tails.delete(id);
      for (const st of this.#sessionStatements.get(id) ?? []) {
        this.#statementSession.delete(st);
        this.#awaitingResult.delete(st);
      }
      this.#sessionStatements.delete(id);
    }
  }

  /**
   * Called when a statement is submitted, so its completion can join the right chain. An id of the
   * gate's shape names its session (sessionOfStatement reads it from the id), so only other ids are
   * kept until their completion or their session's end: a refused statement is never completed, and
   * a session refused again and again would otherwise grow this map by an entry each time.
   */
  noteStatement(
    record: { readonly id: string; readonly sessionId: string; readonly seq: number },
    now = performance.now(),
  ): void {
    const { id, sessionId } = record;
    this.#awaitingResult.set(id, now);
    if (isStatementId(id, sessionId, record.seq)) {
      // What a refused statement of another session with this id left must not name its session.
      if (this.#statementSession.has(id)) this.#forgetStatement(id);
      return;
    }
    this.#statementSession.set(id, sessionId);
    let set = this.#sessionStatements.get(sessionId);
    if (!set) this.#sessionStatements.set(sessionId, (set = new Set()));
    set.add(id);
  }

  /**
   * Called when a statement's result is submitted: how many other statements recorded through this
   * store in the last `windowMs` still await theirs. While there are some, a result has company for
   * its commit soon (their results, or their sessions' next statements); when there are none, it has
   * none. An older one does not count: a result deferred for it would wait no longer than the window
   * anyway, and a statement never answered (a refusal) must not hold every later result back. So the
   * set holds only statements of the last window (memory bounded by the statement rate).
   */
  resultSubmitted(statementId: string, windowMs: number, now = performance.now()): number {
    const awaiting = this.#awaitingResult;
    awaiting.delete(statementId);
    // Oldest first (insertion order): drop those past the window, stop at the first within it.
    for (const [id, at] of awaiting) {
      if (now - at < windowMs) break;
      awaiting.delete(id);
    }
    return awaiting.size;
  }

  /**
   * The session of a completion: known when this store recorded the statement; otherwise the
   * gate's id convention `<session id>:<seq>` (src/gate/ids.ts). A completion is taken only when its
   * statement is recorded in that session (its `result` event joins that chain, and is read as the
   * statement's result there): a wrong guess, or none, is refused with nothing written.
   */
  sessionOfStatement(statementId: string): string | undefined {
    const known = this.#statementSession.get(statementId);
    if (known !== undefined) return known;
    const i = statementId.lastIndexOf(':');
    return i > 0 ? statementId.slice(0, i) : undefined;
  }

  /**
   * The ops of a batch refused before it is planned because their event could not be written, so
   * neither is the rest of them (an op lands with its event or not at all): an op of a session the
   * store does not have (never started, purged; `loaded` says 'no-session', and the batch does not
   * start it), and a result whose session is not known. `invalid` marks ops already refused (a start
   * refused there starts nothing). Undefined when there is none.
   */
  refusals(
    ops: readonly WriteOp[],
    invalid: readonly (Error | undefined)[],
    loaded: ReadonlyMap<string, LoadedTail>,
  ): (Error | undefined)[] | undefined {
    if (this.#off) return undefined;
    let out: (Error | undefined)[] | undefined;
    const started = new Set<string>();
    ops.forEach((op, i) => {
      if (invalid[i]) return;
      const s = opSessionId(op);
      let refusal: GatewayError | undefined;
      if (op.kind === 'start-session') started.add(op.record.id);
      else if (s === undefined)
        refusal = new GatewayError(
          ERROR_CODES.RECORD_FAILED,
          `no recorded statement with id ${op.kind === 'complete-statement' ? op.id : '?'} in a known session`,
        );
      else if (!started.has(s) && !this.#tails.has(s)) {
        // Not started in this batch nor known here: the store's answer (missingTails asked for it).
        const l = loaded.get(s);
        if (l === undefined || l === 'no-session')
          refusal = new GatewayError(ERROR_CODES.RECORD_FAILED, `no recorded session with id ${s}`);
      }
      if (refusal) (out ??= ops.map(() => undefined))[i] = refusal;
    });
    return out;
  }

  /** Sessions in `ops` whose tail must be read from the store before planning. */
  missingTails(ops: readonly WriteOp[]): string[] {
    if (this.#off) return [];
    const missing = new Set<string>();
    const startedHere = new Set<string>();
    for (const op of ops) {
      const s = opSessionId(op);
      if (s === undefined) continue;
      if (op.kind === 'start-session') startedHere.add(s);
      else if (!startedHere.has(s) && !this.#tails.has(s)) missing.add(s);
    }
    return [...missing];
  }

  /** Plans the event rows of a batch. `invalidOps` marks ops planBatch already refused. */
  plan(
    ops: readonly WriteOp[],
    invalidOps: readonly (Error | undefined)[],
    loaded: ReadonlyMap<string, LoadedTail> = new Map(),
    now = Date.now(),
  ): EventPlan {
    // Listeners' copies of the events are built only when someone listens (SIEM exporters).
    const forListeners = this.#listeners.size > 0;
    if (this.#off)
      return {
        events: [],
        seals: [],
        committed: [],
        invalid: ops.map(() => undefined),
        tails: new Map(),
        unknownSessions: new Set(),
      };
    const tails = new Map<string, ChainTail>();
    const unknown = new Set<string>();
    const toSeal = new Set<string>();
    const events: SessionEventsTable[] = [];
    const committed: CommittedEvent[] = [];
    const invalid: (Error | undefined)[] = [];
    const tailOf = (s: string): ChainTail | undefined => {
      const t = tails.get(s) ?? this.#tails.get(s);
      if (t) return t;
      const l = loaded.get(s);
      if (l === 'no-session') {
        unknown.add(s);
        return undefined;
      }
      if (!l) return { seq: 0, hash: GENESIS_PREV, ended: false };
      // An ended session's chain, read back from the store to append a late event to: sealed again
      // only when its stored tail is the one this key sealed. Otherwise the next seal would sign
      // whatever the store's file now holds (a chain rewritten and re-hashed, a seal deleted).
      if (l.ended && !this.#vouched(s, l)) return { seq: l.seq, hash: l.hash, ended: true, unvouched: true };
      return { seq: l.seq, hash: l.hash, ended: l.ended };
    };

    ops.forEach((op, i) => {
      const s = opSessionId(op);
      if (invalidOps[i] || s === undefined) {
        invalid.push(undefined);
        return;
      }
      const tail = op.kind === 'start-session' ? { seq: 0, hash: GENESIS_PREV, ended: false } : tailOf(s);
      if (!tail) {
        // No such session: refused (the stores refuse these before planning, `refusals`, so that no
        // row of such an op is written either).
        invalid.push(new GatewayError(ERROR_CODES.RECORD_FAILED, `no recorded session with id ${s}`));
        return;
      }
      let e: PlannedEvent;
      let dataText: string;
      try {
        e = eventOf(op, now);
        dataText = e.dataText ?? canonicalJson(e.data());
      } catch (cause) {
        invalid.push(
          new GatewayError(
            ERROR_CODES.RECORD_FAILED,
            'the event could not be recorded: its data is not JSON',
            { cause },
          ),
        );
        return;
      }
      const seq = tail.seq + 1;
      const at = isoTime(e.at);
      const hash = sha256Hex(
        eventText({ at, dataText, prev: tail.hash, seq, session: s, statement: e.statement, type: e.type }),
      );
      events.push({
        session_id: s,
        seq,
        type: e.type,
        at: e.at,
        statement_id: e.statement,
        data: dataText,
        prev_hash: tail.hash,
        hash,
      });
      if (forListeners)
        committed.push({
          session: s,
          seq,
          type: e.type,
          at: new Date(e.at),
          ...(e.statement !== null ? { statement: e.statement } : {}),
          data: e.data(),
          prev: tail.hash,
          hash,
        });
      const ended = tail.ended || op.kind === 'end-session';
      tails.set(s, { seq, hash, ended, ...(tail.unvouched ? { unvouched: true } : {}) });
      if (ended) toSeal.add(s);
      invalid.push(undefined);
    });

    const seals: SessionSealsTable[] = [];
    const sealer = this.#sealer;
    if (sealer) {
      for (const s of toSeal) {
        const t = tails.get(s);
        if (!t || t.unvouched) continue;
        const message = sealMessage({
          session: s,
          seq: t.seq,
          hash: t.hash,
          alg: 'Ed25519',
          key: sealer.keyId,
          at: isoTime(now),
        });
        seals.push({
          session_id: s,
          seq: t.seq,
          hash: t.hash,
          signature: sealer.sign(message).toString('base64url'),
          key_id: sealer.keyId,
          at: now,
        });
      }
    }
    return { events, seals, committed, invalid, tails, unknownSessions: unknown };
  }

  /** Called after each commit with the events it made durable. Listeners must not block or throw. */
  onCommitted(listener: CommittedEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * After the plan's transaction committed: advances tails, forgets ended sessions, and hands the
   * events to listeners.
   */
  commit(plan: EventPlan, ops: readonly WriteOp[]): void {
    for (const [s, t] of plan.tails) {
      if (t.ended) this.#tails.delete(s);
      else this.#tails.set(s, t);
    }
    for (const op of ops) {
      if (op.kind === 'complete-statement') this.#forgetStatement(op.id);
      else if (op.kind === 'end-session') {
        for (const id of this.#sessionStatements.get(op.id) ?? []) {
          this.#statementSession.delete(id);
          this.#awaitingResult.delete(id);
        }
        this.#sessionStatements.delete(op.id);
      }
    }
    if (plan.committed.length === 0) return;
    for (const l of this.#listeners) {
      try {
        l(plan.committed);
      } catch {
        // A listener (SIEM export) must never fail a write that already committed.
      }
    }
  }

  /** After a failed transaction: re-read these sessions' tails before their next write. */
  forget(ops: readonly WriteOp[]): void {
    for (const op of ops) {
      const s = opSessionId(op);
      if (s !== undefined) this.#tails.delete(s);
    }
  }

  #forgetStatement(id: string): void {
    const s = this.#statementSession.get(id);
    if (s === undefined) return;
    this.#statementSession.delete(id);
    const set = this.#sessionStatements.get(s);
    set?.delete(id);
    if (set && set.size === 0) this.#sessionStatements.delete(s);
  }
}
