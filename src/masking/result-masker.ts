// The mask step for SQL results: a MaskerFactory built from the `masking:` config, and the per-statement
// ResultMasker that plans, per RowDescription, which cells need work and how (column rule or content
// detectors, by type OID and format). Pure: the engine resolves column origins and does the I/O.

import { isUtf8 } from 'node:buffer';
import type { Action } from '../core/action.js';
import type { SqlStatement } from '../core/sql-statement.js';
import type { Obligations } from '../core/decision.js';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import type { Identity } from '../core/identity.js';
import {
  passThroughMasker,
  type ColumnRef,
  type MaskCounts,
  type MaskerFactory,
  type ResultMasker,
  type RowMasker,
} from '../core/masking.js';
import type { ColumnRule } from './column-rules.js';
import { createColumnMatcher } from './column-rules.js';
import {
  BUILTIN_RULES,
  jsonKeyRule,
  namedColumnRule,
  namesBuiltinSource,
  type NamedSources,
} from './builtin-rules.js';
import { createDetectorSet, type DetectorSet } from './detector-set.js';
import type { MaskStyle } from './finding.js';
import { maskJsonText, maskNamedText } from './json-masking.js';
import { bytesFeatures, F_FIELDS } from './text-features.js';
import {
  detectorSetConfigFor,
  resolveMaskingProfile,
  styleChooser,
  type DetectorSetInputs,
  type MaskingProfile,
} from './masking-config.js';
import type { MaskingConfig } from './masking-schema.js';
import type { StatementLineage } from '../core/column-lineage.js';
import { ERROR_TEXT_TAG, LineageRules, type LineagePlan, type OutputAction } from './lineage-plan.js';
import {
  byteaHexToBytes,
  bytesToByteaHex,
  decodeBinaryArray,
  decodeBinaryComposite,
  decodeBinaryMultirange,
  decodeBinaryRange,
  encodeBinaryArray,
  encodeBinaryComposite,
  formatRecordText,
  int8BinaryToText,
  numericBinaryToText,
  parseRecordText,
} from './pg-cell-codecs.js';
import { ARRAY_ELEMENT, MULTIRANGE_RANGE, PgType, RANGE_ELEMENT, typeHandling } from './pg-types.js';

/** Where a result column comes from, as the engine resolved it through the upstream catalog. */
export interface ColumnSource {
  readonly schema: string;
  readonly table: string;
  /** The column name; '' for a whole-row reference (`SELECT c FROM customers c`, attnum 0). */
  readonly column: string;
  /** For a whole-row reference: the table's live columns in order (name and type OID). */
  readonly rowColumns?: readonly { readonly name: string; readonly typeOid: number }[];
}

/**
 * A RowDescription column with its origin. `source` is set by an engine that resolved the table OID
 * and column number; `'unresolved'` when it tried and failed. A column with a table OID and no
 * resolved source is masked whole when the profile has column rules (fail closed).
 */
export interface ResolvedColumnRef extends ColumnRef {
  readonly source?: ColumnSource | 'unresolved';
}

/** Tag (and count name) for columns whose origin could not be resolved while column rules apply. */
export const UNRESOLVED_TAG = 'unresolved';
/** Count name for COPY rows withheld. */
export const COPY_WITHHELD = 'copy_withheld';
/** Tag (and count name) for values withheld because they are larger than `masking.maxCellBytes`. */
export const OVERSIZE_TAG = 'withheld_oversize';
/** Default for `masking.maxCellBytes`: scanning a value this large takes a few milliseconds. */
export const DEFAULT_MAX_CELL_BYTES = 128 * 1024;

/**
 * SQLSTATEs PostgreSQL raises only while analysing a statement's text (never from a value's input
 * function): undefined or ambiguous column, grouping error, datatype mismatch, cannot coerce,
 * indeterminate datatype.
 */
const ANALYSIS_ERRORS = new Set(['42703', '42702', '42803', '42804', '42846', '42P18']);

/** Fields kept when an error's text is withheld: severity, SQLSTATE, server source location. */
const KEPT_WITH_TEXT_WITHHELD = new Set(['S', 'V', 'C', 'F', 'L', 'R']);

/** Names of the SQLSTATEs a withheld error most often has (PostgreSQL Appendix A), for the message. */
const CONDITION_NAMES: Readonly<Record<string, string>> = {
  '22001': 'string_data_right_truncation',
  '22003': 'numeric_value_out_of_range',
  '22007': 'invalid_datetime_format',
  '22008': 'datetime_field_overflow',
  '22012': 'division_by_zero',
  '22023': 'invalid_parameter_value',
  '22P02': 'invalid_text_representation',
  '2201B': 'invalid_regular_expression',
  '22032': 'invalid_json_text',
  '2200N': 'invalid_xml_content',
  '2200M': 'invalid_xml_document',
  '23502': 'not_null_violation',
  '23503': 'foreign_key_violation',
  '23505': 'unique_violation',
  '23514': 'check_violation',
  '3F000': 'invalid_schema_name',
  '42601': 'syntax_error',
  '42602': 'invalid_name',
  '42703': 'undefined_column',
  '42704': 'undefined_object',
  '42725': 'ambiguous_function',
  '42883': 'undefined_function',
  '42P01': 'undefined_table',
  '57014': 'query_canceled',
  P0001: 'raise_exception',
};

function conditionName(code: string): string {
  const n = CONDITION_NAMES[code];
  return n === undefined ? '' : ` ${n}`;
}

/**
 * SQLSTATEs an error of code Gatehouse cannot see into keeps when its text is withheld: those a client
 * acts on without reading the text (retry a serialization failure or deadlock, a cancelled statement,
 * a failed transaction, lost resources or connection). Any other becomes P0001 (class 245).
 */
const CLIENT_ACTED_SQLSTATES: ReadonlySet<string> = new Set([
  '08000',
  '08003',
  '08006',
  '08P01',
  '25001',
  '25006',
  '25P01',
  '25P02',
  '25P03',
  '40000',
  '40001',
  '40002',
  '40003',
  '40P01',
  '53000',
  '53100',
  '53200',
  '53300',
  '53400',
  '54000',
  '54001',
  '54011',
  '54023',
  '55P03',
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '57P04',
  '57P05',
  'P0001',
  'XX000',
  'XX001',
  'XX002',
]);

