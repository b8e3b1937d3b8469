// Upstream → client: each backend message is attributed to what the tracker says it answers, masked
// with the run it belongs to (the portal being executed, never "the next run"), and relayed as
// contiguous slices of the received chunk when unchanged. Model changes wait for the upstream's
// own confirmation here (ParseComplete, BindComplete, CommandComplete of PREPARE/DECLARE…).

import type { ResultMasker } from '../../core/masking.js';
import type { Logger } from '../../core/ports.js';
import {
  COPY_WITHHELD,
  cellsToMask,
  nulledCells,
  sqlMaskerOf,
  type ResolvedColumnRef,
} from '../../masking/result-masker.js';
import {
  BackendCode,
  decodeDataRow,
  decodeErrorFields,
  decodeParameterStatus,
  decodeReadyForQuery,
  decodeRowDescription,
  encode,
  rowsFromCommandTag,
  type ColumnDescription,
  type ErrorFields,
  type Frame,
  type TransactionStatus,
} from '../../wire/postgres/index.js';
import type { GatewayError } from '../../core/errors.js';
import { SqlState } from '../../wire/postgres/index.js';
import { catalogResolverFor } from './catalog-resolver.js';
import {
  RowArena,
  copyDataFrame,
  gatehouseNotice,
  maskDataRowInto,
  maskFieldsMessage,
  maskFunctionResult,
  maskNotification,
  maskParameterStatus,
  maskUntracedParameter,
} from './masked-messages.js';
import { OutputBatch } from './output-batch.js';
import type { Expected, ResponseTracker, Run } from './response-tracker.js';
import type { UpstreamTarget } from './upstream-connection.js';

/** A frame handler's answer when relaying must wait for a catalog lookup (docs/masking.md). */
export const STALL = true;
/** Frames that may come before the ErrorResponse answering a poison message (protocol 55.2.7). */
const ASYNC_OR_ERROR: ReadonlySet<number> = new Set([
  BackendCode.ErrorResponse,
  BackendCode.NoticeResponse,
  BackendCode.NotificationResponse,
  BackendCode.ParameterStatus,
]);
/** Command tags whose count is of rows sent to the client (not of rows changed). */
const RESULT_ROWS_TAG = /^(SELECT|FETCH) /;
/** Command tags after which column names may have changed (the catalog cache is refreshed). */
const DDL_TAG = /^(CREATE|ALTER|DROP|COMMENT|IMPORT) /;

/** What the relay needs from its connection. */
export interface RelayHost {
  readonly tracker: ResponseTracker;
  readonly target: UpstreamTarget;
  readonly logger: Logger;
  readonly maxMessageBytes: number;
  /** Records a run's result once (rows, error). */
  /** `tag`: the upstream's CommandComplete tag, when the result ended with one. */
  settle(run: Run, result: { rows?: number; error?: { code: string; message: string }; tag?: string }): void;
  /** A statement of a simple Query ran to completion: its effect on the session model. */
  completed(e: Expected & { kind: 'query' }, index: number): void;
  /** ReadyForQuery for a Sync, Query or FunctionCall: the transaction status and what it settled. */
  ready(status: TransactionStatus, execSeq: number | undefined): void;
  /** An ErrorResponse from the upstream: the transaction it answers is rolled back (or its savepoint). */
  upstreamError(): void;
  /**
   * A ParameterStatus: relay it, relay it as an untraceable value (one the client did not give the
   * setting: class 244), hide it from the client, or stop (the session is ending).
   */
  parameterChanged(name: string, value: string): 'relay' | 'untraced' | 'hide' | 'stop';
  /** The client itself LISTENs on this channel (class 246). */
  listensOn(channel: string): boolean;
  /** Pauses relaying until `wait` settles, then runs `then` and relays what queued meanwhile. */
  stallUntil(wait: Promise<void>, then: () => void): void;
  /** The server started the COPY FROM STDIN of this run (CopyInResponse): it reads the client's rows. */
  copyInStarted?(run: Run | undefined): void;
}

/** DataRow cells as the record shows them: text cells as text, binary cells as `\\x` hex. */
function cellsAsText(
  cells: readonly (Buffer | null)[],
  formats: readonly number[] | undefined,
): (string | null)[] {
  return cells.map((c, i) =>
    c === null ? null : (formats?.[i] ?? 0) === 1 ? `\\x${c.toString('hex')}` : c.toString('utf8'),
  );
}

