// Gatehouse's own model of a PostgreSQL session's named objects: prepared statements (protocol Parse
// and SQL PREPARE share one namespace on the server), portals and SQL cursors (also one namespace),
// and the run-time settings the session has changed. The engine changes it only as the upstream
// confirms (ParseComplete, BindComplete, the CommandComplete of PREPARE/DECLARE/DEALLOCATE/CLOSE…),
// and a change the upstream refuses is rolled back. Upstream names of protocol objects are
// Gatehouse's own, so no client, by SQL or by protocol, reaches an object Gatehouse did not create
// for it. Pure: no I/O.

import type { Decision, Obligations } from '../../core/decision.js';
import type { SessionObjectRef, SettingChange, SqlStatement } from '../../core/sql-statement.js';
import type { ColumnDescription } from '../../wire/postgres/index.js';
import type { ResolvedColumnRef } from '../../masking/result-masker.js';
import type { Run } from './response-tracker.js';
import { isCustomSetting, MEANING_SETTINGS } from '../../sql/postgres/setting-risks.js';

/**
 * Names Gatehouse gives its upstream objects start so; a client SQL statement naming a prepared
 * statement or cursor with this prefix is refused, so it can never reach one of them.
 */
export const RESERVED_PREFIX = 'gatehouse_';

export interface StateLimits {
  /** Named prepared statements a session may hold (protocol and SQL). */
  readonly maxStatements: number;
  /** Total text of a session's prepared statements, in bytes. */
  readonly maxStatementBytes: number;
  /** Portals (protocol) and cursors (SQL) a session may hold. */
  readonly maxPortals: number;
}

/**
 * Categories of statements that may run code Gatehouse cannot see into (a DO block, CALL, a
 * user-defined function, LOAD…). Such code runs inside the upstream session and can replace any
 * prepared statement or cursor in it by name (DEALLOCATE and PREPARE, CLOSE and DECLARE): whatever
 * Gatehouse created before it is no longer known to hold what Gatehouse decided (see `epoch`).
 */
const HIDDEN_CODE: ReadonlySet<string> = new Set(['procedural', 'unknown', 'admin']);

/**
 * In ProtocolState's uncertain settings: any custom `prefix.name` setting, whose names Gatehouse does
 * not know (code it cannot see into may have set one). Only RESET ALL makes them known again.
 */
export const ANY_CUSTOM_SETTING = '*.';

/** True when running any of these statements may run code Gatehouse cannot see into. */
export function runsHiddenCode(statements: readonly (SqlStatement | undefined)[]): boolean {
  for (const st of statements) if (hidesCode(st)) return true;
  return false;
}

/** Statements that end a transaction, or undo part of one: the cursors declared in it may close. */
const ENDS_CURSORS: ReadonlySet<string> = new Set([
  'commit',
  'rollback',
  'rollback to savepoint',
  'prepare transaction',
]);

/**
 * The statement runs a prepared statement or cursor by its SQL name (EXECUTE, FETCH, MOVE, WHERE
 * CURRENT OF, EXPLAIN EXECUTE, CREATE TABLE … AS EXECUTE): it is decided by what the name holds.
 */
export function usesSessionObjects(st: SqlStatement | undefined): boolean {
  return st?.sessionObjects?.some((r) => r.op === 'use') === true;
}

/**
 * A use in `st` of a name that no earlier statement of the same query string creates (`pending`):
 * what it runs is what the session model holds for the name.
 */
export function usesSessionModel(st: SqlStatement, pending: PendingObjects): boolean {
  for (const ref of st.sessionObjects ?? []) {
    if (ref.op !== 'use') continue;
    if (!(ref.kind === 'prepared' ? pending.prepared : pending.cursors).has(ref.name)) return true;
  }
  return false;
}

/**
 * Running the statement may change what a SQL name holds upstream: it creates or drops a prepared
 * statement or cursor (PREPARE, DEALLOCATE [ALL], DECLARE, CLOSE [ALL], DISCARD ALL), or ends the
 * transaction (or savepoint) cursors were declared in while the session has some. Code Gatehouse
 * cannot see into is not counted here: it makes everything created before it untrusted (`epoch`).
 */
export function changesSessionObjects(st: SqlStatement | undefined, hasCursors: boolean): boolean {
  if (st === undefined) return false;
  if (st.sessionObjects?.some((r) => r.op !== 'use') === true) return true;
  return hasCursors && ENDS_CURSORS.has(st.kind);
}

/**
 * The statement itself may run code Gatehouse cannot see into. An EXECUTE nested in EXPLAIN or
 * CREATE TABLE AS is `unknown` for policy, but the statement it runs is known: whoever asks decides
 * that one on its own (runsHiddenCode over the statements a use inherits).
 */
export function hidesCode(st: SqlStatement | undefined): boolean {
  if (st === undefined) return false;
  if (setsCustomSettingsOnly(st)) return false;
  for (const c of st.categories) {
    if (!HIDDEN_CODE.has(c)) continue;
    if (c !== 'unknown' || !st.sessionObjects?.some((r) => r.kind === 'prepared' && r.op === 'use'))
      return true;
  }
  return false;
}

