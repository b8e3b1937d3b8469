// Differential: EXPLAIN without ANALYZE is decided at least as strictly as the query it plans, for
// every function the classifier gives categories or marks. PostgreSQL's planner runs calls while it
// plans (a STABLE one in LIMIT or OFFSET, an IMMUTABLE one with constant arguments anywhere), and the
// value comes back in the plan's row estimates or in the error a cast of it raises: `EXPLAIN SELECT 1
// LIMIT current_setting('app.jwt_secret')::int` quoted the secret (docs/security.md, class 170).

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
import { ARGUMENT_RISK_FUNCTIONS } from './tree-walker.js';

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

/** Arguments that make the call what the classifier would find riskiest where it reads them. */
function call(name: string): string {
  switch (name) {
    case 'current_setting':
      return "current_setting('app.jwt_secret')";
    case 'set_config':
      return "set_config('app.x', 'v', false)";
    default:
      return `${name}('x')`;
  }
}

function one(sql: string): SqlStatement {
  const result = classifier.classify(sql);
  expect(result.parseError, sql).toBeUndefined();
  expect(result.statements, sql).toHaveLength(1);
  return result.statements[0]!;
}

const FUNCTIONS = [...new Set([...riskyFunctionNames(), ...ARGUMENT_RISK_FUNCTIONS, 'app_fn'])];

describe('EXPLAIN is decided at least as strictly as its query (class 170)', () => {
  it('knows the functions it compares', () => {
    // The lists this compares are the classifier's own; a few that the red-team used, as a check.
    for (const name of [
      'current_setting',
      'pg_get_functiondef',
      'table_to_xml',
      'pg_stat_get_backend_activity',
      'pg_read_file',
      'pg_get_sequence_data',
    ])
      expect(FUNCTIONS).toContain(name);
  });

  it.each(FUNCTIONS.map((name) => [name]))('%s', (name) => {
    const f = call(name);
    for (const query of [`SELECT ${f}`, `SELECT 1 LIMIT ${f}`, `SELECT * FROM orders WHERE id = ${f}`]) {
      const plain = one(query);
      for (const explain of [
        'EXPLAIN',
        'EXPLAIN (FORMAT JSON)',
        'EXPLAIN VERBOSE',
        'EXPLAIN (ANALYZE off)',
      ]) {
        const text = `${explain} ${query}`;
        const planned = one(text);
        expect(planned.kind, text).toBe('explain');
        // Every category the query has, the plan of it has ('read' included).
        expect(planned.categories, text).toEqual(expect.arrayContaining([...plain.categories]));
        if (plain.readsElsewhere === true) expect(planned.readsElsewhere, text).toBe(true);
        if (plain.untargeted === true) expect(planned.untargeted, text).toBe(true);
        for (const [label, decider] of DECIDERS) {
          const decide = (st: SqlStatement) =>
            decider.decide(agent, sqlAction({ connection: 'app', via: 'simple-query', statement: st }))
              .effect;
          expect(STRICTNESS[decide(planned)], `${text} under ${label}`).toBeGreaterThanOrEqual(
            STRICTNESS[decide(plain)],
          );
        }
      }
    }
  });

  it('still drops what running the statement would do', () => {
    expect(one('EXPLAIN DELETE FROM orders').categories).toEqual(['read']);
    expect(one('EXPLAIN SELECT * FROM orders FOR UPDATE').categories).toEqual(['read']);
    expect(one('EXPLAIN CREATE TABLE x AS SELECT 1').categories).toEqual(['read']);
    expect(one('EXPLAIN SELECT * FROM orders WHERE id = abs(-1)').categories).toEqual(['read']);
  });
});
