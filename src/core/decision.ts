// Decisions are data: allow (with obligations), deny (rule + message for the client), review.
// Deny wins; what no rule allows is denied; what cannot be parsed is denied.

export interface Obligations {
  /** Masking applies to results (the masking step decides what and how). */
  readonly mask?: boolean | { readonly profile: string };
  /** Maximum number of rows the client may receive for this action. */
  readonly rowCap?: number;
}

export interface AllowDecision {
  readonly effect: 'allow';
  readonly ruleId: string;
  readonly obligations: Obligations;
}

export interface DenyDecision {
  readonly effect: 'deny';
  readonly ruleId: string;
  /** Written for the client (a person or a model): what was refused, why, and what to do instead. */
  readonly message: string;
}

export type ReviewMode = 'hold' | 'defer';

export interface ReviewDecision {
  readonly effect: 'review';
  readonly ruleId: string;
  readonly message: string;
  readonly mode: ReviewMode;
  /** Name of the approval rule in the config that governs who may approve. */
  readonly approvalRule?: string;
  readonly obligations: Obligations;
}

export type Decision = AllowDecision | DenyDecision | ReviewDecision;

export function deny(ruleId: string, message: string): DenyDecision {
  return { effect: 'deny', ruleId, message };
}