/**
 * A SET or RESET of custom `prefix.name` settings to values Gatehouse reads: `admin` for policy, but
 * it runs no code (an extension's assign hook is the extension's own), and the values are bound to
 * approvals like any meaning-changing setting's (class 71). Treating it as code Gatehouse cannot see
 * into made every later statement needing approval refused until RESET ALL undid it.
 */
function setsCustomSettingsOnly(st: SqlStatement): boolean {
  if (!/^(?:set|reset) /.test(st.kind)) return false;
  if (st.categories.length !== 1 || st.categories[0] !== 'admin') return false;
  if (st.settings === undefined || st.settings.length === 0) return false;
  return st.settings.every(
    (c) =>
      isCustomSetting(c.name) &&
      !c.name.startsWith('*') &&
      (c.via === 'reset' || (c.via === 'set' && c.value !== undefined)),
  );
}

export interface StatementEntry {
  /** The client's name ('' for the unnamed statement). */
  readonly client: string;
  /**
   * The name upstream: Gatehouse's own for protocol statements, the client's for SQL PREPARE. A
   * statement found untrusted is prepared again under a fresh Gatehouse name (ProtocolState.epoch).
   */
  upstream: string;
  readonly origin: 'protocol' | 'sql';
  readonly text: string;
  readonly paramTypes: readonly number[];
  /** The classified statement; undefined for an empty query. */
  readonly statement: SqlStatement | undefined;
  readonly bytes: number;
  /** Upstream has it (Parse forwarded). A statement waiting for approval is not sent before Bind. */
  materialized: boolean;
  /** Confirmed by ParseComplete (or CommandComplete of PREPARE). */
  confirmed: boolean;
  /** Row shape from a Describe of the statement (all columns in text format). */
  columns?: ColumnDescription[];
  /**
   * The session's epoch when `upstream` was prepared upstream (-1: not known to exist there). An
   * epoch older than the session's means code Gatehouse cannot see ran since, and may have replaced it.
   */
  epoch: number;
  /**
   * The epoch when the object upstream under the client's own name was created, which SQL
   * (EXECUTE) reaches: SQL PREPARE's; 0 for a protocol statement, whose client name Gatehouse never
   * creates upstream (code Gatehouse cannot see may create it).
   */
  sqlEpoch: number;
  /** A Sync count while a re-Parse under a fresh name is unconfirmed (it may still fail). */
  reparsing?: number;
  /** Running it may run code Gatehouse cannot see into (runsHiddenCode), asked once. */
  readonly hiddenCode: boolean;
}

export interface PortalEntry {
  readonly client: string;
  readonly upstream: string;
  readonly statement: StatementEntry;
  readonly resultFormats: readonly number[];
  /** The admitted execution this portal carries (undefined for an empty query). */
  readonly run: Run | undefined;
  /**
   * The connection's count of forwarded changes to SQL names (prepared statements, cursors) when
   * this portal's run was decided: a portal of `EXECUTE p` or `FETCH c` looks the name up when it
   * first runs, not when it is bound, so a change since then means it would run something else.
   */
  readonly objectSeq: number;
  confirmed: boolean;
  /** An Execute of it was forwarded: what it names was looked up then (a utility portal runs whole). */
  started: boolean;
  /** Columns as this portal returns them (from Describe of the portal), with their resolved origins. */
  columns?: readonly ResolvedColumnRef[];
  /** Execute has run to CommandComplete (a suspended portal has not). */
  finished: boolean;
  /** The session's epoch when it was bound (see StatementEntry.epoch). */
  epoch: number;
  /** Executing it may run code Gatehouse cannot see into (its statement's, or what that names). */
  readonly hiddenCode: boolean;
}

export interface CursorEntry {
  readonly name: string;
  /** The DECLARE statement: its query decides what FETCH and MOVE may do. */
  readonly statement: SqlStatement;
  readonly holdable: boolean;
  /** Declared in the transaction now open (dropped if it does not commit). */
  inTransaction: boolean;
  /** The session's epoch when it was declared (see StatementEntry.epoch). */
  epoch: number;
  /** Bytes of its statement's text (counted against maxStatementBytes: cannotCreate). */
  readonly bytes: number;
}

/** Prepared statements and cursors created by statements forwarded and not yet answered (cannotCreate). */
export interface CreatesInFlight {
  readonly statements: number;
  readonly cursors: number;
  readonly bytes: number;
}

export const NO_CREATES_IN_FLIGHT: CreatesInFlight = Object.freeze({ statements: 0, cursors: 0, bytes: 0 });

/** What `st` creates, as counted by cannotCreate, added to `to`. */
export function addCreates(to: CreatesInFlight, st: SqlStatement | undefined): CreatesInFlight {
  const refs = st?.sessionObjects;
  if (refs === undefined || !refs.some((r) => r.op === 'create')) return to;
  let statements = to.statements;
  let cursors = to.cursors;
  for (const ref of refs) {
    if (ref.op !== 'create') continue;
    if (ref.kind === 'prepared') statements++;
    else cursors++;
  }
  return { statements, cursors, bytes: to.bytes + Buffer.byteLength(st!.text) };
}

/** Statements after which a setting changed before them in a transaction may be undone or ended. */
const ENDS_OR_UNDOES: ReadonlySet<string> = new Set([
  'commit',
  'rollback',
  'rollback to savepoint',
  'prepare transaction',
]);

