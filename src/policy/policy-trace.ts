// The rule trace `explain` returns: every policy considered, every rule, and why each matched or not.
// Plain data for `gatehouse policy explain` and the admin API; building it never changes a decision.

import type { Decision } from '../core/decision.js';
import type { TokenKind } from '../core/identity.js';
import type { SqlCategory } from '../core/sql-statement.js';

export interface RuleTrace {
  readonly policy: string;
  readonly rule: string;
  readonly effect: 'allow' | 'deny' | 'review';
  /** The rule's conditions hold for some part of the action (any category, any table…). */
  readonly touches: boolean;
  /** SQL: the statement's categories this allow/review rule covers (its conditions hold for the whole statement). */
  readonly covers: readonly SqlCategory[];
  /** The rule took part in the decision: a deny or review that fired, or an allow that covered or matched. */
  readonly matched: boolean;
  readonly reason: string;
}

export interface PolicyTraceEntry {
  readonly policy: string;
  readonly applies: boolean;
  /** Why the policy applies or not (connection, then subjects). */
  readonly reason: string;
  /** Empty when the policy does not apply. */
  readonly rules: readonly RuleTrace[];
}

export interface CategoryCoverage {
  readonly category: SqlCategory;
  /** Ids of allow rules that cover this category. */
  readonly allow: readonly string[];
  /** Ids of review rules that cover this category. */
  readonly review: readonly string[];
}

export type TracedAction =
  | {
      readonly kind: 'sql';
      readonly statementKind: string;
      readonly text: string;
      readonly categories: readonly SqlCategory[];
      readonly tables: readonly string[];
      readonly functions: readonly string[];
      readonly parseError?: string;
    }
  | {
      readonly kind: 'http';
      readonly method: string;
      readonly path: string;
      readonly operation?: string;
      /** What the request implies (HttpAction.implied), decided with it. */
      readonly implied?: readonly {
        readonly method: string;
        readonly path: string;
        readonly operation?: string;
      }[];
    }
  | {
      readonly kind: 'kubernetes';
      readonly verb: string;
      /** `pods/exec`, `deployments.apps`; '' for non-resource URLs. */
      readonly resource: string;
      readonly namespace: string;
      readonly name: string;
      readonly path: string;
      readonly command?: readonly string[];
      readonly commandCategories?: readonly string[];
    }
  | {
      readonly kind: 'ssh';
      readonly request: string;
      readonly command?: string;
      readonly commandCategories?: readonly string[];
      readonly commandKind?: string;
      readonly subsystem?: string;
      /** port-forward: host:port. */
      readonly destination?: string;
    };

export interface PolicyTrace {
  readonly version: string;
  readonly connection: string;
  readonly principal: {
    readonly subject: string;
    readonly groups: readonly string[];
    readonly tokenKind: TokenKind;
    readonly agent: boolean;
  };
  readonly action: TracedAction;
  readonly policies: readonly PolicyTraceEntry[];
  /** SQL only: for each of the statement's categories, the rules that cover it. */
  readonly coverage: readonly CategoryCoverage[];
  /** The effect for what no rule covers on this connection, and where it was configured. */
  readonly defaultEffect: { readonly effect: 'deny' | 'review'; readonly source: string };
  readonly decision: Decision;
}
