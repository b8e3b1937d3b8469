// Statements that read copies of other tables' column values (planner statistics, TOAST chunks) are
// marked as reaching every table and reading data kept elsewhere, so rules restricted to tables see
// them (docs/security.md, class 174).

import { beforeAll, describe, expect, it } from 'vitest';
import { sqlAction } from '../../core/action.js';
import type { Identity } from '../../core/identity.js';
import type { PolicyConfig } from '../../config/policy-schema.js';
import { defaultAgentPolicies } from '../../policy/default-agent-policy.js';
import { createPolicyDecider } from '../../policy/policy-decider.js';
import { createPostgresClassifier, type PostgresClassifier } from './postgres-classifier.js';

let classifier: PostgresClassifier;
beforeAll(async () => {
  classifier = await createPostgresClassifier({ cacheSize: 0, templateCacheSize: 0 });
});

const agent: Identity = { subject: 'a', groups: [], tokenKind: 'service', agent: true, issuer: 'gatehouse' };

const GUARDED: PolicyConfig[] = [
  {
    id: 'guarded',
    subjects: { agent: true },
    connections: ['*'],
    rules: [
      { id: 'no-vault', effect: 'deny', match: { tables: ['public.vault'] } },
      { id: 'hold-ledger', effect: 'review', match: { categories: ['read'], tables: ['ledger'] } },
      { id: 'reads', effect: 'allow', match: { categories: ['read', 'transaction', 'session'] } },
    ],
  },
];
const ORDERS_ONLY: PolicyConfig[] = [
  {
    id: 'scoped',
    subjects: { agent: true },
    connections: ['*'],
    rules: [
      {
        id: 'orders-read',
        effect: 'allow',
        match: { categories: ['read'], tables: ['orders', 'pg_catalog.*', 'pg_toast.*'] },
      },
    ],
  },
];

function decide(policies: PolicyConfig[], sql: string): string {
  const st = classifier.classify(sql).statements[0]!;
  return createPolicyDecider({ policies }).decide(
    agent,
    sqlAction({ connection: 'app', via: 'simple-query', statement: st }),
  ).effect;
}

const COPIES = [
  "SELECT most_common_vals FROM pg_stats WHERE tablename = 'vault'",
  "SELECT histogram_bounds FROM pg_catalog.pg_stats WHERE attname = 'secret'",
  "SELECT stavalues1 FROM pg_statistic WHERE starelid = 'vault'::regclass",
  'SELECT most_common_vals FROM pg_stats_ext',
  'SELECT * FROM pg_catalog.pg_stats_ext_exprs',
  'SELECT m.* FROM pg_statistic_ext_data d, pg_mcv_list_items(d.stxdmcv) m',
  'SELECT s.x FROM (SELECT most_common_vals::text AS x FROM pg_stats) s',
  "SELECT convert_from(chunk_data, 'UTF8') FROM pg_toast.pg_toast_16390",
  'SELECT chunk_data FROM pg_toast_16390',
  'SELECT chunk_data FROM pg_toast_temp_3.pg_toast_17001',
  'COPY pg_toast.pg_toast_16390 TO STDOUT',
  'TABLE pg_statistic',
];

describe('reads of copied column values (class 174)', () => {
  it.each(COPIES.map((s) => [s]))('%s reaches every table and reads elsewhere', (sql) => {
    const st = classifier.classify(sql).statements[0]!;
    expect(st.reachesUnknown).toBe(true);
    expect(st.readsElsewhere).toBe(true);
    // A deny rule restricted to a table matches; a rule granting reads of some tables does not grant it.
    expect(decide(GUARDED, sql)).toBe('deny');
    expect(decide(ORDERS_ONLY, sql)).toBe('deny');
  });

  it.each([
    ['SELECT * FROM orders'],
    ['SELECT relname FROM pg_class'],
    ['SELECT * FROM public.pg_stats_archive'],
    ['SELECT * FROM app.pg_stats'],
    ['SELECT pg_stat_get_numscans(1)'],
  ])('%s does not', (sql) => {
    const st = classifier.classify(sql).statements[0]!;
    expect(st.reachesUnknown).toBeUndefined();
  });

  it('the default agent policy still lets agents read statistics', () => {
    expect(decide(defaultAgentPolicies(['*']), 'SELECT * FROM pg_stats')).toBe('allow');
  });
});