/** Gatehouse's own ErrorResponse for a refusal: the SQLSTATE, the message, the rule in DETAIL. */
export function refusalMessage(e: GatewayError, code: string, position?: number): Buffer {
  return encode.errorResponse({
    severity: 'ERROR',
    code,
    message: e.message,
    ...(e.ruleId ? { detail: `Gatehouse rule: ${e.ruleId}` } : {}),
    ...(position !== undefined ? { position: String(position) } : {}),
  });
}

export class ResultRelay {
  readonly out = new OutputBatch();
  /** The most recent active masker: applied to what no statement owns (notifications, late notices). */
  private lastMasker: ResultMasker | undefined;
  /** DDL ran in the current transaction: refresh the catalog cache again when it ends. */
  private ddlInTx = false;
  /** COPY TO STDOUT in progress under a masker. */
  private copyOut: { mode: 'scan' | 'withhold'; masker: ResultMasker; withheld: number } | undefined;
  /** COPY TO STDOUT in progress under a rowCap (binary: none of its data is relayed). */
  private copyCap: { run: Run; binary: boolean } | undefined;
  /** Rewritten DataRows are written side by side here, so a batch of them leaves as one slice. */
  private readonly rowArena = new RowArena();

  constructor(
    private readonly host: RelayHost,
    /** The SQLSTATE and position of a refusal, for the ErrorResponse Gatehouse sends in its place. */
    private readonly refusalCode: (e: GatewayError) => { code: string; position?: number },
  ) {}

  noteMasker(m: ResultMasker): void {
    if (m.active) this.lastMasker = m;
  }

  /** Writes one of Gatehouse's own answers at the current position of the stream. */
  emit(bytes: Buffer): void {
    this.out.add(bytes);
  }

  refusal(e: GatewayError): Buffer {
    const { code, position } = this.refusalCode(e);
    return refusalMessage(e, code, position);
  }

  private currentRun(): Run | undefined {
    const e = this.host.tracker.peek();
    if (!e) return undefined;
    if (e.kind === 'execute' || e.kind === 'function') return e.run;
    if (e.kind === 'query') return e.runs[e.index]?.run;
    return undefined;
  }

  private silentHead(): boolean {
    const e = this.host.tracker.peek();
    return e !== undefined && 'silent' in e && e.silent === true;
  }

  private textMasker(): ResultMasker | undefined {
    const run = this.currentRun();
    if (run) return run.admission.masker.active ? run.admission.masker : undefined;
    return this.lastMasker;
  }

  private maskedFields(
    type: 'E' | 'N',
    f: Frame,
    masker: ResultMasker | undefined,
  ): { raw: Buffer; fields?: ErrorFields } {
    return masker?.active ? maskFieldsMessage(type, f.raw, f.body, masker) : { raw: f.raw };
  }

  /**
   * Plans masking for a result's columns: the row masker needs each column's origin; when the
   * catalog cache lacks a table, relaying waits for one lookup (the result's rows stay in the reader).
   */
  planColumns(
    run: Run,
    columns: ColumnDescription[],
    then: (resolved: readonly ResolvedColumnRef[]) => void,
  ): boolean {
    const masker = run.admission.masker;
    const apply = (resolved: readonly ResolvedColumnRef[]) => {
      run.rowMasker = masker.forColumns(resolved);
      run.rowWork = run.rowMasker ? cellsToMask(run.rowMasker) : undefined;
      run.formats = resolved.map((c) => c.format);
      run.admission.sampler?.columns(resolved.map((c) => c.name));
      then(resolved);
    };
    if (!sqlMaskerOf(masker)?.needsColumnSources) {
      apply(columns);
      return false;
    }
    const catalog = catalogResolverFor(this.host.target, this.host.maxMessageBytes);
    const missing = catalog.missing(columns);
    if (missing.length === 0) {
      apply(catalog.resolve(columns));
      return false;
    }
    this.host.stallUntil(catalog.load(missing), () => apply(catalog.resolve(columns)));
    return STALL;
  }

