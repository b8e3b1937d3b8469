import { describe, expect, it } from 'vitest';
import type { Decision } from '../core/decision.js';
import { maskingSchema } from '../masking/index.js';
import { columnMasker } from './describe-schema-tool.js';

const config = maskingSchema.parse({
  columns: [{ column: 'public.customers.email' }, { column: '*.ssn', detectors: ['ssn'] }],
  profiles: { strict: { columns: [{ column: 'notes' }] } },
});

const allow = (mask?: boolean | { profile: string }): Decision => ({
  effect: 'allow',
  ruleId: 'r',
  obligations: mask === undefined ? {} : { mask },
});

describe('masked-column flags in describe_schema', () => {
  it("flags the columns the decision's masking profile masks", () => {
    const m = columnMasker(config, allow(true))!;
    expect(m('public', 'customers', 'email')).toBe('masked whole (rule public.customers.email)');
    expect(m('PUBLIC', 'Customers', 'EMAIL')).toBe('masked whole (rule public.customers.email)');
    expect(m('hr', 'people', 'ssn')).toBe('scanned by ssn');
    expect(m('public', 'customers', 'name')).toBeUndefined();
  });

  it('uses the named profile', () => {
    const m = columnMasker(config, allow({ profile: 'strict' }))!;
    expect(m('public', 'tickets', 'notes')).toBe('masked whole (rule notes)');
    expect(m('public', 'customers', 'email')).toBeUndefined();
  });

  it('flags nothing without a mask obligation, a masking config, or for a deny', () => {
    expect(columnMasker(config, allow())).toBeUndefined();
    expect(columnMasker(undefined, allow(true))).toBeUndefined();
    expect(columnMasker(config, { effect: 'deny', ruleId: 'd', message: 'no' })).toBeUndefined();
    expect(columnMasker(config, allow({ profile: 'missing' }))).toBeUndefined();
  });
});