/**
 * The channel a plain `LISTEN name` or `LISTEN "name"` names, as PostgreSQL reads it (an unquoted
 * name folded to lower case, at most 63 bytes); undefined for any other spelling (comments, Unicode
 * escapes), whose notifications are then masked as code's (class 246).
 */
function listenChannel(text: string): string | undefined {
  const m = /^\s*listen\s+(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))\s*;?\s*$/i.exec(text);
  if (m === null) return undefined;
  const name = m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!.toLowerCase();
  return Buffer.byteLength(name) <= 63 ? name : undefined;
}

/** How many setting values a session's client may give that Gatehouse remembers (class 244). */
const MAX_GIVEN_VALUES = 1024;
/** The longest such value remembered, in characters (the server cuts application_name at 63 bytes). */
const MAX_GIVEN_LENGTH = 1024;

export class ProtocolState {
  private readonly statements = new Map<string, StatementEntry>();
  private readonly portals = new Map<string, PortalEntry>();
  private readonly cursors = new Map<string, CursorEntry>();
  private statementBytes = 0;
  private seq = 0;
  /**
   * Counts statements forwarded that may run code Gatehouse cannot see into (runsHiddenCode). A
   * prepared statement, portal or cursor created at an older epoch may have been replaced upstream
   * by that code, so it is not used as it stands: a statement is prepared again under a fresh name
   * (protocol) and a portal or cursor is refused. A session that never runs such code stays at 0.
   */
  private epochValue = 0;
  /** Settings the session changed (name → value), as confirmed; `local` ones end with the transaction. */
  private readonly sessionSettings = new Map<string, string>();
  private readonly localSettings = new Map<string, string | undefined>();
  /** effectiveSettings() as last built; dropped whenever a setting changes. */
  private settingsView: Readonly<Record<string, string>> | undefined;
  private readonly loginValues = new Map<string, string>();
  /**
   * Settings whose value upstream Gatehouse cannot tell (`*`: any setting): changed to a value it
   * could not read (set_config with a computed value), or changed in a transaction or savepoint
   * that was then rolled back, which PostgreSQL undoes without a word for settings it does not
   * report. Cleared by a SET or RESET of known value that commits, by RESET ALL, or by the
   * server's own report (ParameterStatus). docs/security.md, class 31.
   */
  private readonly uncertain = new Set<string>();
  /** Settings changed in the open transaction (`*`: RESET ALL): a rollback undoes them upstream. */
  private readonly txChanged = new Set<string>();
  /** The open transaction will not commit: a ROLLBACK ran, or an error aborted it. */
  private txAborted = false;
  /**
   * The values the client itself gave each setting (lower-case name → lower-cased values): its
   * startup parameters, the server's report at login, and the values of its own SET and set_config
   * (wherever Gatehouse decided them, run or not). A value the server reports later that is not
   * among them was chosen by code Gatehouse could not see into (docs/security.md, class 244).
   */
  private readonly given = new Map<string, Set<string>>();
  private givenCount = 0;
  /**
   * The channels the client LISTENs on by its own statements (bounded as `given`). A notification
   * on any other channel reached the session through a LISTEN that code Gatehouse could not see
   * into ran, on a channel it named (docs/security.md, class 246).
   */
  private readonly listened = new Set<string>();

  constructor(
    private readonly limits: () => StateLimits,
    /** Settings applied at login (startup parameters), what RESET returns to. */
    private readonly startupSettings: ReadonlyMap<string, string> = new Map(),
  ) {
    for (const [k, v] of startupSettings) this.give(k, v);
  }

  // ------------------------------------------------------------------ prepared statements

  statement(client: string): StatementEntry | undefined {
    return this.statements.get(client);
  }

  get epoch(): number {
    return this.epochValue;
  }

  /** Statements that may run code Gatehouse cannot see into were forwarded (`count` of them). */
  advanceEpoch(count = 1): void {
    this.epochValue += count;
    // Such code can change settings too (set_config, SET in a function body); the server reports
    // only a few of them, so the others that change a statement's meaning are no longer known.
    for (const name of MEANING_SETTINGS) this.markUncertain(name);
    this.markUncertain(ANY_CUSTOM_SETTING);
  }

  /**
   * The protocol statement's upstream object may no longer be what Gatehouse prepared: code it
   * cannot see ran since (or a re-Parse may have failed, with a Sync since: `syncs` counts them).
   * The unnamed statement cannot be reached from SQL, so it is never untrusted.
   */
  untrusted(entry: StatementEntry, syncs: number): boolean {
    if (entry.client === '' || !entry.materialized) return false;
    return entry.epoch < this.epochValue || (entry.reparsing !== undefined && entry.reparsing < syncs);
  }

  /** A fresh Gatehouse name for preparing the statement again upstream. */
  freshStatementName(): string {
    return `${RESERVED_PREFIX}s${++this.seq}`;
  }

  /** The portal was bound before code Gatehouse cannot see into ran, which may have replaced it. */
  portalUntrusted(portal: PortalEntry): boolean {
    return portal.epoch < this.epochValue;
  }

