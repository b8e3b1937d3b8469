// Sustained recordStatement + completeStatement throughput of the stores, with statements arriving
// as they do from N concurrent client sessions (each waits for its record before the next statement).
// Run: npx tsx bench/store-record.bench.ts [--statements 50000] [--sessions 8,64] [--ids uuid,ordered] [--pg]
//   --ids: `uuid`: session and statement ids random UUIDv4; `ordered`: both time-ordered (UUIDv7
//          layout); `gate`: what src/gate does today, a UUIDv4 session id and `<session id>:<seq>`
//          (src/gate/ids.ts, seq zero-padded to 8 digits).
//          Random keys scatter index writes over many pages, so each commit writes more.
//   --sync: SQLite synchronous modes to run (default normal,full).
//   --fold: who folds the SQLite record journal: `inline` (the event loop, default), `thread`, or both.
//   --pg also measures PostgreSQL: GATEHOUSE_BENCH_PG_URL, or an embedded PostgreSQL with fsync on.

import { statementId } from '../src/gate/ids.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/demo/embedded-postgres.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { benchSession, benchStatement } from './store-fixtures.js';

const { values } = parseArgs({
  options: {
    statements: { type: 'string', default: '50000' },
    sessions: { type: 'string', default: '8,64' },
    ids: { type: 'string', default: 'uuid,ordered,gate' },
    sync: { type: 'string', default: 'normal,full' },
    fold: { type: 'string', default: 'inline' },
    pg: { type: 'boolean', default: false },
  },
});
const TOTAL = Number(values.statements);
const CONCURRENCY = values.sessions.split(',').map(Number);
type IdKind = 'uuid' | 'ordered' | 'gate';
const ID_KINDS = values.ids.split(',') as IdKind[];
const SYNC_MODES = values.sync.split(',') as ('normal' | 'full')[];
const FOLD_MODES = values.fold.split(',') as ('thread' | 'inline')[];

let counter = 0;
/** Time-ordered id in the UUIDv7 layout: 48-bit ms timestamp, then a counter and random bits. */
function orderedId(): string {
  const hex = Date.now().toString(16).padStart(12, '0') + (counter++ & 0xffff).toString(16).padStart(4, '0');
  const rnd = randomBytes(8).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(12, 15)}-${rnd.slice(0, 4)}-${rnd.slice(4, 16)}`;
}

type Store = SqliteStore | PostgresStore;

interface Result {
  readonly perSecond: number;
  readonly commits: number;
  readonly p50: number;
  readonly p99: number;
  readonly ops: number;
  /** This process's CPU (the store's work, the bench's own loop included) per statement. */
  readonly cpuUsPerStatement: number;
  /** The main thread's alone (the event loop's: what a statement waits behind). */
  readonly mainCpuUsPerStatement: number;
  /** SQLite: folds of the staged rows during the run (sqlite-staging.ts). */
  readonly folds?: number;
  readonly foldMs?: number;
  readonly longestFoldMs?: number;
}

async function drive(store: Store, sessions: number, total: number, ids: IdKind): Promise<Result> {
  const newId = ids === 'ordered' ? orderedId : randomUUID;
  const perSession = Math.ceil(total / sessions);
  const startedAt = new Date();
  const sessionIds = Array.from({ length: sessions }, () => newId());
  await Promise.all(sessionIds.map((id) => store.startSession(benchSession(id, startedAt))));
  const before = store.stats().commits;
  const folded = 'journalStats' in store ? store.journalStats() : undefined;
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuUs();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    sessionIds.map(async (sessionId) => {
      let lastComplete: Promise<void> = Promise.resolve();
      for (let seq = 1; seq <= perSession; seq++) {
        const id = ids === 'gate' ? statementId(sessionId, seq) : newId();
        const record = benchStatement(id, sessionId, seq);
        const s = process.hrtime.bigint();
        await store.recordStatement(record); // the gate forwards only after this resolves
        latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
        // The result is recorded when the upstream answers; the next statement does not wait for it,
        // so completions ride in the same batches as the next records.
        lastComplete = store.completeStatement(id, { durationMs: 0.1, rows: 1 });
      }
      await lastComplete;
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const mainUs = mainThreadCpuUs() - main0;
  const after = 'journalStats' in store ? store.journalStats() : undefined;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    perSecond: (perSession * sessions) / seconds,
    commits: store.stats().commits - before,
    p50: pct(0.5),
    p99: pct(0.99),
    ops: perSession * sessions * 2,
    cpuUsPerStatement: (cpu.user + cpu.system) / (perSession * sessions),
    mainCpuUsPerStatement: mainUs / (perSession * sessions),
    ...(folded && after
      ? {
          folds: after.folds - folded.folds,
          foldMs: after.foldMs - folded.foldMs,
          longestFoldMs: after.longestFoldMs,
        }
      : {}),
  };
}

function report(label: string, sessions: number, r: Result): void {
  const perCommit = r.ops / Math.max(1, r.commits);
  console.log(
    `${label.padEnd(26)} sessions=${String(sessions).padEnd(3)} ${Math.round(r.perSecond).toLocaleString('en-US').padStart(8)} statements/s` +
      `  commits=${r.commits}  ops/commit=${perCommit.toFixed(1)}  record p50=${r.p50.toFixed(3)}ms p99=${r.p99.toFixed(3)}ms` +
      `  cpu=${r.cpuUsPerStatement.toFixed(1)}µs/statement (main thread ${r.mainCpuUsPerStatement.toFixed(1)})` +
      (r.folds !== undefined
        ? `  folds=${r.folds} (${(r.foldMs ?? 0).toFixed(0)} ms, longest ${(r.longestFoldMs ?? 0).toFixed(1)} ms)`
        : ''),
  );
}

/** CPU time of the main thread (Linux: /proc/self/task/<pid>/stat, clock ticks of 10 ms), in µs. */
function mainThreadCpuUs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-store-'));
let pgServer: RunningPostgres | undefined;
try {
  console.log(`${TOTAL} statements (record + complete each) per run, Node ${process.version}`);
  for (const sync of SYNC_MODES) {
    for (const ids of ID_KINDS) {
      for (const sessions of CONCURRENCY) {
        for (const fold of FOLD_MODES) {
          const file = path.join(dir, `${sync}-${ids}-${sessions}-${fold}.db`);
          const store = await SqliteStore.open({ path: file, synchronous: sync, fold });
          try {
            await drive(store, sessions, Math.min(2000, TOTAL), ids);
            report(
              `sqlite ${sync} ids=${ids} fold=${fold}`,
              sessions,
              await drive(store, sessions, TOTAL, ids),
            );
          } finally {
            await store.close();
          }
        }
      }
    }
  }
  if (values.pg) {
    let url = process.env.GATEHOUSE_BENCH_PG_URL;
    if (!url) {
      pgServer = await startEmbeddedPostgres({
        dataDir: path.join(dir, 'pg'),
        port: await freePort(),
        password: 'bench-only',
      });
      url = pgServer.url();
    }
    for (const ids of ID_KINDS) {
      for (const sessions of CONCURRENCY) {
        const store = await PostgresStore.open({ url, schema: `bench_${ids}_${sessions}_${process.pid}` });
        try {
          await drive(store, sessions, Math.min(2000, TOTAL), ids);
          report(`postgres pool=4 ids=${ids}`, sessions, await drive(store, sessions, TOTAL, ids));
        } finally {
          await store.close();
        }
      }
    }
  }
} finally {
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
}
