// Streams committed record events to a SIEM sink (file, stdout, webhook) as JSON Lines, after they
// are durable. It must never block or fail the data path: offer() only queues (bounded), a slow or
// failing sink is retried with backoff in the background, and what does not fit is dropped, counted,
// and reported back so the affected sessions' records say so (a `siem.dropped` event).

import { canonicalJson } from './canonical-json.js';
import { EVENT_TYPES } from './event-data.js';
import { eventLine } from './recording-export.js';
import type { CommittedEvent } from '../store/event-chain.js';

/** Where lines go. `send` resolves once the sink accepted the batch; it throws to be retried. */
export interface SiemSink {
  readonly name: string;
  send(lines: readonly string[]): Promise<void>;
  close?(): Promise<void>;
}

/** A sink's refusal that retrying cannot fix (e.g. HTTP 400): the batch is dropped and counted. */
export class PermanentSinkError extends Error {}

export interface SiemExporterOptions {
  readonly sink: SiemSink;
  /** Lines per send at most (default 100). */
  readonly batch?: number;
  /** Lines waiting at most; beyond it new events are dropped (default 10 000). */
  readonly maxQueue?: number;
  /** First retry delay, doubled per failure up to maxBackoffMs (defaults 250 ms, 30 s). */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How often drops are reported through onDrops (default 10 s). */
  readonly dropReportMs?: number;
  /** Drops since the last report, per session. Not called for drops of `siem.dropped` events. */
  readonly onDrops?: (exporter: string, dropsBySession: ReadonlyMap<string, number>) => void;
  readonly onError?: (err: unknown) => void;
}

export interface SiemStats {
  readonly sink: string;
  readonly queued: number;
  readonly sent: number;
  readonly dropped: number;
  readonly failedSends: number;
}

interface Queued {
  readonly line: string;
  readonly session: string;
}

export class SiemExporter {
  readonly #opts: SiemExporterOptions;
  readonly #batch: number;
  readonly #max: number;
  #queue: Queued[] = [];
  #head = 0;
  #running = false;
  #closed = false;
  #sent = 0;
  #dropped = 0;
  #failed = 0;
  #unreported = new Map<string, number>();
  #reportTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #idle: (() => void)[] = [];

  constructor(opts: SiemExporterOptions) {
    this.#opts = opts;
    this.#batch = Math.max(1, opts.batch ?? 100);
    this.#max = Math.max(1, opts.maxQueue ?? 10_000);
    const every = opts.dropReportMs ?? 10_000;
    if (opts.onDrops && every > 0) {
      this.#reportTimer = setInterval(() => this.reportDrops(), every);
      this.#reportTimer.unref();
    }
  }

  get name(): string {
    return this.#opts.sink.name;
  }

  /** Queues committed events; never waits, never throws. */
  offer(events: readonly CommittedEvent[]): void {
    if (this.#closed) return;
    for (const e of events) {
      if (this.#queue.length - this.#head >= this.#max) {
        this.#dropped++;
        if (e.type !== EVENT_TYPES.siemDropped)
          this.#unreported.set(e.session, (this.#unreported.get(e.session) ?? 0) + 1);
        continue;
      }
      let line: string;
      try {
        line = canonicalJson(eventLine(e));
      } catch (err) {
        this.#dropped++;
        this.#opts.onError?.(err);
        continue;
      }
      this.#queue.push({ line, session: e.session });
    }
    if (!this.#running) void this.#run();
    else this.#wake?.();
  }

  stats(): SiemStats {
    return {
      sink: this.#opts.sink.name,
      queued: this.#queue.length - this.#head,
      sent: this.#sent,
      dropped: this.#dropped,
      failedSends: this.#failed,
    };
  }

  /** Hands drops counted since the last report to onDrops. */
  reportDrops(): void {
    if (this.#unreported.size === 0 || !this.#opts.onDrops) return;
    const drops = this.#unreported;
    this.#unreported = new Map();
    try {
      this.#opts.onDrops(this.#opts.sink.name, drops);
    } catch (err) {
      this.#opts.onError?.(err);
    }
  }

  /** Resolves when everything queued so far was sent (or dropped). */
  flushed(): Promise<void> {
    if (!this.#running && this.#queue.length === this.#head) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  /** Stops taking events; tries to send what is queued for up to `timeoutMs`. */
  async close(timeoutMs = 2000): Promise<void> {
    this.#closed = true;
    clearInterval(this.#reportTimer);
    await Promise.race([this.flushed(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.#wake?.();
    await this.#opts.sink.close?.().catch(() => undefined);
  }

  async #run(): Promise<void> {
    this.#running = true;
    let backoff = this.#opts.initialBackoffMs ?? 250;
    const maxBackoff = this.#opts.maxBackoffMs ?? 30_000;
    try {
      while (this.#queue.length > this.#head) {
        const end = Math.min(this.#queue.length, this.#head + this.#batch);
        const batch = this.#queue.slice(this.#head, end);
        try {
          await this.#opts.sink.send(batch.map((q) => q.line));
          this.#sent += batch.length;
          backoff = this.#opts.initialBackoffMs ?? 250;
        } catch (err) {
          this.#failed++;
          this.#opts.onError?.(err);
          if (err instanceof PermanentSinkError) {
            this.#dropped += batch.length;
            for (const q of batch)
              this.#unreported.set(q.session, (this.#unreported.get(q.session) ?? 0) + 1);
          } else {
            if (this.#closed) break;
            // Full jitter keeps many gateways from retrying a recovering SIEM in lockstep.
            await this.#sleep(Math.round(backoff / 2 + Math.random() * (backoff / 2)));
            backoff = Math.min(backoff * 2, maxBackoff);
            continue;
          }
        }
        this.#head = end;
        if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
      }
    } finally {
      this.#running = false;
      if (this.#queue.length === this.#head) {
        const idle = this.#idle;
        this.#idle = [];
        for (const r of idle) r();
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      t.unref();
      // close() cuts a backoff short.
      this.#wake = () => {
        if (!this.#closed) return;
        clearTimeout(t);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}
