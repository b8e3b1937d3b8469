// Exports one session's record as JSON Lines (docs/recording.md §Export): a header, every event in
// chain order, each seal after the event it covers, and each referenced blob after its event.
// It reads the store and the blob store only; it must not alter or "repair" anything it exports.

import { canonicalJson } from './canonical-json.js';
import type { BlobStore } from './blob-store.js';
import {
  RECORD_FORMAT_VERSION,
  type BlobLine,
  type ChainedEvent,
  type EventLine,
  type HeaderLine,
  type SealLine,
} from './record-format.js';
import type { EventReader, StoredEvent, StoredSeal } from '../store/event-queries.js';

export interface ExportOptions {
  /** The gateway's record-signing public key, carried in the header for offline verification. */
  readonly publicKey?: { readonly spki: string; readonly fingerprint: string };
  /** Blobs (large result samples) to inline; left out when absent (the verifier then says so). */
  readonly blobs?: BlobStore;
  readonly now?: () => Date;
  /** Events read per page (default 1000). */
  readonly pageSize?: number;
}

export function eventToChained(e: StoredEvent): ChainedEvent {
  return {
    v: RECORD_FORMAT_VERSION,
    session: e.session,
    seq: e.seq,
    type: e.type,
    at: e.at.toISOString(),
    ...(e.statement !== undefined ? { statement: e.statement } : {}),
    data: e.data,
    prev: e.prev,
  };
}

export function eventLine(e: StoredEvent): EventLine {
  return { record: 'event', event: eventToChained(e), hash: e.hash };
}

export function sealLine(s: StoredSeal): SealLine {
  return {
    record: 'seal',
    session: s.session,
    seq: s.seq,
    hash: s.hash,
    alg: 'Ed25519',
    key: s.keyId,
    signature: s.signature,
    at: s.at.toISOString(),
  };
}

/** The blob a result event refers to, if any. */
export function sampleRefOf(e: {
  readonly data: Readonly<Record<string, unknown>>;
}): { key: string; sha256: string } | undefined {
  const ref = e.data.sampleRef as { key?: unknown; sha256?: unknown } | undefined;
  return ref && typeof ref.key === 'string' && typeof ref.sha256 === 'string'
    ? { key: ref.key, sha256: ref.sha256 }
    : undefined;
}

/** Every blob an event refers to: its result sample and its terminal recording. */
export function blobRefsOf(e: {
  readonly data: Readonly<Record<string, unknown>>;
}): { key: string; sha256: string }[] {
  const out: { key: string; sha256: string }[] = [];
  for (const field of ['sampleRef', 'terminalRef']) {
    const ref = e.data[field] as { key?: unknown; sha256?: unknown } | undefined;
    if (ref && typeof ref.key === 'string' && typeof ref.sha256 === 'string')
      out.push({ key: ref.key, sha256: ref.sha256 });
  }
  return out;
}

/** Yields the export's lines (without newlines), reading the record page by page. */
export async function* exportRecording(
  reader: EventReader,
  sessionId: string,
  opts: ExportOptions = {},
): AsyncGenerator<string> {
  const header: HeaderLine = {
    record: 'header',
    format: 'gatehouse-recording',
    version: RECORD_FORMAT_VERSION,
    session: sessionId,
    exportedAt: (opts.now?.() ?? new Date()).toISOString(),
    ...(opts.publicKey
      ? { publicKey: { alg: 'Ed25519', spki: opts.publicKey.spki, fingerprint: opts.publicKey.fingerprint } }
      : {}),
  };
  yield canonicalJson(header);
  const seals = await reader.getSeals(sessionId);
  let s = 0;
  const pageSize = opts.pageSize ?? 1000;
  let after = 0;
  for (;;) {
    const page = await reader.getEvents(sessionId, after, pageSize);
    for (const e of page) {
      yield canonicalJson(eventLine(e));
      for (const ref of opts.blobs ? blobRefsOf(e) : []) {
        if (!opts.blobs || ref.key === '') continue;
        const body = await opts.blobs.get(ref.key).catch(() => undefined);
        if (body) {
          let content: unknown;
          try {
            content = JSON.parse(body.toString('utf8'));
          } catch {
            content = undefined;
          }
          // Exported as stored: the verifier recomputes its SHA-256 and reports a blob that changed.
          if (content !== undefined) {
            const line: BlobLine = { record: 'blob', key: ref.key, sha256: ref.sha256, content };
            yield canonicalJson(line);
          }
        }
      }
      while (s < seals.length && (seals[s] as StoredSeal).seq <= e.seq) {
        const seal = seals[s] as StoredSeal;
        if (seal.seq === e.seq) yield canonicalJson(sealLine(seal));
        s++;
      }
      after = e.seq;
    }
    if (page.length < pageSize) break;
  }
  // A seal over an event the store no longer has: the events it covered were removed after it was
  // signed. Exported as stored, after the last event, so the verifier says so instead of reporting a
  // session that did not end.
  for (; s < seals.length; s++) yield canonicalJson(sealLine(seals[s] as StoredSeal));
}