  /** A RowDescription for the run being relayed (a simple Query's statement, FETCH…). */
  private onRunRowDescription(run: Run, f: Frame): boolean | void {
    const columns = decodeRowDescription(f.body);
    if (run.admission.masker.active) return this.planColumns(run, columns, () => this.out.add(f.raw));
    if (run.admission.sampler) {
      run.formats = columns.map((c) => c.format);
      run.admission.sampler.columns(columns.map((c) => c.name));
    }
    this.out.add(f.raw);
  }

  private onCommandTag(f: Frame): void {
    const tag = f.body.toString('latin1', 0, Math.max(0, f.body.length - 1));
    const ddl = DDL_TAG.test(tag);
    if (ddl) this.ddlInTx = true;
    else if (!/^(COMMIT|ROLLBACK|END|PREPARE TRANSACTION)/.test(tag) || !this.ddlInTx) return;
    else this.ddlInTx = false;
    catalogResolverFor(this.host.target, this.host.maxMessageBytes).invalidate();
  }

  private onCopyOut(f: Frame): void {
    const run = this.currentRun();
    const masker = run?.admission.masker;
    this.copyOut = undefined;
    this.copyCap = undefined;
    if (masker?.active) {
      const mode = sqlMaskerOf(masker)?.copyOutMode(f.body[0] === 1) ?? 'withhold';
      this.copyOut = { mode, masker, withheld: 0 };
    }
    // Under a rowCap, COPY TO relays at most that many lines (one CopyData each); binary COPY cannot
    // be cut without breaking its trailer, so none of its data is relayed.
    if (run?.admission.rowCap !== undefined) this.copyCap = { run, binary: f.body[0] === 1 };
    this.out.add(f.raw);
  }

  private onCopyData(f: Frame): void {
    const capped = this.copyCap;
    if (capped) {
      const { run, binary } = capped;
      if (binary || run.rows >= run.admission.rowCap!) {
        run.withheldHere = (run.withheldHere ?? 0) + 1;
        return;
      }
      run.rows++;
    }
    const copy = this.copyOut;
    if (!copy) {
      this.out.add(f.raw);
      return;
    }
    if (copy.mode === 'withhold') {
      copy.withheld++;
      return;
    }
    // PostgreSQL sends one row per CopyData in COPY TO; each is scanned as text.
    const masked = copy.masker.maskText(f.body.toString('utf8'));
    this.out.add(masked === undefined ? f.raw : copyDataFrame(Buffer.from(masked, 'utf8')));
  }

  private endCopyOut(): void {
    this.copyCap = undefined;
    const copy = this.copyOut;
    this.copyOut = undefined;
    if (!copy || copy.withheld === 0) return;
    sqlMaskerOf(copy.masker)?.countWithheld(COPY_WITHHELD, copy.withheld);
    this.out.add(
      gatehouseNotice(
        `Gatehouse withheld ${copy.withheld} rows of COPY output: masking applies to this data and COPY cannot ` +
          'carry masked columns (binary format, or a column it reads is masked: a column rule, or a name like `password`). Use SELECT instead.',
      ),
    );
  }

  /**
   * A frame of Gatehouse's own Query (the access mode): withheld from the client. Its ReadyForQuery
   * ends it; an error marks it failed (the connection then ends the session).
   */
  private onOwnFrame(head: Expected & { kind: 'own' }, f: Frame): void {
    if (f.type === BackendCode.ErrorResponse) {
      head.failed = true;
      return;
    }
    if (f.type !== BackendCode.ReadyForQuery) return;
    this.host.tracker.shift();
    this.host.ready(decodeReadyForQuery(f.body), undefined);
    head.done(head.failed !== true);
  }