/** Error/notice fields that carry no data: severity, SQLSTATE, positions, server source location. */
const STRUCTURAL_FIELDS = new Set(['S', 'V', 'C', 'P', 'p', 'L', 'F', 'R']);
/** Tag for values withheld from error messages (they may quote a masked column's value). */
export const ERROR_VALUE_TAG = 'error_value';

/** The fewest digits a content detector can hit in an int8/numeric's text (a 13-digit card). */
const MIN_CARD_DIGITS = 13;
/**
 * The shortest text anything is masked in without custom detectors or dictionaries (which: any): a
 * field name before a value (`k=v`, with a one-letter configured name); a built-in detector needs 6
 * (`a@b.cd`).
 */
const MIN_BUILTIN_FINDING = 3;

/** Records in arrays in records…: deeper than this, a binary value counts as holding a finding. */
const MAX_BINARY_NESTING = 8;

/** A profile compiled once per configuration: detector sets, style chooser, column rule matcher. */
class CompiledProfile {
  readonly set: DetectorSet;
  readonly chooser: (detector: string) => MaskStyle;
  readonly match: (schema: string, table: string, column: string) => ColumnRule | undefined;
  readonly ruleSets = new Map<ColumnRule, DetectorSet>();
  /**
   * The content detectors with the bare `123456789` SSN, for values derived from a column whose rule
   * scans with `ssn` (a rule's own set only narrows the content set otherwise); undefined when no
   * rule does.
   */
  readonly bareSsnSet: DetectorSet | undefined;
  readonly jsonKeys: readonly string[];
  readonly hasRules: boolean;
  /** Column rules as they apply to a statement's lineage (lineage-plan.ts). */
  readonly lineage: LineageRules;
  /** Text shorter than this cannot hold a finding of the content set. */
  readonly minScan: number;
  readonly minDigits: number;
  /** Values (and texts) larger than this are withheld rather than scanned. */
  readonly maxCellBytes: number;
  /** What a withheld oversize value reads as. */
  readonly oversizeText: string;
  private readonly tableRules: readonly { schema: RegExp; table: RegExp; column: string }[];
  /** ruledColumnNames' answers, per tables array. */
  private readonly ruledByTables = new WeakMap<readonly object[], readonly string[]>();

  constructor(
    readonly profile: MaskingProfile,
    inputs: DetectorSetInputs,
    maxCellBytes: number = DEFAULT_MAX_CELL_BYTES,
  ) {
    this.set = createDetectorSet(detectorSetConfigFor(profile, inputs));
    this.maxCellBytes = maxCellBytes;
    this.oversizeText = `[WITHHELD: value larger than masking.maxCellBytes (${maxCellBytes} bytes)]`;
    this.chooser = styleChooser(profile);
    // Every masked profile masks other sessions' statement texts and the server's credentials too
    // (after the profile's own rules, which win): no detector can judge them (builtin-rules.ts).
    const columns = [...profile.columns, ...BUILTIN_RULES];
    const written = createColumnMatcher(columns);
    // Then a column named like a secret (`password`, `api_key`…), as a JSON key of that name is.
    const named = profile.namedColumns ? namedColumnRule(profile.jsonKeys) : undefined;
    this.match = named
      ? (schema, table, column) => written(schema, table, column) ?? named(schema, table, column)
      : written;
    for (const rule of profile.columns) {
      if (rule.detectors)
        this.ruleSets.set(rule, createDetectorSet(detectorSetConfigFor(profile, inputs, rule.detectors)));
    }
    this.bareSsnSet = profile.columns.some((r) => r.detectors?.includes('ssn'))
      ? createDetectorSet({ ...detectorSetConfigFor(profile, inputs), bareSsn: true })
      : undefined;
    this.jsonKeys = profile.jsonKeys;
    this.hasRules = profile.columns.length > 0;
    this.lineage = new LineageRules(written, this.chooser, named, jsonKeyRule(profile.jsonKeys));
    const alwaysRun = profile.detectors.custom.length > 0 || profile.detectors.dictionaries.length > 0;
    this.minScan = alwaysRun ? 1 : MIN_BUILTIN_FINDING;
    this.minDigits = alwaysRun ? 1 : MIN_CARD_DIGITS;
    this.tableRules = columns.map((r) => {
      const parts = r.column.split('.');
      while (parts.length < 3) parts.unshift('*');
      return {
        schema: glob(parts[0] as string),
        table: glob(parts[1] as string),
        column: parts[2] as string,
      };
    });
  }

  /** Column-name patterns of the rules that may cover one of these tables (JSON keys built from rows). */
  ruledColumnNames(
    tables: readonly { readonly schema?: string; readonly name: string }[],
  ): readonly string[] {
    if (this.tableRules.length === 0 || tables.length === 0) return NO_NAMES;
    // Asked for every masked statement. The classifier freezes a statement's tables array, and one
    // template's texts (or one prepared statement's executions) share it: matched once per frozen
    // array (one that is not frozen could change, so it is matched each time).
    let names = this.ruledByTables.get(tables);
    if (names === undefined) {
      names = Object.freeze(
        this.tableRules
          .filter((r) =>
            tables.some((t) => r.table.test(t.name) && (t.schema === undefined || r.schema.test(t.schema))),
          )
          .map((r) => r.column),
      );
      if (Object.isFrozen(tables)) this.ruledByTables.set(tables, names);
    }
    return names;
  }

  /** Could some column rule cover a column of this table (COPY cannot tell which columns it sends)? */
  coversTable(schema: string | undefined, table: string): boolean {
    return this.tableRules.some(
      (r) => r.table.test(table) && (schema === undefined || r.schema.test(schema)),
    );
  }
}

const NO_NAMES: readonly string[] = Object.freeze([]);

function glob(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'is');
}

/** What to do with one value: mask it whole (a column rule) or scan it with a detector set. */
type ValueAction =
  | { readonly kind: 'whole'; readonly style: MaskStyle; readonly tag: string }
  | {
      readonly kind: 'scan';
      readonly set: DetectorSet;
      readonly minScan: number;
      readonly minDigits: number;
    };

/**
 * Returns the replacement for the cell `b[start, end)`, null for SQL NULL, undefined when unchanged.
 * Cells are given as ranges of the received DataRow so the common case (nothing to mask) creates no
 * Buffer object per cell.
 */
type CellOp = (b: Buffer, start: number, end: number) => Buffer | null | undefined;

