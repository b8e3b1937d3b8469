import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema } from '../config/schema.js';
import { demoConfigYaml } from './demo-config.js';

describe('demo configuration', () => {
  const config = configSchema.parse(
    parse(
      demoConfigYaml({
        pgPort: 1,
        httpPort: 2,
        upstreamPort: 3,
        upstreamUser: 'u',
        upstreamDatabase: 'd',
        passwordFile: 'p',
        certFile: 'c',
        keyFile: 'k',
      }),
    ),
  );

  it('masks agents (every allowing rule carries mask) and not the dba group', () => {
    const agents = config.policies.find((p) => p.id === 'agents')!;
    const allowing = agents.rules.filter((r) => r.effect !== 'deny');
    expect(allowing.length).toBeGreaterThan(0);
    expect(allowing.every((r) => r.mask === true)).toBe(true);
    const dba = config.policies.find((p) => p.id === 'dba')!;
    expect(dba.rules.every((r) => r.mask === undefined)).toBe(true);
  });

  it('has column rules for the seeded cards, contact details and API secrets', () => {
    expect(config.masking.columns.map((c) => [c.column, c.style])).toEqual([
      ['public.customers.card_number', 'partial'],
      ['public.customers.email', 'hash'],
      ['public.customers.phone', 'redact'],
      ['public.api_keys.secret', 'redact'],
    ]);
  });
});
