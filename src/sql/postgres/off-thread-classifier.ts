// Long texts are classified on a worker thread, for a bounded time, in turn between their owners.
//
// Why: parsing is linear in the text but not cheap. A 7 MB `IN (…)` list took 3–6 s to classify on
// the test machine, and a query message may hold 64 MiB. Classified on the event loop, one agent's
// long statement held every other session of every protocol for seconds, and one principal's twenty
// sessions could keep it held (docs/security.md, "A long statement held the event loop").
//
// How: a text of at most `inlineChars` characters is classified where it is asked for (a few
// milliseconds at most; nearly every statement). A longer one goes to one worker thread running the
// same classifier. Long texts wait in a queue per owner (the principal sending them) and the worker
// takes them in rotation between owners, so one principal's long texts never keep another's waiting
// for more than one text each. A parse that has not finished after `timeoutMs` is stopped (the thread
// is terminated and a new one started for the next text) and the text is answered as unparsed, which
// every policy denies. A thread that fails (its heap bound, a crash) answers the same way: what
// Gatehouse could not read is not forwarded.

import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../core/module-worker.js';
import type { SqlClassification } from '../../core/sql-statement.js';
import { unparsed } from './unparsed.js';

export interface OffThreadOptions {
  /** Texts longer than this many characters are classified on the worker thread (default 16 Ki). */
  readonly inlineChars?: number;
  /** A parse still running after this long is stopped and the text refused (default 10 s). */
  readonly timeoutMs?: number;
  /** The worker's V8 heap bound in MiB (default 2048): past it the thread dies and the text is refused. */
  readonly heapMb?: number;
  /** The classifier's own bound on text length, passed to the worker's classifier. */
  readonly maxTextLength?: number;
}

export const DEFAULT_INLINE_CHARS = 16 * 1024;
export const DEFAULT_PARSE_TIMEOUT_MS = 10_000;
const DEFAULT_HEAP_MB = 2048;
/** Extra time a text gets while a new thread loads the parser (about 0.2 s; more under load). */
const LOAD_ALLOWANCE_MS = 30_000;

interface Job {
  readonly id: number;
  readonly text: string;
  readonly resolve: (c: SqlClassification) => void;
}

interface Answer {
  readonly id?: number;
  readonly ready?: true;
  readonly result?: SqlClassification;
  readonly error?: string;
}

export class OffThreadClassifier {
  readonly inlineChars: number;
  readonly timeoutMs: number;
  readonly #heapMb: number;
  readonly #maxTextLength: number | undefined;
  #worker: Worker | undefined;
  #ready = false;
  #current: Job | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Waiting jobs by owner, and the owners with waiting jobs in the order they are served. */
  readonly #queues = new Map<string, Job[]>();
  #lastOwner: string | undefined;
  #nextId = 1;
  #stats = { classified: 0, timedOut: 0, failed: 0 };

  constructor(options: OffThreadOptions = {}) {
    this.inlineChars = options.inlineChars ?? DEFAULT_INLINE_CHARS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS;
    this.#heapMb = options.heapMb ?? DEFAULT_HEAP_MB;
    this.#maxTextLength = options.maxTextLength;
  }