  /**
   * Why the prepared statements and cursors `st` creates (SQL PREPARE, DECLARE; in a Query or
   * through a portal) would take the session past its bounds, or undefined: the count of named
   * statements (`maxStatements`), of portals and cursors (`maxPortals`), and the text they hold
   * (`maxStatementBytes`, cursors' texts included), counting those created earlier in the same query
   * string (`pending`) and those forwarded and not yet answered (`inFlight`). Before, only the
   * protocol's Parse and Bind were bounded, so SQL could make the gateway hold any number of
   * statements and cursors of any size (docs/security.md, class 184).
   */
  cannotCreate(
    st: SqlStatement,
    pending: PendingObjects,
    inFlight: CreatesInFlight,
  ): { code: string; message: string } | undefined {
    const refs = st.sessionObjects;
    if (refs === undefined || !refs.some((r) => r.op === 'create')) return undefined;
    const l = this.limits();
    let pendingBytes = 0;
    for (const p of [...pending.prepared.values(), ...pending.cursors.values()])
      pendingBytes += Buffer.byteLength(p.text);
    let cursorBytes = 0;
    for (const c of this.cursors.values()) cursorBytes += c.bytes;
    const bytes = Buffer.byteLength(st.text);
    for (const ref of refs) {
      if (ref.op !== 'create') continue;
      if (ref.kind === 'prepared') {
        if (this.namedStatements() + pending.prepared.size + inFlight.statements >= l.maxStatements)
          return {
            code: '54000',
            message: `Gatehouse: too many prepared statements in this session (limit ${l.maxStatements}); DEALLOCATE some first`,
          };
      } else if (
        this.portals.size + this.cursors.size + pending.cursors.size + inFlight.cursors >=
        l.maxPortals
      ) {
        return {
          code: '54000',
          message: `Gatehouse: too many open portals and cursors in this session (limit ${l.maxPortals}); CLOSE some first`,
        };
      }
    }
    if (this.statementBytes + cursorBytes + pendingBytes + inFlight.bytes + bytes > l.maxStatementBytes)
      return {
        code: '54000',
        message: `Gatehouse: prepared statements and cursors in this session would hold more than ${l.maxStatementBytes} bytes of text; DEALLOCATE or CLOSE some first`,
      };
    return undefined;
  }

  /** Why a new statement called `client` of `bytes` cannot be added, or undefined. */
  cannotAddStatement(client: string, bytes: number): { code: string; message: string } | undefined {
    if (client !== '' && this.statements.has(client))
      return { code: '42P05', message: `prepared statement "${client}" already exists` };
    const l = this.limits();
    const replaced = client === '' ? (this.statements.get('')?.bytes ?? 0) : 0;
    if (client !== '' && this.namedStatements() >= l.maxStatements) {
      return {
        code: '54000',
        message: `Gatehouse: too many prepared statements in this session (limit ${l.maxStatements}); close some (Close or DEALLOCATE) first`,
      };
    }
    if (this.statementBytes - replaced + bytes > l.maxStatementBytes) {
      return {
        code: '54000',
        message: `Gatehouse: prepared statements in this session would hold more than ${l.maxStatementBytes} bytes of text; close some (Close or DEALLOCATE) first`,
      };
    }
    return undefined;
  }

  private namedStatements(): number {
    return this.statements.size - (this.statements.has('') ? 1 : 0);
  }

  /** Adds a protocol statement (Parse) under a fresh upstream name; unnamed stays unnamed. */
  addProtocolStatement(
    fields: Omit<
      StatementEntry,
      | 'upstream'
      | 'origin'
      | 'bytes'
      | 'confirmed'
      | 'materialized'
      | 'epoch'
      | 'sqlEpoch'
      | 'reparsing'
      | 'hiddenCode'
    >,
    /** The catalog shows the statement runs code outside pg_catalog its text does not (class 225). */
    unseenCode = false,
  ): StatementEntry {
    const entry: StatementEntry = {
      ...fields,
      upstream: fields.client === '' ? '' : `${RESERVED_PREFIX}s${++this.seq}`,
      origin: 'protocol',
      bytes: Buffer.byteLength(fields.text),
      materialized: false,
      confirmed: false,
      epoch: -1,
      sqlEpoch: 0,
      hiddenCode: unseenCode || hidesCode(fields.statement),
    };
    this.putStatement(entry);
    return entry;
  }

  private putStatement(entry: StatementEntry): void {
    this.removeStatement(entry.client);
    this.statements.set(entry.client, entry);
    this.statementBytes += entry.bytes;
  }

  /**
   * Puts back a statement whose Close the server skipped (an error earlier in the batch): it still
   * exists upstream. Only when its name is free: a later Parse of the name in the same batch was
   * skipped too, and dropping its entry leaves the name free, the statement then unknown here (a Bind
   * of it is refused, which is safe).
   */
  restoreStatement(entry: StatementEntry): void {
    if (this.statements.has(entry.client)) return;
    this.statements.set(entry.client, entry);
    this.statementBytes += entry.bytes;
  }

  /** Removes the entry, if it is still this one (a rollback must not remove a newer entry). */
  removeStatement(client: string, only?: StatementEntry): void {
    const e = this.statements.get(client);
    if (!e || (only !== undefined && e !== only)) return;
    this.statements.delete(client);
    this.statementBytes -= e.bytes;
  }

  // ------------------------------------------------------------------ portals and cursors

  portal(client: string): PortalEntry | undefined {
    return this.portals.get(client);
  }

  cursor(name: string): CursorEntry | undefined {
    return this.cursors.get(name);
  }

  /** The session holds SQL cursors (a transaction's end may close some). */
  get hasCursors(): boolean {
    return this.cursors.size > 0;
  }

