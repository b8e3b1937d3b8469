// Masks a buffered HTTP/AWS response body without holding the event loop.
//
// Why: masking is linear in the body but not cheap. A 7.8 MB JSON document of 40,000 objects took
// 0.9–2.7 s to mask with the default detectors on the test machine, and a body may be up to
// `masking.maxBodyBytes` (8 MiB by default, on generic HTTP and AWS connections alike). Masked on the
// event loop, one agent's large masked read held every other session of every protocol for that
// long, and its 32 requests in flight could keep it held (docs/security.md, class 149).
//
// How: a body of at most INLINE_CHARS characters is masked where it is asked for (a few milliseconds
// at most; nearly every API response). A longer one is masked on one worker thread by the same
// function (maskBodyText) with a detector set rebuilt there from the same plain settings (the detector
// names, field names and style: an HTTP connection's set has no key and no custom detector), so the
// result is the one masking it inline gives, byte for byte. Bodies wait for the thread in turn. A
// thread that fails (a crash, its heap bound) rejects the bodies it held: the relay withholds them.

import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../core/module-worker.js';
import { createDetectorSet, maskJsonText, type DetectorSet, type MaskResult } from '../../masking/index.js';
import { fieldMatcher, type FieldMatcher } from './field-names.js';
import { maskXmlText } from './xml-masking.js';

export type MaskKind = 'json' | 'xml' | 'text';

/** What masking a body needs; plain data, so that it crosses to the worker thread as it is. */
export interface BodyMaskSettings {
  readonly enabledDetectors: readonly string[] | 'all';
  readonly fieldNames: readonly string[];
  readonly style: 'redact' | 'partial';
}

/** Masks `text` read as `kind`: the one function used on the event loop and on the worker thread. */
export function maskBodyText(
  kind: MaskKind,
  text: string,
  m: {
    readonly detectors: DetectorSet;
    readonly fieldNames: readonly string[];
    readonly fields: FieldMatcher;
    readonly style: 'redact' | 'partial';
  },
): MaskResult | null {
  const asJson = (t: string): MaskResult | null =>
    maskJsonText(t, m.detectors, { keyNames: m.fieldNames, style: m.style, keysInInvalidJson: true });
  if (kind === 'json') return asJson(text);
  if (kind === 'xml') return maskXmlText(text, m.detectors, m.style, m.fields, asJson);
  return m.detectors.mask(text, m.style, 'text');
}

/** Bodies up to this many characters are masked on the event loop (at most ~20 ms under load). */
export const INLINE_CHARS = 64 * 1024;

/**
 * Masks a body: inline when short, else on the masking thread. Rejects only when the thread failed
 * (the caller withholds the body).
 */
export function maskBodyOffLoop(
  kind: MaskKind,
  text: string,
  m: BodyMaskSettings & { readonly detectors: DetectorSet; readonly fields: FieldMatcher },
): Promise<MaskResult | null> {
  if (text.length <= INLINE_CHARS) return Promise.resolve(maskBodyText(kind, text, m));
  return thread().mask({
    kind,
    text,
    settings: { enabledDetectors: m.enabledDetectors, fieldNames: m.fieldNames, style: m.style },
  });
}

/** One job for the thread. */
export interface MaskJob {
  readonly kind: MaskKind;
  readonly text: string;
  readonly settings: BodyMaskSettings;
}

interface Pending {
  readonly id: number;
  readonly job: MaskJob;
  readonly resolve: (r: MaskResult | null) => void;
  readonly reject: (e: Error) => void;
}

interface Answer {
  readonly id: number;
  readonly result?: MaskResult | null;
  readonly error?: string;
}

/** The worker thread masking long bodies, one at a time, in the order they came. */
export class MaskingThread {
  #worker: Worker | undefined;
  #current: Pending | undefined;
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #masked = 0;

  /** Bodies masked on the thread (tests). */
  get masked(): number {
    return this.#masked;
  }

  mask(job: MaskJob): Promise<MaskResult | null> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, job, resolve, reject });
      this.#pump();
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    const pending = [...(this.#current ? [this.#current] : []), ...this.#queue.splice(0)];
    this.#current = undefined;
    for (const p of pending) p.reject(new Error('Gatehouse is shutting down'));
    if (worker) await worker.terminate();
  }

  #pump(): void {
    if (this.#current) return;
    const next = this.#queue.shift();
    if (!next) return;
    this.#current = next;
    this.#start().postMessage({ id: next.id, job: next.job });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startModuleWorker(import.meta.url, 'mask-thread');
    worker.unref();
    worker.on('message', (m: Answer) => this.#answered(worker, m));
    worker.on('error', (e) => this.#lost(worker, `the masking thread failed: ${e.message}`));
    worker.on('exit', (code) => this.#lost(worker, `the masking thread stopped (exit code ${code})`));
    this.#worker = worker;
    return worker;
  }

  #answered(worker: Worker, m: Answer): void {
    const p = this.#current;
    if (worker !== this.#worker || !p || m.id !== p.id) return;
    this.#current = undefined;
    if (m.error !== undefined) p.reject(new Error(`masking failed: ${m.error}`));
    else {
      this.#masked++;
      p.resolve(m.result ?? null);
    }
    this.#pump();
  }

  /** The thread ended or failed: the body it held is rejected, the next one gets a new thread. */
  #lost(worker: Worker, reason: string): void {
    if (worker !== this.#worker) return;
    this.#worker = undefined;
    const p = this.#current;
    this.#current = undefined;
    p?.reject(new Error(reason));
    this.#pump();
  }
}

let shared: MaskingThread | undefined;

/** The process's masking thread (started on first use; unref'd, so it never keeps the process up). */
export function thread(): MaskingThread {
  shared ??= new MaskingThread();
  return shared;
}

/**
 * The detector set and field matcher of a connection's body masking, from its plain settings: built
 * by this one function on the event loop (connection-settings.ts) and on the masking thread (below),
 * so a body is masked alike wherever it is masked.
 */
export function bodyMaskers(
  enabledDetectors: readonly string[] | 'all',
  fieldNames: readonly string[],
): { detectors: DetectorSet; fields: FieldMatcher } {
  return {
    detectors: createDetectorSet({ enabled: enabledDetectors === 'all' ? 'all' : [...enabledDetectors] }),
    fields: fieldMatcher(fieldNames),
  };
}

/** A worker's detector sets and field matchers, by settings (a connection's settings rarely change). */
const built = new Map<string, { detectors: DetectorSet; fields: FieldMatcher }>();

/** Runs one job on the worker thread. */
export function runMaskJob(job: MaskJob): MaskResult | null {
  const key = JSON.stringify([job.settings.enabledDetectors, job.settings.fieldNames]);
  let b = built.get(key);
  if (!b) {
    b = bodyMaskers(job.settings.enabledDetectors, job.settings.fieldNames);
    if (built.size >= 64) built.clear();
    built.set(key, b);
  }
  return maskBodyText(job.kind, job.text, {
    ...b,
    fieldNames: job.settings.fieldNames,
    style: job.settings.style,
  });
}
