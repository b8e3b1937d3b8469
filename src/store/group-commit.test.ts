import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { GroupCommitQueue } from './group-commit.js';

/** A writer that records the batches it was given; `hold` keeps a commit in flight until released. */
function recordingWriter<Op = number>(
  opts: { fail?: (ops: readonly Op[]) => Error | undefined; perOp?: (op: Op) => Error | undefined } = {},
) {
  const batches: Op[][] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const write = async (ops: readonly Op[]) => {
    batches.push([...ops]);
    if (hold) {
      hold = false;
      await new Promise<void>((r) => (release = r));
    }
    const err = opts.fail?.(ops);
    if (err) throw err;
    return ops.map((op) => opts.perOp?.(op));
  };
  return {
    batches,
    write,
    holdNext() {
      hold = true;
    },
    releaseHeld() {
      hold = false;
      const r = release;
      release = undefined;
      r?.();
    },
  };
}

class DataError extends Error {
  readonly code = 'DATA';
}
const isDataError = (e: unknown) => e instanceof DataError;

describe('GroupCommitQueue', () => {
  test('writes submitted in the same tick commit as one batch, in order', async () => {
    const w = recordingWriter();
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 1000, isDataError });
    await Promise.all([1, 2, 3, 4, 5].map((n) => q.submit(n)));
    expect(w.batches).toEqual([[1, 2, 3, 4, 5]]);
    expect(q.stats()).toMatchObject({ commits: 1, written: 5, rejected: 0, largestBatch: 5 });
  });

  test('nothing resolves before its commit finished', async () => {
    const w = recordingWriter();
    w.holdNext();
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 10, isDataError });
    let resolved = false;
    const p = q.submit(1).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(w.batches).toEqual([[1]]);
    expect(resolved).toBe(false);
    w.releaseHeld();
    await p;
    expect(resolved).toBe(true);
  });

  test('writes arriving while a commit is in flight gather into the next batch', async () => {
    const w = recordingWriter();
    w.holdNext();
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 100, isDataError });
    const first = q.submit(0);
    await new Promise((r) => setTimeout(r, 10));
    const later = [1, 2, 3].map((n) => q.submit(n));
    await new Promise((r) => setTimeout(r, 10));
    expect(w.batches).toEqual([[0]]);
    w.releaseHeld();
    await Promise.all([first, ...later]);
    expect(w.batches).toEqual([[0], [1, 2, 3]]);
  });

  test('batches are bounded by maxBatch', async () => {
    const w = recordingWriter();
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 4, isDataError });
    await Promise.all(Array.from({ length: 10 }, (_, i) => q.submit(i)));
    expect(w.batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  test('a failed commit rejects every write in it with RECORD_FAILED', async () => {
    const boom = new Error('disk I/O error');
    const w = recordingWriter({ fail: () => boom });
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 100, isDataError });
    const results = await Promise.allSettled([1, 2, 3].map((n) => q.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const reason = (results[0] as PromiseRejectedResult).reason as Error & { code: string };
    expect(reason.code).toBe('ERR_RECORD_FAILED');
    expect(reason.cause).toBe(boom);
    // Not retried one by one: the store itself failed.
    expect(w.batches).toEqual([[1, 2, 3]]);
    expect(q.stats()).toMatchObject({ commits: 0, failedCommits: 1, rejected: 3 });
  });

  test('a data error is isolated: the batch is retried op by op and only the bad op rejects', async () => {
    const w = recordingWriter({
      fail: (ops) => (ops.includes(13) ? new DataError('duplicate key') : undefined),
    });
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 100, isDataError });
    const results = await Promise.allSettled([11, 12, 13, 14].map((n) => q.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(w.batches).toEqual([[11, 12, 13, 14], [11], [12], [13], [14]]);
  });

  test('isolating stops at the first failure that is not a data error', async () => {
    let calls = 0;
    const w = recordingWriter({
      fail: (ops) => {
        calls++;
        if (calls === 1) return new DataError('duplicate key');
        if (ops[0] === 2) return new Error('connection lost');
        return undefined;
      },
    });
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 100, isDataError });
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => q.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected']);
    expect(w.batches).toEqual([[1, 2, 3, 4], [1], [2]]);
  });

  test('a per-op error rejects only that op', async () => {
    const w = recordingWriter({ perOp: (op) => (op === 2 ? new Error('no such row') : undefined) });
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 100, isDataError });
    const results = await Promise.allSettled([1, 2, 3].map((n) => q.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_RECORD_FAILED' });
  });

  test('a writer that throws synchronously still rejects (never hangs)', async () => {
    const q = new GroupCommitQueue<number>({
      write: () => {
        throw new TypeError('The database connection is not open');
      },
      maxBatch: 10,
      isDataError,
    });
    await expect(q.submit(1)).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
  });

  test('a deferrable write joins the next commit, in its place in the order', async () => {
    const w = recordingWriter();
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 10, isDataError, maxDeferMs: 5_000 });
    let deferredDone = false;
    const deferred = q.submit(1, { deferrable: true }).then(() => (deferredDone = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(w.batches).toEqual([]); // it started no commit of its own
    expect(deferredDone).toBe(false);
    await q.submit(2);
    await deferred;
    expect(w.batches).toEqual([[1, 2]]);
    expect(q.stats()).toMatchObject({ commits: 1, written: 2 });
  });

  test('a deferrable write alone is committed after maxDeferMs', async () => {
    const w = recordingWriter();
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 10, isDataError, maxDeferMs: 20 });
    const t0 = performance.now();
    await q.submit(7, { deferrable: true });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    expect(w.batches).toEqual([[7]]);
  });

  test('idle() and close() commit deferred writes at once', async () => {
    const w = recordingWriter();
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 10, isDataError, maxDeferMs: 60_000 });
    const deferred = q.submit(1, { deferrable: true });
    await q.idle();
    await deferred;
    expect(w.batches).toEqual([[1]]);
    const again = q.submit(2, { deferrable: true });
    await q.close();
    await again;
    expect(w.batches).toEqual([[1], [2]]);
  });

  test('commitDeferred() starts the commit of deferred writes at once (a session is ending)', async () => {
    const w = recordingWriter();
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 10, isDataError, maxDeferMs: 60_000 });
    const deferred = q.submit(3, { deferrable: true });
    q.commitDeferred();
    await deferred; // would wait 60 s (past the test's timeout) without it
    expect(w.batches).toEqual([[3]]);
    q.commitDeferred(); // nothing queued: no empty commit
    await q.close();
    expect(q.stats().commits).toBe(1);
  });

  test('a pending deferrable write keeps the process alive until it is committed', () => {
    // A process whose last act is awaiting a result must not exit with the write pending.
    const script = `
      const { GroupCommitQueue } = await import(${JSON.stringify(new URL('./group-commit.ts', import.meta.url).href)});
      const q = new GroupCommitQueue({ write: async (ops) => ops.map(() => undefined), maxBatch: 10, isDataError: () => false, maxDeferMs: 50 });
      await q.submit(1, { deferrable: true });
      process.stdout.write('committed');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('committed');
  });

  test('close waits for queued writes, then rejects new ones', async () => {
    const w = recordingWriter();
    const q = new GroupCommitQueue<number>({ write: w.write, maxBatch: 10, isDataError });
    const queued = q.submit(1);
    await q.close();
    await expect(queued).resolves.toBeUndefined();
    await expect(q.submit(2)).rejects.toMatchObject({
      code: 'ERR_RECORD_FAILED',
      message: 'the session store is closed',
    });
    expect(w.batches).toEqual([[1]]);
  });

  describe('with several transactions in flight', () => {
    interface KeyedOp {
      readonly name: string;
      readonly provides?: string;
      readonly dependsOn?: string;
    }
    const keys = (op: KeyedOp) => ({
      ...(op.provides ? { provides: op.provides } : {}),
      ...(op.dependsOn ? { dependsOn: op.dependsOn } : {}),
    });
    const tick = () => new Promise((r) => setTimeout(r, 10));

    test('a second batch starts while the first is still committing', async () => {
      const w = recordingWriter<KeyedOp>();
      const q = new GroupCommitQueue<KeyedOp>({
        write: w.write,
        maxBatch: 100,
        maxInFlight: 2,
        keys,
        isDataError,
      });
      w.holdNext();
      const first = q.submit({ name: 'a', provides: 'x:a' });
      await tick();
      const second = q.submit({ name: 'b', provides: 'x:b' });
      await second; // committed although the first batch is still held
      expect(w.batches.map((b) => b.map((o) => o.name))).toEqual([['a'], ['b']]);
      w.releaseHeld();
      await first;
    });

    test('an update never starts while the batch inserting its row is in flight, nor do ops queued after it', async () => {
      const w = recordingWriter<KeyedOp>();
      const q = new GroupCommitQueue<KeyedOp>({
        write: w.write,
        maxBatch: 100,
        maxInFlight: 3,
        keys,
        isDataError,
      });
      w.holdNext();
      const insert = q.submit({ name: 'insert a', provides: 'x:a' });
      await tick();
      const update = q.submit({ name: 'update a', provides: 'x:a', dependsOn: 'x:a' });
      const after = q.submit({ name: 'insert b', provides: 'x:b' });
      await tick();
      expect(w.batches.map((b) => b.map((o) => o.name))).toEqual([['insert a']]);
      w.releaseHeld();
      await Promise.all([insert, update, after]);
      expect(w.batches.map((b) => b.map((o) => o.name))).toEqual([['insert a'], ['update a', 'insert b']]);
      await q.close();
    });

    test('maxInFlight above 1 requires keys', () => {
      expect(
        () =>
          new GroupCommitQueue<number>({ write: async () => [], maxBatch: 1, maxInFlight: 2, isDataError }),
      ).toThrow(RangeError);
    });
  });
});
