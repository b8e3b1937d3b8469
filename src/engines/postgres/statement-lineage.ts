// Column lineage for the PostgreSQL engine: computes a statement's lineage against the upstream
// catalog (cached per connection target and statement text, so a repeated statement costs one map
// lookup), and turns what the masking profile finds in it into a decision for this principal:
// refuse, hold for review, or let the masker mask the result columns fed by masked columns.

import {
  NO_LINEAGE,
  type SourceColumn,
  type StatementLineage,
  type ValueLineage,
} from '../../core/column-lineage.js';
import type { Decision, Obligations } from '../../core/decision.js';
import type { NamedSources } from '../../masking/builtin-rules.js';
import type { ResourceFailureBudget } from '../../masking/failure-budget.js';
import type { LineageFinding, LineageRules } from '../../masking/lineage-plan.js';
import type { LineageAnalyzer } from '../../sql/postgres/column-lineage.js';
import { DEFAULT_INLINE_CHARS } from '../../sql/postgres/off-thread-classifier.js';
import type { CatalogResolver } from './catalog-resolver.js';
import type { LineageSettings } from './upstream-connection.js';

/** What the engine needs for lineage: the analyzer and the column rules a mask obligation brings. */
export interface LineageDeps {
  readonly analyzer: LineageAnalyzer;
  /**
   * Undefined when the obligation masks nothing by column (no lineage needed). A profile without
   * column rules of its own still has the built-in ones, which apply when one of `statements` (the
   * statement, and the prepared statements or cursors it runs) names what they cover.
   */
  readonly rules: (obligations: Obligations, statements: readonly NamedSources[]) => LineageRules | undefined;
  /**
   * The built-in rules of a masked profile without column rules of its own, for a statement
   * `rules` leaves out: its lineage is traced and kept only when they find something in it (it
   * reaches a column they cover through a view, or runs code Gatehouse cannot see).
   */
  readonly builtinRules?: (obligations: Obligations) => LineageRules | undefined;
  /**
   * Resource failures of statements that read masked values, per principal, shared by every session
   * (class 224): past its budget, a principal's statements reading masked values are held.
   */
  readonly failures?: ResourceFailureBudget;
}

export const DEFAULT_LINEAGE_SETTINGS: LineageSettings = {
  unprovenLineage: { agents: 'refuse', people: 'mask' },
  maskedPredicates: { agents: 'review', people: 'allow' },
};

/** Catalog round trips one analysis may take (views over views ask for more names each round). */
const MAX_ROUNDS = 8;

function unproven(reason: string): StatementLineage {
  const v = { sources: [], direct: false, unproven: reason };
  return {
    outputs: undefined,
    combined: v,
    reads: [],
    predicates: [],
    unprovenReads: reason,
    sinks: [],
    writes: [],
    statistics: [],
  };
}

/**
 * The lineage of `text`. `uses` gives the text behind EXECUTE's prepared statement or FETCH's cursor
 * (undefined when the session has none of that name: the server will refuse it anyway).
 */
export async function lineageOf(
  analyzer: LineageAnalyzer,
  catalog: CatalogResolver,
  text: string,
  uses: (object: 'prepared' | 'cursor', name: string) => string | undefined,
): Promise<StatementLineage> {
  let current = text;
  // What the first statement keeps of the prepared statement's rows (CREATE TABLE AS EXECUTE).
  let stores: string | undefined;
  const kept = (l: StatementLineage): StatementLineage => (stores === undefined ? l : storedRows(l, stores));
  for (let hop = 0; hop < 3; hop++) {
    // Parsing for lineage happens on the event loop: a text longer than the classifier parses there
    // is not traced (its columns are untraceable: refused or masked whole, `masking.unprovenLineage`).
    if (current.length > DEFAULT_INLINE_CHARS)
      return unproven(
        `the statement is longer than ${DEFAULT_INLINE_CHARS} characters, more than Gatehouse traces columns in`,
      );
    const cached = catalog.lineageOf(current);
    if (cached) return kept(cached);
    let next: string | undefined;
    for (let round = 0; round < MAX_ROUNDS && next === undefined; round++) {
      const o = analyzer.analyze(current, catalog);
      if (o.kind === 'done') {
        // An untraceable lineage may come from a name not found yet: it is worked out again next time.
        if (o.lineage.unprovenReads === undefined) catalog.rememberLineage(current, o.lineage);
        return kept(o.lineage);
      }
      if (o.kind === 'uses') {
        stores ??= o.stores;
        next = uses(o.object, o.name);
        if (next === undefined)
          return unproven(
            `${o.object === 'cursor' ? 'cursor' : 'prepared statement'} ${o.name} is not known to Gatehouse`,
          );
        break;
      }
      await catalog.loadNames(o.needs);
    }
    if (next === undefined) return unproven('the upstream catalog did not answer in time');
    current = next;
  }
  return unproven('a prepared statement or cursor refers to another one');
}

/**
 * The lineage of a statement that stores what a prepared statement returns (CREATE TABLE AS EXECUTE):
 * the prepared statement's reads, predicates, sinks and writes, and its results written into `into`
 * (class 348); it returns no rows of them, and its errors may quote them.
 */
