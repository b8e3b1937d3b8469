// The statement and result events' data text is written directly on the hot path; it must be
// byte-for-byte the canonical JSON of the data object the record format defines, or the hash chain
// would cover something other than what verification recomputes.

import { describe, expect, test } from 'vitest';
import type { StatementRecord, StatementResult } from '../core/records.js';
import { canonicalJson } from './canonical-json.js';
import { resultData, resultDataText, statementData, statementDataText } from './event-data.js';

/** A small deterministic generator (no flaky seeds). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const STRINGS = [
  '',
  'select 1',
  'ünïcödé ✓',
  'quote " and \\ backslash',
  'line\nbreak\t',
  '\u2028\u2029',
  '\ud800 lone',
  '😀',
];
const NUMBERS = [0, -0, 1, 42, 1.5, -3, 1e21, 1e-7, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

function maybe<T>(r: () => number, v: () => T): T | undefined {
  return r() < 0.5 ? v() : undefined;
}

function statement(r: () => number, i: number): StatementRecord {
  const lineage = maybe(r, () => ({
    source: pick(r, ['comment', 'application-name', 'context-api'] as const),
    ...(r() < 0.5 ? { promptId: pick(r, STRINGS) } : {}),
    ...(r() < 0.5 ? { toolUseId: pick(r, STRINGS) } : {}),
    ...(r() < 0.5 ? { traceparent: pick(r, STRINGS) } : {}),
    ...(r() < 0.5 ? { agentSessionId: pick(r, STRINGS) } : {}),
    ...(r() < 0.3 ? { prompt: pick(r, STRINGS) } : {}),
  }));
  const message = maybe(r, () => pick(r, STRINGS));
  const params = maybe(r, () =>
    Array.from({ length: Math.floor(r() * 4) }, () => (r() < 0.3 ? null : pick(r, STRINGS))),
  );
  const body = maybe(r, () => ({ sha256: pick(r, ['ab', 'e3b0c442', '']), bytes: pick(r, NUMBERS) }));
  return {
    id: `s:${i}`,
    sessionId: 's',
    seq: pick(r, NUMBERS),
    at: new Date(1_700_000_000_000 + i),
    via: pick(r, ['simple', 'extended', 'http', '']),
    text: pick(r, STRINGS),
    kind: pick(r, ['select', 'insert', 'SET', '']),
    categories: Array.from({ length: Math.floor(r() * 3) }, () => pick(r, ['read', 'write', 'ddl', 'é'])),
    effect: pick(r, ['allow', 'deny', 'hold'] as const),
    ruleId: pick(r, STRINGS),
    ...(message !== undefined ? { message } : {}),
    ...(params !== undefined ? { params } : {}),
    ...(lineage !== undefined ? { lineage } : {}),
    ...(body !== undefined ? { body } : {}),
  } as StatementRecord;
}

function result(r: () => number): StatementResult {
  const out: Record<string, unknown> = { durationMs: pick(r, NUMBERS) };
  if (r() < 0.5) out['rows'] = pick(r, NUMBERS);
  if (r() < 0.3) out['error'] = { code: pick(r, STRINGS), message: pick(r, STRINGS) };
  if (r() < 0.4) out['masked'] = r() < 0.3 ? {} : { email: 2, 'credit card': 1, ü: 3 };
  if (r() < 0.3)
    out['sample'] = {
      columns: ['a', 'b'],
      rows: [[pick(r, STRINGS), null]],
      truncated: r() < 0.5,
    };
  if (r() < 0.2) out['sampleRef'] = { sha256: 'ab', bytes: 3, key: pick(r, STRINGS) };
  if (r() < 0.2) out['terminalRef'] = { sha256: 'cd', bytes: 9 };
  return out as unknown as StatementResult;
}

describe('event data written directly', () => {
  test("a statement event's text is canonicalJson(statementData(r)), over 2,000 varied records", () => {
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const s = statement(r, i);
      expect(statementDataText(s)).toBe(canonicalJson(statementData(s)));
    }
  });

  test("a result event's text is canonicalJson(resultData(r)), over 2,000 varied results", () => {
    const r = rng(11);
    for (let i = 0; i < 2000; i++) {
      const x = result(r);
      expect(resultDataText(x)).toBe(canonicalJson(resultData(x)));
    }
  });

  test('a member with no JSON form is left out, as canonicalJson leaves it out', () => {
    const s = { ...statement(rng(1), 1), params: undefined, message: undefined, lineage: undefined };
    expect(statementDataText(s)).toBe(canonicalJson(statementData(s)));
    expect(statementDataText(s)).not.toContain('params');
  });

  test('a value canonical JSON refuses is refused here too', () => {
    const s = { ...statement(rng(2), 2), params: [10n] } as unknown as StatementRecord;
    expect(() => canonicalJson(statementData(s))).toThrow();
    expect(() => statementDataText(s)).toThrow();
  });
});
