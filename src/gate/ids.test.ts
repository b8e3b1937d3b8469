import { describe, expect, test } from 'vitest';
import { isStatementId, parseStatementId, statementId } from './ids.js';

describe('isStatementId', () => {
  const session = '01a243ab-65e8-7777-aaff-22536b983526';

  test('is id === statementId(session, seq) for a safe non-negative integer seq, and false for any other seq', () => {
    const seqs = [0, 1, 7, 12_345_678, 99_999_999, 100_000_000, 123_456_789_012, Number.MAX_SAFE_INTEGER];
    const odd = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 1e21];
    const ids = (seq: number) => [
      statementId(session, seq),
      `${session}:${seq}`,
      `${session}:0${String(seq).padStart(8, '0')}`,
      `${session}:${String(seq + 1).padStart(8, '0')}`,
      `${session}x${String(seq).padStart(8, '0')}`,
      `${session.slice(1)}:${String(seq).padStart(8, '0')}`,
      `other:${String(seq).padStart(8, '0')}`,
      `${session}:+${String(seq).padStart(7, '0')}`,
      `${session}:${String(seq).padStart(8, '0')} `,
      `${session}:${String(-seq).padStart(8, '0')}`,
      `${session}:0000001.5`,
      `${session}:00000001e21`,
      `${session}:1e+21`,
    ];
    let checked = 0;
    for (const seq of [...seqs, ...odd])
      for (const s of [...seqs, ...odd])
        for (const id of ids(s)) {
          expect(isStatementId(id, session, seq), `${id} / ${seq}`).toBe(
            id === statementId(session, seq) && Number.isSafeInteger(seq) && seq >= 0,
          );
          checked++;
        }
    expect(checked).toBe(14 * 14 * 13);
    expect(isStatementId(statementId(session, 42), session, 42)).toBe(true);
  });

  test('parseStatementId reads back the ids statementId gives with eight digits, and nothing else', () => {
    for (const seq of [0, 1, 42, 99_999_999])
      expect(parseStatementId(statementId(session, seq))).toEqual({ session, seq });
    expect(parseStatementId(statementId(session, 100_000_000))).toBeUndefined();
    expect(parseStatementId(`${session}:0000004x`)).toBeUndefined();
    expect(parseStatementId(`${session}-00000042`)).toBeUndefined();
    expect(parseStatementId(':00000042')).toBeUndefined();
  });
});
