// A database whose encoding is not UTF-8 reads identifiers otherwise than the parser: it truncates
// a name longer than 63 bytes in its own encoding (LATIN1: one byte a character), where the parser
// cuts the UTF-8 bytes. Two SQL prepared statements the gateway took for one were two upstream, so
// `EXECUTE` of the first was decided, recorded and masked as the second while the server ran the
// first (docs/security.md, class 180). Differential: the same statements straight to PostgreSQL.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { BackendCode, decodeDataRow, decodeErrorFields, type Frame } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

/** A value no content detector recognises: only the column rule masks it. */
const SECRET = 'swordfish-hunter2';
/** 64 bytes in UTF-8 (the parser truncates it to 31 characters), 32 in LATIN1 (kept whole). */
const LONG = `"${'é'.repeat(32)}"`;
/** 62 bytes in UTF-8: the name the parser makes of LONG. */
const SHORT = `"${'é'.repeat(31)}"`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    databaseOptions: `ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`,
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: `
      CREATE TABLE cards (id int PRIMARY KEY, holder text, number text);
      INSERT INTO cards SELECT g, 'holder ' || g, '${SECRET}' FROM generate_series(1, 3) g;`,
    extra: { masking: { columns: [{ column: 'cards.number', tag: 'card' }] } },
  });
}, 60_000);
afterAll(async () => gw?.stop());

const agentToken = () => gw.token({ subject: 'claude-latin1', groups: ['ai-agents'], agent: true });

/** Each frame as a short string: data rows' cells, errors' SQLSTATE, other frames' type. */
const shown = (frames: Frame[]) =>
  frames
    .filter((f) => f.type !== BackendCode.RowDescription && f.type !== BackendCode.NoticeResponse)
    .map((f) =>
      f.type === BackendCode.DataRow
        ? decodeDataRow(f.body)
            .map((x) => x?.toString())
            .join('|')
        : f.type === BackendCode.ErrorResponse
          ? `E${decodeErrorFields(f.body).C}`
          : String.fromCharCode(f.type),
    );

async function run(c: RawPgClient, ...texts: string[]): Promise<string[][]> {
  const seen: string[][] = [];
  for (const text of texts) {
    c.send(msg.query(text));
    seen.push(shown(await c.ready()));
  }
  return seen;
}

const ATTACK = [
  `PREPARE ${LONG} AS SELECT number || '' AS n FROM cards ORDER BY id LIMIT 1`,
  `PREPARE ${SHORT} AS SELECT 'harmless'::text AS n`,
  `EXECUTE ${LONG}`,
];

describe('class 180: identifiers in a database encoding other than UTF-8', () => {
  it('PostgreSQL keeps the two names apart in a LATIN1 database', async () => {
    const c = await RawPgClient.direct(gw.directUrl);
    try {
      const seen = await run(c, ...ATTACK);
      expect(seen[2]).toEqual([SECRET, 'C', 'Z']);
    } finally {
      c.close();
    }
  });

  it('through Gatehouse, a name the server may cut otherwise is refused, and nothing comes back in clear', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    try {
      const seen = await run(c, ...ATTACK);
      // Before the fix: the second PREPARE replaced the first in Gatehouse's model, and EXECUTE
      // returned the card number in clear, decided and masked as SELECT 'harmless'.
      expect(seen.flat().join()).not.toContain(SECRET);
      expect(seen[0]).toEqual(['E0A000', 'Z']);
      expect(seen[1]).toEqual(['C', 'Z']);
      expect(seen[2]).toEqual(['E0A000', 'Z']);
      c.send(msg.parse('', `SELECT 1 AS ${LONG}`), msg.bind('', ''), msg.execute('', 0), msg.sync());
      expect(shown(await c.ready())).toEqual(['E0A000', 'Z']);
      // Unicode escapes are counted as what they may make.
      const escaped = `U&"${'\\00e9'.repeat(32)}"`;
      expect((await run(c, `SELECT 1 AS ${escaped}`))[0]).toEqual(['E0A000', 'Z']);
    } finally {
      c.close();
    }
  });

  it('short non-ASCII names, quoted or without capitals, work as before', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    try {
      const seen = await run(
        c,
        `PREPARE ${SHORT} AS SELECT number AS n FROM cards ORDER BY id LIMIT 1`,
        `EXECUTE ${SHORT}`,
        `SELECT 1 AS größe`,
        `SELECT 1 AS "Größe"`,
      );
      expect(seen[0]).toEqual(['C', 'Z']);
      expect(seen[1]).toEqual(['[REDACTED:card]', 'C', 'Z']);
      expect(seen[2]).toEqual(['1', 'C', 'Z']);
      expect(seen[3]).toEqual(['1', 'C', 'Z']);
      // An unquoted capital the server's locale may fold otherwise than the parser.
      expect((await run(c, `SELECT 1 AS Äpfel`))[0]).toEqual(['E0A000', 'Z']);
    } finally {
      c.close();
    }
  });

  it('a long statement holding non-ASCII characters is refused rather than scanned on the event loop', async () => {
    const c = await RawPgClient.open(gw.port, gw.connection, await agentToken());
    try {
      // 20,000 short words: scanning such a text costs tens of milliseconds a KiB of the event loop.
      const long = `SELECT ${Array.from({ length: 10_000 }, () => "'é'").join(', ')}`;
      expect((await run(c, long))[0]).toEqual(['E0A000', 'Z']);
      // The same values as bind parameters are not statement text: they run.
      c.send(
        msg.parse('', 'SELECT length($1::text) AS n'),
        msg.bind('', '', ['é'.repeat(50_000)]),
        msg.execute('', 0),
        msg.sync(),
      );
      expect(shown(await c.ready())).toEqual(['1', '2', '50000', 'C', 'Z']);
    } finally {
      c.close();
    }
    // A long ASCII statement is not scanned at all (a person: an agent's statement this long is
    // refused by column lineage, whose bound is 16 Ki characters too).
    const dba = await RawPgClient.open(
      gw.port,
      gw.connection,
      await gw.token({ subject: 'dba-latin1', groups: ['dba'] }),
    );
    try {
      expect((await run(dba, `SELECT length('${'x'.repeat(40_000)}') AS n`))[0]).toEqual(['40000', 'C', 'Z']);
    } finally {
      dba.close();
    }
  });
});
