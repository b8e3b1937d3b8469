import { describe, expect, it } from 'vitest';
import { createDetectorSet } from './detector-set.js';
import { detectorSetConfigFor, resolveMaskingProfile, styleChooser } from './masking-config.js';
import { maskingSchema } from './masking-schema.js';
import { parseDictionaryText } from './dictionary-detector.js';

function issues(input: unknown): string[] {
  const r = maskingSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('masking schema', () => {
  it('fills defaults from an empty section', () => {
    const m = maskingSchema.parse({});
    expect(m.detectors).toEqual({ enabled: 'all', custom: [], dictionaries: [], encoded: true });
    expect(m.style).toBe('redact');
    expect(m.styles).toEqual({});
    expect(m.columns).toEqual([]);
    expect(m.jsonKeys).toContain('password');
    expect(m.profiles).toEqual({});
    expect(m.hashKey).toBeUndefined();
  });

  it('accepts a full configuration', () => {
    const m = maskingSchema.parse({
      detectors: {
        enabled: ['credit_card', 'email', 'ssn'],
        custom: [{ name: 'employee_id', pattern: 'EMP-\\d{6}', flags: 'i' }],
        dictionaries: [
          { name: 'codenames', words: ['falcon'] },
          { name: 'vips', file: '/etc/gatehouse/vips.txt' },
        ],
      },
      style: 'partial',
      styles: { email: 'hash', employee_id: 'redact', password: 'null', card: 'hash' },
      hashKey: { env: 'GATEHOUSE_MASK_KEY' },
      columns: [
        { column: 'public.users.ssn', style: 'partial' },
        { column: 'billing.*.card_*', style: 'hash', tag: 'card' },
        { column: '*.*.notes', detectors: ['ssn', 'employee_id'] },
      ],
      profiles: {
        strict: { style: 'null' },
        support: {
          detectors: { enabled: 'all', custom: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }] },
          styles: { email: 'partial' },
        },
      },
    });
    expect(m.profiles.support?.detectors?.dictionaries).toEqual([]);
  });

  it.each([
    [
      { detectors: { enabled: ['credit_cards'] } },
      'detectors.enabled.0: unknown built-in detector "credit_cards"',
    ],
    [
      {
        detectors: { custom: [{ name: 'emp', pattern: 'E\\d' }] },
        columns: [{ column: 'notes', detectors: ['emp'] }],
        profiles: { p: { detectors: {} } },
      },
      'profiles.p.columns.0.detectors: unknown detector "emp"',
    ],
    [{ detectors: { custom: [{ name: 'x', pattern: '(' }] } }, 'invalid regex'],
    [{ detectors: { custom: [{ name: 'x', pattern: '.*' }] } }, 'empty string'],
    [{ detectors: { custom: [{ name: 'Bad-Name', pattern: 'x' }] } }, 'detector name'],
    [{ detectors: { custom: [{ name: 'email', pattern: 'x' }] } }, 'defined twice'],
    [{ detectors: { dictionaries: [{ name: 'd' }] } }, 'either words or file'],
    [{ detectors: { dictionaries: [{ name: 'd', words: ['a'], file: 'f' }] } }, 'either words or file'],
    [{ styles: { nope: 'redact' } }, 'unknown detector "nope"'],
    [{ style: 'scramble' }, 'style'],
    [{ style: null }, 'write the null style in quotes'],
    [{ columns: [{ column: 'a.b.c.d' }] }, 'schema.table.column'],
    [{ columns: [{ column: 'a.b.c', detectors: ['nope'] }] }, 'unknown detector "nope"'],
    [{ profiles: { p: { styles: { nope: 'hash' } } } }, 'profiles.p.styles.nope'],
    [{ hashKey: { value: 'secret' } }, 'hashKey'],
    [{ unknownField: 1 }, 'unknownField'],
  ])('rejects %j', (input, expected) => {
    expect(issues(input).join('\n')).toContain(expected);
  });
});

describe('masking profiles and detector set configs', () => {
  const config = maskingSchema.parse({
    detectors: {
      enabled: ['credit_card', 'email', 'ssn'],
      custom: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }],
      dictionaries: [{ name: 'vips', file: 'vips.txt' }],
    },
    styles: { email: 'partial' },
    columns: [{ column: '*.*.notes', detectors: ['ssn'] }],
    profiles: { strict: { style: 'null', styles: {} } },
  });
  const readDictionary = (file: string): string[] =>
    file === 'vips.txt' ? parseDictionaryText('# VIPs\nAda Lovelace\n\ngrace\n') : [];

  it('resolves the default and named profiles', () => {
    const base = resolveMaskingProfile(config);
    expect(base.name).toBe('default');
    expect(styleChooser(base)('email')).toBe('partial');
    expect(styleChooser(base)('credit_card')).toBe('redact');
    const strict = resolveMaskingProfile(config, 'strict');
    expect(styleChooser(strict)('email')).toBe('null');
    expect(strict.columns).toBe(base.columns);
    expect(() => resolveMaskingProfile(config, 'nope')).toThrow(/unknown masking profile/);
    expect(() => resolveMaskingProfile(config, 'toString')).toThrow(/unknown masking profile/);
  });

  it('builds a working detector set, loading dictionary files through the caller', () => {
    const profile = resolveMaskingProfile(config);
    const set = createDetectorSet(
      detectorSetConfigFor(profile, { readDictionary, hashKey: Buffer.alloc(16, 9) }),
    );
    const r = set.mask(
      'Ada Lovelace paid 4111111111111111 for EMP-123456 +14155550123',
      styleChooser(profile),
    );
    expect(r?.text).toBe(
      '[REDACTED:vips] paid [REDACTED:credit_card] for [REDACTED:employee_id] +14155550123',
    );
    expect(() => detectorSetConfigFor(profile)).toThrow(/not loaded/);
  });

  it('restricts a column rule set to its detectors and accepts bare SSNs there', () => {
    const profile = resolveMaskingProfile(config);
    const column = createDetectorSet(detectorSetConfigFor(profile, { readDictionary }, ['ssn']));
    expect(column.names).toEqual(['ssn']);
    expect(column.mask('123456789', 'redact')?.text).toBe('[REDACTED:ssn]');
    expect(column.mask('4111111111111111', 'redact')).toBeNull();
  });
});
