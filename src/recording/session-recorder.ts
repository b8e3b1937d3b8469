// The session recorder: a SessionStore in front of the store that prepares what gets recorded —
// passwords redacted from statement text, large result samples moved to the blob store, a `prompt`
// event the first time a session runs a statement for a prompt. The store chains and seals the events.
// It must never delay a statement's durable record on anything but the store, nor drop a write.

import type { Logger, SessionStore } from '../core/ports.js';
import type {
  ResultSample,
  ResultSampleRef,
  SessionEvent,
  SessionFilter,
  SessionRecord,
  StatementRecord,
  StatementResult,
  StoredStatement,
  TerminalRecordingRef,
} from '../core/records.js';
import type { BlobStore } from './blob-store.js';
import { sampleBlobKey, terminalBlobKey } from './blob-store.js';
import { canonicalJson } from './canonical-json.js';
import { EVENT_TYPES } from './event-data.js';
import { sha256Hex } from './record-format.js';
import { redactSqlSecrets, REDACTED } from '../sql/sql-secret-redaction.js';

export interface SessionRecorderOptions {
  readonly blobs?: BlobStore;
  /** Samples whose canonical JSON is larger than this go to the blob store (default 2048 bytes). */
  readonly inlineSampleBytes?: number;
  /** How long session end waits for blob writes of its last results (default 5000 ms). */
  readonly blobWaitMs?: number;
  readonly logger: Logger;
}

export interface RecorderStats {
  readonly blobsWritten: number;
  readonly blobFailures: number;
  readonly redacted: number;
}

export class SessionRecorder implements SessionStore {
  readonly #store: SessionStore;
  readonly #opts: SessionRecorderOptions;
  readonly #inline: number;
  /** Session id → the prompt id its last `prompt` event named. */
  readonly #prompt = new Map<string, string>();
  /** Per session: the prompts (source and id) it has a `prompt` event for. */
  readonly #promptsSeen = new Map<string, Set<string>>();
  /** Session id → completions waiting for their blob write. */
  readonly #pending = new Map<string, Set<Promise<void>>>();
  #stats = { blobsWritten: 0, blobFailures: 0, redacted: 0 };

  constructor(store: SessionStore, opts: SessionRecorderOptions) {
    this.#store = store;
    this.#opts = opts;
    this.#inline = opts.inlineSampleBytes ?? 2048;
  }

