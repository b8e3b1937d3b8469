// Column rules applied to a statement's lineage (core/column-lineage.ts): which result columns are
// masked and how, whether its errors and notices may quote a masked value, and what a masked
// principal may not do with masked columns (filter on them, write them elsewhere, hand them to
// functions with lasting effects, read statistics samples, or run code whose reads cannot be seen).
// Pure: the engine computes the lineage and decides what to do with the findings.

import {
  JSON_KEY_SCHEMA,
  type SourceColumn,
  type StatementLineage,
  type ValueLineage,
} from '../core/column-lineage.js';
import type { ColumnRule } from './column-rules.js';
import type { MaskStyle } from './finding.js';

/** Tag (and count name) of outputs whose lineage cannot be proven, when they are masked. */
export const LINEAGE_TAG = 'lineage';
/** Count name for error and notice texts withheld. */
export const ERROR_TEXT_TAG = 'error_text';

/** What the masker does with one result column. */
export type OutputAction =
  /** Nothing masked flows in: the RowDescription origin and content detectors decide, as before. */
  | { readonly kind: 'clear' }
  /** One masked column, unchanged (through a view, say): its rule applies in its own style. */
  | { readonly kind: 'rule'; readonly rule: ColumnRule; readonly source: SourceColumn }
  /**
   * Derived from columns whose rules only scan (`detectors:`) and from no column masked whole: scanned
   * with what those rules add to the content detectors (the bare `123456789` SSN of an `ssn` rule).
   */
  | { readonly kind: 'scan'; readonly rules: readonly ColumnRule[]; readonly row: boolean }
  /** A whole row of one base table: masked field by field where the origin is known, else whole. */
  | { readonly kind: 'row'; readonly style: MaskStyle; readonly tag: string }
  /** Derived from masked columns (or unproven): masked whole. */
  | { readonly kind: 'whole'; readonly style: MaskStyle; readonly tag: string };

export interface LineagePlan {
  /** Per result column; undefined when the columns could not be lined up (then `combined` applies). */
  readonly outputs: readonly OutputAction[] | undefined;
  readonly combined: OutputAction;
  /** Set when the statement reads a masked column or runs unseen code: error and notice text is withheld. */
  readonly withhold?: string;
  /** Some result column carries masked (or unproven) data: COPY cannot carry it. */
  readonly tainted: boolean;
}

export type LineageFindingKind = 'statistics' | 'unproven' | 'predicate' | 'write' | 'sink';

export interface LineageFinding {
  readonly kind: LineageFindingKind;
  /** Policy-style rule id for the record and the client's DETAIL. */
  readonly ruleId: string;
  /** Written for the client: what, which column, why, what to do instead. */
  readonly message: string;
}

const CLEAR: OutputAction = { kind: 'clear' };

/** How much a style hides: a derived value takes the strongest style of the columns it comes from. */
function strength(style: MaskStyle): number {
  switch (style) {
    case 'partial':
      return 1;
    case 'hash':
      return 2;
    default:
      return 3;
  }
}

const name = (s: SourceColumn) =>
  s.schema === JSON_KEY_SCHEMA
    ? s.column === '*'
      ? 'a JSON or hstore value under a key the statement does not name'
      : `JSON or hstore key ${JSON.stringify(s.column)}`
    : `${s.schema}.${s.table}.${s.column}`;

type ColumnMatch = (schema: string, table: string, column: string) => ColumnRule | undefined;

export class LineageRules {
  /** The written and built-in rules, then a column named like a secret. */
  private readonly match: ColumnMatch;

  constructor(
    private readonly written: ColumnMatch,
    private readonly chooser: (tag: string) => MaskStyle,
    /** Columns named like a secret (builtin-rules.ts namedColumnRule): after every written rule. */
    private readonly named?: ColumnMatch,
    /**
     * A value taken out of a JSON or hstore document by key (class 190): the rule of that key name
     * (the profile's jsonKeys), or of any key the statement does not name.
     */
    jsonKey?: (key: string) => ColumnRule | undefined,
  ) {
    const columns: ColumnMatch = named ? (s, t, c) => written(s, t, c) ?? named(s, t, c) : written;
    this.match = jsonKey
      ? (s, t, c) => (s === JSON_KEY_SCHEMA ? (t === '' ? jsonKey(c) : undefined) : columns(s, t, c))
      : columns;
  }

