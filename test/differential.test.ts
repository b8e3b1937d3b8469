// Differential tests (issue 11 §9): PostgreSQL is the judge of what a text does. Each text is read by
// Gatehouse's classifier and decided for the demo agent, and run, as the same bytes under the same
// pinned settings, on the test PostgreSQL; the harness (testkit/differential.ts) compares the
// statements the server ran and what it wrote with what Gatehouse classified and decided.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ATTACKS,
  BENIGN_READS,
  ESCAPE,
  HIDDEN_CODE_READS,
  LEXER_CASES,
} from './testkit/differential-corpus.js';
import { DifferentialHarness, printable, type DifferentialResult } from './testkit/differential.js';
import { lexerSoup, SETTING_MOVES, trickyBytes, trickySelect } from './testkit/lexer-arbitraries.js';

let h: DifferentialHarness;

beforeAll(async () => {
  h = await DifferentialHarness.start(inject('pgUrl'));
});
afterAll(async () => h?.stop());

/** A failure message that shows both sides. */
function explain(r: DifferentialResult): string {
  const st = r.gatehouse.classification?.statements.map((s) => `${s.kind} [${s.categories.join(',')}]`);
  return [
    `text: ${JSON.stringify(r.text)}`,
    `gatehouse: ${r.gatehouse.bytesRefusal ?? JSON.stringify(st)} forwarded=${r.gatehouse.forwarded}`,
    `server: tags=${JSON.stringify(r.server.tags)} error=${r.server.error?.message ?? '-'}`,
    ...r.discrepancies.map((d) => `  ${d.kind}: ${d.detail}`),
  ].join('\n');
}

async function agrees(text: string | Buffer): Promise<DifferentialResult> {
  const r = await h.run(text);
  expect(r.discrepancies, explain(r)).toEqual([]);
  return r;
}

describe('the harness sees what it must (controls)', () => {
  it('observes a statement count, a write and a schema change', async () => {
    const r = await h.run('SELECT 1; DELETE FROM canary WHERE id = 1; DROP TABLE t');
    expect(r.server.tags).toEqual(['SELECT 1', 'DELETE 1', 'DROP TABLE']);
    expect(r.server.xidAssigned).toBe(true);
    expect(r.server.dml).toContainEqual({ table: 'public.canary', op: 'DELETE' });
    expect(r.server.ddl.some((d) => d.tag === 'DROP TABLE' && d.identity === 'public.t')).toBe(true);
    expect(r.discrepancies).toEqual([]);
    // Everything was rolled back: the next text sees the fixture intact.
    expect((await h.run('SELECT * FROM t')).server.tags).toEqual(['SELECT 10']);
  });

  it('without the pin, the class 1 text splits on the server and the harness says so', async () => {
    const [, split] = await h.session(
      [
        "SELECT set_config('standard_conforming_strings', 'off', false)",
        "SELECT 'x\\', ' ; DROP TABLE canary; -- '",
      ],
      { onlyForwarded: false },
    );
    expect(split!.server.tags).toEqual(['SELECT 1', 'DROP TABLE']);
    expect(split!.discrepancies.map((d) => d.kind)).toEqual(
      expect.arrayContaining(['statement-count', 'write-on-read-only']),
    );
  });

  it('a text that ends the transaction is seen, and the fixture is rebuilt', async () => {
    const before = h.server.restores;
    const r = await agrees(ESCAPE);
    expect(r.server.committed).toBe(true);
    expect(h.server.restores).toBe(before + 1);
    expect((await h.run('SELECT * FROM canary')).server.tags).toEqual(['SELECT 3']);
  });

  it('statements that run inside user code are named (pg_stat_statements, track = all)', async () => {
    if (!h.server.statementsObserved) return; // PG_TEST_URL without the library preloaded
    const r = await h.run('DO $$ BEGIN DELETE FROM canary WHERE id = 2; END $$');
    expect(r.server.nested.join('\n')).toMatch(/DELETE FROM canary/);
  });
});

