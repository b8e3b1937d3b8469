// Micro-benchmark of the masking detectors: ns per benign cell (the hot path), ns per sensitive cell,
// and MB/s of mask() over a mixed corpus. Run: npx tsx bench/masking-detect.bench.ts

import os from 'node:os';
import { BENIGN_CORPUS } from '../src/masking/benign-corpus.js';
import { createDetectorSet } from '../src/masking/detector-set.js';
import { maskJsonText } from '../src/masking/json-masking.js';

const set = createDetectorSet({ hashKey: Buffer.alloc(32, 7) });
let sink = 0;

/** Median over rounds of ns per call of fn over items. */
function measure(
  items: readonly string[],
  fn: (s: string) => unknown,
  minCalls = 2_000_000,
  rounds = 5,
): number {
  const reps = Math.max(1, Math.ceil(minCalls / items.length));
  for (let r = 0; r < Math.min(reps, 50); r++) for (const s of items) fn(s); // warm-up
  const results: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) {
      for (const s of items) if (fn(s) !== null) sink++;
    }
    const ns = Number(process.hrtime.bigint() - t0);
    results.push(ns / (reps * items.length));
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)] as number;
}

const groups: Record<string, readonly string[]> = {
  'short word': ['alice', 'Bob', 'pending', 'true', 'EUR', 'f'],
  date: ['2024-05-01', '1999-12-31', '2038-01-19'],
  timestamp: ['2024-05-01 12:34:56.789+00', '2024-05-01T12:34:56Z', '2023-11-30 23:59:59.999999+05:30'],
  integer: ['1', '42', '73621', '-4212', '1714567890123', '9223372036854775807'],
  price: ['1234.56', '0.00', '99.99'],
  uuid: ['550e8400-e29b-41d4-a716-446655440000', 'f47ac10b-58cc-4372-a567-0e02b2c3d479'],
  'git sha': ['da39a3ee5e6b4b0d3255bfef95601890afd80709', '9fceb02d0ae598e95dc970b74767f19372d61af8'],
  'pgbench filler': [' '.repeat(84), ' '.repeat(22)],
  'sentence (100 chars)': [
    'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.',
  ],
};

const sensitive: Record<string, string> = {
  credit_card: '4111 1111 1111 1111',
  email: 'alice@example.com',
  phone: '(415) 555-0123',
  ssn: '123-45-6789',
  iban: 'DE89 3704 0044 0532 0130 00',
  aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE',
  github_token: `ghp_${'aB3'.repeat(12)}`,
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  password_hash: '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW',
  'encoded (base64 card)': 'NDExMTExMTExMTExMTExMQ==',
};

function row(label: string, ns: number, extra = ''): void {
  console.log(
    `${label.padEnd(34)} ${ns.toFixed(1).padStart(8)} ns/cell  ${(1e3 / ns).toFixed(2).padStart(7)} M cells/s ${extra}`,
  );
}

// Calibration: the cheapest possible pass over a text, so numbers can be compared across machines.
const CALIBRATION =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.';
function charLoop(s: string): number {
  let d = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 64) d++;
  return d === 1 ? null! : 0;
}
console.log(
  `node ${process.version}, ${process.platform}/${process.arch}, load average ${os.loadavg()[0]?.toFixed(2)} on ${os.cpus().length} CPUs`,
);
const calib = measure([CALIBRATION], charLoop);
console.log(
  `calibration: a bare charCodeAt loop costs ${(calib / CALIBRATION.length).toFixed(2)} ns/char here\n`,
);
console.log('benign cells: set.mask(cell, "redact") → null');
const allBenign: string[] = [];
for (const [label, items] of Object.entries(groups)) {
  row(
    label,
    measure(items, (s) => set.mask(s, 'redact')),
  );
  allBenign.push(...items);
}
row(
  `benign corpus (${BENIGN_CORPUS.length} values)`,
  measure(BENIGN_CORPUS, (s) => set.mask(s, 'redact'), 500_000),
);
const unfiltered = createDetectorSet({ hashKey: Buffer.alloc(32, 7), prefilter: false });
row(
  '  same, pre-filter off',
  measure(BENIGN_CORPUS, (s) => unfiltered.mask(s, 'redact'), 200_000),
);

console.log('\nsensitive cells: set.mask(cell, style)');
for (const [label, value] of Object.entries(sensitive)) {
  row(
    `${label} (redact)`,
    measure([value], (s) => set.mask(s, 'redact'), 200_000),
  );
}
row(
  'credit_card (partial)',
  measure([sensitive.credit_card as string], (s) => set.mask(s, 'partial'), 200_000),
);
row(
  'credit_card (hash)',
  measure([sensitive.credit_card as string], (s) => set.mask(s, 'hash'), 200_000),
);

// Mixed corpus: benign values with about 2% sensitive ones, as cells and as one text.
const mixedCells: string[] = [];
const sens = Object.values(sensitive);
for (let i = 0; i < 20_000; i++) {
  mixedCells.push(
    i % 50 === 0
      ? `note ${sens[(i / 50) % sens.length]} end`
      : (BENIGN_CORPUS[i % BENIGN_CORPUS.length] as string),
  );
}
const text = mixedCells.join('\n');
const mb = Buffer.byteLength(text) / 1e6;
console.log(`\nmixed corpus: ${mixedCells.length} cells, 2% sensitive, ${mb.toFixed(2)} MB`);
const perCell = measure(mixedCells, (s) => set.mask(s, 'redact'), 1_000_000);
row('mask per cell', perCell, `  ${(mb / ((perCell * mixedCells.length) / 1e9)).toFixed(0)} MB/s`);
const perText = measure([text], (s) => set.mask(s, 'redact', 'text'), 1, 5);
console.log(
  `${'mask as one text'.padEnd(34)} ${(perText / 1e6).toFixed(1).padStart(8)} ms       ${(mb / (perText / 1e9)).toFixed(0).padStart(7)} MB/s`,
);
const json = JSON.stringify(
  mixedCells.map((v, i) => ({ id: i, value: v, password: i % 100 === 0 ? 'hunter2' : undefined })),
);
const jmb = Buffer.byteLength(json) / 1e6;
const perJson = measure([json], (s) => maskJsonText(s, set, { style: 'redact' }), 1, 5);
console.log(
  `${`maskJsonText (${jmb.toFixed(2)} MB)`.padEnd(34)} ${(perJson / 1e6).toFixed(1).padStart(8)} ms       ${(jmb / (perJson / 1e9)).toFixed(0).padStart(7)} MB/s`,
);
console.log(`\n(sink ${sink})`);