  /** Per relation the catalog described: does a rule cover one of its columns? */
  private readonly coveredRelations = new WeakMap<object, boolean>();

  /**
   * Does some rule (written, built-in, or a column named like a secret) cover a column of this
   * relation? For the engine's check that a statement reading only such relations needs no lineage.
   */
  coversColumnOf(relation: {
    readonly schema: string;
    readonly name: string;
    readonly columns: readonly string[];
    readonly descendants?: readonly { readonly schema: string; readonly name: string }[];
    readonly fields?: ReadonlyMap<
      string,
      readonly {
        readonly schema: string;
        readonly table: string;
        readonly column: string;
        readonly view?: boolean;
      }[]
    >;
    readonly documents?: ReadonlySet<string>;
  }): boolean {
    let covered = this.coveredRelations.get(relation);
    if (covered === undefined && relation.documents !== undefined && relation.documents.size > 0) {
      // A document's values under a key name mask by that name when taken out of it (class 190).
      covered = true;
      this.coveredRelations.set(relation, covered);
    }
    if (covered === undefined) {
      // Its own columns, the same columns of its partitions and children (their rows are read through
      // it: class 188), and the fields its composite-typed columns hold (class 189).
      const owners = [relation, ...(relation.descendants ?? [])];
      covered =
        relation.columns.some((c) => owners.some((o) => this.match(o.schema, o.name, c) !== undefined)) ||
        [...(relation.fields?.values() ?? [])].some((list) =>
          // a view's row type: what its column holds is known once traced
          list.some((f) => f.view === true || this.match(f.schema, f.table, f.column) !== undefined),
        );
      this.coveredRelations.set(relation, covered);
    }
    return covered;
  }

  /** The rule masking this column whole (rules with `detectors:` only scan, so they do not count). */
  private wholeRule(s: SourceColumn): ColumnRule | undefined {
    const r = this.match(s.schema, s.table, s.column);
    return r && !r.detectors ? r : undefined;
  }

  private styleOf(rule: ColumnRule): MaskStyle {
    return rule.style ?? this.chooser(rule.tag ?? 'column');
  }

  /** The first masked source and its rule. */
  private firstMasked(
    sources: readonly SourceColumn[],
  ): { source: SourceColumn; rule: ColumnRule } | undefined {
    for (const s of sources) {
      const rule = this.wholeRule(s);
      if (rule) return { source: s, rule };
    }
    return undefined;
  }

  /** The rules of these sources that scan with chosen detectors instead of masking whole. */
  private scanRules(sources: readonly SourceColumn[]): ColumnRule[] {
    const out: ColumnRule[] = [];
    for (const s of sources) {
      const r = this.match(s.schema, s.table, s.column);
      if (r?.detectors && !out.includes(r)) out.push(r);
    }
    return out;
  }

  /** The strongest rule among the masked sources. */
  private strongest(sources: readonly SourceColumn[]): { style: MaskStyle; tag: string } | undefined {
    let best: { style: MaskStyle; tag: string } | undefined;
    for (const s of sources) {
      const rule = this.wholeRule(s);
      if (!rule) continue;
      const style = this.styleOf(rule);
      if (!best || strength(style) > strength(best.style)) best = { style, tag: rule.tag ?? 'column' };
    }
    return best;
  }

  private action(v: ValueLineage): OutputAction {
    if (v.unproven !== undefined) return { kind: 'whole', style: 'redact', tag: LINEAGE_TAG };
    if (v.sources.length === 0) return CLEAR;
    if (v.direct) {
      // Every name of one column (a partition's and its parents'): the first rule that matches, a
      // written one for any of the names before the column's own name (a child's `card_number`
      // keeps its parent's rule).
      for (const match of this.named ? [this.written, this.named] : [this.written]) {
        for (const s of v.sources) {
          const rule = match(s.schema, s.table, s.column);
          if (rule) return { kind: 'rule', rule, source: s };
        }
      }
      return CLEAR;
    }
    const best = this.strongest(v.sources);
    if (!best) {
      // The detectors a scan-only rule names follow its column into what is derived from it, as a
      // whole rule does (`upper(notes)` is scanned as `notes` is).
      const scanning = this.scanRules(v.sources);
      return scanning.length > 0 ? { kind: 'scan', rules: scanning, row: v.row === true } : CLEAR;
    }
    // A transformed value cannot be shown in part safely (the last four of a slice are other digits),
    // nor hashed: the hash of a value the client shapes at will is a dictionary (`substr(email, 1, 1)`
    // hashes as `left(email, 0) || 'a'` does, so each character is found by comparing). Only the
    // column unchanged keeps `hash` (equal values still join and group); derived values are redacted.
    // (A whole row as is is masked field by field, each field by its own rule; `style` is for the rest.)
    const style: MaskStyle = best.style === 'partial' || best.style === 'hash' ? 'redact' : best.style;
    return v.row ? { kind: 'row', style, tag: best.tag } : { kind: 'whole', style, tag: best.tag };
  }

