// Store CPU per statement when sessions run statements one after another, as the gateway drives it:
// record (awaited) → an event-loop turn for the relay → result (not awaited) → a turn → next record.
// Prints statements/s, CPU µs per statement (user + system), commits and WAL bytes per commit.
// Run: npx tsx bench/store-serial.bench.ts   (env: SESSIONS, default 1; STATEMENTS, default 6000;
// EVENTS=0 leaves the hash-chained events out; UUID4=1 uses random session ids instead of UUIDv7)

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StatementRecord } from '../src/core/records.js';
import { statementId, uuidv7 } from '../src/gate/ids.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

const SESSIONS = Number(process.env.SESSIONS ?? 1);
const STATEMENTS = Number(process.env.STATEMENTS ?? 6000);
const turn = () => new Promise<void>((r) => setImmediate(r));

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-store-serial-'));
const store = await SqliteStore.open({ path: path.join(dir, 'store.db') });
try {
  if (process.env.EVENTS === '0') store.disableEventsForBenchmark();
  // No checkpoints during the run, so the WAL's size is what the commits wrote.
  store.getDatabase().pragma('wal_autocheckpoint = 0');
  const per = Math.ceil(STATEMENTS / SESSIONS);
  const ids = Array.from({ length: SESSIONS }, () => (process.env.UUID4 === '1' ? randomUUID() : uuidv7()));
  for (const id of ids)
    await store.startSession({
      id,
      startedAt: new Date(),
      subject: 'bench',
      groups: [],
      tokenKind: 'service',
      agent: true,
      issuer: 'gatehouse',
      clientAddress: '127.0.0.1:1',
      connection: 'bench',
      protocol: 'postgres',
    });
  const before = store.stats().commits;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    ids.map(async (sessionId) => {
      let last: Promise<void> = Promise.resolve();
      for (let seq = 1; seq <= per; seq++) {
        const id = statementId(sessionId, seq);
        const record: StatementRecord = {
          id,
          sessionId,
          seq,
          at: new Date(),
          via: 'simple-query',
          text: `SELECT abalance FROM pgbench_accounts WHERE aid = ${(seq * 7919) % 100000}`,
          kind: 'select',
          categories: ['read'],
          effect: 'allow',
          ruleId: 'agents-allow-read',
        };
        await store.recordStatement(record);
        await turn(); // the statement goes upstream and its answer comes back
        last = store.completeStatement(id, {
          durationMs: 0.1,
          rows: 1,
          sample: { columns: ['abalance'], rows: [['0']], truncated: false },
        });
        await turn(); // the client sends the next one
      }
      await last;
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const n = per * SESSIONS;
  const commits = store.stats().commits - before;
  const wal = statSync(path.join(dir, 'store.db-wal')).size;
  console.log(
    `${SESSIONS} session(s), ${n} statements: ${Math.round(n / seconds)}/s, ` +
      `${((cpu.user + cpu.system) / n).toFixed(0)} µs CPU per statement (user ${(cpu.user / n).toFixed(0)}, system ${(cpu.system / n).toFixed(0)}), ` +
      `${commits} commits, ${Math.round(wal / commits).toLocaleString('en')} WAL bytes per commit; load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
