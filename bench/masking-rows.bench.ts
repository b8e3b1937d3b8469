// The gateway's per-row work for masked streaming, without sockets or PostgreSQL: the rows of
// bench/masking-stream.bench.ts (same six columns, same column rule, same text formats) are framed by
// FrameReader from 64 KiB chunks, masked by maskDataRow into the row arena and coalesced by
// OutputBatch, as ResultRelay does. Prints ns per row (median of rounds). Steadier than the streaming
// benchmark on a shared machine, so changes to the hot path can be compared on their own.
// Run: npx tsx bench/masking-rows.bench.ts   (env: BENCH_ROWS, BENCH_ROUNDS, BENCH_COLUMN_RULE=0)

import os from 'node:os';
import { sqlAction } from '../src/core/action.js';
import type { Identity } from '../src/core/identity.js';
import { maskDataRowInto, RowArena } from '../src/engines/postgres/masked-messages.js';
import { OutputBatch } from '../src/engines/postgres/output-batch.js';
import { maskingSchema } from '../src/masking/masking-schema.js';
import { cellsToMask, createSqlMaskerFactory, type ResolvedColumnRef } from '../src/masking/result-masker.js';
import { FrameReader } from '../src/wire/postgres/frame-reader.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const CHUNK = 64 * 1024;

function dataRow(cells: string[]): Buffer {
  const bufs = cells.map((c) => Buffer.from(c, 'utf8'));
  const size = 7 + bufs.reduce((n, b) => n + 4 + b.length, 0);
  const out = Buffer.alloc(size);
  out[0] = 0x44;
  out.writeInt32BE(size - 1, 1);
  out.writeInt16BE(cells.length, 5);
  let pos = 7;
  for (const b of bufs) {
    out.writeInt32BE(b.length, pos);
    b.copy(out, pos + 4);
    pos += 4 + b.length;
  }
  return out;
}

// The rows as PostgreSQL sends them in text format (bench/masking-stream.bench.ts's INSERT).
const rows: Buffer[] = [];
for (let g = 1; g <= ROWS; g++) {
  const amount = ((g % 100000) / 100).toFixed(2);
  const ts = new Date(Date.UTC(2024, 0, 1) + g * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace('.000Z', '+00');
  const note = g % 100 === 0 ? 'paid with 4111 1111 1111 1111' : `order shipped to warehouse ${g % 17}`;
  rows.push(dataRow([String(g), `customer ${g}`, `user${g}@example.com`, amount, ts, note]));
}
const stream = Buffer.concat(rows);
const chunks: Buffer[] = [];
for (let p = 0; p < stream.length; p += CHUNK) chunks.push(stream.subarray(p, p + CHUNK));

const config = maskingSchema.parse({
  columns:
    process.env.BENCH_COLUMN_RULE === '0' ? [] : [{ column: 'public.bench_rows.email', tag: 'email_column' }],
});
const factory = createSqlMaskerFactory(config, {});
const identity = { subject: 'bench', groups: [], agent: true } as unknown as Identity;
const action = sqlAction({
  connection: 'bench',
  via: 'simple-query',
  statement: {
    text: 'SELECT id, customer, email, amount, created_at, note FROM bench_rows',
    kind: 'select',
    categories: ['read'],
    tables: [{ schema: 'public', name: 'bench_rows' }],
    functions: [],
  },
});
const columns: ResolvedColumnRef[] = (
  [
    ['id', 20],
    ['customer', 25],
    ['email', 25],
    ['amount', 1700],
    ['created_at', 1184],
    ['note', 25],
  ] as const
).map(([name, typeOid], i) => ({
  name,
  tableOid: 16384,
  columnNumber: i + 1,
  typeOid,
  format: 0,
  source: { schema: 'public', table: 'bench_rows', column: name },
}));

let sink = 0;
/** CPU time of the process (user + system) and wall time, ns per row. */
function round(): { cpu: number; wall: number } {
  const masker = factory.forAction(identity, action, { mask: true });
  const rowMasker = masker.forColumns(columns)!;
  const work = cellsToMask(rowMasker);
  const reader = new FrameReader(1 << 30);
  const arena = new RowArena();
  const out = new OutputBatch();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let f = reader.next(); f; f = reader.next()) {
      const at = maskDataRowInto(f.bytes, f.start, f.end, rowMasker, work, arena);
      if (at >= 0) out.addRange(arena.slab, at, arena.end);
      else out.addRange(f.bytes, f.start, f.end);
    }
    // As ClientConnection.drainUpstream: the slices are written together (writev), not concatenated.
    sink += out.takeParts()?.length ?? 0;
  }
  const wall = Number(process.hrtime.bigint() - t0) / ROWS;
  const c = process.cpuUsage(c0);
  return { cpu: ((c.user + c.system) * 1000) / ROWS, wall };
}

const results: { cpu: number; wall: number }[] = [];
for (let r = 0; r < ROUNDS; r++) results.push(round());
const warm = results.slice(Math.min(3, ROUNDS - 1));
const stats = (xs: number[]) => {
  xs.sort((a, b) => a - b);
  return `${xs[Math.floor(xs.length / 2)]!.toFixed(0)} (min ${xs[0]!.toFixed(0)}, max ${xs[xs.length - 1]!.toFixed(0)})`;
};
console.log(
  `node ${process.version}, load average ${os.loadavg()[0]!.toFixed(2)}; ${ROWS} rows, ${ROUNDS} rounds` +
    ` (first 3 are warm-up), ns per row, median\n` +
    `masked relay: CPU ${stats(warm.map((r) => r.cpu))}, wall ${stats(warm.map((r) => r.wall))}` +
    (sink < 0 ? '' : ''),
);