  /** Handles one upstream frame; returns STALL when relaying must wait. */
  handle(f: Frame): boolean | void {
    const tracker = this.host.tracker;
    const head = tracker.peek();
    if (head?.kind === 'own' && f.type !== BackendCode.NotificationResponse) {
      this.onOwnFrame(head, f);
      return;
    }
    if (head?.kind === 'refusal' && !ASYNC_OR_ERROR.has(f.type)) {
      // The poison sent in a refused message's place can only fail: anything else answering it means
      // the stream is no longer where the tracker says, and no frame can be attributed (or masked) safely.
      throw new Error(`upstream answered a refused message with ${String.fromCharCode(f.type)}`);
    }
    switch (f.type) {
      case BackendCode.DataRow: {
        // The row as sent is bytes[start, end): the frame as received, or its masked copy in the row
        // arena. Ranges, not Buffers: this runs for every row of every result.
        let bytes = f.bytes;
        let start = f.start;
        let end = f.end;
        const run = this.currentRun();
        if (run) {
          // The policy's rowCap (docs/security.md, class 65): rows past it are not relayed at all.
          const cap = run.admission.rowCap;
          if (cap !== undefined && run.rows >= cap) {
            run.withheldHere = (run.withheldHere ?? 0) + 1;
            return;
          }
          run.rows++;
          if (run.admission.masker.active) {
            if (run.formats === undefined) {
              // Never reached: Gatehouse describes a masked portal itself before executing it.
              throw new MaskingGap();
            }
            // The mask step: only cells a rule or detector can hit are decoded; the row is rebuilt once.
            if (run.rowMasker) {
              const arena = this.rowArena;
              const at = maskDataRowInto(bytes, start, end, run.rowMasker, run.rowWork, arena);
              if (at >= 0) {
                bytes = arena.slab;
                start = at;
                end = arena.end;
              }
            }
          }
          // The record sees the row as the client does: after masking.
          const sampler = run.admission.sampler;
          if (sampler?.wants)
            sampler.row(cellsAsText(decodeDataRow(bytes.subarray(start + 5, end)), run.formats));
        }
        this.out.addRange(bytes, start, end);
        return;
      }
      case BackendCode.ParameterDescription: {
        if (!this.silentHead()) this.out.add(f.raw);
        return;
      }
      case BackendCode.RowDescription: {
        const head = tracker.peek();
        if (head?.kind === 'describe') {
          tracker.shift();
          head.done?.(true);
          const stall = head.columns?.(decodeRowDescription(f.body), f.raw);
          if (!head.columns && !head.silent) this.out.add(f.raw);
          return stall;
        }
        const run = this.currentRun();
        if (run) return this.onRunRowDescription(run, f);
        this.out.add(f.raw);
        return;
      }
      case BackendCode.NoData: {
        const head = tracker.peek();
        if (head?.kind === 'describe') {
          tracker.shift();
          head.done?.(true);
          head.columns?.(undefined, f.raw);
          if (!head.columns && !head.silent) this.out.add(f.raw);
          return;
        }
        this.out.add(f.raw);
        return;
      }
      case BackendCode.ParseComplete:
      case BackendCode.BindComplete:
      case BackendCode.CloseComplete: {
        const head = tracker.shift();
        if (head && 'done' in head) head.done?.(true);
        if (!(head && 'silent' in head && head.silent)) this.out.add(f.raw);
        return;
      }
      case BackendCode.CommandComplete:
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended:
      case BackendCode.FunctionCallResponse:
        return this.onResultEnd(f);
      case BackendCode.ErrorResponse:
        this.onUpstreamError(f);
        return;
      case BackendCode.ReadyForQuery: {
        const head = tracker.shift();
        let execSeq: number | undefined;
        if (head?.kind === 'query') {
          for (const r of head.runs.slice(head.index)) this.host.settle(r.run, NOT_EXECUTED);
          execSeq = head.execSeq;
        } else if (head?.kind === 'function') {
          execSeq = head.execSeq;
        } else if (head?.kind === 'sync') execSeq = head.execSeq;
        this.out.add(f.raw);
        this.host.ready(decodeReadyForQuery(f.body), execSeq);
        return;
      }
      case BackendCode.NoticeResponse:
        this.out.add(this.maskedFields('N', f, this.textMasker()).raw);
        return;
      case BackendCode.NotificationResponse:
        // Not tied to a statement: masked with the session's most recent masker.
        this.out.add(
          (this.lastMasker && maskNotification(f.body, this.lastMasker, (c) => this.host.listensOn(c))) ??
            f.raw,
        );
        return;
      case BackendCode.ParameterStatus: {
        const p = decodeParameterStatus(f.body);
        const verdict = this.host.parameterChanged(p.name, p.value);
        if (verdict === 'stop') return STALL;
        if (verdict === 'hide') return;
        const m = this.lastMasker;
        const masked =
          m &&
          (verdict === 'untraced'
            ? maskUntracedParameter(p.name, p.value, f.body, m)
            : maskParameterStatus(f.body, m));
        this.out.add(masked ?? f.raw);
        return;
      }
      case BackendCode.CopyOutResponse:
        this.onCopyOut(f);
        return;
      case BackendCode.CopyData:
        this.onCopyData(f);
        return;
      case BackendCode.CopyDone:
        this.endCopyOut();
        this.out.add(f.raw);
        return;
      case BackendCode.CopyInResponse: {
        // A reviewed COPY FROM STDIN: the client had Gatehouse's own CopyInResponse, and its rows
        // follow the statement upstream already (copy-in-review.ts).
        const head = tracker.peek();
        if (head?.kind === 'query' && head.copyInAnswered === true) return;
        this.host.copyInStarted?.(this.currentRun());
        this.out.add(f.raw);
        return;
      }
      default:
        // CopyBothResponse: relayed in order; it does not move the tracker.
        this.out.add(f.raw);
    }
  }

