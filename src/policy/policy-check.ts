// Decides a batch of SQL against a policy and compares the results with expectations: the logic
// behind `gatehouse policy test`. Pure: no files, no streams, no process exit codes.

import { sqlAction as buildSqlAction, type SqlAction } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import type { Identity } from '../core/identity.js';
import type { PolicyDecider } from '../core/ports.js';
import type { SqlClassifier, SqlStatement } from '../core/sql-statement.js';

export type Effect = Decision['effect'];

export interface PolicyExpectation {
  readonly sql: string;
  readonly decision: Effect;
  /** When given, the decision's rule id must equal it too. */
  readonly rule?: string;
  /** Principal overrides for this entry (only where statements come from the expectation file). */
  readonly as?: {
    readonly subject?: string;
    readonly groups?: readonly string[];
    readonly agent?: boolean;
    readonly tokenKind?: Identity['tokenKind'];
  };
  readonly connection?: string;
}

export interface CheckedStatement {
  readonly sql: string;
  readonly kind: string;
  readonly categories: readonly string[];
  readonly decision: Decision;
  readonly subject: string;
  readonly connection: string;
  readonly expected?: { readonly decision: Effect; readonly rule?: string };
  /** Set when there was an expectation: whether the decision met it. */
  readonly ok?: boolean;
}

export interface CheckReport {
  readonly results: readonly CheckedStatement[];
  /** Expectations no input statement matched (file mode). */
  readonly unmatched: readonly PolicyExpectation[];
  readonly failed: number;
}

/**
 * Splits submitted text into statements the way the gateway sees it. A whole-text parse failure, or
 * nothing parsed from text that is not blank, becomes one unparsed statement, which policy denies.
 */
export function statementsOf(classifier: SqlClassifier, text: string): SqlStatement[] {
  let classified;
  try {
    classified = classifier.classify(text);
  } catch (e) {
    return [unparsed(text, e instanceof Error ? e.message : String(e))];
  }
  if (classified.parseError !== undefined) return [unparsed(text, classified.parseError)];
  if (classified.statements.length === 0 && !isBlankSql(text))
    return [unparsed(text, 'no statement found in non-empty input')];
  return [...classified.statements];
}

function unparsed(text: string, parseError: string): SqlStatement {
  return {
    text: text.trim(),
    kind: 'unparsed',
    categories: ['unknown'],
    tables: [],
    functions: [],
    parseError,
  };
}

/** Only whitespace, semicolons and comments: no statement intended. */
function isBlankSql(text: string): boolean {
  return text.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').replace(/[\s;]+/g, '') === '';
}

/** Text used to pair a statement with an expectation: trimmed, no trailing `;`, whitespace collapsed. */
export function normalizeSql(text: string): string {
  return text
    .trim()
    .replace(/;+\s*$/, '')
    .trim()
    .replace(/\s+/g, ' ');
}

function sqlAction(statement: SqlStatement, connection: string): SqlAction {
  return buildSqlAction({ connection, via: 'simple-query', statement });
}

const SEVERITY: Readonly<Record<Effect, number>> = { allow: 0, review: 1, deny: 2 };

function meets(decision: Decision, e: { readonly decision: Effect; readonly rule?: string }): boolean {
  return decision.effect === e.decision && (e.rule === undefined || e.rule === decision.ruleId);
}

function checked(
  st: SqlStatement,
  decision: Decision,
  identity: Identity,
  connection: string,
  expectation: PolicyExpectation | undefined,
): CheckedStatement {
  return {
    sql: st.text,
    kind: st.kind,
    categories: [...st.categories],
    decision,
    subject: identity.subject,
    connection,
    ...(expectation === undefined
      ? {}
      : {
          expected: {
            decision: expectation.decision,
            ...(expectation.rule === undefined ? {} : { rule: expectation.rule }),
          },
          ok: meets(decision, expectation),
        }),
  };
}

/**
 * File mode: every statement of `text` is decided; an expectation applies to the statement whose
 * normalized text equals its `sql`. Expectations that match no statement count as failures.
 */
export function checkText(
  decider: PolicyDecider,
  classifier: SqlClassifier,
  text: string,
  identity: Identity,
  connection: string,
  expectations: readonly PolicyExpectation[] = [],
): CheckReport {
  const byText = new Map<string, PolicyExpectation>();
  for (const e of expectations) byText.set(normalizeSql(e.sql), e);
  const used = new Set<PolicyExpectation>();
  const results = statementsOf(classifier, text).map((st) => {
    const e = byText.get(normalizeSql(st.text));
    if (e !== undefined) used.add(e);
    return checked(st, decider.decide(identity, sqlAction(st, connection)), identity, connection, e);
  });
  const unmatched = expectations.filter((e) => !used.has(e));
  return { results, unmatched, failed: results.filter((r) => r.ok === false).length + unmatched.length };
}

/**
 * Expectation mode: each entry's `sql` is classified on its own (with its own principal and
 * connection overrides). An entry of several statements is judged by its most restrictive decision
 * (deny over review over allow, the first in order on ties), as the gateway refuses the whole
 * submission when one statement is refused.
 */
export function checkExpectations(
  decider: PolicyDecider,
  classifier: SqlClassifier,
  expectations: readonly PolicyExpectation[],
  identity: Identity,
  connection: string,
): CheckReport {
  const results: CheckedStatement[] = [];
  for (const e of expectations) {
    const who: Identity = {
      ...identity,
      ...(e.as?.subject === undefined ? {} : { subject: e.as.subject }),
      ...(e.as?.groups === undefined ? {} : { groups: [...e.as.groups] }),
      ...(e.as?.agent === undefined ? {} : { agent: e.as.agent }),
      ...(e.as?.tokenKind === undefined ? {} : { tokenKind: e.as.tokenKind }),
    };
    const conn = e.connection ?? connection;
    const statements = statementsOf(classifier, e.sql);
    if (statements.length === 0) {
      results.push({
        sql: e.sql,
        kind: '(none)',
        categories: [],
        decision: {
          effect: 'deny',
          ruleId: '(no statement)',
          message: 'The expectation holds no SQL statement.',
        },
        subject: who.subject,
        connection: conn,
        expected: { decision: e.decision, ...(e.rule === undefined ? {} : { rule: e.rule }) },
        ok: false,
      });
      continue;
    }
    let worst: { st: SqlStatement; d: Decision } | undefined;
    for (const st of statements) {
      const d = decider.decide(who, sqlAction(st, conn));
      if (worst === undefined || SEVERITY[d.effect] > SEVERITY[worst.d.effect]) worst = { st, d };
    }
    const statement = statements.length === 1 ? worst!.st : { ...worst!.st, text: e.sql.trim() };
    results.push(checked(statement, worst!.d, who, conn, e));
  }
  return { results, unmatched: [], failed: results.filter((r) => r.ok === false).length };
}