  cannotAddPortal(client: string): { code: string; message: string } | undefined {
    if (client !== '' && this.portals.has(client))
      return { code: '42P03', message: `portal "${client}" already exists` };
    if (client !== '' && this.cursors.has(client))
      return { code: '42P03', message: `cursor "${client}" already exists` };
    const l = this.limits();
    if (client !== '' && this.portals.size + this.cursors.size >= l.maxPortals) {
      return {
        code: '54000',
        message: `Gatehouse: too many open portals and cursors in this session (limit ${l.maxPortals}); close some first`,
      };
    }
    return undefined;
  }

  /** Adds a portal (Bind); returns the portal it replaces (the unnamed one), whose run has ended. */
  addPortal(fields: Omit<PortalEntry, 'upstream' | 'confirmed' | 'finished' | 'epoch' | 'started'>): {
    portal: PortalEntry;
    replaced?: PortalEntry;
  } {
    // Field by field, not spread: this runs for every Bind, and V8 copies a spread of objects of
    // varying shapes on its slow path.
    const portal: PortalEntry = {
      client: fields.client,
      upstream: fields.client === '' ? '' : `${RESERVED_PREFIX}p${++this.seq}`,
      statement: fields.statement,
      resultFormats: fields.resultFormats,
      run: fields.run,
      objectSeq: fields.objectSeq,
      confirmed: false,
      started: false,
      finished: false,
      epoch: this.epochValue,
      hiddenCode: fields.hiddenCode,
    };
    if (fields.columns !== undefined) portal.columns = fields.columns;
    const replaced = this.portals.get(fields.client);
    this.portals.set(fields.client, portal);
    return replaced ? { portal, replaced } : { portal };
  }

  removePortal(client: string, only?: PortalEntry): PortalEntry | undefined {
    const p = this.portals.get(client);
    if (!p || (only !== undefined && p !== only)) return undefined;
    this.portals.delete(client);
    return p;
  }

  /** Every portal (for settling their runs when they end). */
  allPortals(): PortalEntry[] {
    return [...this.portals.values()];
  }

  // ------------------------------------------------------------------ SQL-level effects

  /**
   * Checks the names a statement uses: a reserved name, or a prepared statement or cursor that does
   * not exist in this session (with `pending` holding what earlier statements of the same Query
   * create), is a refusal. Returns the statements whose decisions the use inherits.
   */
  resolveUses(
    st: SqlStatement,
    pending: PendingObjects,
  ): { ok: true; inherited: readonly SqlStatement[] } | { ok: false; ruleId: string; message: string } {
    // Most statements name no prepared statement or cursor: one answer for them all.
    if (st.sessionObjects === undefined || st.sessionObjects.length === 0) return USES_NOTHING;
    const inherited: SqlStatement[] = [];
    for (const ref of st.sessionObjects) {
      if (ref.name.startsWith(RESERVED_PREFIX)) {
        return {
          ok: false,
          ruleId: 'reserved-name',
          message: `the name "${ref.name}" is reserved for Gatehouse's own prepared statements and portals; choose another name`,
        };
      }
      if (ref.op !== 'use') continue;
      if (ref.kind === 'prepared') {
        const entry = pending.prepared.has(ref.name) ? undefined : this.statements.get(ref.name);
        const p = pending.prepared.get(ref.name) ?? entry?.statement;
        if (p === undefined) {
          return {
            ok: false,
            ruleId: 'unknown-prepared-statement',
            message: `prepared statement "${ref.name}" was not prepared through Gatehouse in this session, so what it would run is unknown`,
          };
        }
        if (entry?.origin === 'protocol') {
          // Upstream it is Gatehouse's own name (gatehouse_s<n>): the server looks up the name SQL
          // writes, which may hold something else (an SQL statement whose Close it skipped).
          return {
            ok: false,
            ruleId: 'unknown-prepared-statement',
            message:
              `prepared statement "${ref.name}" was prepared through the extended protocol (Parse), which Gatehouse ` +
              `keeps upstream under a name of its own that SQL does not reach; run it with Bind and Execute, or PREPARE it in SQL`,
          };
        }
        const epoch = entry ? entry.sqlEpoch : pendingCreatedAt(pending, `p:${ref.name}`);
        if (this.replacedSince(epoch, entry !== undefined, pending)) {
          return {
            ok: false,
            ruleId: 'replaced-session-object',
            message:
              `prepared statement "${ref.name}" was prepared before a statement that runs code Gatehouse cannot see into ` +
              `(a DO block, CALL or user-defined function), which may have replaced it upstream; DEALLOCATE it and PREPARE it again`,
          };
        }
        inherited.push(p);
      } else {
        const entry = pending.cursors.has(ref.name) ? undefined : this.cursors.get(ref.name);
        const c = pending.cursors.get(ref.name) ?? entry?.statement;
        if (c === undefined) {
          return {
            ok: false,
            ruleId: 'unknown-cursor',
            message: `cursor "${ref.name}" was not declared through Gatehouse in this session (a protocol portal cannot be reached from SQL through Gatehouse)`,
          };
        }
        const epoch = entry ? entry.epoch : pendingCreatedAt(pending, `c:${ref.name}`);
        if (this.replacedSince(epoch, entry !== undefined, pending)) {
          return {
            ok: false,
            ruleId: 'replaced-session-object',
            message:
              `cursor "${ref.name}" was declared before a statement that runs code Gatehouse cannot see into ` +
              `(a DO block, CALL or user-defined function), which may have replaced it upstream; CLOSE it and DECLARE it again`,
          };
        }
        inherited.push(c);
      }
    }
    return { ok: true, inherited };
  }