  plan(l: StatementLineage): LineagePlan {
    const outputs = l.outputs?.map((o) => this.action(o));
    const combined = this.action(l.combined);
    const masked = this.firstMasked(l.reads);
    const withhold = masked
      ? `the statement reads masked column ${name(masked.source)} (rule ${masked.rule.tag ?? 'column'}), and the text could quote its value`
      : l.unprovenReads !== undefined
        ? `${l.unprovenReads}, so the text could quote a masked value`
        : undefined;
    const tainted = (outputs ?? [combined]).some((a) => a.kind !== 'clear') || combined.kind !== 'clear';
    return { outputs, combined, ...(withhold !== undefined ? { withhold } : {}), tainted };
  }

  /** What a masked principal may not do with this statement (empty when nothing). */
  findings(l: StatementLineage): LineageFinding[] {
    const out: LineageFinding[] = [];
    if (l.statistics.length > 0) out.push(statisticsFinding(l.statistics));
    const unproven = [...(l.outputs ?? []), l.combined].find((o) => o.unproven !== undefined);
    if (unproven) {
      out.push({
        kind: 'unproven',
        ruleId: 'masking-lineage-unproven',
        message:
          `Gatehouse cannot tell which columns this statement's results come from: ${unproven.unproven}. ` +
          'Column masking rules apply on this connection, so results it cannot trace are not returned. ' +
          'Leave that part out of the query (select the columns you need directly), or ask a person to run it.',
      });
    }
    const predicate = this.firstMasked(l.predicates);
    if (predicate) {
      out.push({
        kind: 'predicate',
        ruleId: 'masking-predicate',
        message:
          `the statement filters, joins, groups or sorts on masked column ${name(predicate.source)} ` +
          `(rule ${predicate.rule.tag ?? 'column'}): which rows come back, and in what order, would reveal facts ` +
          `about its values even though the values are masked. Filter on another column (an id), or ask for approval.`,
      });
    }
    if (!predicate && l.unprovenPredicate !== undefined) {
      out.push({
        kind: 'predicate',
        ruleId: 'masking-predicate',
        message:
          `the statement filters, limits or counts rows by a value Gatehouse cannot trace (${l.unprovenPredicate}): ` +
          'which rows come back, and how many, would reveal facts about that value, which may be a masked one. ' +
          'Filter on columns directly, or ask for approval.',
      });
    }
    if (!out.some((f) => f.kind === 'predicate')) {
      for (const use of l.failures ?? []) {
        const m = this.firstMasked(use.columns);
        if (!m) continue;
        out.push({
          kind: 'predicate',
          ruleId: 'masking-predicate',
          message:
            `the statement hands masked column ${name(m.source)} (rule ${m.rule.tag ?? 'column'}) to ${use.what}, ` +
            `which can fail depending on the value: whether the statement fails (and its SQLSTATE) would reveal a ` +
            `fact about the value even though it is masked. Leave that expression out (select the column itself, ` +
            `or apply functions that cannot fail), or ask for approval.`,
        });
        break;
      }
    }
    for (const w of l.writes) {
      const problem = this.writeProblem(w.targets, w.lineage);
      if (problem !== undefined) {
        out.push({
          kind: 'write',
          ruleId: 'masking-write',
          message: `the statement writes ${problem} into ${w.label}, where a later read would show it. Write values that do not come from masked columns.`,
        });
        break;
      }
    }
    for (const s of l.sinks) {
      const m = this.firstMasked(s.lineage.sources);
      if (!m && s.lineage.unproven === undefined) continue;
      const what = m
        ? `a value derived from masked column ${name(m.source)} (rule ${m.rule.tag ?? 'column'})`
        : `a value Gatehouse cannot trace (${s.lineage.unproven})`;
      out.push({
        kind: 'sink',
        ruleId: 'masking-sink',
        message: `the statement passes ${what} to ${s.what}, whose effect outlives the statement (a setting, a lock, a sequence, a file, a delay, a row stored by code Gatehouse cannot see), where it could be read back unmasked.`,
      });
      break;
    }
    return out;
  }