/**
 * What a NULL cell of a column masked whole is sent as: the mask a value would get (null when its
 * type cannot hold one: the cell stays NULL, counted as masked).
 */
type NullOp = () => Buffer | null;

type SliceDecoder = (b: Buffer, start: number, end: number) => string;
type NodeBuffer = Buffer & {
  utf8Slice?: (start: number, end: number) => string;
  latin1Slice?: (start: number, end: number) => string;
};

/**
 * Decoders for a cell range. Node's Buffer#toString spends as long checking its arguments as the
 * native decode of a short cell takes, so the native slice methods are used when present (they have
 * been on Buffer.prototype in every Node release; the fallback keeps the code correct without them).
 */
const utf8: SliceDecoder =
  typeof (Buffer.prototype as NodeBuffer).utf8Slice === 'function'
    ? (b, start, end) => (b as NodeBuffer).utf8Slice!(start, end)
    : (b, start, end) => b.toString('utf8', start, end);
const latin1: SliceDecoder =
  typeof (Buffer.prototype as NodeBuffer).latin1Slice === 'function'
    ? (b, start, end) => (b as NodeBuffer).latin1Slice!(start, end)
    : (b, start, end) => b.toString('latin1', start, end);

/** An operation that needs the cell as its own Buffer (binary structures). */
function whole(f: (v: Buffer) => Buffer | null | undefined): CellOp {
  return (b, start, end) => f(start === 0 && end === b.length ? b : b.subarray(start, end));
}

/** One named count; a column's operation holds its own, so counting a masked cell is one increment. */
interface Counter {
  n: number;
}

/** Counts shared by every row masker of one statement. */
class Tally {
  // Made on the first count: most statements' results mask nothing, and a masker is made per statement.
  private byName: Map<string, Counter> | undefined;

  counter(name: string): Counter {
    this.byName ??= new Map();
    let c = this.byName.get(name);
    if (!c) {
      c = { n: 0 };
      this.byName.set(name, c);
    }
    return c;
  }

  add(name: string, n = 1): void {
    this.counter(name).n += n;
  }

  merge(counts: Readonly<Record<string, number>>): void {
    for (const [k, v] of Object.entries(counts)) this.add(k, v);
  }

  get counts(): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.byName === undefined) return out;
    for (const [k, c] of this.byName) if (c.n > 0) out[k] = c.n;
    return out;
  }
}

/** The row masker for one result set: one operation per column that needs work. */
export class PlannedRowMasker implements RowMasker {
  /** Values replaced by NULL because their type could not hold a masked value. */
  nulled = 0;
  readonly work: readonly boolean[];
  /**
   * Per column, for NULL cells; undefined when no column needs one. A value derived from a masked
   * column is NULL or not as the expression decides (`CASE WHEN secret < 'm' THEN 'x' END`,
   * `nullif(secret, 'guess')`): a NULL shown as NULL next to masks would answer the condition, so a
   * derived column's NULL is masked like any value of it.
   */
  readonly nullOps: readonly (NullOp | undefined)[] | undefined;
  private readonly ops: readonly (CellOp | undefined)[];

  constructor(
    build: (self: PlannedRowMasker) => readonly (CellOp | undefined)[],
    nulls?: (self: PlannedRowMasker) => readonly (NullOp | undefined)[],
  ) {
    this.ops = build(this);
    this.work = this.ops.map((o) => o !== undefined);
    const n = nulls?.(this);
    this.nullOps = n?.some(Boolean) ? n : undefined;
  }

  /** For a NULL cell: the value to send instead, or null to keep it NULL. */
  maskNull(index: number): Buffer | null {
    const op = this.nullOps?.[index];
    return op === undefined ? null : op();
  }

  maskCell(index: number, value: Buffer): Buffer | null | undefined {
    const op = this.ops[index];
    return op === undefined ? undefined : op(value, 0, value.length);
  }

  /** maskCell for the cell `b[start, end)`, without slicing it out first. */
  maskRange(index: number, b: Buffer, start: number, end: number): Buffer | null | undefined {
    const op = this.ops[index];
    return op === undefined ? undefined : op(b, start, end);
  }
}

export class SqlResultMasker implements ResultMasker {
  readonly active = true;
  private readonly tally = new Tally();
  /**
   * JSON keys masked whole: the profile's, plus the names of ruled columns of the tables this statement
   * reads, so `to_jsonb(t)` and `json_build_object('secret', secret)` keep the column's protection.
   */
  private readonly jsonKeys: readonly string[];
  /** How lineage masks this statement's results (set by the engine before rows arrive). */
  private plan: LineagePlan | undefined;
  /**
   * The statement runs code Gatehouse cannot see into (a DO block, a user function, CALL, a fast-path
   * call): what its errors and notices carry besides their text, the SQLSTATE a RAISE chose and how
   * many notices it sends, is that code's choice (class 245).
   */
  private unseenCode = false;
  /** Notices of this statement whose text was withheld because it runs unseen code (class 245). */
  private noticesWithheld = 0;
  /** The notice maskFields was last given is not to be sent at all (class 245). */
  noticeDropped = false;
  /**
   * Column rules apply to this statement: the profile has rules of its own, or the engine traced the
   * statement's lineage for the built-in rules (it names a catalog they cover; builtin-rules.ts).
   */
  private rulesOn: boolean;

  /**
   * The statement whose results this masks: its text and the tables it names. Only the statement,
   * not the action: a portal keeps its masker until it closes, and the action carries the Bind's
   * parameters, which a session binding many portals would otherwise hold all at once (class 183).
   */
  private readonly statement: SqlStatement;

  constructor(
    private readonly p: CompiledProfile,
    statement: SqlStatement,
  ) {
    this.statement = statement;
    this.rulesOn = p.hasRules;
    const ruled = p.ruledColumnNames(statement.tables);
    this.jsonKeys = ruled.length === 0 ? p.jsonKeys : [...p.jsonKeys, ...ruled];
  }

  /** True when column rules apply, so the engine should resolve each column's origin. */
  get needsColumnSources(): boolean {
    return this.rulesOn;
  }

  /** The result as a whole may carry masked data (a fast-path function call's): withheld. */
  get untracedResult(): boolean {
    return this.plan !== undefined && this.plan.combined.kind !== 'clear';
  }

