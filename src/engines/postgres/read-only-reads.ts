// Reads run read-only (docs/security.md, "Reads run read-only"). A SELECT can run code Gatehouse
// never sees in its text: a view's query, a user-defined operator, cast or domain CHECK, a column
// default's function. Gatehouse cannot tell such a read from a plain one without trusting the
// catalog, so it makes the difference harmless instead: the session logs in upstream with
// default_transaction_read_only = on, and PostgreSQL itself refuses (25006) any write that hidden code
// attempts from a read. A statement the gate admitted as a write gets a read-write transaction, which
// Gatehouse opens with its own statements at a moment it knows the session's transaction state:
//
//   - idle: `SET default_transaction_read_only = off` before the write's Query (or extended-protocol
//     batch), and `… = on` again before the next statement that is not a write, once the session is
//     idle again (a SET inside a transaction block could be rolled back, so it is only trusted idle);
//   - in a transaction block that has run nothing but its BEGIN: `SET TRANSACTION READ WRITE`;
//   - otherwise (a transaction that has already read): nothing; the server refuses the write (25006).
//
// Clients may not change the access mode themselves (BEGIN/SET TRANSACTION READ WRITE, SET
// default_transaction_read_only …): the gate refuses it before policy.

import type { SettingChange, SqlCategory, SqlStatement } from '../../core/sql-statement.js';
import { parsePgBool } from '../../sql/postgres/pinned-settings.js';
import { EXTENDED_BATCH_MESSAGES, FrontendCode } from '../../wire/postgres/index.js';

/** Which sessions run their reads read-only, per connection (docs/config.md). */
export type ReadOnlyReadsSetting = 'agents' | 'everyone' | 'off';

/** The setting Gatehouse fixes at upstream login for these sessions. */
export const READ_ONLY_SETTING = 'default_transaction_read_only';

/** Statements made only of these categories never need a read-write transaction (`secrets` is a read). */
const READ_CATEGORIES: ReadonlySet<SqlCategory> = new Set(['read', 'transaction', 'session', 'secrets']);

/** True when one of the statements needs a read-write transaction to do what it was admitted for. */
export function needsReadWrite(statements: Iterable<SqlStatement | undefined>): boolean {
  for (const st of statements) {
    if (st === undefined) continue;
    for (const c of st.categories) if (!READ_CATEGORIES.has(c)) return true;
  }
  return false;
}

/** Whether the sessions of a principal on a connection run their reads read-only. */
export function readOnlyReadsApply(setting: ReadOnlyReadsSetting | undefined, agent: boolean): boolean {
  const s = setting ?? 'agents';
  return s === 'everyone' || (s === 'agents' && agent);
}

const ACCESS_MODE_NAMES: ReadonlySet<string> = new Set([
  'default_transaction_read_only',
  'transaction_read_only',
]);

/**
 * Why a setting change would let a read run read-write, or undefined. Turning read-only on keeps the
 * guarantee, and so does a RESET of default_transaction_read_only (back to the login value, which is
 * on). A RESET of transaction_read_only (or `SET … TO DEFAULT`) does not: its reset value is the
 * built-in default, off, and PostgreSQL 15 and older apply it at the start of a transaction, which
 * is then read-write (16 and later refuse it: 0A000; docs/security.md, class 175).
 */
export function readWriteViolation(changes: readonly SettingChange[] | undefined): string | undefined {
  for (const change of changes ?? []) {
    if (!ACCESS_MODE_NAMES.has(change.name)) continue;
    if (change.via === 'reset' && change.name === READ_ONLY_SETTING) continue;
    if (change.via !== 'reset' && change.value !== undefined && parsePgBool(change.value) === true) continue;
    const what =
      change.via === 'reset'
        ? `Resetting ${change.name} (its default is read-write)`
        : change.name === 'transaction_read_only'
          ? 'BEGIN READ WRITE / SET TRANSACTION READ WRITE'
          : `Changing ${change.name}`;
    return (
      `Gatehouse runs this session's reads in read-only transactions, so code a read reaches without naming it ` +
      `(a view, an operator, a cast) cannot write; it opens a read-write transaction itself for a statement ` +
      `admitted as a write. ${what} ` +
      `is refused: send the write as it is (in a transaction block, make it the first statement after BEGIN).`
    );
  }
  return undefined;
}

/** Query, FunctionCall, Parse, Bind, Execute: may take a snapshot, which fixes the access mode. */
const SNAPSHOT_TAKERS: ReadonlySet<number> = new Set([
  FrontendCode.Query,
  FrontendCode.FunctionCall,
  FrontendCode.Parse,
  FrontendCode.Bind,
  FrontendCode.Execute,
]);
/** Messages after which the next one starts a new batch. */
const BATCH_ENDS: ReadonlySet<number> = new Set([
  FrontendCode.Query,
  FrontendCode.FunctionCall,
  FrontendCode.Sync,
]);