  /** Texts classified, stopped at the time bound, and lost with a failed thread (tests, metrics). */
  stats(): { readonly classified: number; readonly timedOut: number; readonly failed: number } {
    return { ...this.#stats };
  }

  /** Classifies `text` on the worker thread, in its owner's turn. Never rejects. */
  classify(text: string, owner: string): Promise<SqlClassification> {
    return new Promise((resolve) => {
      const job: Job = { id: this.#nextId++, text, resolve };
      // A Map iterates in insertion order: an owner whose queue empties is deleted, and one that
      // sends again joins at the back of the rotation.
      const queue = this.#queues.get(owner);
      if (queue) queue.push(job);
      else this.#queues.set(owner, [job]);
      this.#pump();
    });
  }

  /** Stops the thread; jobs still waiting are answered as refused. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#ready = false;
    if (this.#timer) clearTimeout(this.#timer);
    const current = this.#current;
    this.#current = undefined;
    current?.resolve(unparsed(current.text, 'Gatehouse is shutting down'));
    for (const queue of this.#queues.values())
      for (const job of queue) job.resolve(unparsed(job.text, 'Gatehouse is shutting down'));
    this.#queues.clear();
    if (worker) await worker.terminate();
  }

  #pump(): void {
    if (this.#current) return;
    const next = this.#takeNext();
    if (!next) return;
    this.#current = next;
    const worker = this.#start();
    // A thread that is still loading the parser gets LOAD_ALLOWANCE_MS more: loading is not the
    // text's time, but a thread that never gets ready must not hold the text for ever either.
    this.#timer = setTimeout(
      () => this.#timedOut(next),
      this.timeoutMs + (this.#ready ? 0 : LOAD_ALLOWANCE_MS),
    );
    this.#timer.unref();
    if (this.#ready) this.#send(worker, next);
  }

  #takeNext(): Job | undefined {
    // The owner served last goes behind every other owner with a text waiting, also when its next
    // text arrived before theirs.
    const last = this.#lastOwner;
    const lastQueue = last === undefined ? undefined : this.#queues.get(last);
    if (lastQueue && this.#queues.size > 1) {
      this.#queues.delete(last!);
      this.#queues.set(last!, lastQueue);
    }
    for (const [owner, queue] of this.#queues) {
      const job = queue.shift();
      this.#queues.delete(owner);
      // Back of the rotation with what it has left.
      if (queue.length > 0) this.#queues.set(owner, queue);
      if (!job) continue;
      this.#lastOwner = owner;
      return job;
    }
    return undefined;
  }

  #send(worker: Worker, job: Job): void {
    worker.postMessage({ id: job.id, text: job.text });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startModuleWorker(import.meta.url, 'classify-thread', {
      workerData: this.#maxTextLength !== undefined ? { maxTextLength: this.#maxTextLength } : {},
      resourceLimits: { maxOldGenerationSizeMb: this.#heapMb },
    });
    worker.unref();
    worker.on('message', (m: Answer) => this.#answered(worker, m));
    worker.on('error', (e) => this.#lost(worker, `the parser thread failed: ${e.message}`));
    worker.on('exit', (code) => this.#lost(worker, `the parser thread stopped (exit code ${code})`));
    this.#worker = worker;
    this.#ready = false;
    return worker;
  }

  #answered(worker: Worker, m: Answer): void {
    if (worker !== this.#worker) return;
    if (m.ready) {
      this.#ready = true;
      const job = this.#current;
      if (job) {
        // The text's own time starts now.
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#timedOut(job), this.timeoutMs);
        this.#timer.unref();
        this.#send(worker, job);
      }
      return;
    }
    const job = this.#current;
    if (!job || m.id !== job.id) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#current = undefined;
    if (m.result) {
      this.#stats.classified++;
      job.resolve(m.result);
    } else {
      this.#stats.failed++;
      job.resolve(unparsed(job.text, `statement could not be classified: ${m.error ?? 'no answer'}`));
    }
    this.#pump();
  }

  #timedOut(job: Job): void {
    if (this.#current !== job) return;
    this.#stats.timedOut++;
    const seconds = this.timeoutMs / 1000;
    this.#drop(
      job,
      `Gatehouse: the statement took longer than ${seconds} s to parse (parseTimeout); it was not run`,
    );
  }

  /** The thread ended or failed: the text it held is refused, and the next one gets a new thread. */
  #lost(worker: Worker, reason: string): void {
    if (worker !== this.#worker) return;
    const job = this.#current;
    if (job) {
      this.#stats.failed++;
      this.#drop(job, `statement could not be classified: ${reason}`);
    } else {
      this.#worker = undefined;
      this.#ready = false;
      this.#pump();
    }
  }

  #drop(job: Job, message: string): void {
    if (this.#timer) clearTimeout(this.#timer);
    const worker = this.#worker;
    this.#worker = undefined;
    this.#ready = false;
    this.#current = undefined;
    void worker?.terminate();
    job.resolve(unparsed(job.text, message));
    this.#pump();
  }
}
