// A Close of a prepared statement that the server skips (an error earlier in the same batch makes
// it discard messages until Sync) leaves the statement upstream. Gatehouse dropped it from its model
// as it forwarded the Close, so the client could Parse the same name again through the protocol
// (upstream under Gatehouse's own name), and SQL `EXECUTE name` was then decided and masked as the
// protocol statement while the server ran the SQL statement still held under that name
// (docs/security.md, class 132). Differential: the same bytes straight to PostgreSQL 18.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { BackendCode, decodeDataRow, decodeErrorFields, type Frame } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

/** A value no content detector recognises: only the column rule masks it. */
const SECRET = 'swordfish-hunter2';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: `
      CREATE TABLE cards (id int PRIMARY KEY, holder text, number text);
      INSERT INTO cards SELECT g, 'holder ' || g, '${SECRET}' FROM generate_series(1, 3) g;`,
    extra: { masking: { columns: [{ column: 'cards.number', tag: 'card' }] } },
  });
});
afterAll(async () => gw?.stop());

const agentToken = () => gw.token({ subject: 'claude-close', groups: ['ai-agents'], agent: true });

/** Each frame as a short string: data rows' cells, errors' SQLSTATE, other frames' type. */
const shown = (frames: Frame[]) =>
  frames
    .filter((f) => f.type !== BackendCode.RowDescription)
    .map((f) =>
      f.type === BackendCode.DataRow
        ? decodeDataRow(f.body)
            .map((x) => x?.toString())
            .join('|')
        : f.type === BackendCode.ErrorResponse
          ? `E${decodeErrorFields(f.body).C}`
          : String.fromCharCode(f.type),
    );

/** The sequence: an SQL statement, its Close skipped after an error, a protocol Parse of its name, EXECUTE. */
async function scenario(c: RawPgClient, sameBatch: boolean): Promise<string[][]> {
  const seen: string[][] = [];
  c.send(msg.query("PREPARE p AS SELECT number || '' AS n FROM cards ORDER BY id LIMIT 1"));
  seen.push(shown(await c.ready()));
  const reparse = [msg.parse('p', "SELECT 'x' AS n")];
  c.send(
    msg.parse('', 'SELECT 1/0'),
    msg.bind('', ''),
    msg.execute('', 0),
    msg.close('S', 'p'),
    ...(sameBatch ? reparse : []),
    msg.sync(),
  );
  seen.push(shown(await c.ready()));
  c.send(...reparse, msg.sync());
  seen.push(shown(await c.ready()));
  c.send(msg.query('EXECUTE p'));
  seen.push(shown(await c.ready()));
  return seen;
}

describe('class 132: a Close the server skipped', () => {
  it('PostgreSQL keeps the statement: the name stays taken, and EXECUTE runs it', async () => {
    const c = await RawPgClient.direct(gw.directUrl);
    try {
      const seen = await scenario(c, false);
      expect(seen[1]).toEqual(['1', 'E22012', 'Z']);
      expect(seen[2]).toEqual(['E42P05', 'Z']);
      expect(seen[3]).toEqual([SECRET, 'C', 'Z']);
    } finally {
      c.close();
    }
  });

  it('through Gatehouse the statement stays in the model too: the name is taken, EXECUTE runs it masked', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    try {
      const seen = await scenario(c, false);
      expect(seen[1]).toEqual(['1', 'E22012', 'Z']);
      // Before the fix: ParseComplete, and EXECUTE p returned the secret in clear.
      expect(seen[2]).toEqual(['E42P05', 'Z']);
      expect(seen[3]).toEqual(['[REDACTED:card]', 'C', 'Z']);
    } finally {
      c.close();
    }
  });

  it('SQL EXECUTE never runs a name Gatehouse resolved to a protocol statement', async () => {
    // The Parse of the name skipped in the same batch leaves the model without the name while the
    // server still holds the SQL statement under it; the next Parse of the name is then taken.
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    try {
      const seen = await scenario(c, true);
      expect(seen.flat().join()).not.toContain(SECRET);
      expect(seen[3]?.[0]).toBe('E42501');
    } finally {
      c.close();
    }
  });
});
