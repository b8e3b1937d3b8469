import { describe, expect, it } from 'vitest';
import { createColumnMatcher } from './column-rules.js';
import type { ColumnRule } from './column-rules.js';

describe('column rules', () => {
  const rules: ColumnRule[] = [
    { column: 'public.users.ssn', style: 'partial' },
    { column: 'billing.*.card_*', style: 'hash', tag: 'card' },
    { column: 'customers.email' },
    { column: 'api_key' },
    { column: '*.*.notes', detectors: ['ssn', 'email'] },
  ];
  const match = createColumnMatcher(rules);

  it('matches schema.table.column with * wildcards, first rule wins', () => {
    expect(match('public', 'users', 'ssn')).toBe(rules[0]);
    expect(match('billing', 'invoices', 'card_number')).toBe(rules[1]);
    expect(match('billing', 'invoices', 'cardnumber')).toBeUndefined();
    expect(match('public', 'users', 'name')).toBeUndefined();
  });

  it('treats table.column and column as any schema / any table', () => {
    expect(match('crm', 'customers', 'email')).toBe(rules[2]);
    expect(match('crm', 'contacts', 'email')).toBeUndefined();
    expect(match('x', 'y', 'api_key')).toBe(rules[3]);
    expect(match('x', 'y', 'notes')).toBe(rules[4]);
  });

  it('compares names case-insensitively and answers repeated questions the same way', () => {
    expect(match('PUBLIC', 'Users', 'SSN')).toBe(rules[0]);
    expect(match('PUBLIC', 'Users', 'SSN')).toBe(rules[0]);
    expect(match('x', 'y', 'API_KEY')).toBe(rules[3]);
  });

  it('does not treat regex characters in patterns specially', () => {
    const m = createColumnMatcher([{ column: 'a+b.c' }]);
    expect(m('s', 'a+b', 'c')).toBeDefined();
    expect(m('s', 'aab', 'c')).toBeUndefined();
  });
});