  /**
   * An object created at `epoch` may have been replaced: code Gatehouse cannot see into was forwarded
   * since (for an object of the session), or comes before the use in the same query string.
   */
  private replacedSince(epoch: number, existing: boolean, pending: PendingObjects): boolean {
    if (existing) return epoch < this.epochValue || pending.hiddenCode > 0;
    return epoch < pending.hiddenCode;
  }

  /**
   * The effect of a statement that ran to completion (its CommandComplete arrived). `epoch` is the
   * session's epoch when it was forwarded; `after`, the epoch after it when it may run code
   * Gatehouse cannot see into itself. What it creates dates from after it (PREPARE runs nothing; a
   * cursor DECLAREd is the code's own), and a cursor it FETCHes keeps its trust (see ranAt).
   */
  applyCompleted(
    st: SqlStatement,
    inTransactionBlock: boolean,
    epoch = this.epochValue,
    after?: number,
  ): void {
    for (const ref of st.sessionObjects ?? []) this.applyObject(st, ref, inTransactionBlock, after ?? epoch);
    if (after !== undefined) this.ranAt(st, after);
    for (const change of st.settings ?? []) this.applySetting(change);
    if (st.kind === 'rollback' || st.kind === 'prepare transaction') this.txAborted = true;
    // A savepoint rolled back undoes the settings changed since it, which may be any of this
    // transaction's: their values are not known until the server says or the client sets them.
    if (st.kind === 'rollback to savepoint') for (const name of this.txChanged) this.markUncertain(name);
  }

  /** An error arrived from the upstream: the transaction it ran in is rolled back (or its savepoint). */
  upstreamError(): void {
    this.txAborted = true;
  }

  /**
   * A statement that may run code Gatehouse cannot see into was forwarded, and ends at `epoch`: the
   * cursors it FETCHes or MOVEs keep their trust, as code cannot close a cursor while it runs (a
   * prepared statement it EXECUTEs does not: code can DEALLOCATE and PREPARE it while it runs).
   */
  ranAt(st: SqlStatement, epoch: number): void {
    for (const ref of st.sessionObjects ?? []) {
      if (ref.op !== 'use' || ref.kind === 'prepared') continue;
      const c = this.cursors.get(ref.name);
      if (c && c.epoch < epoch) c.epoch = epoch;
    }
  }

  private applyObject(
    st: SqlStatement,
    ref: SessionObjectRef,
    inTransactionBlock: boolean,
    epoch: number,
  ): void {
    if (ref.kind === 'prepared') {
      if (ref.op === 'create') {
        const bytes = Buffer.byteLength(st.text);
        this.putStatement({
          client: ref.name,
          upstream: ref.name,
          origin: 'sql',
          text: st.text,
          paramTypes: [],
          statement: st,
          bytes,
          materialized: true,
          confirmed: true,
          epoch,
          sqlEpoch: epoch,
          hiddenCode: hidesCode(st),
        });
      } else if (ref.op === 'drop') {
        if (ref.name === '*') {
          // DEALLOCATE ALL (and DISCARD ALL) drop every named prepared statement, protocol ones too.
          for (const name of [...this.statements.keys()]) if (name !== '') this.removeStatement(name);
        } else this.removeStatement(ref.name);
      }
      return;
    }
    if (ref.op === 'create') {
      this.cursors.set(ref.name, {
        name: ref.name,
        statement: st,
        bytes: Buffer.byteLength(st.text),
        holdable: ref.holdable === true,
        inTransaction: inTransactionBlock || ref.holdable !== true,
        epoch,
      });
    } else if (ref.op === 'drop') {
      if (ref.name === '*') {
        // CLOSE ALL closes every portal, protocol ones too: those bound before it (confirmed by now;
        // one still unconfirmed was bound by a later message, after the CLOSE ALL ran).
        this.cursors.clear();
        for (const [client, p] of this.portals) if (p.confirmed) this.portals.delete(client);
      } else this.cursors.delete(ref.name);
    }
  }

  /** A transaction ended (ReadyForQuery idle): portals and cursors that do not outlive it go. */
  transactionEnded(committed: boolean): PortalEntry[] {
    // Settings changed in a transaction that did not commit are back to values the server does not
    // report: Gatehouse no longer knows them.
    if (!committed || this.txAborted) for (const name of this.txChanged) this.markUncertain(name);
    if (this.txChanged.size > 0) this.txChanged.clear();
    this.txAborted = false;
    // Every statement outside a transaction ends one: with nothing open, nothing is built or cleared
    // (clearing an empty Map still allocates a new table in V8).
    if (this.portals.size === 0 && this.cursors.size === 0 && this.localSettings.size === 0) return [];
    const ended: PortalEntry[] = [];
    for (const [client, p] of this.portals) {
      // Answers come in order, so every Bind of the batch this ReadyForQuery ends is confirmed or
      // gone by now. A portal still unconfirmed was bound by a later message, already forwarded: it
      // belongs to the next transaction, and the server keeps it.
      if (!p.confirmed) continue;
      ended.push(p);
      this.portals.delete(client);
    }
    for (const [name, c] of this.cursors) {
      if (!c.holdable || (c.inTransaction && !committed)) this.cursors.delete(name);
      else c.inTransaction = false;
    }
    if (this.localSettings.size > 0) {
      this.localSettings.clear();
      this.settingsView = undefined;
    }
    return ended;
  }

