// What reading one long session's statements costs the SQLite store: `getSession` (every statement
// with its result, through the `statement_records` view) and `countStatements` (the CLI's counts),
// for a session of N statements, every tenth never answered (a refusal). For an A/B of the read path
// of two builds: each checkout must be built (npm run build); the store runs from its dist/, and the
// checkouts alternate.
//
//   node bench/store-read.bench.mjs [checkout ...]      (default: this checkout)
//   N=100000  ROUNDS=2                                   (statements in the session; rounds)

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import console from 'node:console';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const N = Number(process.env.N ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const roots = (process.argv.length > 2 ? process.argv.slice(2) : ['.']).map((r) => path.resolve(r));

async function measure(root) {
  const load = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
  const { SqliteStore } = await load('store/sqlite-store.js');
  const { statementId, uuidv7 } = await load('gate/ids.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-store-read-'));
  try {
    const store = await SqliteStore.open({ path: path.join(dir, 'record.db') });
    const sessionId = uuidv7();
    await store.startSession({
      id: sessionId,
      startedAt: new Date(),
      subject: 'bench',
      groups: ['bench'],
      tokenKind: 'service',
      agent: true,
      issuer: 'gatehouse',
      clientAddress: '127.0.0.1:50000',
      connection: 'bench',
      protocol: 'postgres',
    });
    for (let seq = 1; seq <= N; seq++) {
      const id = statementId(sessionId, seq);
      const refused = seq % 10 === 0;
      await store.recordStatement({
        id,
        sessionId,
        seq,
        at: new Date(),
        via: 'simple',
        text: `SELECT abalance FROM pgbench_accounts WHERE aid = ${seq};`,
        kind: 'select',
        categories: ['read'],
        effect: refused ? 'deny' : 'allow',
        ruleId: 'bench',
      });
      if (!refused) void store.completeStatement(id, { durationMs: 0.1, rows: 1 });
    }
    await store.foldStaged();
    let t = performance.now();
    const got = await store.getSession(sessionId);
    const read = performance.now() - t;
    t = performance.now();
    const counts = await store.countStatements(sessionId);
    const counted = performance.now() - t;
    const answered = got.statements.filter((s) => s.result !== undefined).length;
    await store.close();
    if (got.statements.length !== N || counts.total !== N || answered !== N - Math.floor(N / 10))
      throw new Error(
        `${root}: read ${got.statements.length}, counted ${counts.total}, answered ${answered}`,
      );
    return { read, counted };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`one session of ${N} statements (every tenth never answered), ${ROUNDS} rounds`);
for (let round = 1; round <= ROUNDS; round++) {
  for (const root of roots) {
    const { read, counted } = await measure(root);
    console.log(
      `round ${round} ${root}: getSession ${read.toFixed(0)} ms, countStatements ${counted.toFixed(0)} ms`,
    );
  }
}
