// The session and statement records the store benchmarks write (bench/store-record.bench.ts,
// bench/store-read.bench.ts): a service-token agent's session on a PostgreSQL connection, and
// pgbench's SELECT. bench/store-instructions.mjs writes the same records from its own copy (it runs
// under plain node in valgrind, without a TypeScript loader).

import type { SessionRecord, StatementRecord } from '../src/core/records.js';

export function benchSession(id: string, startedAt = new Date()): SessionRecord {
  return {
    id,
    startedAt,
    subject: 'bench',
    groups: ['bench'],
    tokenKind: 'service',
    agent: true,
    issuer: 'gatehouse',
    clientAddress: '127.0.0.1:50000',
    connection: 'bench',
    protocol: 'postgres',
  };
}

/** Statement `seq` of a session, allowed as a read unless `effect` says otherwise. */
export function benchStatement(
  id: string,
  sessionId: string,
  seq: number,
  effect: StatementRecord['effect'] = 'allow',
): StatementRecord {
  return {
    id,
    sessionId,
    seq,
    at: new Date(),
    via: 'simple',
    text: `SELECT abalance FROM pgbench_accounts WHERE aid = ${(seq * 7919) % 100000};`,
    kind: 'select',
    categories: ['read'],
    effect,
    ruleId: 'bench-read',
  };
}
