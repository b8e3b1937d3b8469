import { describe, expect, test } from 'vitest';
import type { SessionRecord, StatementRecord } from '../core/records.js';
import { isEmptyPlan, planBatch, planOutcomes, writeOpKeys, type WriteOp } from './batch-plan.js';

const session: SessionRecord = {
  id: 's1',
  startedAt: new Date(1_000),
  subject: 'alice',
  groups: ['g'],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'https://idp',
  clientAddress: '127.0.0.1:1',
  connection: 'prod',
  protocol: 'postgres',
};
const stmt = (id: string, seq: number): StatementRecord => ({
  id,
  sessionId: 's1',
  seq,
  at: new Date(2_000 + seq),
  via: 'simple',
  text: 'select 1',
  kind: 'select',
  categories: ['read'],
  effect: 'allow',
  ruleId: 'r',
});
const none = { sessions: new Set<string>(), statements: new Set<string>() };

describe('planBatch', () => {
  test('updates whose insert is in the same batch fold into the insert', () => {
    const ops: WriteOp[] = [
      { kind: 'start-session', record: session },
      { kind: 'record-statement', record: stmt('a', 1) },
      {
        kind: 'complete-statement',
        id: 'a',
        result: { durationMs: 3, rows: 7, error: { code: 'X', message: 'm' } },
      },
      { kind: 'end-session', id: 's1', endedAt: new Date(9_000), reason: 'bye' },
    ];
    const plan = planBatch(ops);
    expect(plan.sessionEnds).toEqual([]);
    expect(plan.statementCompletes).toEqual([]);
    expect(plan.sessionInserts[0]).toMatchObject({ id: 's1', ended_at: 9_000, end_reason: 'bye' });
    expect(plan.statementInserts[0]).toMatchObject({
      id: 'a',
      duration_ms: 3,
      row_count: 7,
      error_code: 'X',
      error_message: 'm',
    });
    expect(plan.mustFind).toEqual([undefined, undefined, undefined, undefined]);
    expect(planOutcomes(plan, none)).toEqual([undefined, undefined, undefined, undefined]);
  });

  test('updates for earlier batches must find their row; duplicates collapse to the last', () => {
    const plan = planBatch([
      { kind: 'complete-statement', id: 'old', result: { durationMs: 1 } },
      { kind: 'complete-statement', id: 'old', result: { durationMs: 2 } },
      { kind: 'end-session', id: 'gone', endedAt: new Date(5), reason: 'x' },
    ]);
    expect(plan.statementCompletes).toEqual([
      { id: 'old', duration_ms: 2, row_count: null, error_code: null, error_message: null, masked: null },
    ]);
    expect(plan.sessionEnds).toEqual([{ id: 'gone', ended_at: 5, end_reason: 'x' }]);
    const out = planOutcomes(plan, { sessions: new Set(), statements: new Set(['old']) });
    expect(out[0]).toBeUndefined();
    expect(out[1]).toBeUndefined();
    expect(out[2]).toMatchObject({ code: 'ERR_RECORD_FAILED', message: 'no recorded session with id gone' });
  });

  test('a completion before its insert in the queue is not folded (it must find an existing row)', () => {
    const plan = planBatch([
      { kind: 'complete-statement', id: 'a', result: { durationMs: 1 } },
      { kind: 'record-statement', record: stmt('a', 1) },
    ]);
    expect(plan.statementInserts[0]?.duration_ms).toBeNull();
    expect(plan.mustFind[0]).toEqual({ table: 'statements', id: 'a' });
  });

  test('an op with an invalid value is left out and rejected alone', () => {
    const plan = planBatch([
      { kind: 'record-statement', record: { ...stmt('bad', 1), at: new Date(Number.NaN) } },
      { kind: 'record-statement', record: stmt('good', 2) },
      { kind: 'complete-statement', id: 'good', result: { durationMs: Number.POSITIVE_INFINITY } },
    ]);
    expect(plan.statementInserts.map((r) => r.id)).toEqual(['good']);
    expect(plan.statementInserts[0]?.duration_ms).toBeNull();
    const out = planOutcomes(plan, none);
    expect(out[0]).toMatchObject({ code: 'ERR_RECORD_FAILED' });
    expect(out[1]).toBeUndefined();
    expect(out[2]).toMatchObject({ code: 'ERR_RECORD_FAILED' });
  });

  test('with statementRows false, a plan has the same keys, outcomes and refusals, and no rows', () => {
    const ops: WriteOp[] = [
      { kind: 'start-session', record: session },
      { kind: 'record-statement', record: { ...stmt('bad', 1), at: new Date(Number.NaN) } },
      { kind: 'record-statement', record: stmt('a', 2) },
      { kind: 'complete-statement', id: 'a', result: { durationMs: 3, rows: 7 } },
      { kind: 'complete-statement', id: 'old', result: { durationMs: 1 } },
      { kind: 'complete-statement', id: 'a', result: { durationMs: Number.NaN } },
    ];
    const full = planBatch(ops);
    const keys = planBatch(ops, { statementRows: false });
    expect(keys.statementInserts).toEqual([]);
    expect(keys.statementKeys).toEqual([{ id: 'a', session_id: 's1', seq: 2 }]);
    expect(full.statementKeys.map((k) => [k.id, k.session_id, k.seq])).toEqual([['a', 's1', 2]]);
    expect(keys.statementCompletes).toEqual(full.statementCompletes);
    expect(keys.mustFind).toEqual(full.mustFind);
    expect(keys.invalid.map((e) => e?.message)).toEqual(full.invalid.map((e) => e?.message));
    expect(keys.invalid[1]).toMatchObject({ code: 'ERR_RECORD_FAILED' });
    expect(keys.invalid[5]).toMatchObject({ code: 'ERR_RECORD_FAILED' });
    expect(planOutcomes(keys, none)).toEqual(planOutcomes(full, none));
    expect(
      isEmptyPlan(planBatch([{ kind: 'record-statement', record: stmt('b', 3) }], { statementRows: false })),
    ).toBe(false);
  });

  test('empty plans', () => {
    expect(isEmptyPlan(planBatch([]))).toBe(true);
    expect(isEmptyPlan(planBatch([{ kind: 'start-session', record: session }]))).toBe(false);
  });
});

describe('writeOpKeys', () => {
  test('every op of a session waits for whatever of that session is in flight (one hash chain)', () => {
    const chained = { provides: 'session:s1', dependsOn: 'session:s1' };
    expect(writeOpKeys({ kind: 'record-statement', record: stmt('a', 1) })).toEqual(chained);
    expect(
      writeOpKeys({ kind: 'complete-statement', id: 'a', sessionId: 's1', result: { durationMs: 1 } }),
    ).toEqual(chained);
    expect(writeOpKeys({ kind: 'start-session', record: session })).toEqual(chained);
    expect(writeOpKeys({ kind: 'end-session', id: 's1', endedAt: new Date(1), reason: 'x' })).toEqual(
      chained,
    );
    expect(
      writeOpKeys({ kind: 'append-event', sessionId: 's1', event: { type: 'x', at: new Date(1), data: {} } }),
    ).toEqual(chained);
  });

  test('a completion whose session is unknown depends on the op that created its row', () => {
    expect(writeOpKeys({ kind: 'complete-statement', id: 'a', result: { durationMs: 1 } })).toEqual({
      provides: 'statement:a',
      dependsOn: 'statement:a',
    });
  });
});