  /**
   * A value no statement's lineage can trace to columns, reaching the session outside any result (a
   * NotificationResponse's payload, written by whatever session or trigger sent it): under column
   * rules, masked whole as `[REDACTED:<tag>]`, as an untraceable result is; undefined without rules
   * (the content detectors then apply) or for an empty value. docs/security.md, class 98.
   */
  maskUntraced(text: string, tag: string): string | undefined {
    if (!this.p.hasRules || text === '') return undefined;
    this.tally.add(tag);
    return `[REDACTED:${tag}]`;
  }

  /** Applies the statement's lineage: result columns fed by masked columns are masked whole. */
  useLineage(lineage: StatementLineage, unseenCode = false): void {
    this.unseenCode = unseenCode;
    // The engine traces lineage only when rules apply (the profile's, or the built-in ones).
    this.rulesOn = true;
    this.plan = this.p.lineage.plan(lineage);
  }

  counts(): MaskCounts {
    return this.tally.counts;
  }

  /** The statement reads a masked column (or columns Gatehouse cannot trace): its texts are withheld. */
  readsMasked(): boolean {
    return this.plan?.withhold !== undefined;
  }

  /** Adds to a count the engine keeps itself (COPY rows withheld). */
  countWithheld(name: string, n: number): void {
    if (n > 0) this.tally.add(name, n);
  }

  maskText(text: string): string | undefined {
    // Characters never outnumber UTF-8 bytes, so a text of more characters is surely over the cap.
    if (text.length > this.p.maxCellBytes || Buffer.byteLength(text) > this.p.maxCellBytes) {
      this.tally.add(OVERSIZE_TAG);
      return this.p.oversizeText;
    }
    const t = text.trimStart();
    const style = this.p.chooser;
    const r =
      t.startsWith('{') || t.startsWith('[')
        ? maskJsonText(text, this.p.set, { keyNames: this.jsonKeys, style, keysInInvalidJson: true })
        : maskNamedText(text, this.p.set, style, this.jsonKeys, 'text');
    if (r === null) return undefined;
    this.tally.merge(r.counts);
    return r.text;
  }