  /** A simple Query destroys the unnamed prepared statement (PostgreSQL exec_simple_query). */
  simpleQueryStarted(): void {
    this.removeStatement('');
  }

  // ------------------------------------------------------------------ settings

  private applySetting(change: SettingChange): void {
    if (change.via === 'alter' || change.via === 'nested' || change.via === 'pg_settings') return;
    this.settingsView = undefined;
    if (change.name === '*') {
      this.sessionSettings.clear();
      this.localSettings.clear();
      this.uncertain.clear();
      this.txChanged.add('*');
      return;
    }
    if (change.name === '?') {
      this.markUncertain('*');
      return;
    }
    this.txChanged.add(change.name);
    if (change.value === undefined && change.via !== 'reset') this.markUncertain(change.name);
    // A local change ends with the transaction, and the session's value is back: still unknown.
    else if (!change.local) this.uncertain.delete(change.name);
    const target = change.local ? this.localSettings : this.sessionSettings;
    if (change.via === 'reset') {
      if (change.local) this.localSettings.set(change.name, this.startupSettings.get(change.name));
      else {
        this.sessionSettings.delete(change.name);
        this.localSettings.delete(change.name);
      }
    } else if (change.value !== undefined) target.set(change.name, change.value);
  }

  /** A setting's value at login (ParameterStatus before the first ReadyForQuery): the baseline. */
  baseline(name: string, value: string): void {
    this.loginValues.set(name.toLowerCase(), value);
    this.give(name, value);
  }

  /** The client gives these values in a statement Gatehouse decides (SET, set_config with a literal). */
  noteGiven(changes: readonly SettingChange[]): void {
    for (const c of changes) {
      if (c.value === undefined || c.via === 'alter' || c.via === 'pg_settings') continue;
      if (c.name === '*' || c.name === '?') continue;
      this.give(c.name, c.value);
    }
  }

  /**
   * The value the server reports for a setting is one the client gave it (at startup, at login, in
   * its own SET or set_config), not one code Gatehouse could not see into chose (class 244).
   */
  gave(name: string, value: string): boolean {
    return this.given.get(name.toLowerCase())?.has(value.toLowerCase()) === true;
  }

  /** The client's own `LISTEN channel` (its text, as Gatehouse decided it). */
  noteListen(text: string): void {
    const channel = listenChannel(text);
    if (channel !== undefined && this.listened.size < MAX_GIVEN_VALUES) this.listened.add(channel);
  }

  /** The session listens on `channel` because the client itself said so (class 246). */
  listensOn(channel: string): boolean {
    return this.listened.has(channel);
  }

  private give(name: string, value: string): void {
    // Bounded: past it, a value the client gives is not remembered, and its report is masked.
    if (this.givenCount >= MAX_GIVEN_VALUES || value.length > MAX_GIVEN_LENGTH) return;
    const key = name.toLowerCase();
    let values = this.given.get(key);
    if (values === undefined) this.given.set(key, (values = new Set()));
    const v = value.toLowerCase();
    if (values.has(v)) return;
    values.add(v);
    this.givenCount++;
  }

  /** `name` (or `*`) may no longer have the value Gatehouse holds; one the server reports is known. */
  private markUncertain(name: string): void {
    if (name !== '*' && this.loginValues.has(name)) return;
    this.uncertain.add(name);
  }

  /**
   * The settings among `relevant` (or any, when one changed without a readable name) whose value
   * upstream Gatehouse cannot tell; empty when it knows every one.
   */
  uncertainSettings(relevant: (name: string) => boolean): string[] {
    if (this.uncertain.size === 0) return [];
    if (this.uncertain.has('*')) return ['*'];
    return [...this.uncertain].filter((n) => relevant(n)).sort();
  }

  /**
   * The settings a statement runs under after `earlier` statements of the same query string (one
   * transaction, or several ended by COMMIT or ROLLBACK in it), which have not run yet; and those
   * among them whose value Gatehouse cannot tell (as uncertainSettings, `*` for any).
   */
  settingsAfter(earlier: readonly SqlStatement[]): {
    settings: Readonly<Record<string, string>>;
    unknown: string[];
  } {
    const out: Record<string, string> = { ...this.effectiveSettings() };
    const unknown = new Set<string>();
    const changed = new Set<string>();
    for (const st of earlier) {
      // A transaction ended or rolled back in the string ends local changes and may undo the
      // others (a COMMIT of a failed block rolls back): their values are not known any more.
      if (ENDS_OR_UNDOES.has(st.kind)) for (const n of changed) unknown.add(n);
      for (const c of st.settings ?? []) {
        if (c.via === 'alter' || c.via === 'nested' || c.via === 'pg_settings') continue;
        if (c.name === '*') {
          for (const k of Object.keys(out)) delete out[k];
          for (const [k, v] of this.startupSettings) out[k] = v;
          changed.add('*');
        } else if (c.name === '?') unknown.add('*');
        else {
          changed.add(c.name);
          if (c.via === 'reset') {
            const login = this.startupSettings.get(c.name);
            if (login === undefined) delete out[c.name];
            else out[c.name] = login;
          } else if (c.value === undefined) unknown.add(c.name);
          else out[c.name] = c.value;
        }
      }
    }
    return { settings: Object.freeze(out), unknown: [...unknown].sort() };
  }

