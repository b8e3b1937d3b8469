// Two-phase commit reaches past the session (docs/security.md class 69): PREPARE TRANSACTION leaves a
// transaction, its locks held, for any session of the upstream role to finish, and COMMIT/ROLLBACK
// PREPARED finish one any session prepared — someone else's writes, made durable or thrown away. They
// were `transaction`, the category a session's own BEGIN and COMMIT have, which agents may run; they
// are admin now. Real PostgreSQL, real `pg`: an agent allowed transaction control is refused them by
// Gatehouse (nothing reaches the server), a person allowed admin reaches the server.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['*'],
    rules: [
      {
        id: 'agents-work',
        effect: 'allow',
        match: { categories: ['read', 'write', 'transaction', 'session'] },
      },
    ],
  },
  {
    id: 'dba',
    subjects: { groups: ['dba'] },
    connections: ['*'],
    rules: [{ id: 'dba-all', effect: 'allow', match: {} }],
  },
];

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: 'CREATE TABLE ledger (id int)',
  });
});
afterAll(async () => {
  await gw?.stop();
});

async function errorOf(token: string, sql: readonly string[]): Promise<string> {
  const c = gw.client(token);
  await c.connect();
  try {
    for (const q of sql) await c.query(q);
    return '';
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('two-phase commit is admin (class 69)', () => {
  it('an agent allowed transaction control may not finish or leave a prepared transaction', async () => {
    const agent = await gw.token({ subject: 'claude', agent: true });
    for (const q of ["COMMIT PREPARED 'tx-of-someone'", "ROLLBACK PREPARED 'tx-of-someone'"]) {
      const message = await errorOf(agent, [q]);
      // Refused by Gatehouse, not answered by the server (which would say the identifier does not exist).
      expect(message).toMatch(/refused|not allowed|Gatehouse/i);
      expect(message).not.toMatch(/does not exist/);
    }
    const prepare = await errorOf(agent, [
      'BEGIN',
      'INSERT INTO ledger VALUES (1)',
      "PREPARE TRANSACTION 'left'",
    ]);
    expect(prepare).toMatch(/refused|not allowed|Gatehouse/i);
    expect(prepare).not.toMatch(/prepared transactions are disabled/);
    // Its own transaction control stays allowed.
    expect(await errorOf(agent, ['BEGIN', 'INSERT INTO ledger VALUES (2)', 'COMMIT'])).toBe('');
  });

  it('a person allowed admin reaches the server with them', async () => {
    const dba = await gw.token({ subject: 'alice', groups: ['dba'], agent: false });
    expect(await errorOf(dba, ["COMMIT PREPARED 'tx-of-someone'"])).toMatch(/does not exist/);
  });
});