  /**
   * Masks ErrorResponse/NoticeResponse fields in place (keyed by field type: M, D, W, …); true when
   * any changed. Every data-bearing field goes through the content detectors. A data error (SQLSTATE
   * class 22 or 23) of a statement that reads a table with column rules may quote the value of a
   * masked column that no detector recognises (`invalid input syntax for type integer: "<secret>"`,
   * `Key (secret)=(<secret>) already exists`), so its quoted values and its DETAIL and CONTEXT are
   * withheld.
   */
  maskFields(fields: Record<string, string>, kind: 'error' | 'notice' = 'error'): boolean {
    this.noticeDropped = false;
    if (this.plan?.withhold !== undefined && this.withholdText(fields, kind, this.plan.withhold)) return true;
    const reached = this.rowOfOtherTable(fields, kind);
    if (reached !== undefined && this.withholdText(fields, kind, reached)) return true;
    let changed = false;
    const code = fields.C ?? '';
    if ((code.startsWith('22') || code.startsWith('23')) && this.readsRuledTable()) {
      const tag = this.p.set.maskWhole('', 'redact', ERROR_VALUE_TAG) as string;
      const m = fields.M;
      if (m !== undefined) {
        const q = m.replace(/"(?:[^"]|"")*"/g, `"${tag}"`);
        if (q !== m) {
          fields.M = q;
          this.tally.add(ERROR_VALUE_TAG);
          changed = true;
        }
      }
      for (const k of ['D', 'W', 'q']) {
        if (fields[k] !== undefined) {
          fields[k] = tag;
          changed = true;
        }
      }
    }
    for (const [k, v] of Object.entries(fields)) {
      if (STRUCTURAL_FIELDS.has(k)) continue;
      const m = this.maskText(v);
      if (m !== undefined) {
        fields[k] = m;
        changed = true;
      }
    }
    return changed;
  }

  /**
   * The text of an error or notice of a statement that reads a masked column may quote its value
   * (`relation "<value>" does not exist` from a ::regclass cast, a failing cast, an XML parser's
   * DETAIL…), so all of it is replaced by a fixed message with the SQLSTATE. A position is no proof
   * of innocence (input functions such as regtype's run the SQL parser on the value and report a
   * position in it), so only errors of the kinds PostgreSQL raises while analysing the client's own
   * text, with a position, no internal query, and every quoted name found in the statement's text,
   * are kept (and scanned): a misspelt column still explains itself.
   */
  private withholdText(fields: Record<string, string>, kind: 'error' | 'notice', why: string): boolean {
    let code = fields.C ?? 'XX000';
    if (fields.P !== undefined && fields.q === undefined && ANALYSIS_ERRORS.has(code)) {
      const text = this.statement.text;
      const quoted = (fields.M ?? '').match(/"(?:[^"]|"")*"/g) ?? [];
      if (quoted.every((q) => q.length > 2 && text.includes(q.slice(1, -1).replace(/""/g, '"'))))
        return false;
    }
    if (this.unseenCode && this.plan?.withhold !== undefined) {
      // Code Gatehouse cannot see into chooses the SQLSTATE of what it raises (`RAISE … USING ERRCODE =
      // upper(substr(secret, 1, 5))`) and how many notices it sends: five characters a message, as
      // many messages as it likes. An error keeps only a SQLSTATE a client acts on without its text
      // (a retry, a cancel, a lost connection), any other is raise_exception's; only the first notice
      // of the statement is sent, with the SQLSTATE of its severity (class 245).
      if (kind === 'notice') {
        if (this.noticesWithheld++ > 0) {
          this.noticeDropped = true;
          this.tally.add(ERROR_TEXT_TAG);
          return true;
        }
        code = fields.V === 'WARNING' ? '01000' : '00000';
      } else if (!CLIENT_ACTED_SQLSTATES.has(code)) code = 'P0001';
      fields.C = code;
    }
    for (const k of Object.keys(fields)) if (!KEPT_WITH_TEXT_WITHHELD.has(k)) delete fields[k];
    fields.M = `Gatehouse withheld the text of this ${kind} (SQLSTATE ${code}${conditionName(code)}): ${why}`;
    this.tally.add(ERROR_TEXT_TAG);
    return true;
  }

  /**
   * A constraint's error names the relation whose row it checked (fields s and t), and its DETAIL
   * quotes that row (`Failing row contains (…)`, `Key (…)=(…)`). That relation need not be one the
   * statement names: a foreign key's ON UPDATE CASCADE or ON DELETE SET NULL, a trigger, or partition
   * routing writes rows of other tables, so `UPDATE accounts SET code = 'closed'` failed with a row of
   * a ruled table in clear. Why the text is withheld when the row may hold a masked value: its table
   * may have column rules, or the statement did not name it (its parents, which the rules may name,
   * are not known here). Undefined when the message names no relation or one the statement names
   * that no rule covers.
   */
  private rowOfOtherTable(fields: Record<string, string>, kind: 'error' | 'notice'): string | undefined {
    const table = fields.t;
    if (!this.rulesOn || table === undefined) return undefined;
    const schema = fields.s;
    const full = schema === undefined ? table : `${schema}.${table}`;
    if (this.p.coversTable(schema, table))
      return `the ${kind} is about a row of ${full}, a table with column rules, and its text could quote a masked value`;
    const named = this.statement.tables.some(
      (t) => t.name === table && (t.schema === undefined || schema === undefined || t.schema === schema),
    );
    if (named) return undefined;
    return `the ${kind} is about a row of ${full}, which the statement writes without naming it (a foreign key's cascade, a trigger, a partition), and its text could quote a masked value`;
  }

  private readsRuledTable(): boolean {
    if (!this.rulesOn) return false;
    return this.statement.tables.some((t) => this.p.coversTable(t.schema, t.name));
  }

  /**
   * COPY TO STDOUT sends no RowDescription, so column rules cannot be placed: its data is scanned
   * line by line unless a column rule may cover one of the statement's tables or the format is
   * binary; then it is withheld whole (docs/masking.md).
   */
  copyOutMode(binary: boolean): 'scan' | 'withhold' {
    if (binary) return 'withhold';
    if (this.plan) return this.plan.tainted ? 'withhold' : 'scan';
    return this.readsRuledTable() ? 'withhold' : 'scan';
  }

  forColumns(columns: readonly ColumnRef[]): RowMasker | undefined {
    const plan = this.plan;
    const actions =
      plan === undefined
        ? undefined
        : plan.outputs !== undefined && plan.outputs.length === columns.length
          ? plan.outputs
          : columns.map(() => plan.combined);
    const masker = new PlannedRowMasker(
      (row) => columns.map((c, i) => this.lineageOp(c as ResolvedColumnRef, row, actions?.[i])),
      (row) => columns.map((c, i) => this.lineageNullOp(c as ResolvedColumnRef, row, actions?.[i])),
    );
    return masker.work.some(Boolean) ? masker : undefined;
  }

  /** A column as its lineage says (masked whole, or by a view's base column rule), else by its origin. */
  private lineageOp(
    c: ResolvedColumnRef,
    row: PlannedRowMasker,
    a: OutputAction | undefined,
  ): CellOp | undefined {
    const binary = c.format === 1;
    if (a === undefined || a.kind === 'clear') return this.columnOp(c, row);
    if (a.kind === 'rule') return this.valueOp(c.typeOid, binary, this.ruleAction(a.rule), row);
    if (a.kind === 'scan') {
      // A whole row as is keeps its fields' own rules; anything else derived from a scan-only
      // column is scanned with the content detectors and what its rules add.
      const src = c.source;
      if (a.row && c.tableOid !== 0 && src !== undefined && src !== 'unresolved' && src.column === '')
        return this.columnOp(c, row);
      const bare = a.rules.some((r) => r.detectors?.includes('ssn')) ? this.p.bareSsnSet : undefined;
      return this.valueOp(
        c.typeOid,
        binary,
        { kind: 'scan', set: bare ?? this.p.set, minScan: 1, minDigits: 1 },
        row,
      );
    }
    if (a.kind === 'row') {
      const src = c.source;
      if (
        c.tableOid !== 0 &&
        src !== undefined &&
        src !== 'unresolved' &&
        src.column === '' &&
        src.rowColumns
      )
        return this.columnOp(c, row);
    }
    return this.valueOp(c.typeOid, binary, { kind: 'whole', style: a.style, tag: a.tag }, row);
  }

  /**
   * For a column masked whole because it is derived (or untraceable): what its NULL cells become.
   * A column unchanged keeps its NULLs (whether a value is there is the column's, not the client's
   * expression's); a whole row of one table is masked field by field.
   */
  private lineageNullOp(
    c: ResolvedColumnRef,
    row: PlannedRowMasker,
    a: OutputAction | undefined,
  ): NullOp | undefined {
    if (a === undefined || a.kind !== 'whole' || a.style === 'null') return undefined;
    const tagged = this.tally.counter(a.tag);
    const m = this.p.set.maskWhole('', a.style, a.tag);
    const binary = c.format === 1;
    let handling = typeHandling(c.typeOid);
    if (handling === 'array' && typeHandling(ARRAY_ELEMENT.get(c.typeOid) ?? 0) === 'pass') handling = 'pass';
    let fill: Buffer | undefined;
    if (m !== null) {
      if (handling === 'string' || (handling === 'other' && !binary)) fill = Buffer.from(m, 'utf8');
      else if (handling === 'json' || (handling === 'jsonb' && !binary))
        fill = Buffer.from(JSON.stringify(m), 'utf8');
      else if (handling === 'jsonb') fill = Buffer.concat([Buffer.of(1), Buffer.from(JSON.stringify(m))]);
      else if (handling === 'bytea')
        fill = binary
          ? Buffer.from(m, 'utf8')
          : Buffer.from(bytesToByteaHex(Buffer.from(m, 'utf8')), 'latin1');
    }
    if (fill !== undefined) {
      const out = fill;
      return () => {
        tagged.n++;
        return out;
      };
    }
    // Numbers, arrays, binary values of other types: masked as NULL, so a NULL is counted as one.
    return () => {
      tagged.n++;
      row.nulled++;
      return null;
    };
  }

  private content(): ValueAction {
    return { kind: 'scan', set: this.p.set, minScan: this.p.minScan, minDigits: this.p.minDigits };
  }

  private ruleAction(rule: ColumnRule): ValueAction {
    const set = this.p.ruleSets.get(rule);
    if (set) return { kind: 'scan', set, minScan: 1, minDigits: 1 };
    const tag = rule.tag ?? 'column';
    return { kind: 'whole', style: rule.style ?? this.p.chooser(tag), tag };
  }

  private columnOp(c: ResolvedColumnRef, row: PlannedRowMasker): CellOp | undefined {
    const binary = c.format === 1;
    if (c.tableOid !== 0 && this.rulesOn) {
      const src = c.source;
      if (src === undefined || src === 'unresolved') {
        return this.valueOp(c.typeOid, binary, { kind: 'whole', style: 'redact', tag: UNRESOLVED_TAG }, row);
      }
      if (src.column === '' && src.rowColumns) {
        const ruled = src.rowColumns.some((rc) => this.p.match(src.schema, src.table, rc.name));
        if (ruled) return this.rowOp(src, binary, row);
      } else {
        const rule = this.p.match(src.schema, src.table, src.column);
        if (rule) return this.valueOp(c.typeOid, binary, this.ruleAction(rule), row);
      }
    }
    return this.valueOp(c.typeOid, binary, this.content(), row);
  }

  /** Masks one string value; null means SQL NULL, undefined unchanged. */
  private maskString(s: string, act: ValueAction, json: boolean): string | null | undefined {
    if (act.kind === 'whole') {
      const m = act.style === 'null' ? null : this.p.set.maskWhole(s, act.style, act.tag);
      this.tally.add(act.tag);
      if (m === null) return null;
      return json ? JSON.stringify(m) : m;
    }
    if (s.length < act.minScan) return undefined;
    // Field names are read in a value too: a config file, a DSN or `key=value` text in a text column, a
    // document in a json string (docs/masking.md, "Field names in text").
    const r = json
      ? maskJsonText(s, act.set, { keyNames: this.jsonKeys, style: this.p.chooser, keysInInvalidJson: true })
      : maskNamedText(s, act.set, this.p.chooser, this.jsonKeys, 'cell');
    if (r === null) return undefined;
    this.tally.merge(r.counts);
    return r.isNull ? null : r.text;
  }

  private withheldBuffers: { readonly string: Buffer; readonly json: Buffer } | undefined;

  /** What an oversize value becomes, as a string and as a JSON string (built once per masker). */
  private withheld(): { readonly string: Buffer; readonly json: Buffer } {
    this.withheldBuffers ??= {
      string: Buffer.from(this.p.oversizeText, 'utf8'),
      json: Buffer.from(JSON.stringify(this.p.oversizeText), 'utf8'),
    };
    return this.withheldBuffers;
  }

  /** The operation for a value of this type and format under this action (undefined: nothing to do). */
  private valueOp(
    typeOid: number,
    binary: boolean,
    act: ValueAction,
    row: PlannedRowMasker,
  ): CellOp | undefined {
    let handling = typeHandling(typeOid);
    let element: number | undefined;
    if (handling === 'array') {
      element = ARRAY_ELEMENT.get(typeOid) ?? 0;
      if (typeHandling(element) === 'pass') handling = 'pass';
    }
    // No detector can hit these: nothing to build (most columns of most results; this runs per
    // column of every result set).
    if (handling === 'pass' && act.kind !== 'whole') return undefined;
    const nullIt = (): null => {
      row.nulled++;
      return null;
    };
    const tagged = act.kind === 'whole' ? this.tally.counter(act.tag) : { n: 0 };
    const max = this.p.maxCellBytes;
    const oversize = this.tally.counter(OVERSIZE_TAG);
    const { string: withheldString, json: withheldJson } = this.withheld();
    /** A value too large to scan in one slice of the event loop: withheld (text, JSON string or NULL). */
    const withhold = (as: 'string' | 'json' | 'null'): Buffer | null => {
      oversize.n++;
      return as === 'string' ? withheldString : as === 'json' ? withheldJson : nullIt();
    };
    const stringOp = (
      json: boolean,
      oversizeAs: 'string' | 'json' | 'null' = json ? 'json' : 'string',
    ): CellOp => {
      // Plain text that the pre-filter rules out on its bytes is left as it is without decoding:
      // maskString would decode it, find nothing and return undefined (couldMatchFeatures is false
      // only when scan of the decoded text surely finds nothing, and F_FIELDS unset only when no field
      // name stands before a value in it). JSON is always decoded: its key names are masked whole
      // whatever the value holds.
      const plainScan = !json && act.kind === 'scan' ? act.set : undefined;
      return (b, start, end) => {
        // UTF-8 never has fewer bytes than characters: a short cell is ruled out before decoding.
        if (act.kind === 'scan' && end - start < act.minScan) return undefined;
        if (end - start > max) return withhold(oversizeAs);
        if (plainScan !== undefined) {
          const f = bytesFeatures(b, start, end);
          if ((f & F_FIELDS) === 0 && !plainScan.couldMatchFeatures(f)) return undefined;
        }
        const r = this.maskString(utf8(b, start, end), act, json);
        return r === undefined ? undefined : r === null ? null : Buffer.from(r, 'utf8');
      };
    };
    // A whole-column redact is the same bytes for every row: built once, no allocation per cell.
    if (
      act.kind === 'whole' &&
      act.style === 'redact' &&
      (handling === 'string' || handling === 'json' || (handling === 'other' && !binary))
    ) {
      const tag = this.p.set.maskWhole('', 'redact', act.tag) as string;
      const out = Buffer.from(handling === 'json' ? JSON.stringify(tag) : tag, 'utf8');
      return () => {
        tagged.n++;
        return out;
      };
    }
    switch (handling) {
      case 'pass':
        // No detector can hit these; a column rule cannot put a tag in them either.
        return act.kind === 'whole'
          ? () => {
              tagged.n++;
              return nullIt();
            }
          : undefined;
      case 'string':
        return stringOp(false);
      case 'json':
        return stringOp(true);
      case 'jsonb':
        if (!binary) return stringOp(true);
        // jsonb binary send: a version byte (1) and the JSON text (jsonb.c jsonb_send).
        return whole((v) => {
          if (v.length < 1 || v[0] !== 1) return nullIt();
          if (v.length > max) return withhold('null');
          const r = this.maskString(v.toString('utf8', 1), act, true);
          return r === undefined
            ? undefined
            : r === null
              ? null
              : Buffer.concat([v.subarray(0, 1), Buffer.from(r, 'utf8')]);
        });
      case 'digits': {
        const decode: (b: Buffer, start: number, end: number) => string | undefined = binary
          ? typeOid === PgType.int8
            ? (b, start, end) => int8BinaryToText(b.subarray(start, end))
            : (b, start, end) => numericBinaryToText(b.subarray(start, end))
          : latin1;
        // Text int8/numeric shorter than the shortest hit is ruled out without decoding; binary int8
        // is 8 bytes whatever its value, so it is decoded.
        const shortText = !binary && act.kind === 'scan' ? act.minDigits : 0;
        return (b, start, end) => {
          if (act.kind === 'whole') {
            tagged.n++;
            return nullIt();
          }
          if (end - start < shortText) return undefined;
          const text = decode(b, start, end);
          if (text === undefined) return nullIt();
          if (text.length < act.minDigits) return undefined;
          const r = act.set.mask(text, this.p.chooser, 'cell');
          if (r === null) return undefined;
          this.tally.merge(r.counts);
          return nullIt();
        };
      }
      case 'bytea':
        return binary
          ? whole((v) => (v.length > max ? withhold('string') : this.maskBytes(v, act)))
          : whole((v) => {
              if (v.length > max) {
                oversize.n++;
                return Buffer.from(bytesToByteaHex(withheldString), 'latin1');
              }
              const text = v.toString('latin1');
              const bytes = byteaHexToBytes(text);
              if (bytes === undefined) return stringOp(false)(v, 0, v.length); // escape format is text already
              const r = this.maskBytes(bytes, act);
              return r === undefined || r === null ? r : Buffer.from(bytesToByteaHex(r), 'latin1');
            });
      case 'array': {
        if (act.kind === 'whole') {
          return () => {
            tagged.n++;
            return nullIt();
          };
        }
        if (!binary) return stringOp(false, 'null'); // text form `{…}`: scanned as text
        const elementOp = this.valueOp(element as number, true, act, row);
        if (elementOp === undefined) return undefined;
        return whole((v) => {
          if (v.length > max) return withhold('null');
          const a = decodeBinaryArray(v);
          if (a === undefined) return nullIt();
          let changed = false;
          for (let i = 0; i < a.elements.length; i++) {
            const e = a.elements[i];
            if (e === null || e === undefined) continue;
            const r = elementOp(e, 0, e.length);
            if (r !== undefined) {
              a.elements[i] = r;
              changed = true;
            }
          }
          return changed ? encodeBinaryArray(a) : undefined;
        });
      }
      case 'other':
        // Text format is text: enums, domains, citext, composites and ranges print as text.
        if (!binary) return stringOp(false);
        // A binary value of a type we cannot re-encode: scanned byte-wise, and inside its structure
        // (a record's fields, an array's elements, a range's bounds, each by its own type: a binary
        // int8 is eight raw bytes no detector reads), withheld when anything is found.
        return (b, start, end) => {
          if (act.kind === 'whole') {
            tagged.n++;
            return nullIt();
          }
          if (end - start > max) return withhold('null');
          // Field names too (class 193): a document inside a record keeps its keys.
          if (end - start >= act.minScan && this.maskString(latin1(b, start, end), act, false) !== undefined)
            return nullIt();
          return this.binaryHit(typeOid, b.subarray(start, end), act, 0) ? nullIt() : undefined;
        };
    }
  }

  /**
   * Whether a detector finds anything inside the binary value `v` of type `typeOid` read as a
   * structure: a range's or multirange's bounds, an array's elements, a record's fields (the array
   * and record forms name their element and field types), each decoded by its type as the cells of a
   * result are. Anything nested deeper than Gatehouse reads counts as found (fail closed).
   */
  private binaryHit(typeOid: number, v: Buffer, act: ValueAction & { kind: 'scan' }, depth: number): boolean {
    if (depth > MAX_BINARY_NESTING) return true;
    const rangeOf = MULTIRANGE_RANGE.get(typeOid);
    if (rangeOf !== undefined) {
      const ranges = decodeBinaryMultirange(v);
      return ranges !== undefined && ranges.some((r) => this.binaryHit(rangeOf, r, act, depth + 1));
    }
    const element = RANGE_ELEMENT.get(typeOid);
    if (element !== undefined) {
      const bounds = decodeBinaryRange(v);
      return bounds !== undefined && bounds.some((x) => this.binaryFieldHit(element, x, act, depth + 1));
    }
    const a = decodeBinaryArray(v);
    if (a?.elements.some((e) => e !== null && this.binaryFieldHit(a.elementType, e, act, depth + 1)))
      return true;
    const fields = decodeBinaryComposite(v);
    return (
      fields !== undefined &&
      fields.some((f) => f.value !== null && this.binaryFieldHit(f.typeOid, f.value, act, depth + 1))
    );
  }

  /** One binary field, array element or range bound of type `typeOid`: does a detector find anything? */
  private binaryFieldHit(
    typeOid: number,
    v: Buffer,
    act: ValueAction & { kind: 'scan' },
    depth: number,
  ): boolean {
    // Read as a cell of its type is: by the detectors and by field names (a JSON document's keys, a
    // text's `key=value`: class 193).
    const scan = (text: string | undefined, json = false): boolean =>
      text !== undefined && this.maskString(text, act, json) !== undefined;
    switch (typeHandling(typeOid)) {
      case 'pass':
        return false;
      case 'string':
        return scan(v.toString('utf8'));
      case 'json':
        return scan(v.toString('utf8'), true);
      case 'jsonb':
        return scan(v.toString('utf8', 1), true);
      case 'digits':
        return scan(typeOid === PgType.int8 ? int8BinaryToText(v) : numericBinaryToText(v));
      case 'bytea':
        return scan(v.toString(isUtf8(v) ? 'utf8' : 'latin1'));
      default:
        return scan(v.toString('latin1')) || this.binaryHit(typeOid, v, act, depth);
    }
  }

  /** bytea bytes: scanned as UTF-8 text when they are UTF-8, else byte for byte (latin1). */
  private maskBytes(bytes: Buffer, act: ValueAction): Buffer | null | undefined {
    const encoding: BufferEncoding = isUtf8(bytes) ? 'utf8' : 'latin1';
    const r = this.maskString(bytes.toString(encoding), act, false);
    return r === undefined || r === null ? r : Buffer.from(r, encoding);
  }

  /** A whole-row value of a table with column rules: each field masked as its column would be. */
  private rowOp(src: ColumnSource, binary: boolean, row: PlannedRowMasker): CellOp {
    const cols = src.rowColumns ?? [];
    const fieldAct = cols.map((rc) => {
      const rule = this.p.match(src.schema, src.table, rc.name);
      return rule ? this.ruleAction(rule) : this.content();
    });
    const nullIt = (): null => {
      row.nulled++;
      return null;
    };
    const max = this.p.maxCellBytes;
    const tooLarge = (v: Buffer): boolean => {
      if (v.length <= max) return false;
      this.tally.add(OVERSIZE_TAG);
      return true;
    };
    if (binary) {
      return whole((v) => {
        if (tooLarge(v)) return nullIt();
        const fields = decodeBinaryComposite(v);
        if (fields === undefined || fields.length !== cols.length) return nullIt();
        let changed = false;
        const out = fields.map((f, i) => {
          if (f.value === null) return f;
          const op = this.valueOp(f.typeOid, true, fieldAct[i] as ValueAction, row);
          const r = op?.(f.value, 0, f.value.length);
          if (r === undefined) return f;
          changed = true;
          return { typeOid: f.typeOid, value: r };
        });
        return changed ? encodeBinaryComposite(out) : undefined;
      });
    }
    const ops = cols.map((rc, i) => this.valueOp(rc.typeOid, false, fieldAct[i] as ValueAction, row));
    return whole((v) => {
      if (tooLarge(v)) return nullIt();
      const fields = parseRecordText(v.toString('utf8'));
      if (fields === undefined || fields.length !== cols.length) return nullIt();
      let changed = false;
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i];
        const op = ops[i];
        if (f === null || f === undefined || op === undefined) continue;
        const fb = Buffer.from(f, 'utf8');
        const r = op(fb, 0, fb.length);
        if (r === undefined) continue;
        fields[i] = r === null ? null : r.toString('utf8');
        changed = true;
      }
      return changed ? Buffer.from(formatRecordText(fields), 'utf8') : undefined;
    });
  }
}

