// A named portal keeps its masker until it closes, and the masker kept the whole action, with the
// Bind's parameters; and the notes a session keeps for approval requests (its uncommitted writes and
// the statements that gave it temporary tables) kept whole statement texts. In a transaction block a client may hold `maxPortals` (1000) portals, each bound
// with parameters up to `maxMessageBytes` (64 MiB): 60 portals of 8 MiB made the gateway hold 483 MiB,
// and 1000 would have ended it for every session (docs/security.md, class 183). The masker now keeps
// only the statement.

import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { BackendCode, decodeDataRow, type Frame } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: `
      CREATE TABLE cards (id int PRIMARY KEY, number text);
      INSERT INTO cards VALUES (1, 'swordfish-hunter2');`,
    extra: { masking: { columns: [{ column: 'cards.number', tag: 'card' }] } },
  });
}, 60_000);
afterAll(async () => gw?.stop());

const cells = (frames: Frame[]) =>
  frames
    .filter((f) => f.type === BackendCode.DataRow)
    .map((f) =>
      decodeDataRow(f.body)
        .map((x) => x?.toString())
        .join('|'),
    );

/** Bytes the process holds (heap and buffers) after a full collection. */
function held(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * MiB the process holds above `before`, at its lowest within five seconds: what the record still has
 * in hand (a fold waits up to 250 ms) or what another file in the same worker frees late is not
 * counted, while what the session keeps (until its block ends) still is.
 */
async function grownMiB(before: number, under: number): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 25; i++) {
    least = Math.min(least, (held() - before) / 2 ** 20);
    if (least < under) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return least;
}

describe('class 183: what an open portal holds', () => {
  it('portals bound with large parameters do not keep them', async () => {
    const c = await RawPgClient.open(
      gw.port,
      gw.connection,
      await gw.token({ subject: 'claude-portals', groups: ['ai-agents'], agent: true }),
    );
    try {
      c.send(msg.query('BEGIN'));
      await c.ready();
      c.send(msg.parse('s', 'SELECT length($1::text) AS n, number FROM cards WHERE id = 1'), msg.sync());
      await c.ready();
      const before = held();
      const big = 'x'.repeat(4 << 20);
      for (let i = 0; i < 60; i++) {
        c.send(msg.bind(`p${i}`, 's', [big]), msg.flush());
        if (i % 10 === 9) {
          c.send(msg.sync());
          await c.ready();
        }
      }
      // Before the fix: about 240 MiB more (every parameter, 60 × 4 MiB).
      expect(await grownMiB(before, 80)).toBeLessThan(80);
      // The portals still run, masked by their statement.
      c.send(msg.execute('p0', 0), msg.execute('p59', 0), msg.sync());
      expect(cells(await c.ready())).toEqual([`${4 << 20}|[REDACTED:card]`, `${4 << 20}|[REDACTED:card]`]);
    } finally {
      c.close();
    }
  });

  it('the notes kept for approval requests hold a clip of each statement, not its whole text', async () => {
    const c = await RawPgClient.open(
      gw.port,
      gw.connection,
      await gw.token({ subject: 'dba-notes', groups: ['dba'] }),
    );
    try {
      const literal = `'${'y'.repeat(6 << 20)}'`;
      c.send(msg.query('BEGIN'));
      await c.ready();
      const before = held();
      for (let i = 0; i < 5; i++) {
        c.send(msg.query(`INSERT INTO cards VALUES (${100 + i}, length(${literal})::text)`));
        c.send(msg.query(`CREATE TEMP TABLE t${i} AS SELECT length(${literal}) AS n`));
      }
      for (let i = 0; i < 10; i++) {
        const frames = await c.ready();
        expect(frames.some((f) => f.type === BackendCode.ErrorResponse)).toBe(false);
      }
      // Before the fix: about 60 MiB more (ten texts of 6 MiB, kept until the block ends or DISCARD).
      expect(await grownMiB(before, 20)).toBeLessThan(20);
      c.send(msg.query('ROLLBACK'));
      await c.ready();
    } finally {
      c.close();
    }
  });
});
