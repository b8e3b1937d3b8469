// The mask step's port. Engines ask for a masker per action (from the decision's obligations) and
// run every value the client will see through it. The pass-through masker is the do-nothing default.

import type { Action } from './action.js';
import type { Obligations } from './decision.js';
import type { Identity } from './identity.js';

export interface ColumnRef {
  readonly name: string;
  /** PostgreSQL: the table OID and attribute number from RowDescription (0 when not a column). */
  readonly tableOid: number;
  readonly columnNumber: number;
  readonly typeOid: number;
  /** 0 text, 1 binary. */
  readonly format: number;
}

export interface MaskCounts {
  [detectorOrRule: string]: number;
}

/** Masks the cells of one result set (one RowDescription). */
export interface RowMasker {
  /**
   * Returns the cell to send instead of `value`, `null` for SQL NULL, or `undefined` when the cell
   * is unchanged (the common case: no allocation).
   */
  maskCell(index: number, value: Buffer): Buffer | null | undefined;
}

export interface ResultMasker {
  /** False when nothing can be masked: engines then relay results byte for byte. */
  readonly active: boolean;
  /** A row masker for these columns, or undefined when no column or detector can apply. */
  forColumns(columns: readonly ColumnRef[]): RowMasker | undefined;
  /** Masks free text the client sees (error and notice fields, notification payloads, COPY data). */
  maskText(text: string): string | undefined;
  /** Counts of masked values so far, per detector or rule, for the record. */
  counts(): MaskCounts;
  /** The statement reads a value masked (or one that cannot be traced): whether it fails says something. */
  readsMasked?(): boolean;
}

export const passThroughMasker: ResultMasker = {
  active: false,
  forColumns: () => undefined,
  maskText: () => undefined,
  counts: () => ({}),
};

/** Builds the masker for one action from the decision's mask obligation. */
export interface MaskerFactory {
  forAction(identity: Identity, action: Action, obligations: Obligations): ResultMasker;
}

export const passThroughMaskerFactory: MaskerFactory = { forAction: () => passThroughMasker };