export interface SqlMaskerFactory extends MaskerFactory {
  /** Profile names this factory knows (`default` and each `masking.profiles` key). */
  readonly profiles: readonly string[];
  /**
   * The column rules a mask obligation brings, as they apply to lineage; undefined when there is no
   * mask obligation, or the profile has no column rules of its own and none of `statements` (the
   * statement and the prepared statements or cursors it runs) names a relation or function a
   * built-in rule covers (then lineage changes nothing).
   */
  lineageRules(obligations: Obligations, statements?: readonly NamedSources[]): LineageRules | undefined;
  /**
   * For a mask obligation whose profile has no column rules of its own: the built-in rules, which
   * apply to a statement whose lineage reaches what they cover through something it names without
   * showing it (a view over pg_stat_activity, a function or DO block that reads it; docs/security.md
   * class 135). The engine traces such a statement and keeps the lineage only when these rules have
   * something to say about it. Undefined otherwise (no obligation, or the profile has rules: then
   * `lineageRules` applies to every statement).
   */
  builtinLineageRules(obligations: Obligations): LineageRules | undefined;
}

/**
 * Builds the MaskerFactory for a `masking:` config. Every profile is compiled now, so a bad detector
 * or a missing dictionary fails the configuration load, not a statement. `inputs.hashKey` is the HMAC
 * key for the hash style (main.ts loads or creates it).
 */
