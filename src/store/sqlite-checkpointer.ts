// WAL checkpoints off the event loop. A checkpoint copies the WAL's pages into the database file and
// fsyncs both; run by the writing connection (SQLite's default, every 1000 WAL pages) it blocked the
// gateway's event loop for 5–9 ms each time, about thirty times a second under pgbench -S -c 8
// (docs/performance.md). Here a worker thread with its own connection runs PASSIVE checkpoints
// (which never wait for, nor block, the writer) a few times a second while commits happen, and the
// writing connection keeps an automatic checkpoint only as a backstop at a much larger WAL size:
// under a write load that never pauses, a PASSIVE checkpoint never catches up with the last frames,
// and SQLite rewinds the WAL only after a checkpoint that did, so the backstop bounds the WAL file.
// Durability is unchanged: a commit is durable when it is in the WAL (synchronous NORMAL or FULL), and
// checkpoints never change what a committed transaction holds.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** WAL pages (4 KiB) at which the writing connection checkpoints itself (about 80 MB). */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 20_000;

export interface CheckpointerStats {
  /** PASSIVE checkpoints the worker ran. */
  readonly checkpoints: number;
  /** WAL frames they copied into the database file, summed. */
  readonly framesCheckpointed: number;
  /** Checkpoints that failed (the worker's error; the backstop still checkpoints). */
  readonly failures: number;
}

// Plain JavaScript, evaluated in the worker (no TypeScript loader there). It opens its own connection
// to the same file and answers each 'checkpoint' message with the checkpoint's outcome.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs, fileMustExist: true });
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('wal_autocheckpoint = 0');
parentPort.on('message', (m) => {
  if (m === 'close') { db.close(); parentPort.close(); return; }
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    parentPort.postMessage({ ok: true, busy: r.busy, log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String(e && e.message || e) });
  }
});
`;

interface Outcome {
  readonly ok: boolean;
  readonly checkpointed?: number;
  readonly error?: string;
}

export interface SqliteCheckpointerOptions {
  readonly file: string;
  readonly synchronous: 'NORMAL' | 'FULL';
  readonly busyTimeoutMs: number;
  /** How often to checkpoint while commits happen (default 200 ms). */
  readonly intervalMs?: number;
  /** Told when a checkpoint fails (the store logs nothing itself). */
  readonly onError?: (message: string) => void;
}

export class SqliteCheckpointer {
  readonly #opts: SqliteCheckpointerOptions;
  readonly #timer: NodeJS.Timeout;
  #worker: Worker | undefined;
  #dirty = false;
  #inFlight = false;
  #closed = false;
  #dead = false;
  #exited: Promise<void> = Promise.resolve();
  #stats = { checkpoints: 0, framesCheckpointed: 0, failures: 0 };
  #waiters: (() => void)[] = [];

  constructor(opts: SqliteCheckpointerOptions) {
    this.#opts = opts;
    this.#timer = setInterval(() => this.#tick(), opts.intervalMs ?? 200);
    this.#timer.unref();
  }

  /** The worker, started at the first checkpoint (a short CLI command never starts one). */
  #start(): Worker {
    if (this.#worker) return this.#worker;
    const opts = this.#opts;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        sqlite: createRequire(import.meta.url).resolve('better-sqlite3'),
        file: opts.file,
        synchronous: opts.synchronous,
        busyTimeoutMs: opts.busyTimeoutMs,
      },
    });
    worker.unref();
    this.#exited = new Promise((resolve) =>
      worker.once('exit', () => {
        // However the thread ended, nothing waits for it any more (close() included).
        this.#dead = true;
        this.#inFlight = false;
        this.#wake();
        resolve();
      }),
    );
    worker.on('message', (m: Outcome) => this.#settled(m));
    worker.on('error', (e) => {
      // The thread is gone; the writer's backstop checkpoint keeps the WAL bounded.
      this.#stats.failures++;
      this.#dead = true;
      this.#inFlight = false;
      opts.onError?.(`the WAL checkpoint thread stopped: ${e.message}`);
      this.#wake();
    });
    this.#worker = worker;
    return worker;
  }

  /** Called after each commit: there are WAL frames to checkpoint. */
  noteCommit(): void {
    this.#dirty = true;
  }

  /**
   * Runs a checkpoint now and resolves when it has finished (tests). One already running may have
   * started before the latest commits, so it is waited for and another one follows.
   */
  async checkpointNow(): Promise<void> {
    await this.#whenIdle();
    this.#dirty = true;
    this.#tick();
    await this.#whenIdle();
  }

  /** Resolves when no checkpoint is running. */
  #whenIdle(): Promise<void> {
    if (!this.#inFlight) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  stats(): CheckpointerStats {
    return { ...this.#stats };
  }

  /** Stops the worker after the checkpoint in flight, and closes its connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    // The worker is unref'd so that an idle one never keeps a process alive; while close() waits for
    // it, it must (else a process with nothing else to do exits mid-close, before the connection is
    // closed and the WAL folded back: bench/store-record.bench.ts stopped after its first store).
    if (this.#worker && !this.#dead) this.#worker.ref();
    await this.#whenIdle();
    if (this.#worker && !this.#dead) this.#worker.postMessage('close');
    await this.#exited;
  }

  #tick(): void {
    if (this.#closed || this.#dead || this.#inFlight || !this.#dirty) return;
    this.#dirty = false;
    this.#inFlight = true;
    this.#start().postMessage('checkpoint');
  }

  #settled(m: Outcome): void {
    this.#inFlight = false;
    if (m.ok) {
      this.#stats.checkpoints++;
      this.#stats.framesCheckpointed += Math.max(0, m.checkpointed ?? 0);
    } else {
      this.#stats.failures++;
      this.#opts.onError?.(`WAL checkpoint failed: ${m.error ?? 'unknown error'}`);
    }
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}
