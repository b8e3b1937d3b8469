import { describe, expect, it } from 'vitest';
import { NO_LINEAGE, type SourceColumn, type StatementLineage } from '../../core/column-lineage.js';
import { TransactionReads } from './statement-lineage.js';

const reading = (...reads: SourceColumn[]): StatementLineage => ({
  outputs: undefined,
  combined: NO_LINEAGE,
  reads,
  predicates: [],
  sinks: [],
  writes: [],
  statistics: [],
});
const col = (i: number): SourceColumn => ({ schema: 'public', table: 't', column: `c${i}` });

describe('TransactionReads', () => {
  it("adds the transaction's earlier reads to a statement's, and forgets them when the transaction ends", () => {
    const tx = new TransactionReads();
    expect(tx.lineage()).toBeUndefined();
    tx.note(reading(col(1)));
    expect(tx.extend(reading(col(2))).reads).toEqual([col(1), col(2)]);
    expect(tx.lineage()?.reads).toEqual([col(1)]);
    expect(tx.lineage()?.unprovenReads).toBeUndefined();
    tx.clear();
    expect(tx.lineage()).toBeUndefined();
  });

  it('past what it remembers, it fails closed: later statements have their texts withheld', () => {
    const tx = new TransactionReads();
    tx.note(reading(...Array.from({ length: 300 }, (_, i) => col(i))));
    // The columns past the cap are not remembered, so their texts cannot be told apart: withheld.
    expect(tx.lineage()?.unprovenReads).toMatch(/more than 256 columns/);
    expect(tx.extend(reading(col(1))).unprovenReads).toMatch(/more than 256 columns/);
    tx.clear();
    tx.note(reading(col(1)));
    expect(tx.lineage()?.unprovenReads).toBeUndefined();
  });
});