export function createSqlMaskerFactory(config: MaskingConfig, inputs: DetectorSetInputs): SqlMaskerFactory {
  const compiled = new Map<string, CompiledProfile>();
  const max = config.maxCellBytes;
  compiled.set('default', new CompiledProfile(resolveMaskingProfile(config), inputs, max));
  for (const name of Object.keys(config.profiles)) {
    if (name !== 'default')
      compiled.set(name, new CompiledProfile(resolveMaskingProfile(config, name), inputs, max));
  }
  return {
    profiles: [...compiled.keys()],
    lineageRules(obligations: Obligations, statements?: readonly NamedSources[]): LineageRules | undefined {
      const mask = obligations.mask;
      if (!mask) return undefined;
      const p = compiled.get(mask === true ? 'default' : mask.profile);
      if (!p) return undefined;
      if (p.hasRules || statements?.some(namesBuiltinSource)) return p.lineage;
      return undefined;
    },
    builtinLineageRules(obligations: Obligations): LineageRules | undefined {
      const mask = obligations.mask;
      if (!mask) return undefined;
      const p = compiled.get(mask === true ? 'default' : mask.profile);
      return p && !p.hasRules ? p.lineage : undefined;
    },
    forAction(_identity: Identity, action: Action, obligations: Obligations): ResultMasker {
      const mask = obligations.mask;
      // The HTTP engine masks bodies with its connection's own settings (docs/aws.md).
      if (!mask || action.kind !== 'sql') return passThroughMasker;
      const name = mask === true ? 'default' : mask.profile;
      const p = compiled.get(name);
      if (!p) throw new GatewayError(ERROR_CODES.MASK_FAILED, `masking profile "${name}" is not configured`);
      return new SqlResultMasker(p, action.statement);
    },
  };
}

