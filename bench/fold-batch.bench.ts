// What a fold of the record journal costs per row, by how many rows it takes at once: eight sessions
// each recording statements and their results (as the gateway does under pgbench -c 8), folded every
// `foldRows` rows, on the event loop. A fold touches each session's place in each index, so a small
// fold writes nearly as many pages as a large one (docs/performance.md, "Fewer, larger folds").
// Run: npx tsx bench/fold-batch.bench.ts [--rows 64,140,512,2048] [--statements 4000]

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { SessionRecord, StatementRecord } from '../src/core/records.js';
import { statementId } from '../src/gate/ids.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '64,140,512,2048' },
    statements: { type: 'string', default: '4000' },
  },
});
const PER_SESSION = Number(values.statements);
const SESSIONS = 8;
const WAL_FRAME = 4096 + 24;

const session = (id: string): SessionRecord => ({
  id,
  startedAt: new Date(),
  subject: 'bench-agent',
  groups: ['ai-agents'],
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
  clientAddress: '127.0.0.1:5000',
  connection: 'bench',
  protocol: 'postgres',
});
const statement = (sessionId: string, seq: number): StatementRecord => ({
  id: statementId(sessionId, seq),
  sessionId,
  seq,
  at: new Date(),
  via: 'simple-query',
  text: `SELECT abalance FROM pgbench_accounts WHERE aid = ${Math.floor(Math.random() * 1_000_000)}`,
  kind: 'select',
  categories: ['read'],
  effect: 'allow',
  ruleId: 'agents-allow-read',
});

async function run(foldRows: number): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-fold-batch-'));
  const file = path.join(dir, 'record.db');
  // No checkpoint while it runs, so the WAL's size counts the pages the folds wrote.
  const store = await SqliteStore.open({
    path: file,
    foldIntervalMs: 3_600_000,
    checkpointIntervalMs: 3_600_000,
    walBackstopPages: 10_000_000,
    journal: { foldRows },
  });
  try {
    const ids = Array.from({ length: SESSIONS }, () => crypto.randomUUID());
    for (const id of ids) await store.startSession(session(id));
    await store.foldStaged();
    const walBefore = statSync(`${file}-wal`).size;
    const before = store.journalStats()!;
    for (let seq = 1; seq <= PER_SESSION; seq++) {
      await Promise.all(ids.map((id) => store.recordStatement(statement(id, seq))));
      await Promise.all(
        ids.map((id) =>
          store.completeStatement(statementId(id, seq), {
            durationMs: 0.2,
            rows: 1,
            sample: { columns: ['abalance'], rows: [['0']], truncated: false },
          }),
        ),
      );
    }
    await store.foldStaged();
    const after = store.journalStats()!;
    const rows = after.rowsFolded - before.rowsFolded;
    const folds = after.folds - before.folds;
    const frames = (statSync(`${file}-wal`).size - walBefore) / WAL_FRAME;
    console.log(
      `foldRows ${String(foldRows).padStart(5)}: ${String(folds).padStart(5)} folds, ` +
        `${(rows / folds).toFixed(0).padStart(5)} rows each; ` +
        `${((1000 * (after.foldMs - before.foldMs)) / rows).toFixed(2)} µs of fold per row; ` +
        `${(frames / rows).toFixed(3)} WAL pages per row`,
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `${SESSIONS} sessions × ${PER_SESSION} statements and results (two event rows each), folds on the event loop`,
);
for (const rows of values.rows.split(',').map(Number)) await run(rows);
