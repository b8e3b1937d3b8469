// Instructions per recorded statement of the SQLite store alone (its recordStatement and
// completeStatement, 8 sessions, the gate's ids), counted by valgrind's callgrind: what a change to
// the record's write path costs, in a figure that does not swing with the machine's speed as CPU time
// does here. Each checkout must be built (npm run build): the store runs from its dist/.
//
//   node bench/store-instructions.mjs [checkout ...]     (default: this checkout; rounds alternate)
//   ROUNDS=2  SHORT=4000  LONG=12000                      (statements of the two runs of a round)
//
// A round runs the store twice under `valgrind --tool=callgrind` with `node --predictable`, SHORT and
// then LONG statements, and prints (instructions of LONG − instructions of SHORT) / (LONG − SHORT):
// start-up, migrations and JIT warm-up cancel out. It is not exact: the store's timers keep wall-clock
// time while valgrind runs the store about fifty times slower (a fold at 250 ms, a result's 10 ms wait
// for company, the checkpoints), so more of their work falls on each statement, and it varies with
// the machine's speed; the same build measured 244,000–266,000 in five rounds on 2026-12-05. Compare
// several alternating rounds. Not a speed: the kernel's work (the journal's write, the WAL's) is not in
// it. A run of LONG statements takes about a minute and a half.
//
// Internally `--drive <checkout> <statements>` is the process valgrind runs.

import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import console from 'node:console';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);

if (args[0] === '--drive') {
  const root = path.resolve(args[1]);
  const total = Number(args[2]);
  const load = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
  const { SqliteStore } = await load('store/sqlite-store.js');
  const { statementId } = await load('gate/ids.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-store-instructions-'));
  try {
    const store = await SqliteStore.open({ path: path.join(dir, 'record.db'), synchronous: 'normal' });
    const sessions = Array.from({ length: 8 }, () => randomUUID());
    const startedAt = new Date();
    // The records of bench/store-fixtures.ts, copied: valgrind runs this file under plain node, with
    // no TypeScript loader whose own instructions would be counted.
    await Promise.all(
      sessions.map((id) =>
        store.startSession({
          id,
          startedAt,
          subject: 'bench',
          groups: ['bench'],
          tokenKind: 'service',
          agent: true,
          issuer: 'gatehouse',
          clientAddress: '127.0.0.1:50000',
          connection: 'bench',
          protocol: 'postgres',
        }),
      ),
    );
    // As bench/store-record.bench.ts drives it: a session's next statement waits for its record, not
    // for the previous result's.
    await Promise.all(
      sessions.map(async (sessionId) => {
        let last = Promise.resolve();
        for (let seq = 1; seq <= total / sessions.length; seq++) {
          const id = statementId(sessionId, seq);
          await store.recordStatement({
            id,
            sessionId,
            seq,
            at: new Date(),
            via: 'simple',
            text: `SELECT abalance FROM pgbench_accounts WHERE aid = ${(seq * 7919) % 100000};`,
            kind: 'select',
            categories: ['read'],
            effect: 'allow',
            ruleId: 'bench-read',
          });
          last = store.completeStatement(id, { durationMs: 0.1, rows: 1 });
        }
        await last;
      }),
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const ROUNDS = Number(process.env.ROUNDS ?? 2);
const SHORT = Number(process.env.SHORT ?? 4000);
const LONG = Number(process.env.LONG ?? 12000);
const checkouts = args.length > 0 ? args : ['.'];
const self = fileURLToPath(import.meta.url);

/** Instructions callgrind counted for one run of the driver. */
function instructions(checkout, statements) {
  const out = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--predictable',
      self,
      '--drive',
      checkout,
      String(statements),
    ],
    { encoding: 'utf8' },
  );
  if (out.error) throw new Error(`valgrind could not run (apt-get install valgrind): ${out.error.message}`);
  const m = /Collected : (\d+)/.exec(out.stderr);
  if (out.status !== 0 || !m) throw new Error(`the run under valgrind failed:\n${out.stderr.slice(-2000)}`);
  return Number(m[1]);
}

for (const c of checkouts) {
  if (!readFileSync(path.join(c, 'package.json'), 'utf8').includes('"gatehouse"'))
    throw new Error(`${c} is not a Gatehouse checkout`);
}
for (let round = 1; round <= ROUNDS; round++) {
  for (const c of checkouts) {
    const short = instructions(c, SHORT);
    const long = instructions(c, LONG);
    const per = Math.round((long - short) / (LONG - SHORT));
    console.log(`round ${round} ${c}: ${per.toLocaleString('en-US')} instructions per statement`);
  }
}
