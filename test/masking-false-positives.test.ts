// False positives through the wire (issue 4 §6): with masking on for the agent, pgbench's own data and
// a corpus of ordinary values (ids, dates, prices, hashes, versions, URLs, logs) arrive exactly as a
// direct connection returns them, in text and binary format, and nothing is counted as masked.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BENIGN_CORPUS } from '../src/masking/benign-corpus.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { hasCommand, run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
let agent: pg.Client;
let direct: pg.Client;

const ORDINARY = `
  CREATE TABLE ordinary (id bigint PRIMARY KEY, label text, amount numeric(12,2), at timestamptz, ref uuid, ok bool, tags text[], doc jsonb);
  INSERT INTO ordinary
  SELECT g, 'order ' || g || ' for customer ' || (g * 7919 % 1000), (g * 1234.5)::numeric(12,2),
         timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour', md5(g::text)::uuid, g % 2 = 0,
         ARRAY['v1.' || g || '.0', 'sha-' || substr(md5(g::text), 1, 12)],
         jsonb_build_object('id', g, 'sku', 'SKU-' || lpad(g::text, 8, '0'), 'qty', g % 5, 'version', '2.4.' || g)
  FROM generate_series(1, 2000) g;
  CREATE TABLE corpus (id int PRIMARY KEY, v text);
`;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: ORDINARY,
    extra: { masking: { columns: [{ column: 'customers.card_number' }] } },
  });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  for (let i = 0; i < BENIGN_CORPUS.length; i += 200) {
    const chunk = BENIGN_CORPUS.slice(i, i + 200);
    await direct.query(`INSERT INTO corpus SELECT * FROM unnest($1::int[], $2::text[])`, [
      chunk.map((_, j) => i + j),
      chunk,
    ]);
  }
  agent = gw.client(await gw.token({ subject: 'claude-fp', groups: ['ai-agents'], agent: true }));
  await agent.connect();
}, 120_000);
afterAll(async () => {
  await agent?.end();
  await direct?.end();
  await gw?.stop();
});

async function same(sql: string, binary = false): Promise<number> {
  const config = { text: sql, binary } as pg.QueryConfig;
  const [viaGateway, viaDirect] = await Promise.all([agent.query(config), direct.query(config)]);
  expect(viaGateway.rows).toEqual(viaDirect.rows);
  return viaGateway.rows.length;
}

describe('ordinary data passes masking untouched', () => {
  it('the benign corpus, every value', async () => {
    expect(await same('SELECT id, v FROM corpus ORDER BY id')).toBe(BENIGN_CORPUS.length);
    expect(await same('SELECT id, v FROM corpus ORDER BY id', true)).toBe(BENIGN_CORPUS.length);
  });

  it('ordinary rows of many types, text and binary', async () => {
    expect(await same('SELECT * FROM ordinary ORDER BY id')).toBe(2000);
    expect(await same('SELECT * FROM ordinary ORDER BY id', true)).toBe(2000);
    expect(await same('SELECT row_to_json(o) AS j, o AS whole FROM ordinary o ORDER BY id')).toBe(2000);
  });

  it.skipIf(!hasCommand('pgbench'))(
    'pgbench data (pgbench -i), and nothing is recorded as masked',
    async () => {
      const init = await run('pgbench', ['-i', '-s', '1', '-q', gw.directUrl], { timeoutMs: 120_000 });
      expect(init.code).toBe(0);
      expect(await same('SELECT * FROM pgbench_accounts ORDER BY aid')).toBe(100_000);
      expect(
        await same(
          'SELECT * FROM pgbench_branches, pgbench_tellers WHERE pgbench_tellers.bid = pgbench_branches.bid ORDER BY tid',
        ),
      ).toBe(10);
      await new Promise((r) => setTimeout(r, 300));
      const [session] = await gw.gateway.store.listSessions({ subject: 'claude-fp' });
      const detail = await gw.gateway.store.getSession(session!.id);
      const masked = detail!.statements.filter((s) => s.result?.masked !== undefined);
      expect(masked.map((s) => [s.text, s.result?.masked])).toEqual([]);
    },
    120_000,
  );
});