/** Policy rules naming a masking profile that the config does not define (checked at load). */
export function unknownMaskingProfiles(
  policies: readonly {
    readonly rules: readonly { readonly id: string; readonly mask?: boolean | string | undefined }[];
  }[],
  config: MaskingConfig,
): string[] {
  const known = new Set(['default', ...Object.keys(config.profiles)]);
  const bad: string[] = [];
  for (const p of policies) {
    for (const r of p.rules)
      if (typeof r.mask === 'string' && !known.has(r.mask))
        bad.push(`rule ${r.id}: mask profile "${r.mask}"`);
  }
  return bad;
}

// ---- engine-facing views of the masker (the core port stays minimal) ----

/** The SQL masker behind a ResultMasker, when it is one. */
export function sqlMaskerOf(m: ResultMasker): SqlResultMasker | undefined {
  return m instanceof SqlResultMasker ? m : undefined;
}

/** Which cells of a row need the masker (undefined: ask for every cell). */
export function cellsToMask(r: RowMasker): readonly boolean[] | undefined {
  return r instanceof PlannedRowMasker ? r.work : undefined;
}

/** How many values this row masker replaced by NULL because their type could not hold a mask. */
export function nulledCells(r: RowMasker): number {
  return r instanceof PlannedRowMasker ? r.nulled : 0;
}
