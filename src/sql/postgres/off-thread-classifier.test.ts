import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresClassifier, type PostgresClassifier } from './postgres-classifier.js';

const inList = (n: number) => `SELECT 1 WHERE 1 IN (${Array.from({ length: n }, (_, i) => i).join(',')})`;

describe('classifyBounded: long texts on a worker thread', () => {
  const made: PostgresClassifier[] = [];
  const classifier = async (offThread?: { inlineChars?: number; timeoutMs?: number }) => {
    const c = await createPostgresClassifier(offThread ? { offThread } : {});
    made.push(c);
    return c;
  };
  afterAll(async () => {
    await Promise.all(made.map((c) => c.close()));
  });

  it('answers short texts at once, and long ones with what classify() gives', async () => {
    const c = await classifier({ inlineChars: 1024 });
    const short = c.classifyBounded('SELECT 1', 'a');
    expect(short).not.toBeInstanceOf(Promise);
    for (const text of [
      inList(2000),
      `DELETE FROM accounts WHERE id IN (${Array.from({ length: 500 }, (_, i) => i).join(',')}); DROP TABLE t`,
      `SELECT ${"'x', ".repeat(400)} pg_read_file('/etc/passwd') FROM pg_catalog.pg_shadow`,
      `SELEC ${'x '.repeat(1000)}`,
    ]) {
      const bounded = c.classifyBounded(text, 'a');
      expect(bounded).toBeInstanceOf(Promise);
      expect(JSON.parse(JSON.stringify(await bounded))).toEqual(JSON.parse(JSON.stringify(c.classify(text))));
    }
  });

  it('keeps the event loop free while a long text is parsed', async () => {
    const c = await classifier();
    await c.classifyBounded(inList(5000), 'warm-up');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const result = await c.classifyBounded(inList(300_000), 'a');
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(result.statements[0]?.kind).toBe('select');
    // Parsed on this thread, the loop would not have ticked once during the parse.
    expect(ticks).toBeGreaterThan(Math.min(10, elapsed / 50));
  });

  it('refuses a text whose parse outlasts the time bound, and parses the next one on a new thread', async () => {
    const c = await classifier({ timeoutMs: 50 });
    await c.classifyBounded(inList(5000), 'warm-up');
    const slow = await c.classifyBounded(inList(300_000), 'a');
    expect(slow.statements).toHaveLength(1);
    expect(slow.statements[0]?.kind).toBe('unparsed');
    expect(slow.statements[0]?.categories).toEqual(['unknown']);
    expect(slow.parseError).toMatch(/longer than 0\.05 s to parse \(parseTimeout\)/);
    const next = await c.classifyBounded(inList(3000), 'b');
    expect(next.statements[0]?.kind).toBe('select');
  });

  it("takes owners' long texts in turn: one owner's queue does not keep another's waiting", async () => {
    const c = await classifier({ inlineChars: 1024 });
    await c.classifyBounded(inList(5000), 'warm-up');
    const order: string[] = [];
    const ask = (owner: string, n: number, label: string) =>
      Promise.resolve(c.classifyBounded(inList(n), owner)).then(() => order.push(label));
    await Promise.all([
      ask('a', 100_000, 'a1'),
      ask('a', 100_000, 'a2'),
      ask('a', 100_000, 'a3'),
      ask('a', 100_000, 'a4'),
      ask('b', 2_000, 'b1'),
    ]);
    // a1 was being parsed when b1 arrived; b1 is next, before a's other texts.
    expect(order.indexOf('b1')).toBeLessThanOrEqual(1);
  });
});
