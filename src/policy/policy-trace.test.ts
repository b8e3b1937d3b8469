import { describe, expect, it } from 'vitest';
import { type SqlAction, httpAction, sqlAction } from '../core/action.js';
import type { Identity } from '../core/identity.js';
import type { SqlCategory, SqlStatement } from '../core/sql-statement.js';
import { policiesSchema } from '../config/policy-schema.js';
import { defaultAgentPolicies } from './default-agent-policy.js';
import { formatTrace } from './format-trace.js';
import { createPolicyDecider } from './policy-decider.js';

const agent: Identity = {
  subject: 'claude',
  groups: [],
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
};

function action(
  kind: string,
  categories: SqlCategory[],
  extra: Partial<SqlStatement> = {},
  connection = 'prod',
): SqlAction {
  return sqlAction({
    connection,
    via: 'simple-query',
    statement: {
      text: kind.toUpperCase(),
      kind,
      categories,
      tables: [{ name: 'orders' }],
      functions: [],
      ...extra,
    },
  });
}

describe('explain', () => {
  const decider = createPolicyDecider({
    policies: [
      ...defaultAgentPolicies(['prod']),
      ...policiesSchema.parse([
        {
          id: 'masking',
          subjects: { agent: true },
          connections: ['*'],
          rules: [
            {
              id: 'mask-customers',
              effect: 'allow',
              match: { categories: ['read'], tables: ['public.customers'] },
              mask: true,
            },
          ],
        },
      ]),
    ],
  });

  it('lists every policy with whether it applies and why', () => {
    const t = decider.explain(agent, action('select', ['read']));
    expect(t.policies.map((p) => [p.policy, p.applies])).toEqual([
      ['agents', true],
      ['dba', false],
      ['masking', true],
    ]);
    expect(t.policies[1]?.reason).toBe(
      'subjects do not match: only non-agent principals, and this one is an agent',
    );
    expect(t.policies[1]?.rules).toEqual([]);
    const other = decider.explain(agent, action('select', ['read'], {}, 'staging'));
    expect(other.policies[0]?.reason).toBe('connection staging is not in [prod]');
    // Only the masking policy applies on staging, and it does not cover orders.
    expect(other.decision.ruleId).toBe('default-deny');
  });

  it('traces every rule of an applicable policy, with the deny that fired', () => {
    const t = decider.explain(agent, action('delete', ['write', 'write-unbounded']));
    const rules = t.policies[0]!.rules;
    expect(rules).toHaveLength(defaultAgentPolicies(['prod'])[0]!.rules.length);
    expect(rules[0]).toEqual({
      policy: 'agents',
      rule: 'agents-no-unbounded-writes',
      effect: 'deny',
      touches: true,
      covers: [],
      matched: true,
      reason: 'fires: deny wins',
    });
    expect(rules.find((r) => r.rule === 'agents-no-truncate')).toMatchObject({
      matched: false,
      reason: 'no match: no category of [write, write-unbounded] is in [truncate]',
    });
    // Evaluation continues past the first deny when explaining, so the trace is complete.
    expect(rules.find((r) => r.rule === 'agents-review-writes')).toMatchObject({
      matched: true,
      covers: ['write'],
    });
    expect(t.decision).toMatchObject({ effect: 'deny', ruleId: 'agents-no-unbounded-writes' });
  });

  it('shows category coverage, including what is not covered', () => {
    const t = decider.explain(agent, action('select', ['read', 'write']));
    expect(t.coverage).toEqual([
      { category: 'read', allow: ['agents-allow-read'], review: [] },
      { category: 'write', allow: [], review: ['agents-review-writes'] },
    ]);
    const readOnly = createPolicyDecider({
      policies: policiesSchema.parse([
        {
          id: 'p',
          connections: ['prod'],
          rules: [{ id: 'reads', effect: 'allow', match: { categories: ['read'] } }],
        },
      ]),
    });
    const u = readOnly.explain(agent, action('select', ['read', 'write']));
    expect(u.coverage).toEqual([
      { category: 'read', allow: ['reads'], review: [] },
      { category: 'write', allow: [], review: [] },
    ]);
    expect(u.decision.ruleId).toBe('default-deny');
    expect(u.defaultEffect).toEqual({ effect: 'deny', source: 'built-in' });
    expect(formatTrace(u)).toContain('write  NOT COVERED');
  });

  it('explains why a table-restricted allow does not cover, and that its obligations still apply', () => {
    const t = decider.explain(
      agent,
      action('select', ['read'], { tables: [{ name: 'orders' }, { name: 'customers' }] }),
    );
    const mask = t.policies[2]!.rules[0]!;
    expect(mask).toMatchObject({ touches: true, covers: [], matched: true });
    expect(mask.reason).toBe(
      'covers nothing (table orders is outside [public.customers]); touches the statement, so its obligations apply',
    );
    expect(t.decision).toEqual({ effect: 'allow', ruleId: 'agents-allow-read', obligations: { mask: true } });
  });

  it('the trace decision equals decide() for every case', () => {
    const cases = [
      action('select', ['read']),
      action('update', ['write']),
      action('drop database', ['drop-database']),
      action('unparsed', ['unknown'], { parseError: 'bad' }),
      action('select', ['read'], {}, 'nowhere'),
    ];
    for (const a of cases) expect(decider.explain(agent, a).decision).toEqual(decider.decide(agent, a));
  });

  it('records the principal, the action and the version', () => {
    const t = decider.explain(agent, action('select', ['read'], { functions: ['lower'] }));
    expect(t.principal).toEqual({ subject: 'claude', groups: [], tokenKind: 'service', agent: true });
    expect(t.action).toEqual({
      kind: 'sql',
      statementKind: 'select',
      text: 'SELECT',
      categories: ['read'],
      tables: ['orders'],
      functions: ['lower'],
    });
    expect(t.version).toBe(decider.version);
    const text = formatTrace(t);
    expect(text).toContain('[applies] agents');
    expect(text).toContain('decision: allow (rule agents-allow-read)');
  });

  it('traces HTTP actions, marking SQL-only rules as not applicable', () => {
    const d = createPolicyDecider({
      policies: policiesSchema.parse([
        {
          id: 'aws',
          connections: ['s3'],
          rules: [
            { id: 'reads', effect: 'allow', match: { categories: ['read'] } },
            { id: 'gets', effect: 'allow', match: { operations: ['s3:Get*'] } },
          ],
        },
      ]),
    });
    const t = d.explain(
      agent,
      httpAction({
        connection: 's3',
        method: 'GET',
        path: '/b/k',
        decidedPath: '/b/k',
        operation: 's3:GetObject',
      }),
    );
    expect(t.policies[0]!.rules.map((r) => [r.rule, r.matched, r.reason])).toEqual([
      ['reads', false, 'not applicable: the rule matches SQL statements only'],
      ['gets', true, 'matches'],
    ]);
    expect(t.coverage).toEqual([]);
    expect(t.decision.ruleId).toBe('gets');
  });
});
