// A use of a prepared statement or cursor by name (EXECUTE, FETCH, a Bind of `EXECUTE p`) read while
// a statement that replaces that name was forwarded but not yet answered: Gatehouse's model changes
// only on the upstream's confirmation, so the use was decided, recorded and masked as what the name
// held before, while PostgreSQL ran the replacement (docs/security.md, class 167). Each case must come
// back decided on the new statement (masked) or refused, never with the secrets in clear. The demo
// agent policy and the demo's column rules, raw protocol bytes, against a real PostgreSQL.

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { BackendCode, decodeDataRow, decodeErrorFields, type Frame } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');

/** The demo's column rules (src/demo/demo-config.ts). */
const MASKING = {
  style: 'redact',
  columns: [
    { column: 'public.customers.card_number', style: 'partial', tag: 'card_number' },
    { column: 'public.customers.email', style: 'hash', tag: 'customer_email' },
    { column: 'public.customers.phone', style: 'redact', tag: 'customer_phone' },
    { column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' },
  ],
};

const REPLACEMENT = 'SELECT upper(secret) AS x FROM api_keys';

let gw: TestGateway;
let secrets: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: SEED,
    extra: { masking: MASKING },
  });
  const direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  secrets = (await direct.query<{ s: string }>('SELECT secret AS s FROM api_keys')).rows.map((r) => r.s);
  await direct.end();
  expect(secrets).toHaveLength(4);
});
afterAll(async () => gw?.stop());

async function agent(): Promise<RawPgClient> {
  return RawPgClient.open(gw.port, gw.connection, await gw.token({ subject: 'agent-stale', agent: true }));
}

/** The data rows' first cells, and each error as `E<SQLSTATE>`. */
function seen(frames: readonly Frame[]): string[] {
  const out: string[] = [];
  for (const f of frames) {
    if (f.type === BackendCode.DataRow) out.push(String(decodeDataRow(f.body)[0]));
    else if (f.type === BackendCode.ErrorResponse) out.push(`E${decodeErrorFields(f.body).C}`);
  }
  return out;
}

function expectNoSecret(frames: readonly Frame[], label: string): void {
  const all = frames
    .map((f) => f.body.toString('utf8'))
    .join('\n')
    .toUpperCase();
  for (const s of secrets) {
    expect(all, label).not.toContain(s.toUpperCase());
    expect(all, label).not.toContain(s.slice(4, 16).toUpperCase());
  }
}

