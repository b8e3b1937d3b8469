// Micro-benchmark of the PostgreSQL statement classifier: median µs per classify(), uncached and cached.
// Run with `npx tsx bench/sql-classify.bench.ts`; prints numbers only, asserts nothing.
import { createPostgresClassifier } from '../src/sql/postgres/postgres-classifier.js';

const STATEMENT = 'SELECT abalance FROM pgbench_accounts WHERE aid = 1';
const ROUNDS = 201;
const PER_ROUND = 500;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Median over rounds of the mean µs per call within a round (a round is PER_ROUND calls). */
function measure(run: (i: number) => void): number {
  const rounds: number[] = [];
  let i = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let k = 0; k < PER_ROUND; k++) run(i++);
    rounds.push(Number(process.hrtime.bigint() - start) / PER_ROUND / 1000);
  }
  return median(rounds);
}

const uncachedClassifier = await createPostgresClassifier({ cacheSize: 0, templateCacheSize: 0 });
const noTemplates = await createPostgresClassifier({ templateCacheSize: 0 });
const cachedClassifier = await createPostgresClassifier();

// Warm up the JIT on both paths before measuring.
for (let i = 0; i < 20_000; i++) {
  uncachedClassifier.classify(STATEMENT);
  cachedClassifier.classify(STATEMENT);
}

const uncached = measure(() => uncachedClassifier.classify(STATEMENT));
const cached = measure(() => cachedClassifier.classify(STATEMENT));
// Distinct texts defeat the exact-text cache the way varied literals in real traffic do; a literal
// template (literal-template.ts) answers them unless templates are off.
const distinctParsed = measure((i) =>
  noTemplates.classify(`SELECT abalance FROM pgbench_accounts WHERE aid = ${i}`),
);
const distinct = measure((i) =>
  cachedClassifier.classify(`SELECT abalance FROM pgbench_accounts WHERE aid = ${i + 1_000_000}`),
);

console.log(`statement: ${STATEMENT}`);
console.log(`uncached (cacheSize 0):       median ${uncached.toFixed(2)} µs/statement`);
console.log(`cached (same text):           median ${cached.toFixed(3)} µs/statement`);
console.log(`distinct texts, no templates: median ${distinctParsed.toFixed(2)} µs/statement`);
console.log(`distinct texts, template:     median ${distinct.toFixed(2)} µs/statement`);