describe('corpus: Gatehouse and PostgreSQL agree', () => {
  it.each(BENIGN_READS.map((t) => [t]))('benign read, forwarded and writes nothing: %s', async (text) => {
    const r = await agrees(text);
    expect(r.gatehouse.forwarded, explain(r)).toBe(true);
    expect(r.gatehouse.readOnly, explain(r)).toBe(true);
  });

  it.each(ATTACKS.map((e) => [printable(e.text), e]))('%s', async (_name, entry) => {
    await agrees(entry.text);
  });

  it.each(LEXER_CASES.map((e) => [printable(e.text), e]))('lexer: %s', async (_name, entry) => {
    await agrees(entry.text);
  });

  it('sessions: what Gatehouse forwards of a settings change and a text that depends on it', async () => {
    const split = "SELECT 'x\\', ' ; DROP TABLE canary; -- '";
    for (const first of [...SETTING_MOVES, 'SET transform_null_equals = on']) {
      const runs = await h.session([first, split, "UPDATE api_keys SET service = 'x' WHERE key_id = NULL"]);
      for (const r of runs) expect(r.discrepancies, `${first}\n${explain(r)}`).toEqual([]);
    }
  });
});

describe('user code a SELECT runs without naming it: the classifier sees a read', () => {
  it.each(HIDDEN_CODE_READS.map((e) => [printable(e.text), e]))('%s', async (_name, entry) => {
    const r = await h.run(entry.text);
    // The classifier cannot see the code: it is a read, and on a read-write transaction the server
    // deletes rows. The engine runs agents' reads read-only (test/read-only-reads.test.ts).
    expect(r.gatehouse.readOnly, explain(r)).toBe(true);
    expect(r.server.dml, explain(r)).toContainEqual({ table: 'public.canary', op: 'DELETE' });
    expect(r.discrepancies.map((d) => d.kind)).toContain('write-on-read-only');
  });
});

describe("the demo's least-privilege agent role (issue 11 §8) against reads that run hidden code", () => {
  const asAgentRole = async (text: string | Buffer) =>
    (await h.session([`SET ROLE ${h.server.agentRole}`, text], { onlyForwarded: false }))[1]!;

  it.each(HIDDEN_CODE_READS.map((e) => [printable(e.text), e]))('does not stop: %s', async (_n, e) => {
    // The role may DELETE rows, and the hidden code runs as the caller.
    const r = await asAgentRole(e.text);
    expect(r.server.dml, explain(r)).toContainEqual({ table: 'public.canary', op: 'DELETE' });
  });

  it('stops a DROP', async () => {
    const r = await asAgentRole('DROP TABLE canary');
    expect(r.server.error?.code, explain(r)).toBe('42501');
  });
});

describe('the answer, on the server: a read-only transaction', () => {
  // What the engine does for agents (read-only-reads.ts): in a READ ONLY transaction PostgreSQL refuses
  // any write that hidden code attempts (25006), while every everyday read still answers.
  const readOnly = async (text: string | Buffer) =>
    (await h.session(['SET TRANSACTION READ ONLY', text], { onlyForwarded: false }))[1]!;

  it.each(HIDDEN_CODE_READS.map((e) => [printable(e.text), e]))(
    'refuses the hidden write: %s',
    async (_n, e) => {
      const r = await readOnly(e.text);
      expect(r.server.error?.code, explain(r)).toBe('25006');
      expect(r.server.dml).toEqual([]);
    },
  );

  it('every benign read still answers', async () => {
    for (const text of BENIGN_READS) {
      const r = await readOnly(text);
      expect(r.server.error, explain(r)).toBeUndefined();
    }
  });
});

describe('properties over lexer-tricky text', () => {
  // What each property checks is `compare`: the server ran exactly the statements Gatehouse
  // classified (same number, same types) or refused the text; and nothing Gatehouse would forward
  // for the agent as read-only wrote anything (no transaction id, no schema change, no row written).
  const property = (arb: fc.Arbitrary<string | Buffer>, numRuns: number) =>
    fc.assert(
      fc.asyncProperty(arb, async (text) => {
        const r = await h.run(text);
        if (r.discrepancies.length > 0) throw new Error(explain(r));
      }),
      { numRuns },
    );

  it('SELECTs around quotes, escapes, dollar quotes, comments and multibyte text', async () => {
    await property(trickySelect, 100);
  });

  it('soup of the same pieces', async () => {
    await property(lexerSoup, 60);
  });

  it('hostile bytes (invalid UTF-8, 0x5C trailing bytes) spliced anywhere', async () => {
    await property(trickyBytes, 50);
  });

  it('a settings change, then tricky text, in one session (only what Gatehouse forwards)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SETTING_MOVES), trickySelect, async (move, text) => {
        for (const r of await h.session([move, text]))
          if (r.discrepancies.length > 0) throw new Error(`after ${move}\n${explain(r)}`);
      }),
      { numRuns: 40 },
    );
  });
});
