// Masking a long body on the masking thread gives, byte for byte, what masking it on the event loop
// gives: JSON (valid and not), XML and text, with every setting that reaches the thread.
import { afterAll, describe, expect, it } from 'vitest';
import { createDetectorSet } from '../../masking/index.js';
import { INLINE_CHARS, maskBodyOffLoop, maskBodyText, thread, type MaskKind } from './body-masking.js';
import { fieldMatcher } from './field-names.js';

function settings(enabled: readonly string[] | 'all', fieldNames: string[], style: 'redact' | 'partial') {
  return {
    detectors: createDetectorSet({ enabled }),
    enabledDetectors: enabled,
    fieldNames,
    fields: fieldMatcher(fieldNames),
    style,
  };
}

/** A deterministic pseudo-random generator (a failing case reproduces). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const VALUES = [
  'alice@example.com',
  '4111 1111 1111 1111',
  'AKIAIOSFODNN7EXAMPLE',
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  '078-05-1120',
  '+1 415 555 0100',
  'plain words',
  'DE89370400440532013000',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  'QUtJQUlPU0ZPRE5ON0VYQU1QTEU=',
  '\\u0000 "quoted" \\n',
];

function body(kind: MaskKind, random: () => number, n: number): string {
  const pick = (): string => VALUES[Math.floor(random() * VALUES.length)]!;
  if (kind === 'json') {
    const items = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ id: i, note: pick(), password: pick(), nested: { token: pick(), list: [pick(), i] } }),
    );
    const text = `{"data":[${items.join(',')}]}`;
    // Sometimes not JSON at all (cut short): masked as keyed text.
    return random() < 0.3 ? text.slice(0, Math.floor(text.length * 0.9)) : text;
  }
  if (kind === 'xml') {
    const items = Array.from(
      { length: n },
      (_, i) => `<Item><Id>${i}</Id><Note>${pick()}</Note><Password>${pick()}</Password></Item>`,
    );
    return `<?xml version="1.0"?><List>${items.join('')}</List>`;
  }
  return Array.from({ length: n }, (_, i) => `line ${i}: ${pick()} and ${pick()}`).join('\n');
}

describe('masking a long body off the event loop', () => {
  afterAll(() => thread().close());

  it('gives the result masking it inline gives, byte for byte', async () => {
    const random = rng(22);
    const cases: { kind: MaskKind; set: ReturnType<typeof settings> }[] = [];
    for (const kind of ['json', 'xml', 'text'] as const) {
      cases.push({ kind, set: settings('all', ['password', 'token', 'secret*'], 'redact') });
      cases.push({ kind, set: settings('all', ['password'], 'partial') });
      cases.push({ kind, set: settings(['email', 'credit_card'], ['note'], 'redact') });
    }
    const before = thread().masked;
    for (const c of cases) {
      const text = body(c.kind, random, 1500 + Math.floor(random() * 1500));
      expect(text.length).toBeGreaterThan(INLINE_CHARS);
      const inline = maskBodyText(c.kind, text, c.set);
      const off = await maskBodyOffLoop(c.kind, text, c.set);
      expect(off).toEqual(inline);
      expect(inline).not.toBeNull();
    }
    // Every one went to the thread (none was short enough to be masked inline).
    expect(thread().masked - before).toBe(cases.length);
  });

  it('masks a short body inline, and a body with nothing to mask comes back as null', async () => {
    const set = settings('all', ['password'], 'redact');
    expect(await maskBodyOffLoop('json', '{"password":"x"}', set)).toEqual(
      maskBodyText('json', '{"password":"x"}', set),
    );
    const clean = `{"data":[${Array.from({ length: 20_000 }, (_, i) => i).join(',')}]}`;
    expect(clean.length).toBeGreaterThan(INLINE_CHARS);
    expect(await maskBodyOffLoop('json', clean, set)).toBeNull();
  });
});