function storedRows(l: StatementLineage, into: string): StatementLineage {
  const rows = l.outputs ?? [l.combined];
  return {
    ...l,
    outputs: undefined,
    writes: [
      ...l.writes,
      ...rows
        .filter((v) => v.sources.length > 0 || v.unproven !== undefined)
        .map((lineage) => ({ targets: [], label: into, lineage })),
    ],
    unprovenReads: l.unprovenReads ?? 'CREATE TABLE AS EXECUTE runs a prepared statement',
  };
}

/** The lineage with every value marked untraceable for `reason` (what it writes, hands on, returns). */
export function untraceable(l: StatementLineage, reason: string): StatementLineage {
  const mark = (v: ValueLineage): ValueLineage => (v.unproven === undefined ? { ...v, unproven: reason } : v);
  return {
    ...l,
    outputs: l.outputs?.map(mark),
    combined: mark(l.combined),
    writes: l.writes.map((w) => ({ ...w, lineage: mark(w.lineage) })),
    sinks: l.sinks.map((w) => ({ ...w, lineage: mark(w.lineage) })),
    unprovenReads: l.unprovenReads ?? reason,
  };
}

/**
 * Whether rules have anything to say about a lineage: a finding (a predicate, a sink, a write, an
 * untraceable value), a result column they mask, or error and notice texts they withhold. When not,
 * the lineage changes nothing and a profile without rules of its own may drop it.
 */
export function lineageMatters(rules: LineageRules, l: StatementLineage): boolean {
  if (rules.findings(l).length > 0) return true;
  const plan = rules.plan(l);
  return plan.tainted || plan.withhold !== undefined;
}

/** The decision lineage findings add for this principal, or undefined when they add none. */
export function lineageDecision(
  findings: readonly LineageFinding[],
  settings: LineageSettings,
  agent: boolean,
  base: Decision,
): Decision | undefined {
  const who = agent ? 'agents' : 'people';
  let review: LineageFinding | undefined;
  for (const f of findings) {
    const deny = (): Decision => ({ effect: 'deny', ruleId: f.ruleId, message: `Gatehouse: ${f.message}` });
    switch (f.kind) {
      case 'statistics':
      case 'write':
      case 'sink':
        return deny();
      case 'unproven':
        if (settings.unprovenLineage[who] === 'refuse') return deny();
        break;
      case 'predicate': {
        const mode = settings.maskedPredicates[who];
        if (mode === 'deny') return deny();
        if (mode === 'review') review ??= f;
        break;
      }
    }
  }
  if (!review) return undefined;
  return {
    effect: 'review',
    ruleId: review.ruleId,
    message: `Gatehouse: ${review.message}`,
    mode: 'hold',
    obligations: base.effect === 'deny' ? {} : base.obligations,
  };
}

/** Distinct columns remembered per transaction (enough for the withholding message). */
const MAX_TRANSACTION_READS = 256;
const TRANSACTION_READS_OVERFLOW = `the open transaction read more than ${MAX_TRANSACTION_READS} columns, more than Gatehouse remembers`;

/**
 * The columns statements of the open transaction read or wrote. Deferred constraint checks run at
 * COMMIT, at SET CONSTRAINTS … IMMEDIATE, and at the implicit commit after the last statement of a
 * query string or a protocol batch, and their errors quote the rows they check (`Key (substr(secret,
 * 2, 20))=(…) conflicts…`) whichever statement they are reported after: once a transaction has
 * read a masked column, the error and notice texts of every later statement in it are withheld.
 */
export class TransactionReads {
  private readonly reads = new Map<string, SourceColumn>();
  /** More columns were read than are remembered: every later text is withheld (fail closed). */
  private overflowed = false;

  note(l: StatementLineage): void {
    for (const s of l.reads) {
      const key = `${s.schema}\u0000${s.table}\u0000${s.column}`;
      if (this.reads.size >= MAX_TRANSACTION_READS && !this.reads.has(key)) {
        this.overflowed = true;
        return;
      }
      this.reads.set(key, s);
    }
  }

  /** The transaction ended (the session is idle): nothing is pending. */
  clear(): void {
    // Map.clear allocates a new table even for an empty map; this runs after every statement.
    if (this.reads.size > 0) this.reads.clear();
    this.overflowed = false;
  }

  /** `l` with the transaction's reads added (its texts are withheld when one is masked). */
  extend(l: StatementLineage): StatementLineage {
    if (this.reads.size === 0) return l;
    const reads = new Map(this.reads);
    for (const s of l.reads) reads.set(`${s.schema}\u0000${s.table}\u0000${s.column}`, s);
    return { ...l, reads: [...reads.values()], ...this.overflow(l) };
  }

  /** Past the cap, which columns the transaction read is not known: its texts are withheld. */
  private overflow(l: StatementLineage): Pick<StatementLineage, 'unprovenReads'> {
    if (!this.overflowed) return {};
    return { unprovenReads: l.unprovenReads ?? TRANSACTION_READS_OVERFLOW };
  }

  /** For a statement that reads nothing (BEGIN, COMMIT, SET…), the lineage that withholds its texts. */
  lineage(): StatementLineage | undefined {
    if (this.reads.size === 0) return undefined;
    return {
      outputs: undefined,
      combined: NO_LINEAGE,
      reads: [...this.reads.values()],
      predicates: [],
      sinks: [],
      writes: [],
      statistics: [],
      ...(this.overflowed ? { unprovenReads: TRANSACTION_READS_OVERFLOW } : {}),
    };
  }
}
