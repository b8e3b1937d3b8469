// SIEM sinks: JSON Lines appended to a file or written to stdout, or POSTed to a webhook in batches.
// A sink only delivers; queueing, retry and drop accounting live in siem-exporter.ts. It must never
// log a webhook's headers (they hold credentials).

import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { PermanentSinkError, type SiemSink } from './siem-exporter.js';

export class FileSink implements SiemSink {
  readonly name: string;
  readonly #file: string;
  #fh: Promise<FileHandle> | undefined;

  constructor(file: string) {
    this.#file = path.resolve(file);
    this.name = `file:${this.#file}`;
  }

  async send(lines: readonly string[]): Promise<void> {
    if (!this.#fh) {
      mkdirSync(path.dirname(this.#file), { recursive: true, mode: 0o700 });
      this.#fh = open(this.#file, 'a', 0o600);
      this.#fh.catch(() => (this.#fh = undefined));
    }
    const fh = await this.#fh;
    await fh.appendFile(`${lines.join('\n')}\n`, 'utf8');
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    if (fh) await (await fh).close();
  }
}

export class StdoutSink implements SiemSink {
  readonly name = 'stdout';
  readonly #out: NodeJS.WritableStream;

  constructor(out: NodeJS.WritableStream = process.stdout) {
    this.#out = out;
  }

  send(lines: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const ok = this.#out.write(`${lines.join('\n')}\n`, (err) => (err ? reject(err) : undefined));
      if (ok) resolve();
      else this.#out.once('drain', () => resolve());
    });
  }
}

export interface WebhookSinkOptions {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Per request (default 10 000 ms). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** POSTs each batch as application/x-ndjson. 2xx accepts; 408, 429 and 5xx are retried; other 4xx drop it. */
export class WebhookSink implements SiemSink {
  readonly name: string;
  readonly #opts: WebhookSinkOptions;

  constructor(opts: WebhookSinkOptions) {
    this.#opts = opts;
    const u = new URL(opts.url);
    // Never name credentials a URL might carry.
    this.name = `webhook:${u.protocol}//${u.host}${u.pathname}`;
  }

  async send(lines: readonly string[]): Promise<void> {
    const f = this.#opts.fetch ?? fetch;
    const res = await f(this.#opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', ...this.#opts.headers },
      body: `${lines.join('\n')}\n`,
      signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 10_000),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return;
    if (res.status === 408 || res.status === 429 || res.status >= 500)
      throw new Error(`SIEM webhook answered ${res.status}`);
    throw new PermanentSinkError(`SIEM webhook refused the batch with ${res.status}`);
  }
}