  /** Why writing `v` into `targets` would unmask it, or undefined when the target is masked as strongly. */
  private writeProblem(targets: readonly SourceColumn[], v: ValueLineage): string | undefined {
    if (v.unproven !== undefined) return `a value Gatehouse cannot trace (${v.unproven})`;
    const best = this.strongest(v.sources);
    if (!best) return this.scanWriteProblem(targets, v);
    const m = this.firstMasked(v.sources)!;
    const what = `a value derived from masked column ${name(m.source)} (rule ${m.rule.tag ?? 'column'})`;
    const targetRules = targets.map((t) => this.wholeRule(t));
    if (targets.length === 0 || targetRules.some((r) => r === undefined)) return what;
    for (const r of targetRules as ColumnRule[]) {
      const style = this.styleOf(r);
      // `partial` shows part of what is stored: only the same column, unchanged, may go back in.
      if (style === 'partial') {
        const same = v.direct && targets.some((t) => v.sources.some((s) => name(s) === name(t)));
        if (!same) return what;
      } else if (style === 'hash' && !v.direct) {
        // `hash` shows the hash of what is stored: a value the client shaped from a masked one
        // (`substr(email, 1, 1)`) would read back as the hash of its piece, a dictionary of
        // characters, as a derived result column would be (it is redacted, never hashed, for that
        // reason). Only a masked column's value unchanged may go in.
        return what;
      } else if (strength(style) < strength(best.style)) return what;
    }
    return undefined;
  }

  /**
   * Writing a value derived from columns whose rules only scan: the target must be scanned with at
   * least their detectors (or masked whole), or a later read of it would scan with fewer (a bare SSN
   * that only the rule's `ssn` recognises would come back in clear).
   */
  private scanWriteProblem(targets: readonly SourceColumn[], v: ValueLineage): string | undefined {
    const scanning = this.scanRules(v.sources);
    if (scanning.length === 0) return undefined;
    const needed = new Set(scanning.flatMap((r) => r.detectors ?? []));
    const source = v.sources.find((s) => this.match(s.schema, s.table, s.column) === scanning[0])!;
    const what = `a value derived from column ${name(source)} (rule ${scanning[0]!.tag ?? 'column'}, scanned with ${[...needed].join(', ')})`;
    if (targets.length === 0) return what;
    for (const t of targets) {
      const r = this.match(t.schema, t.table, t.column);
      if (r === undefined) return what;
      const d = r.detectors;
      if (d !== undefined && [...needed].some((n) => !d.includes(n))) return what;
    }
    return undefined;
  }
}

/** Statistics catalogs hold samples of column values (most common values, histogram bounds). */
export function statisticsFinding(names: readonly string[]): LineageFinding {
  return {
    kind: 'statistics',
    ruleId: 'masking-statistics',
    message: `${names.join(', ')} holds samples of column values (most common values, histogram bounds), so it is not available when results are masked. Query the tables themselves.`,
  };
}

/** The statistics catalogs a statement names (from its classification, without the catalog). */
export function statisticsRelations(
  tables: readonly { readonly schema?: string; readonly name: string }[],
  functions: readonly string[],
): string[] {
  const out: string[] = [];
  for (const t of tables) {
    if ((t.schema === undefined || t.schema === 'pg_catalog') && STATISTICS.has(t.name)) out.push(t.name);
  }
  for (const f of functions)
    if (f === 'pg_mcv_list_items' || f === 'pg_catalog.pg_mcv_list_items') out.push(`${f}()`);
  return out;
}

const STATISTICS: ReadonlySet<string> = new Set([
  'pg_stats',
  'pg_stats_ext',
  'pg_stats_ext_exprs',
  'pg_statistic',
  'pg_statistic_ext_data',
]);
