// Fairness with the default limits, through the real wire (issue 11, class 7): a hundred agent
// sessions cannot lock a person out of the upstream, one agent's huge masked value neither holds
// the event loop nor reaches the client unmasked, and one client's long statement is not parsed on it.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPostgresClassifier } from '../src/sql/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { cpuTimed, watchLoopHold } from './testkit/loop-hold.js';

describe('fairness under the default limits', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: [
        {
          id: 'people',
          subjects: { groups: ['testers'] },
          connections: ['*'],
          rules: [{ id: 'allow-everything', effect: 'allow', match: {} }],
        },
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['*'],
          rules: [{ id: 'agents-read-masked', effect: 'allow', match: {}, mask: true }],
        },
      ],
    });
  });
  afterAll(async () => gw?.stop());

  it('with 100 agent sessions attempted, agents get at most what is theirs and a DBA still connects', async () => {
    const agents: pg.Client[] = [];
    const refusals: string[] = [];
    const tokens = await Promise.all(
      [0, 1, 2, 3, 4].map((i) => gw.token({ subject: `swarm-${i}`, agent: true, groups: [] })),
    );
    for (let i = 0; i < 100; i++) {
      const c = gw.client(tokens[i % 5]!);
      c.on('error', () => undefined);
      try {
        await c.connect();
        agents.push(c);
      } catch (e) {
        refusals.push(`${(e as pg.DatabaseError).code} ${(e as Error).message}`);
      }
    }
    // Defaults: 20 sessions per principal, 50 per connection of which 10 are kept for people.
    expect(agents).toHaveLength(40);
    expect(refusals).toHaveLength(60);
    for (const r of refusals) expect(r).toMatch(/^53300 /);
    expect(refusals.some((r) => /kept for people/.test(r))).toBe(true);

    const dba = gw.client(await gw.token({ subject: 'dba' }));
    await dba.connect();
    expect((await dba.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await dba.end();
    await Promise.all(agents.map((c) => c.end()));
  });

  it("one agent's huge masked value is withheld, and another session's SELECT 1 answers meanwhile", async () => {
    const agent = gw.client(await gw.token({ subject: 'big-reader', agent: true, groups: [] }));
    const other = gw.client(await gw.token({ subject: 'someone-else' }));
    await agent.connect();
    await other.connect();

    // Under the cap, content detectors still mask the value.
    const small = await agent.query(`SELECT repeat('a@b.co ', 1000) AS v`);
    expect(small.rows[0].v).not.toMatch(/a@b\.co/);

    // 28 MB of email addresses: scanning it would hold the event loop for seconds.
    let streaming = true;
    const big = agent.query(`SELECT repeat('a@b.co ', 4000000) AS v`).finally(() => (streaming = false));
    const latencies: number[] = [];
    await new Promise((r) => setTimeout(r, 20));
    while (streaming) {
      const t = performance.now();
      await other.query('SELECT 1');
      latencies.push(performance.now() - t);
    }
    const result = await big;
    const value = result.rows[0].v as string;
    expect(value).toMatch(/^\[WITHHELD: value larger than masking\.maxCellBytes \(131072 bytes\)\]$/);
    expect(latencies.length).toBeGreaterThan(0);
    // Scanned in one piece, 28 MB held the loop for several seconds; 1,080 ms was seen under load
    // (the collector over the test's own 28 MB strings, which share this process).
    expect(Math.max(...latencies)).toBeLessThan(2_000);

    // The record says it was withheld, and never holds the value.
    await agent.end();
    await other.end();
    const sessions = await gw.gateway.store.listSessions({ subject: 'big-reader', limit: 10 });
    const recorded = JSON.stringify(
      await Promise.all(sessions.map((s) => gw.gateway.store.getSession(s.id))),
    );
    expect(recorded).toContain('4000000');
    expect(recorded).not.toMatch(/a@b\.co a@b\.co/);
  });

  // Parsing is linear in the text but not cheap: a 7 MB IN list took 3–6 s to classify, and a
  // query message may hold 64 MiB. Classified on the event loop (which this in-process gateway
  // shares with the test), it held every other session for as long as the parse.
  it("one person's long statement is parsed off the event loop, and still decided and run", async () => {
    const long = `SELECT count(*) AS n FROM (VALUES (1)) v(x) WHERE x IN (${Array.from({ length: 250_000 }, (_, i) => i).join(',')})`;
    // What parsing it on the event loop holds the loop for, on this machine now.
    const parser = await createPostgresClassifier({ cacheSize: 0, templateCacheSize: 0 });
    const { value: parsed, ms: inline } = cpuTimed(() => parser.classify(long));
    expect(parsed.statements[0]?.kind).toBe('select');

    // A person (unmasked): a masked principal's statement this long is not traced for lineage, so
    // it is refused for agents (class 128), as test/masking-lineage.test.ts shows.
    const sender = gw.client(await gw.token({ subject: 'long-sender' }));
    const other = gw.client(await gw.token({ subject: 'someone-else' }));
    await sender.connect();
    await other.connect();
    await other.query('SELECT 1');
    // Both in the loop's own CPU time (testkit/loop-hold.ts): time a loaded machine kept this process
    // off the CPU is not the gateway's.
    const hold = watchLoopHold();
    let running = true;
    const sent = sender.query(long).finally(() => (running = false));
    sent.catch(() => undefined);
    let answered = 0;
    while (running) {
      await other.query('SELECT 1');
      answered++;
    }
    const held = hold.stop();
    const result = await sent.then(
      (r) => r.rows[0] as { n: string },
      (e: Error) => e,
    );
    await sender.end();
    await other.end();
    // The statement ran, decided as parsed; meanwhile the loop was never held for anything like
    // the parse, and the other session was answered.
    expect(result).toEqual({ n: '1' });
    expect(answered).toBeGreaterThan(2);
    expect(held, `the longest the loop was held (ms); parsing in-thread took ${inline}`).toBeLessThan(
      inline / 2,
    );
  });
});
