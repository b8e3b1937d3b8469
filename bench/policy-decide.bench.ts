// Micro-benchmark: what one policy decision costs (issue 3 §6), default agent policy and a 400-rule
// policy, uncached and through the decision cache. `npx tsx bench/policy-decide.bench.ts`.
import { type SqlAction, sqlAction } from '../src/core/action.js';
import type { Identity } from '../src/core/identity.js';
import type { SqlCategory } from '../src/core/sql-statement.js';
import { policiesSchema } from '../src/config/policy-schema.js';
import { withDecisionCache } from '../src/policy/decision-cache.js';
import { defaultAgentPolicies } from '../src/policy/default-agent-policy.js';
import { createPolicyDecider } from '../src/policy/policy-decider.js';

const agent: Identity = {
  subject: 'claude',
  groups: ['ai-agents'],
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
};

function action(kind: string, categories: SqlCategory[], tables: number, text = kind): SqlAction {
  return sqlAction({
    connection: 'prod',
    via: 'simple-query',
    statement: {
      text,
      kind,
      categories,
      tables: Array.from({ length: tables }, (_, i) => ({ schema: 'public', name: `table_${i}` })),
      functions: ['lower', 'count'],
    },
  });
}

/** Median of 5 rounds of µs per call. */
function measure(fn: (i: number) => unknown, calls = 100_000): number {
  for (let i = 0; i < 20_000; i++) fn(i); // warm up the JIT
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn(i);
    rounds.push(Number(process.hrtime.bigint() - start) / 1000 / calls);
  }
  return rounds.sort((a, b) => a - b)[2]!;
}

{
  {
    const small = createPolicyDecider({ policies: defaultAgentPolicies(['*']) });
    const read = action('select', ['read'], 3);
    const update = action('update', ['read', 'write'], 2);
    const unbounded = action('delete', ['write', 'write-unbounded'], 1);

    // 20 policies × 20 rules with table globs, all applying to the principal.
    const large = createPolicyDecider({
      policies: policiesSchema.parse(
        Array.from({ length: 20 }, (_, p) => ({
          id: `p${p}`,
          subjects: { agent: true },
          connections: ['*'],
          rules: Array.from({ length: 20 }, (_, r) => ({
            id: `p${p}-r${r}`,
            effect: r % 5 === 0 ? 'deny' : r % 3 === 0 ? 'review' : 'allow',
            match:
              r % 5 === 0
                ? { categories: ['truncate'], tables: [`secret_${p}_${r}.*`] }
                : { categories: ['read', 'write'], tables: [`public.table_*`, `s${r}.*`] },
            ...(r % 7 === 0 && r % 5 !== 0 ? { rowCap: 1000 + r } : {}),
          })),
        })),
      ),
    });
    const cached = withDecisionCache(small);

    const results = {
      'default policy, read (3 tables)': measure(() => small.decide(agent, read)),
      'default policy, read+write → review': measure(() => small.decide(agent, update)),
      'default policy, write-unbounded → deny': measure(() => small.decide(agent, unbounded)),
      'default policy, new Identity object per call': measure(() => small.decide({ ...agent }, read)),
      '400 rules, read (3 tables)': measure(() => large.decide(agent, read), 20_000),
      'decision cache hit (default policy)': measure(() => cached.decide(agent, read)),
    };
    console.log('median of 5 rounds, µs per decide() call');
    for (const [name, us] of Object.entries(results)) console.log(`  ${name.padEnd(48)} ${us.toFixed(3)} µs`);
  }
}
