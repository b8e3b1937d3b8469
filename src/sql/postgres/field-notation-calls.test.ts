// Differential: a built-in function written in field notation is decided at least as strictly as
// the same function called with an argument the classifier cannot read. PostgreSQL reads `(expr).f`
// (and `t.f` when t has no column f) as f(expr) for any expression, not only a row (ParseFuncOrColumn;
// docs 8.16.5): `SELECT (4242::bigint).pg_advisory_lock` took a session lock, `SELECT
// ('app.jwt_secret'::text).current_setting` returned the secret, `SELECT (pid).pg_terminate_backend`
// ended another session, all as plain reads (docs/security.md, class 172).

import { beforeAll, describe, expect, it } from 'vitest';
import { sqlAction } from '../../core/action.js';
import type { Decision } from '../../core/decision.js';
import type { Identity } from '../../core/identity.js';
import type { SqlStatement } from '../../core/sql-statement.js';
import type { PolicyConfig } from '../../config/policy-schema.js';
import { defaultAgentPolicies } from '../../policy/default-agent-policy.js';
import { createPolicyDecider } from '../../policy/policy-decider.js';
import { riskyFunctionNames } from './function-risks.js';
import { createPostgresClassifier, type PostgresClassifier } from './postgres-classifier.js';

let classifier: PostgresClassifier;
beforeAll(async () => {
  classifier = await createPostgresClassifier({ cacheSize: 0, templateCacheSize: 0 });
});

const agent: Identity = {
  subject: 'claude',
  groups: [],
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
};

/** An agent that may read one table and nothing else (class 103's rule restricted to tables). */
const TABLE_SCOPED: PolicyConfig[] = [
  {
    id: 'scoped',
    subjects: { agent: true },
    connections: ['*'],
    rules: [{ id: 'orders-read', effect: 'allow', match: { categories: ['read'], tables: ['orders'] } }],
  },
];

const DECIDERS = [
  ['the default agent policy', createPolicyDecider({ policies: defaultAgentPolicies(['*']) })],
  ['a rule restricted to a table', createPolicyDecider({ policies: TABLE_SCOPED })],
] as const;

const STRICTNESS: Record<Decision['effect'], number> = { allow: 0, review: 1, deny: 2 };

function one(sql: string): SqlStatement {
  const result = classifier.classify(sql);
  expect(result.parseError, sql).toBeUndefined();
  expect(result.statements, sql).toHaveLength(1);
  return result.statements[0]!;
}

// `dblink` stands for its prefix; current_setting of an argument it cannot read is `secrets`.
const FUNCTIONS = [
  ...new Set([
    ...riskyFunctionNames().map((n) => (n === 'dblink' ? 'dblink_connect' : n)),
    'current_setting',
  ]),
];

describe('a built-in called in field notation (class 172)', () => {
  it('knows the functions it compares', () => {
    for (const name of [
      'pg_advisory_lock',
      'current_setting',
      'pg_terminate_backend',
      'pg_read_file',
      'ts_stat',
    ])
      expect(FUNCTIONS).toContain(name);
  });

  it.each(FUNCTIONS.map((name) => [name]))('%s', (name) => {
    // The call with an argument the classifier cannot read: a column of orders.
    const plain = one(`SELECT ${name}(o.x) FROM orders o`);
    for (const text of [
      `SELECT (o.x).${name} FROM orders o`,
      `SELECT ('x'::text).${name} FROM orders`,
      `SELECT ((o.x)).${name} FROM orders o`,
      `SELECT o.${name} FROM orders o`,
      `SELECT 1 FROM orders o WHERE (o.x).${name} IS NULL`,
      `SELECT count(*) FROM (SELECT (o.x).${name} FROM orders o) s`,
    ]) {
      const field = one(text);
      expect(field.categories, text).toEqual(expect.arrayContaining([...plain.categories]));
      if (plain.readsElsewhere === true) expect(field.readsElsewhere, text).toBe(true);
      if (plain.untargeted === true) expect(field.untargeted, text).toBe(true);
      for (const [label, decider] of DECIDERS) {
        const decide = (st: SqlStatement) =>
          decider.decide(agent, sqlAction({ connection: 'app', via: 'simple-query', statement: st })).effect;
        expect(STRICTNESS[decide(field)], `${text} under ${label}`).toBeGreaterThanOrEqual(
          STRICTNESS[decide(plain)],
        );
      }
    }
    // EXPLAIN plans it as the query, and the planner may run it (class 170).
    const planned = one(`EXPLAIN SELECT 1 LIMIT length(('x'::text).${name}::text)`);
    const called = one(`EXPLAIN SELECT 1 LIMIT length(${name}(x)::text)`);
    expect(planned.categories).toEqual(expect.arrayContaining([...called.categories]));
  });

  it('deny rules restricted to functions match a function written as a field', () => {
    const decider = createPolicyDecider({
      policies: [
        {
          id: 'fns',
          subjects: { agent: true },
          connections: ['*'],
          rules: [
            { id: 'no-sleep', effect: 'deny', match: { functions: ['pg_catalog.pg_sleep'] } },
            { id: 'no-audit', effect: 'deny', match: { functions: ['audit_*'] } },
            { id: 'reads', effect: 'allow', match: { categories: ['read'] } },
          ],
        },
      ],
    });
    const decide = (sql: string) =>
      decider.decide(agent, sqlAction({ connection: 'app', via: 'simple-query', statement: one(sql) }));
    expect(decide('SELECT pg_sleep(5)').ruleId).toBe('no-sleep');
    expect(decide('SELECT (5).pg_sleep').ruleId).toBe('no-sleep');
    expect(decide('SELECT o.audit_row FROM orders o').ruleId).toBe('no-audit');
    expect(decide('SELECT (o).audit_row FROM orders o').ruleId).toBe('no-audit');
    expect(decide('SELECT o.id, (o).total FROM orders o').effect).toBe('allow');
  });

  it('reads fields that name no such built-in as reads', () => {
    for (const text of [
      'SELECT (o).id, o.total FROM orders o',
      'SELECT (s).id FROM (SELECT id FROM orders) s',
      "SELECT ('x'::text).length",
      'SELECT o."NEXTVAL" FROM orders o',
    ])
      expect(one(text).categories, text).toEqual(['read']);
  });
});