  /** CommandComplete, EmptyQueryResponse, PortalSuspended, FunctionCallResponse. */
  private onResultEnd(f: Frame): void {
    const tracker = this.host.tracker;
    const head = tracker.peek();
    const run = this.currentRun();
    let raw = f.raw;
    if (f.type === BackendCode.CommandComplete) {
      this.endCopyOut();
      this.onCommandTag(f);
    }
    if (run?.admission.masker.active) {
      if (f.type === BackendCode.FunctionCallResponse)
        raw = maskFunctionResult(f.body, run.admission.masker) ?? raw;
      const nulled = run.rowMasker ? nulledCells(run.rowMasker) : 0;
      if (nulled > 0 && f.type === BackendCode.CommandComplete) {
        this.out.add(
          gatehouseNotice(
            `Gatehouse masked ${nulled} values as NULL: their column type (a number, or binary format) cannot hold a masked value.`,
          ),
        );
      }
    }
    if (run?.withheldHere) raw = this.capped(run, f) ?? raw;
    const finished = f.type !== BackendCode.PortalSuspended;
    if (run && finished) {
      const tagRows =
        f.type === BackendCode.CommandComplete ? rowsFromCommandTag(raw.subarray(5)) : undefined;
      // A result relayed over several Executes (PortalSuspended between them) ends with the count of
      // the last Execute only: the record keeps every row the client was sent (class 68).
      const rows =
        tagRows === undefined
          ? run.rows
          : run.rows > tagRows && RESULT_ROWS_TAG.test(raw.toString('latin1', 5, raw.length - 1))
            ? run.rows
            : tagRows;
      const tag =
        f.type === BackendCode.CommandComplete
          ? f.body.toString('latin1', 0, Math.max(0, f.body.length - 1))
          : undefined;
      this.host.settle(run, tag === undefined ? { rows } : { rows, tag });
    }
    if (head?.kind === 'execute') {
      tracker.shift();
      head.done?.(finished);
    } else if (head?.kind === 'query') {
      this.host.completed(head, head.index);
      head.index++;
    } else if (head?.kind === 'function') {
      // The ReadyForQuery that follows ends it.
    }
    this.out.add(raw);
  }

  /**
   * The end of a result some of whose rows the rowCap withheld: a notice saying so (once per run),
   * and the CommandComplete's count of a SELECT, FETCH or COPY lowered to the rows relayed (a write's
   * count, of the rows it changed, stays as it is). Returns the frame to relay in its place, if any.
   */
  private capped(run: Run, f: Frame): Buffer | undefined {
    const here = run.withheldHere ?? 0;
    run.withheldHere = 0;
    if (!run.capNoticed) {
      run.capNoticed = true;
      this.out.add(
        gatehouseNotice(
          `Gatehouse relays at most ${run.admission.rowCap} rows of a result to this session (the policy's rowCap); ` +
            'the rest of this result was withheld. Narrow the query (WHERE, LIMIT) to get the rows you need.',
        ),
      );
    }
    if (f.type !== BackendCode.CommandComplete) return undefined;
    const tag = f.body.toString('latin1', 0, Math.max(0, f.body.length - 1));
    const m = /^(SELECT|FETCH|COPY) (\d+)$/.exec(tag);
    if (!m) return undefined;
    return encode.commandComplete(`${m[1]} ${Math.max(0, Number(m[2]) - here)}`);
  }