  stats(): RecorderStats {
    return { ...this.#stats };
  }

  startSession(record: SessionRecord): Promise<void> {
    return this.#store.startSession(record);
  }

  recordStatement(record: StatementRecord): Promise<void> {
    let rec = record;
    const r = redactSqlSecrets(record.text);
    if (r.changed) {
      this.#stats.redacted++;
      const params = record.params?.map((p, i) => (r.params.includes(i) && p !== null ? REDACTED : p));
      rec = { ...record, text: r.text, ...(params ? { params } : {}) };
    }
    const lineage = rec.lineage;
    if (lineage?.promptId !== undefined) {
      const { prompt, contextPrompt, ...rest } = lineage;
      // The context API's prompt a declaration overrode is recorded too (once per session), with its
      // text: the prompt that was current when the statement ran is in the record whatever it claims.
      const overrode = lineage.contextPromptId;
      const seen = this.#promptsSeen.get(rec.sessionId) ?? new Set<string>();
      this.#promptsSeen.set(rec.sessionId, seen);
      if (overrode !== undefined && !seen.has(`context-api\u0000${overrode}`)) {
        seen.add(`context-api\u0000${overrode}`);
        void this.#store
          .appendEvent(rec.sessionId, {
            type: EVENT_TYPES.prompt,
            at: rec.at,
            data: {
              promptId: overrode,
              source: 'context-api',
              ...(contextPrompt !== undefined ? { prompt: contextPrompt } : {}),
            },
          })
          .catch((err: unknown) =>
            this.#opts.logger.warn({ err: String(err), session: rec.sessionId }, 'prompt event not recorded'),
          );
      }
      // A new prompt event when the prompt or the source that names it changes: a comment naming the
      // prompt of earlier statements is recorded as a comment's claim, not filed under that prompt.
      const key = `${lineage.source}\u0000${lineage.promptId}`;
      if (this.#prompt.get(rec.sessionId) !== key) {
        this.#prompt.set(rec.sessionId, key);
        seen.add(key);
        // Submitted before the statement, in the same tick: it joins the same group commit and is
        // chained just before it. Its failure is the statement's failure too (same transaction),
        // so it is not awaited separately.
        void this.#store
          .appendEvent(rec.sessionId, {
            type: EVENT_TYPES.prompt,
            at: rec.at,
            data: {
              promptId: lineage.promptId,
              source: lineage.source,
              ...(prompt !== undefined ? { prompt } : {}),
              ...(lineage.toolUseId !== undefined ? { toolUseId: lineage.toolUseId } : {}),
              ...(lineage.agentSessionId !== undefined ? { agentSessionId: lineage.agentSessionId } : {}),
            },
          })
          .catch((err: unknown) =>
            this.#opts.logger.warn({ err: String(err), session: rec.sessionId }, 'prompt event not recorded'),
          );
      }
      // The prompt text lives in the `prompt` event, once per session, not in every statement.
      if (prompt !== undefined || contextPrompt !== undefined) rec = { ...rec, lineage: rest };
    }
    return this.#store.recordStatement(rec);
  }

  completeStatement(id: string, result: StatementResult): Promise<void> {
    if (result.terminal) return this.#completeWithTerminal(id, result);
    return this.#complete(id, result);
  }

  /** A terminal recording goes to the blob store as canonical JSON {format, cast}; the result keeps its ref. */
  #completeWithTerminal(id: string, result: StatementResult): Promise<void> {
    const { terminal, ...rest } = result;
    const t = terminal!;
    const text = canonicalJson({ format: t.format, cast: t.text });
    const sha256 = sha256Hex(text);
    const sessionId = sessionOfStatement(id);
    const key = terminalBlobKey(sessionId, sha256);
    const ref: TerminalRecordingRef = {
      key,
      sha256,
      format: t.format,
      bytes: Buffer.byteLength(text, 'utf8'),
      events: t.events,
      truncated: t.truncated,
    };
    const blobs = this.#opts.blobs;
    if (!blobs) return this.#complete(id, { ...rest, terminalRef: { ...ref, key: '' } });
    const work = blobs.put(key, Buffer.from(text, 'utf8')).then(
      () => {
        this.#stats.blobsWritten++;
        return this.#complete(id, { ...rest, terminalRef: ref });
      },
      (err: unknown) => {
        this.#stats.blobFailures++;
        this.#opts.logger.warn(
          { err: String(err), session: sessionId },
          'terminal recording not stored in the blob store',
        );
        return this.#complete(id, { ...rest, terminalRef: { ...ref, key: '' } });
      },
    );
    this.#track(sessionId, work);
    return work;
  }

  #complete(id: string, result: StatementResult): Promise<void> {
    const sample = result.sample;
    if (!sample) return this.#store.completeStatement(id, result);
    // Most samples are small: when even their largest possible text fits inline, it is not built here
    // (the store writes it into the result event anyway).
    if (sampleJsonBound(sample) <= this.#inline) return this.#store.completeStatement(id, result);
    const text = canonicalJson(sample);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes <= this.#inline || !this.#opts.blobs) {
      return this.#store.completeStatement(id, result);
    }
    const blobs = this.#opts.blobs;
    const sha256 = sha256Hex(text);
    const sessionId = sessionOfStatement(id);
    const key = sampleBlobKey(sessionId, sha256);
    const ref: ResultSampleRef = {
      key,
      sha256,
      bytes,
      rows: sample.rows.length,
      truncated: sample.truncated,
    };
    const { sample: _dropped, ...rest } = result;
    const work = blobs.put(key, Buffer.from(text, 'utf8')).then(
      () => {
        this.#stats.blobsWritten++;
        return this.#store.completeStatement(id, { ...rest, sampleRef: ref });
      },
      (err: unknown) => {
        // The result is still recorded; only its sample is lost, and the record says so.
        this.#stats.blobFailures++;
        this.#opts.logger.warn(
          { err: String(err), session: sessionId },
          'result sample not stored in the blob store',
        );
        return this.#store.completeStatement(id, { ...rest, sampleRef: { ...ref, key: '' } });
      },
    );
    this.#track(sessionId, work);
    return work;
  }

  async endSession(id: string, endedAt: Date, reason: string): Promise<void> {
    const pending = this.#pending.get(id);
    // Results wait to share the next commit; the session's last ones are committed now.
    this.#store.commitDeferred?.();
    if (pending && pending.size > 0) {
      // Keep the chain in order: the last results land before the end event that seals it.
      const wait = this.#opts.blobWaitMs ?? 5000;
      await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, wait).unref())]);
    }
    this.#prompt.delete(id);
    this.#promptsSeen.delete(id);
    this.#pending.delete(id);
    return this.#store.endSession(id, endedAt, reason);
  }

  appendEvent(sessionId: string, event: SessionEvent): Promise<void> {
    return this.#store.appendEvent(sessionId, event);
  }

  listSessions(filter: SessionFilter): Promise<SessionRecord[]> {
    return this.#store.listSessions(filter);
  }

  getSession(id: string): Promise<{ session: SessionRecord; statements: StoredStatement[] } | undefined> {
    return this.#store.getSession(id);
  }

  async close(): Promise<void> {
    const all = [...this.#pending.values()].flatMap((s) => [...s]);
    await Promise.allSettled(all);
    await this.#store.close();
  }

  #track(sessionId: string, p: Promise<void>): void {
    let set = this.#pending.get(sessionId);
    if (!set) this.#pending.set(sessionId, (set = new Set()));
    set.add(p);
    const done = () => {
      set.delete(p);
    };
    p.then(done, done);
  }
}

/** Statement ids are `<session id>:<seq>` (src/gate/ids.ts). */
function sessionOfStatement(id: string): string {
  const i = id.lastIndexOf(':');
  return i > 0 ? id.slice(0, i) : id;
}

/**
 * An upper bound of the UTF-8 bytes of canonicalJson(sample): JSON.stringify writes at most 6 bytes per
 * UTF-16 unit of a string (`\\u001f`; a character is at most 3 bytes per unit in UTF-8), and the
 * structure adds brackets, quotes, commas and the three member names.
 */
export function sampleJsonBound(sample: ResultSample): number {
  let n = 64;
  for (const c of sample.columns) n += 3 + 6 * c.length;
  for (const row of sample.rows) {
    n += 3;
    for (const cell of row) n += cell === null ? 5 : 3 + 6 * cell.length;
  }
  return n;
}
