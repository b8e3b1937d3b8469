// What reading one long session's statements costs the SQLite store: `getSession` (every statement
// with its result, through the `statement_records` view) and `countStatements` (the CLI's counts),
// for a session of N statements, every tenth never answered (a refusal). For an A/B of the read path
// of two builds: each checkout must be built (npm run build); its store runs from its dist/ (the
// records written are this checkout's bench/store-fixtures.ts), and the checkouts alternate.
//
//   npx tsx bench/store-read.bench.ts [checkout ...]      (default: this checkout)
//   N=100000  ROUNDS=2                                     (statements in the session; rounds)

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SqliteStore } from '../src/store/sqlite-store.js';
import type * as Ids from '../src/gate/ids.js';
import { benchSession, benchStatement } from './store-fixtures.js';

const N = Number(process.env.N ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const roots = (process.argv.length > 2 ? process.argv.slice(2) : ['.']).map((r) => path.resolve(r));

async function measure(root: string): Promise<{ read: number; counted: number }> {
  const load = (p: string) => import(pathToFileURL(path.join(root, 'dist', p)).href);
  const { SqliteStore: Store } = (await load('store/sqlite-store.js')) as { SqliteStore: typeof SqliteStore };
  const { statementId, uuidv7 } = (await load('gate/ids.js')) as typeof Ids;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-store-read-'));
  try {
    const store = await Store.open({ path: path.join(dir, 'record.db') });
    const sessionId = uuidv7();
    await store.startSession(benchSession(sessionId));
    for (let seq = 1; seq <= N; seq++) {
      const id = statementId(sessionId, seq);
      const refused = seq % 10 === 0;
      await store.recordStatement(benchStatement(id, sessionId, seq, refused ? 'deny' : 'allow'));
      if (!refused) void store.completeStatement(id, { durationMs: 0.1, rows: 1 });
    }
    await store.foldStaged();
    let t = performance.now();
    const got = await store.getSession(sessionId);
    const read = performance.now() - t;
    t = performance.now();
    const counts = await store.countStatements(sessionId);
    const counted = performance.now() - t;
    const statements = got?.statements ?? [];
    const answered = statements.filter((s) => s.result !== undefined).length;
    await store.close();
    if (statements.length !== N || counts.total !== N || answered !== N - Math.floor(N / 10))
      throw new Error(`${root}: read ${statements.length}, counted ${counts.total}, answered ${answered}`);
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