/** A plain BEGIN or START TRANSACTION: one that leaves the access mode to the session default. */
export function isPlainBegin(st: SqlStatement | undefined): boolean {
  return (st?.kind === 'begin' || st?.kind === 'start transaction') && st.settings === undefined;
}

/**
 * What Gatehouse sends upstream before a batch, to give it the access mode it needs: fixed texts of
 * its own, not the client's statements, so they are not statements of the session's record (the
 * write they open the transaction for is).
 */
export const ACCESS_MODE_STEPS = [
  'SET default_transaction_read_only = off',
  'SET default_transaction_read_only = on',
  'SET TRANSACTION READ WRITE',
] as const;
export type ModeStep = (typeof ACCESS_MODE_STEPS)[number];

/**
 * The access-mode model of one session: what Gatehouse has set upstream, and whether the open
 * transaction block can still be made read-write. Changes only on what was forwarded and on the
 * upstream's answers (the connection reports both).
 */
export class ReadOnlyReads {
  /** default_transaction_read_only may be off upstream (set off for a write, not yet back on while idle). */
  private defaultOff = false;
  /**
   * The open transaction block has run only its BEGIN: nothing that takes a snapshot (Query,
   * FunctionCall, Parse, Bind, Execute) went upstream after it, so its access mode can still be set.
   */
  private loneBegin = false;
  /**
   * The open transaction is read-write by Gatehouse's doing: it made the block read-write (SET
   * TRANSACTION READ WRITE after BEGIN), or the transaction started while the default was off and
   * the default has since been turned on again (reportedOn). Cleared when the session is idle.
   */
  private rwBlock = false;
  /** Something of the current extended-protocol batch (since the last Sync) went upstream. */
  private batchOpen = false;

  constructor(readonly enforced: boolean) {}

  /**
   * A message went upstream (its type byte). A Query, FunctionCall or Sync ends a batch; Parse, Bind,
   * Execute, Describe and Close start the server's transaction if none is open, so the batch's
   * access mode is fixed from then on; Flush and COPY data change nothing.
   */
  forwardedMessage(type: number): void {
    if (SNAPSHOT_TAKERS.has(type)) this.loneBegin = false;
    if (BATCH_ENDS.has(type)) this.batchOpen = false;
    else if (EXTENDED_BATCH_MESSAGES.has(type)) this.batchOpen = true;
  }

  /** A plain BEGIN (a Query of its own, or a portal's Execute) went upstream. */
  forwardedLoneBegin(): void {
    this.loneBegin = true;
  }

  /** The session went idle (ReadyForQuery I): no transaction block is open. */
  idle(): void {
    this.rwBlock = false;
  }

  /**
   * Whether what goes upstream next may run in a read-write transaction: one Gatehouse opened for a
   * write and that is still open or unknown (`status` is the last reported transaction status;
   * `answersDue`: a ReadyForQuery is still to come, so the status may be out of date). A read in such
   * a transaction could reach code that writes: the connection decides it as a write too.
   */
  mayRunReadWrite(status: 'I' | 'T' | 'E', answersDue: boolean): boolean {
    if (!this.enforced) return false;
    return this.rwBlock || (this.defaultOff && (this.batchOpen || status !== 'I' || answersDue));
  }

  /**
   * The upstream reported default_transaction_read_only on (the client's RESET ALL, RESET, `SET … =
   * on`, DISCARD ALL; Gatehouse's own step); off ends the session. The default governs only
   * transactions that start later: one already open while it was off keeps the read-write mode it
   * started with until it ends (the session is idle again), and its reads are still decided as
   * writes (docs/security.md, class 173).
   */
  reportedOn(): void {
    if (this.defaultOff) this.rwBlock = true;
    this.defaultOff = false;
  }

  /** Whether the batch needs Gatehouse to wait for the transaction state and maybe send a step. */
  needsStep(write: boolean): boolean {
    return this.enforced && !this.batchOpen && (write || this.defaultOff);
  }

  /**
   * The step to send before a batch, once no answer is outstanding (`status` is then exact). For a
   * write: read-write when idle, or in a block that has run only its BEGIN; for anything else: back
   * to read-only when idle. Inside a block that is already read-write, reads stay in it.
   */
  step(write: boolean, status: 'I' | 'T' | 'E'): ModeStep | undefined {
    if (status === 'I') {
      if (write && !this.defaultOff) {
        this.defaultOff = true;
        return 'SET default_transaction_read_only = off';
      }
      if (!write && this.defaultOff) {
        this.defaultOff = false;
        return 'SET default_transaction_read_only = on';
      }
      return undefined;
    }
    if (write && status === 'T' && this.loneBegin) {
      this.rwBlock = true;
      return 'SET TRANSACTION READ WRITE';
    }
    return undefined;
  }
}
