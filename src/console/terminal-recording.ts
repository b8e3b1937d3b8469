// Finds a terminal recording (asciicast v2) in a session's record, for the console's in-page
// player. Terminal engines (SSH, Kubernetes exec) record the cast one of two ways, both chained:
//   - an event `terminal.asciicast` whose data holds `castRef: {key, sha256}` (a blob) or `cast` (text);
//   - events `terminal.start` {width, height} and `terminal.output` {t, data} (t seconds from start).
// Pure apart from reading the blob store; the text is handed to the page as data, never as markup.

import { createHash } from 'node:crypto';
import type { BlobStore } from '../recording/blob-store.js';
import type { StoredEvent } from '../store/event-queries.js';

/** Casts larger than this are not shown in the page (export the record instead). */
export const MAX_CAST_BYTES = 8 * 1024 * 1024;

export type TerminalRecording =
  | { readonly kind: 'cast'; readonly text: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export async function terminalRecording(
  events: readonly StoredEvent[],
  blobs: BlobStore | undefined,
): Promise<TerminalRecording | undefined> {
  const cast = events.find((e) => e.type === 'terminal.asciicast');
  if (cast) {
    const inline = cast.data.cast;
    if (typeof inline === 'string') return { kind: 'cast', text: inline.slice(0, MAX_CAST_BYTES) };
    const ref = obj(cast.data.castRef);
    const key = typeof ref?.key === 'string' ? ref.key : undefined;
    if (!key || !blobs) return { kind: 'unavailable', reason: 'the recording blob is not reachable' };
    const body = await blobs.get(key).catch(() => undefined);
    if (!body) return { kind: 'unavailable', reason: `blob ${key} is missing` };
    if (body.length > MAX_CAST_BYTES)
      return { kind: 'unavailable', reason: 'the recording is too large to play here' };
    const sha = createHash('sha256').update(body).digest('hex');
    if (typeof ref?.sha256 === 'string' && ref.sha256 !== sha)
      return { kind: 'unavailable', reason: 'the recording blob does not match its hash (changed)' };
    return { kind: 'cast', text: body.toString('utf8') };
  }
  // Kubernetes exec/attach: the result event's `terminalRef` names a blob holding canonical JSON
  // {format: 'asciicast-v2', cast} (the SHA-256 is over those bytes, as `recordings verify` checks).
  const withRef = events.find((e) => e.type === 'result' && obj(e.data.terminalRef)?.key);
  if (withRef) {
    const ref = obj(withRef.data.terminalRef)!;
    const key = String(ref.key);
    if (!blobs) return { kind: 'unavailable', reason: 'the recording blob is not reachable' };
    const body = await blobs.get(key).catch(() => undefined);
    if (!body) return { kind: 'unavailable', reason: `blob ${key} is missing` };
    if (body.length > MAX_CAST_BYTES)
      return { kind: 'unavailable', reason: 'the recording is too large to play here' };
    if (createHash('sha256').update(body).digest('hex') !== ref.sha256)
      return { kind: 'unavailable', reason: 'the recording blob does not match its hash (changed)' };
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { cast?: unknown };
      if (typeof parsed.cast === 'string') return { kind: 'cast', text: parsed.cast };
    } catch {
      // not JSON: reported below
    }
    return { kind: 'unavailable', reason: 'the recording blob is not a terminal recording' };
  }
  const start = events.find((e) => e.type === 'terminal.start');
  const outputs = events.filter((e) => e.type === 'terminal.output');
  if (!start && outputs.length === 0) return undefined;
  const width = typeof start?.data.width === 'number' ? start.data.width : 80;
  const height = typeof start?.data.height === 'number' ? start.data.height : 24;
  const t0 = (start ?? outputs[0])!.at.getTime();
  const lines = [JSON.stringify({ version: 2, width, height, timestamp: Math.floor(t0 / 1000) })];
  let bytes = lines[0]!.length;
  for (const e of outputs) {
    const data = typeof e.data.data === 'string' ? e.data.data : '';
    const t = typeof e.data.t === 'number' ? e.data.t : (e.at.getTime() - t0) / 1000;
    const line = JSON.stringify([t, 'o', data]);
    bytes += line.length + 1;
    if (bytes > MAX_CAST_BYTES) break;
    lines.push(line);
  }
  return { kind: 'cast', text: lines.join('\n') };
}