describe('a use pipelined behind an unanswered replacement of its name', () => {
  it('EXECUTE after a Query that DEALLOCATEs and PREPAREs the name again waits for it: masked', async () => {
    const c = await agent();
    try {
      c.send(msg.query("PREPARE cq AS SELECT 'harmless' AS x"));
      await c.ready();
      // One write: the replacement, and its use.
      c.send(
        msg.query(`DEALLOCATE cq; PREPARE cq AS ${REPLACEMENT}; SELECT pg_sleep(0.3)`),
        msg.query('EXECUTE cq'),
      );
      const first = await c.ready();
      const second = await c.ready();
      expectNoSecret([...first, ...second], 'EXECUTE cq');
      // Decided on what the name holds once the replacement is answered.
      expect(seen(second)).toEqual(Array(4).fill('[REDACTED:api_secret]'));
    } finally {
      c.close();
    }
  });

  it('FETCH after a Query that CLOSEs and DECLAREs the cursor again waits for it: masked', async () => {
    const c = await agent();
    try {
      c.send(msg.query("DECLARE cc CURSOR WITH HOLD FOR SELECT 'harmless' AS x FROM generate_series(1, 4)"));
      await c.ready();
      c.send(
        msg.query(`CLOSE cc; DECLARE cc CURSOR WITH HOLD FOR ${REPLACEMENT}; SELECT pg_sleep(0.3)`),
        msg.query('FETCH ALL FROM cc'),
      );
      const first = await c.ready();
      const second = await c.ready();
      expectNoSecret([...first, ...second], 'FETCH cc');
      expect(seen(second)).toEqual(Array(4).fill('[REDACTED:api_secret]'));
    } finally {
      c.close();
    }
  });

  it('Parse/Bind/Execute of EXECUTE after the Query that replaced the name waits for it: masked', async () => {
    const c = await agent();
    try {
      c.send(msg.query("PREPARE eq AS SELECT 'harmless' AS x"));
      await c.ready();
      c.send(
        msg.query(`DEALLOCATE eq; PREPARE eq AS ${REPLACEMENT}; SELECT pg_sleep(0.3)`),
        msg.parse('', 'EXECUTE eq'),
        msg.bind('', ''),
        msg.describePortal(''),
        msg.execute('', 0),
        msg.sync(),
      );
      const first = await c.ready();
      const second = await c.ready();
      expectNoSecret([...first, ...second], 'extended EXECUTE eq');
      expect(seen(second)).toEqual(Array(4).fill('[REDACTED:api_secret]'));
    } finally {
      c.close();
    }
  });

  it('a Bind of a name prepared in SQL, after the Query that replaced it, waits for it: masked', async () => {
    // A protocol Bind reaches a statement prepared in SQL by its own name upstream.
    const c = await agent();
    try {
      c.send(msg.query("PREPARE sb AS SELECT 'harmless' AS x"));
      await c.ready();
      c.send(
        msg.query(`DEALLOCATE sb; PREPARE sb AS ${REPLACEMENT}; SELECT pg_sleep(0.3)`),
        msg.bind('', 'sb'),
        msg.describePortal(''),
        msg.execute('', 0),
        msg.sync(),
      );
      const first = await c.ready();
      const second = await c.ready();
      expectNoSecret([...first, ...second], 'Bind of sb');
      expect(seen(second)).toEqual(Array(4).fill('[REDACTED:api_secret]'));
      // In one pipeline without Sync it is refused.
      c.send(
        msg.parse('', 'DEALLOCATE sb'),
        msg.bind('', ''),
        msg.execute('', 0),
        msg.parse('', "PREPARE sb AS SELECT 'harmless' AS x"),
        msg.bind('', ''),
        msg.execute('', 0),
        msg.bind('', 'sb'),
        msg.execute('', 0),
        msg.sync(),
      );
      const frames = await c.ready();
      const errors = frames
        .filter((f) => f.type === BackendCode.ErrorResponse)
        .map((f) => decodeErrorFields(f.body));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ C: '42501' });
      expect(errors[0]!['M']).toMatch(/Send Sync first/);
    } finally {
      c.close();
    }
  });

  it('a Parse of a name a Query still running frees or takes is answered as the server answers it', async () => {
    const scenario = async (c: RawPgClient) => {
      c.send(msg.query("PREPARE nx AS SELECT 'harmless' AS x"));
      await c.ready();
      c.send(msg.query('DEALLOCATE nx; SELECT pg_sleep(0.3)'), msg.parse('nx', 'SELECT 1 AS x'), msg.sync());
      const freed = [...(await c.ready()), ...(await c.ready())];
      c.send(
        msg.query('PREPARE ny AS SELECT 1 AS x; SELECT pg_sleep(0.3)'),
        msg.parse('ny', 'SELECT 2 AS x'),
        msg.sync(),
      );
      const taken = [...(await c.ready()), ...(await c.ready())];
      return [seen(freed), seen(taken)];
    };
    const direct = await RawPgClient.direct(gw.directUrl);
    let expected: string[][];
    try {
      expected = await scenario(direct);
    } finally {
      direct.close();
    }
    // The name is free after the DEALLOCATE and taken after the PREPARE, as the server finds it.
    expect(expected[0]).not.toContain('E42P05');
    expect(expected[1]).toContain('E42P05');
    const c = await agent();
    try {
      expect(await scenario(c)).toEqual(expected);
    } finally {
      c.close();
    }
  });

  it('inside one pipeline without Sync, where the answer cannot come, the use is refused', async () => {
    const c = await agent();
    try {
      c.send(msg.query("PREPARE pq AS SELECT 'harmless' AS x"));
      await c.ready();
      c.send(
        msg.parse('', 'DEALLOCATE pq'),
        msg.bind('', ''),
        msg.execute('', 0),
        msg.parse('', `PREPARE pq AS ${REPLACEMENT}`),
        msg.bind('', ''),
        msg.execute('', 0),
        msg.parse('', 'EXECUTE pq'),
        msg.bind('', ''),
        msg.describePortal(''),
        msg.execute('', 0),
        msg.sync(),
      );
      const frames = await c.ready();
      expectNoSecret(frames, 'pipelined EXECUTE pq');
      const errors = frames
        .filter((f) => f.type === BackendCode.ErrorResponse)
        .map((f) => decodeErrorFields(f.body));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ C: '42501' });
      expect(errors[0]!['D']).toMatch(/session-object-in-flight/);
      expect(errors[0]!['M']).toMatch(/Send Sync first/);
      // Once the batch is answered, the name holds the replacement, and EXECUTE is masked by it.
      c.send(msg.query('EXECUTE pq'));
      const after = await c.ready();
      expectNoSecret(after, 'EXECUTE pq after Sync');
      expect(seen(after)).toEqual(Array(4).fill('[REDACTED:api_secret]'));
    } finally {
      c.close();
    }
  });

  it('a portal of EXECUTE bound before the name was replaced does not run the replacement', async () => {
    // PostgreSQL looks the name up when the portal runs, not when it is bound: straight to the
    // server, the portal bound to `EXECUTE bq` runs what bq holds at its Execute.
    const scenario = async (c: RawPgClient) => {
      c.send(msg.query("PREPARE bq AS SELECT 'harmless' AS x"));
      await c.ready();
      c.send(msg.query('BEGIN'));
      await c.ready();
      c.send(msg.parse('bs', 'EXECUTE bq'), msg.bind('bp', 'bs'), msg.sync());
      await c.ready();
      c.send(msg.query(`DEALLOCATE bq; PREPARE bq AS ${REPLACEMENT}`));
      await c.ready();
      c.send(msg.execute('bp', 0), msg.sync());
      return c.ready();
    };
    const direct = await RawPgClient.direct(gw.directUrl);
    try {
      expect(seen(await scenario(direct))).toEqual(secrets.map((s) => s.toUpperCase()));
    } finally {
      direct.close();
    }
    const c = await agent();
    try {
      const frames = await scenario(c);
      expectNoSecret(frames, 'Execute of bp');
      expect(seen(frames)).toEqual(['E55000']);
      expect(
        frames.filter((f) => f.type === BackendCode.ErrorResponse).map((f) => decodeErrorFields(f.body).M),
      ).toEqual([expect.stringMatching(/close it and bind it again/)]);
    } finally {
      c.close();
    }
  });
});
