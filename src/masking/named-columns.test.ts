import { describe, expect, it } from 'vitest';
import { namedColumnRule } from './builtin-rules.js';
import { DEFAULT_SENSITIVE_KEYS } from './json-masking.js';
import { LineageRules } from './lineage-plan.js';

describe('columns named like a secret', () => {
  const rule = namedColumnRule(DEFAULT_SENSITIVE_KEYS);

  it('match a jsonKeys entry as a JSON key does, under its tag, outside the system schemas', () => {
    expect(rule('public', 'users', 'password')?.tag).toBe('password');
    expect(rule('app', 'hooks', 'webhook_secret')?.tag).toBe('secret');
    expect(rule('app', 'sessions', 'access_token')?.tag).toBe('access_token');
    expect(rule('public', 'users', 'API_KEY')?.tag).toBe('apikey');
    expect(rule('public', 'cards', 'cvv')?.tag).toBe('cvv');
    // Names the detectors recognise by content keep the detectors (a card masked partially).
    for (const column of [
      'reset_code',
      'page_token',
      'tokens',
      'password_hint',
      'name',
      'card_number',
      'ssn',
    ])
      expect(rule('public', 'users', column), column).toBeUndefined();
    for (const schema of ['pg_catalog', 'information_schema', 'pg_toast'])
      expect(rule(schema, 'pg_user', 'passwd'), schema).toBeUndefined();
    // One rule per tag: the lineage compares rules by identity.
    expect(rule('a', 'b', 'password')).toBe(rule('c', 'd', 'PASSWORD'));
  });

  it('a relation is covered when one of its columns is', () => {
    const rules = new LineageRules(
      () => undefined,
      () => 'redact',
      rule,
    );
    const users = { schema: 'public', name: 'users', columns: ['id', 'login', 'password'] };
    const accounts = {
      schema: 'public',
      name: 'pgbench_accounts',
      columns: ['aid', 'bid', 'abalance', 'filler'],
    };
    expect(rules.coversColumnOf(users)).toBe(true);
    expect(rules.coversColumnOf(accounts)).toBe(false);
    expect(rules.coversColumnOf({ ...accounts, schema: 'pg_catalog', columns: ['passwd'] })).toBe(false);
  });
});
