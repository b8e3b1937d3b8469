import { describe, expect, it } from 'vitest';
import { type SqlAction, sqlAction } from '../core/action.js';
import type { Identity } from '../core/identity.js';
import type { SqlCategory } from '../core/sql-statement.js';
import { DecisionCache, withDecisionCache } from './decision-cache.js';
import { defaultAgentPolicies } from './default-agent-policy.js';
import { createPolicyDecider } from './policy-decider.js';
import { policiesSchema } from '../config/policy-schema.js';

const agent: Identity = {
  subject: 'claude',
  groups: ['ai-agents'],
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
};
const dba: Identity = {
  subject: 'dana',
  groups: ['dba'],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'https://idp',
};

function action(text: string, kind: string, categories: SqlCategory[], connection = 'prod'): SqlAction {
  return sqlAction({
    connection,
    via: 'simple-query',
    statement: { text, kind, categories, tables: [], functions: [] },
  });
}

describe('DecisionCache', () => {
  it('evicts the least recently used entry', () => {
    const c = new DecisionCache(2);
    const d = { effect: 'deny' as const, ruleId: 'r', message: 'm' };
    c.set('a', d);
    c.set('b', d);
    expect(c.get('a')).toBe(d); // a is now the most recent
    c.set('c', d);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(d);
    expect(c.get('c')).toBe(d);
    expect(c.size).toBe(2);
    expect(() => new DecisionCache(0)).toThrow();
  });
});

describe('withDecisionCache', () => {
  it('returns the same decisions as the decider, from the cache on repeat', () => {
    const base = createPolicyDecider({ policies: defaultAgentPolicies(['prod']) });
    const cached = withDecisionCache(base, { maxEntries: 100 });
    const del = action('DELETE FROM t', 'delete', ['write', 'write-unbounded']);
    expect(cached.decide(agent, del)).toEqual(base.decide(agent, del));
    expect(cached.decide(agent, del)).toEqual(base.decide(agent, del));
    expect(cached.cache.hits).toBe(1);
    expect(cached.version).toBe(base.version);
  });

  it('keys on what the statement was classified as, not only its text', () => {
    // The PostgreSQL engine decides one text as more than it reads: a read that runs in a
    // read-write transaction is decided as a write to any table as well (docs/security.md,
    // "Reads run read-only"). The cached read must not answer for it.
    const cached = withDecisionCache(createPolicyDecider({ policies: defaultAgentPolicies(['prod']) }));
    const read = action('SELECT * FROM canary_report', 'select', ['read']);
    expect(cached.decide(agent, read).effect).toBe('allow');
    const asWrite = sqlAction({
      connection: 'prod',
      via: 'simple-query',
      statement: {
        ...read.statement,
        categories: ['read', 'write'],
        tables: [{ name: '(any table)' }],
      },
    });
    expect(cached.decide(agent, asWrite).effect).toBe('review');
  });

  it('keys on the principal and the connection, not only the text', () => {
    const cached = withDecisionCache(createPolicyDecider({ policies: defaultAgentPolicies(['prod']) }));
    const drop = action('DROP TABLE t', 'drop table', ['ddl-drop']);
    expect(cached.decide(agent, drop).effect).toBe('deny');
    expect(cached.decide(dba, drop).effect).toBe('allow');
    expect(cached.decide({ ...dba, groups: ['dev'] }, drop).ruleId).toBe('connection-access');
    expect(cached.decide(dba, action('DROP TABLE t', 'drop table', ['ddl-drop'], 'other')).ruleId).toBe(
      'connection-access',
    );
    expect(cached.cache.hits).toBe(0);
  });

  it('keys on the policy version, so a new policy never serves an old decision', () => {
    const cache1 = withDecisionCache(createPolicyDecider({ policies: defaultAgentPolicies(['prod']) }));
    const cache2 = withDecisionCache(
      createPolicyDecider({ policies: defaultAgentPolicies(['prod'], { mode: 'defer' }) }),
    );
    expect(cache1.version).not.toBe(cache2.version);
    const upd = action('UPDATE t SET a = 1 WHERE id = 1', 'update', ['write']);
    expect(cache1.decide(agent, upd)).toMatchObject({ mode: 'hold' });
    expect(cache2.decide(agent, upd)).toMatchObject({ mode: 'defer' });
  });
});

describe('reach is part of the key (class 113)', () => {
  it('a statement decided as reaching a denied table is not answered by its plain decision', () => {
    const d = withDecisionCache(
      createPolicyDecider({
        policies: policiesSchema.parse([
          {
            id: 'p',
            subjects: { groups: ['dev'] },
            connections: ['prod'],
            rules: [
              { id: 'no-customers', effect: 'deny', match: { tables: ['public.customers'] } },
              { id: 'all', effect: 'allow', match: {} },
            ],
          },
        ]),
      }),
    );
    const identity: Identity = {
      subject: 'a',
      groups: ['dev'],
      tokenKind: 'oidc',
      agent: false,
      issuer: 'x',
    };
    const statement = {
      text: "SELECT setval('customers_id_seq', 1)",
      kind: 'select',
      categories: ['read', 'write'] as const,
      tables: [],
      functions: ['setval'],
    };
    const plain = sqlAction({
      connection: 'prod',
      via: 'simple-query',
      statement: { ...statement, categories: [...statement.categories] },
    });
    const reached = sqlAction({
      connection: 'prod',
      via: 'simple-query',
      statement: { ...plain.statement, reaches: [{ schema: 'public', name: 'customers' }] },
    });
    expect(d.decide(identity, plain).effect).toBe('allow');
    expect(d.decide(identity, reached).effect).toBe('deny');
    expect(
      d.decide(identity, { ...plain, statement: { ...plain.statement, reachesUnknown: true } }).effect,
    ).toBe('deny');
  });
});