  private onUpstreamError(f: Frame): void {
    const tracker = this.host.tracker;
    const head = tracker.peek();
    this.endCopyOut();
    this.host.upstreamError();
    if (!head) {
      // Not tied to a request: a FATAL (admin shutdown, a timeout) ends the session. Any other error
      // answers a message Gatehouse does not know it sent, and the server may now be skipping to Sync:
      // nothing after it could be attributed (or masked) safely.
      const fields = decodeErrorFields(f.body);
      const severity = fields.V ?? fields.S;
      if (severity !== 'FATAL' && severity !== 'PANIC')
        throw new Error('upstream error answering no request');
      this.out.add(this.maskedFields('E', f, this.lastMasker).raw);
      return;
    }
    if (head.kind === 'refusal') {
      // The upstream's answer to our poison: replace it with the refusal, then skip to Sync.
      tracker.shift();
      tracker.skipToSync();
      this.out.add(this.refusal(head.refusal));
      return;
    }
    if (head.kind === 'query' || head.kind === 'function') {
      if (head.refusal) {
        this.out.add(this.refusal(head.refusal));
        return;
      }
      const run = head.kind === 'query' ? head.runs[head.index]?.run : head.run;
      // The error is masked before it is recorded or sent (`invalid input syntax …: "<a card>"`).
      const masked = this.maskedFields('E', f, run ? run.admission.masker : this.lastMasker);
      if (run) this.settleError(run, masked.fields ?? decodeErrorFields(f.body));
      if (head.kind === 'query') {
        head.index++;
        // Statements after an error in a simple Query are not executed; ReadyForQuery settles them.
        for (const r of head.runs.splice(head.index)) this.host.settle(r.run, NOT_EXECUTED);
      }
      this.out.add(masked.raw);
      return;
    }
    if (head.kind === 'sync') {
      // An error at Sync itself (a deferred constraint failing at the implicit COMMIT).
      this.out.add(this.maskedFields('E', f, this.lastMasker).raw);
      return;
    }
    tracker.shift();
    const run = head.kind === 'execute' ? head.run : undefined;
    const masked = this.maskedFields('E', f, run ? run.admission.masker : this.lastMasker);
    if (run) this.settleError(run, masked.fields ?? decodeErrorFields(f.body));
    if (head.kind !== 'synthetic' && 'done' in head) head.done?.(false);
    tracker.skipToSync();
    this.out.add(masked.raw);
  }

  private settleError(run: Run, fields: ErrorFields): void {
    this.host.settle(run, { rows: run.rows, error: { code: fields.C ?? 'XX000', message: fields.M ?? '' } });
  }
}

/** Rows arrived for a masked result whose columns are unknown: the session cannot go on safely. */
export class MaskingGap extends Error {
  override readonly name = 'MaskingGap';
  readonly sqlState = SqlState.InsufficientPrivilege;
  constructor() {
    super('rows arrived for a result whose columns were not described, so they cannot be masked');
  }
}

export const NOT_EXECUTED = {
  rows: 0,
  error: { code: 'not-executed', message: 'not executed: an earlier error ended the request' },
} as const;

/**
 * A statement forwarded upstream and not answered when its session ended (docs/security.md, class
 * 168): Gatehouse cancelled it and closed the upstream session, but the server may have run it, in
 * part or whole, and a statement that ends a transaction (or a lone one) may have committed.
 */
export const OUTCOME_UNKNOWN = {
  error: {
    code: 'outcome-unknown',
    message:
      'outcome unknown: the session ended while this was running upstream; Gatehouse sent a cancel, ' +
      'and the server may have run it, in part or whole',
  },
} as const;

/** A statement of a simple Query that another statement of the same string kept from running. */
export const NOT_EXECUTED_SIBLING_REFUSED = {
  rows: 0,
  error: {
    code: 'not-executed',
    message: 'not executed: another statement in the same query string was refused, so none of it was sent',
  },
} as const;
