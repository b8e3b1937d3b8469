// A gateway in front of a table whose one column is under a column rule (`vault.token`), for tests of
// masked principals reading or storing its value past lineage: masked people (group `analysts`) and a
// DBA who is not masked (group `dba`). Used by the masking tests of docs/security.md classes 245–249.

import type pg from 'pg';
import { inject } from 'vitest';
import type { PolicyConfig } from '../../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './gateway.js';

/** The value under the column rule: it must never reach a masked principal in clear. */
export const VAULT_SECRET = 'zebraQuokkaToken77xx';

/** A function call lineage cannot trace that returns the ruled column's values as text. */
export const VAULT_LEAK = `query_to_xml('SELECT token AS note FROM vault', true, false, '')::text`;

export const VAULT_POLICIES: PolicyConfig[] = [
  {
    id: 'masked-people',
    subjects: { groups: ['analysts'] },
    connections: ['app'],
    rules: [{ id: 'analysts-all-masked', effect: 'allow', match: {}, mask: true }],
  },
  {
    id: 'dba',
    subjects: { groups: ['dba'] },
    connections: ['app'],
    rules: [{ id: 'dba-all', effect: 'allow', match: {} }],
  },
];

/** The gateway, the `vault` table holding VAULT_SECRET under its column rule, and `moreSql` after it. */
export function startVaultGateway(moreSql = ''): Promise<TestGateway> {
  return startTestGateway({
    superUrl: inject('pgUrl'),
    policies: VAULT_POLICIES,
    setupSql: `
      CREATE TABLE vault (id int PRIMARY KEY, token text NOT NULL);
      INSERT INTO vault VALUES (1, '${VAULT_SECRET}');
      ${moreSql}`,
    extra: {
      masking: { columns: [{ column: 'public.vault.token', style: 'redact', tag: 'vault_token' }] },
    },
  });
}

/** Runs `f` with a connected client of `subject` in `groups` (notices ignored), and ends it. */
export async function asPrincipal<T>(
  gw: TestGateway,
  groups: string[],
  subject: string,
  f: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const c = gw.client(await gw.token({ subject, groups }));
  c.on('notice', () => undefined);
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/** The error `sql` fails with; throws when it runs. */
export async function refusal(c: pg.Client, sql: string): Promise<{ code?: string; message: string }> {
  try {
    await c.query(sql);
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { ...(err.code !== undefined ? { code: err.code } : {}), message: err.message };
  }
  throw new Error(`expected ${sql} to be refused`);
}