  /** A reported setting changed (ParameterStatus): the server's own word for its value. */
  reported(name: string, value: string): void {
    const lower = name.toLowerCase();
    this.settingsView = undefined;
    this.uncertain.delete(lower);
    if (this.loginValues.get(lower) === value && !this.startupSettings.has(lower)) {
      this.sessionSettings.delete(lower);
      this.localSettings.delete(lower);
    } else this.sessionSettings.set(lower, value);
  }

  /**
   * The settings this session changed from what any session of its login starts with: those the
   * client gave at startup, then SET, RESET, set_config and reported changes. Impact previews run
   * under them (on a fresh connection of the same login) and approvals are bound to them.
   */
  effectiveSettings(): Readonly<Record<string, string>> {
    // Asked for at every statement (each action carries it); rebuilt only after a change.
    if (this.settingsView !== undefined) return this.settingsView;
    const out: Record<string, string> = {};
    for (const [k, v] of this.startupSettings) out[k] = v;
    for (const [k, v] of this.sessionSettings) out[k] = v;
    for (const [k, v] of this.localSettings) {
      if (v === undefined) delete out[k];
      else out[k] = v;
    }
    this.settingsView = Object.freeze(out);
    return this.settingsView;
  }
}

/** Objects created by earlier statements of the same simple Query, not yet confirmed. */
export interface PendingObjects {
  /** Made by the first object noted (notePending): most statements create none. */
  prepared: ReadonlyMap<string, SqlStatement>;
  cursors: ReadonlyMap<string, SqlStatement>;
  /** Statements so far that may run code Gatehouse cannot see into (runsHiddenCode). */
  hiddenCode: number;
  /**
   * `hiddenCode` when each pending object was created ('p:' or 'c:' and its name); made by the first
   * one (most statements create none, and this is built for every statement decided).
   */
  createdAt?: Map<string, number>;
}

/**
 * When a pending object was created: notePending records every object it holds, so this is found;
 * were it not, 0 (before any hidden code) is the strictest answer.
 */
function pendingCreatedAt(pending: PendingObjects, key: string): number {
  return pending.createdAt?.get(key) ?? 0;
}

/** resolveUses of a statement that names no prepared statement or cursor. */
const NO_STATEMENTS: readonly SqlStatement[] = Object.freeze([]);
const USES_NOTHING = Object.freeze({ ok: true as const, inherited: NO_STATEMENTS });

/** What a PendingObjects holds until something is noted: one empty map for them all. */
const NOTHING_PENDING: ReadonlyMap<string, SqlStatement> = new Map();

export function newPendingObjects(): PendingObjects {
  return { prepared: NOTHING_PENDING, cursors: NOTHING_PENDING, hiddenCode: 0 };
}

/** The map to note an object in: the pending set's own, made now if it still has the shared empty one. */
function ownMap(m: ReadonlyMap<string, SqlStatement>): Map<string, SqlStatement> {
  return m === NOTHING_PENDING ? new Map<string, SqlStatement>() : (m as Map<string, SqlStatement>);
}

/**
 * Records what a statement would create, for the statements after it in the same Query, and
 * whether it may run code Gatehouse cannot see into (which may replace what came before it).
 */
export function notePending(pending: PendingObjects, st: SqlStatement, hiddenCode = false): void {
  // What the statement itself creates dates from after it (see ProtocolState.applyCompleted).
  if (hiddenCode) pending.hiddenCode++;
  for (const ref of st.sessionObjects ?? []) {
    if (ref.op !== 'create') continue;
    if (ref.kind === 'prepared') pending.prepared = ownMap(pending.prepared).set(ref.name, st);
    else pending.cursors = ownMap(pending.cursors).set(ref.name, st);
    (pending.createdAt ??= new Map()).set(
      `${ref.kind === 'prepared' ? 'p' : 'c'}:${ref.name}`,
      pending.hiddenCode,
    );
  }
}

/** Combines decisions: deny wins over review over allow; obligations are joined. */
export function strictest(decisions: readonly Decision[]): Decision {
  let out = decisions[0]!;
  for (const d of decisions.slice(1)) {
    if (out.effect === 'deny') return out;
    if (d.effect === 'deny') return d;
    if (d.effect === 'review' && out.effect === 'allow') {
      out = { ...d, obligations: joinObligations(d.obligations, out.obligations) };
    } else {
      out = { ...out, obligations: joinObligations(out.obligations, d.obligations) };
    }
  }
  return out;
}

function joinObligations(a: Obligations, b: Obligations): Obligations {
  const mask = a.mask ?? b.mask;
  const rowCap =
    a.rowCap === undefined ? b.rowCap : b.rowCap === undefined ? a.rowCap : Math.min(a.rowCap, b.rowCap);
  return { ...(mask === undefined ? {} : { mask }), ...(rowCap === undefined ? {} : { rowCap }) };
}
