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
import type { LineageFinding, LineageRules } from '../../masking/lineage-plan.js';
import type { LineageAnalyzer } from '../../sql/postgres/column-lineage.js';
import type { CatalogResolver } from './catalog-resolver.js';
import type { LineageSettings } from './upstream-connection.js';

/** What the engine needs for lineage: the analyzer and the column rules a mask obligation brings. */
export interface LineageDeps {
  readonly analyzer: LineageAnalyzer;
  /** Undefined when the obligation masks nothing by column (no lineage needed). */
  readonly rules: (obligations: Obligations) => LineageRules | undefined;
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
  for (let hop = 0; hop < 3; hop++) {
    const cached = catalog.lineageOf(current);
    if (cached) return cached;
    let next: string | undefined;
    for (let round = 0; round < MAX_ROUNDS && next === undefined; round++) {
      const o = analyzer.analyze(current, catalog);
      if (o.kind === 'done') {
        // An untraceable lineage may come from a name not found yet: it is worked out again next time.
        if (o.lineage.unprovenReads === undefined) catalog.rememberLineage(current, o.lineage);
        return o.lineage;
      }
      if (o.kind === 'uses') {
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

/** Statements that run deferred constraint checks, whose errors quote the rows they check. */
const RUNS_DEFERRED_CHECKS: ReadonlySet<string> = new Set([
  'commit',
  'set constraints',
  'prepare transaction',
]);
/** Distinct columns remembered per transaction (enough for the withholding message). */
const MAX_TRANSACTION_READS = 256;

/**
 * The columns statements of the open transaction read or wrote. A COMMIT, SET CONSTRAINTS …
 * IMMEDIATE or PREPARE TRANSACTION reads nothing itself, but runs the deferred checks of what the
 * transaction wrote (`Key (secret)=(…) already exists`, the key of an EXCLUDE constraint over
 * `substr(secret, 2, 20)`): its error and notice texts are withheld as the writes' would be.
 */
export class TransactionReads {
  private readonly reads = new Map<string, SourceColumn>();

  note(l: StatementLineage): void {
    for (const s of l.reads) {
      if (this.reads.size >= MAX_TRANSACTION_READS) return;
      this.reads.set(`${s.schema}\u0000${s.table}\u0000${s.column}`, s);
    }
  }

  /** The transaction ended (the session is idle): nothing is pending. */
  clear(): void {
    this.reads.clear();
  }

  /** For a statement of this kind, the lineage that withholds its error texts, if any. */
  lineageFor(kind: string): StatementLineage | undefined {
    if (this.reads.size === 0 || !RUNS_DEFERRED_CHECKS.has(kind)) return undefined;
    return {
      outputs: undefined,
      combined: NO_LINEAGE,
      reads: [...this.reads.values()],
      predicates: [],
      sinks: [],
      writes: [],
      statistics: [],
    };
  }
}
