// Masking of AWS event streams (`application/vnd.amazon.eventstream`: S3 SelectObjectContent, Lambda
// InvokeWithResponseStream, Bedrock and Kinesis streams), which were relayed unmasked (docs/security.md
// class 151). The stream is a sequence of binary messages, each with its own length and CRC32s
// (prelude: total length, headers length, CRC of the two; headers; payload; CRC of all before it).
//
// - A message whose payload is JSON (`:content-type` JSON, or a payload that starts like JSON) is
//   masked alone, as a JSON answer is (field names and detectors), and written again with new CRCs.
// - Every other event payload is data a stream carries in pieces (S3 Select's `Records`, Lambda's
//   `PayloadChunk`): the pieces of one event type are joined and masked a line at a time, as a text
//   answer is (field names, tables excepted, and detectors), so a value cut between two messages is
//   masked whole; complete lines go out as one message of that type, the unfinished end waits for the
//   rest (or for the next message of another type, or the end). A line longer than the cap is not
//   guessed at: the stream is cut.
// - Messages without a payload (`End`, `Cont`, errors' headers) pass as they came.
// A message that does not parse (a wrong length or CRC) cuts the stream: nothing unparsed is relayed.

import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { maskJsonText, maskNamedText, openPrivateKeyAt, type DetectorSet } from '../../masking/index.js';
import { INLINE_CHARS, maskBodyOffLoop, type BodyMaskSettings } from './body-masking.js';
import type { FieldMatcher } from './field-names.js';

/** One header: its name, type byte and raw value bytes (everything after the type byte). */
export interface EventHeader {
  readonly name: string;
  readonly type: number;
  readonly value: Buffer;
}

export interface EventMessage {
  readonly headers: readonly EventHeader[];
  readonly payload: Buffer;
}

/** The stream could not be read or masked: the relay cuts it. */
export class EventStreamError extends Error {}

const PRELUDE = 12;
const CRC = 4;
/** AWS's own bound on one message (16 MiB of payload and 128 KiB of headers). */
const MAX_MESSAGE = 16 * 1024 * 1024 + 128 * 1024 + PRELUDE + CRC;

/** Fixed value sizes by type (0, 1 bool; 2 byte; 3 short; 4 int; 5 long; 8 timestamp; 9 uuid). */
const FIXED: Readonly<Record<number, number>> = { 0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16 };

function crc32(b: Buffer): number {
  return zlib.crc32(b) >>> 0;
}

function parseHeaders(b: Buffer): EventHeader[] {
  const out: EventHeader[] = [];
  let i = 0;
  while (i < b.length) {
    const nameLen = b[i]!;
    if (nameLen === 0 || i + 1 + nameLen + 1 > b.length) throw new EventStreamError('a header is cut short');
    const name = b.toString('utf8', i + 1, i + 1 + nameLen);
    i += 1 + nameLen;
    const type = b[i]!;
    i++;
    let size: number;
    if (type === 6 || type === 7) {
      if (i + 2 > b.length) throw new EventStreamError('a header is cut short');
      size = 2 + b.readUInt16BE(i);
    } else {
      const fixed = FIXED[type];
      if (fixed === undefined) throw new EventStreamError(`a header has the unknown type ${type}`);
      size = fixed;
    }
    if (i + size > b.length) throw new EventStreamError('a header is cut short');
    out.push({ name, type, value: b.subarray(i, i + size) });
    i += size;
  }
  return out;
}

/** Reads one message at the start of `b`: undefined when more bytes are needed. */
export function readMessage(b: Buffer): { message: EventMessage; length: number } | undefined {
  if (b.length < PRELUDE) return undefined;
  const total = b.readUInt32BE(0);
  const headersLength = b.readUInt32BE(4);
  if (b.readUInt32BE(8) !== crc32(b.subarray(0, 8)))
    throw new EventStreamError('a prelude CRC does not match');
  if (total < PRELUDE + CRC || total > MAX_MESSAGE || headersLength > total - PRELUDE - CRC)
    throw new EventStreamError(`a message's lengths are impossible (${total}, ${headersLength})`);
  if (b.length < total) return undefined;
  if (b.readUInt32BE(total - CRC) !== crc32(b.subarray(0, total - CRC)))
    throw new EventStreamError('a message CRC does not match');
  const headers = parseHeaders(b.subarray(PRELUDE, PRELUDE + headersLength));
  return { message: { headers, payload: b.subarray(PRELUDE + headersLength, total - CRC) }, length: total };
}

/** A message's bytes, its prelude and CRCs computed. */
export function encodeMessage(m: EventMessage): Buffer {
  const parts: Buffer[] = [];
  for (const h of m.headers) {
    const name = Buffer.from(h.name, 'utf8');
    parts.push(Buffer.from([name.length]), name, Buffer.from([h.type]), h.value);
  }
  const headers = Buffer.concat(parts);
  const total = PRELUDE + headers.length + m.payload.length + CRC;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headers.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  headers.copy(out, PRELUDE);
  m.payload.copy(out, PRELUDE + headers.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - CRC)), total - CRC);
  return out;
}

/** A string header's value (`:event-type`), or undefined. */
export function headerString(m: EventMessage, name: string): string | undefined {
  const h = m.headers.find((x) => x.name === name);
  return h && h.type === 7 ? h.value.toString('utf8', 2) : undefined;
}

/** A string header (type 7). */
export function stringHeader(name: string, value: string): EventHeader {
  const v = Buffer.from(value, 'utf8');
  const out = Buffer.alloc(2 + v.length);
  out.writeUInt16BE(v.length, 0);
  v.copy(out, 2);
  return { name, type: 7, value: out };
}

export interface EventStreamMasking {
  /** The connection's response masking (large pieces go to the masking thread with it). */
  readonly masking: BodyMaskSettings & { readonly detectors: DetectorSet; readonly fields: FieldMatcher };
  /** The longest unfinished line held for the rest of it. */
  readonly maxLine: number;
}

/** Events whose payloads are pieces of one stream of data, whatever their content type says. */
const DATA_EVENTS = new Set(['Records', 'PayloadChunk']);

function isJsonPayload(m: EventMessage): boolean {
  if (DATA_EVENTS.has(headerString(m, ':event-type') ?? '')) return false;
  const type = (headerString(m, ':content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json') || type.startsWith('application/x-amz-json'))
    return true;
  if (type !== '') return false;
  const first = m.payload.find((c) => c !== 32 && c !== 9 && c !== 10 && c !== 13);
  return first === 123 || first === 91;
}

/**
 * Where complete lines end (`end`), or the start of the line of a private key's BEGIN before it whose
 * END is not there yet (src/masking/private-key-pem.ts reads a key from BEGIN to END).
 */
function openKeyStart(data: Buffer, end: number): number {
  const text = data.toString('latin1', 0, end);
  const at = openPrivateKeyAt(text);
  return at < 0 ? end : text.lastIndexOf('\n', at) + 1;
}

/** Masks an AWS event stream as it flows (see the file's header). Counts what it masked. */
export class EventStreamMasker extends Transform {
  readonly counts: Record<string, number> = {};
  /** Input not yet read as messages: kept as received, joined once a whole message is there. */
  #chunks: Buffer[] = [];
  #have = 0;
  /** The unfinished line of the data event type being joined, and that type's last message's headers. */
  #pending: Buffer = Buffer.alloc(0);
  #pendingHeaders: readonly EventHeader[] | undefined;
  #pendingType: string | undefined;

  constructor(private readonly o: EventStreamMasking) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#chunks.push(chunk);
    this.#have += chunk.length;
    this.#drain().then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    if (this.#have > 0) return done(new EventStreamError('the stream ends inside a message'));
    this.#flushPending().then(() => done(), done);
  }

  #joined(): Buffer {
    const b = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#have);
    this.#chunks = [b];
    return b;
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#have < PRELUDE) return;
      // Joined only when a whole message is there (or to read a prelude): linear in the input.
      const first = this.#chunks[0]!;
      const prelude = first.length >= PRELUDE ? first : this.#joined();
      const total = prelude.readUInt32BE(0);
      if (prelude.readUInt32BE(8) !== crc32(prelude.subarray(0, 8)))
        throw new EventStreamError('a prelude CRC does not match');
      if (total < PRELUDE + CRC || total > MAX_MESSAGE)
        throw new EventStreamError(`a message's length is impossible (${total})`);
      if (this.#have < total) return;
      const all = this.#joined();
      const read = readMessage(all);
      if (read === undefined) return;
      const rest = all.subarray(read.length);
      this.#chunks = rest.length === 0 ? [] : [rest];
      this.#have = rest.length;
      await this.#message(read.message);
    }
  }

  async #message(m: EventMessage): Promise<void> {
    const kind = headerString(m, ':message-type') ?? 'event';
    if (m.payload.length === 0) {
      await this.#flushPending();
      this.push(encodeMessage(m));
      return;
    }
    if (isJsonPayload(m) || kind !== 'event') {
      await this.#flushPending();
      const r = await this.#mask(m.payload.toString('utf8'), false);
      this.push(
        r === null
          ? encodeMessage(m)
          : encodeMessage({ headers: m.headers, payload: Buffer.from(r, 'utf8') }),
      );
      return;
    }
    // Data carried in pieces: joined per event type, masked by complete lines.
    const type = headerString(m, ':event-type') ?? '';
    if (this.#pendingType !== undefined && type !== this.#pendingType) await this.#flushPending();
    this.#pendingType = type;
    this.#pendingHeaders = m.headers;
    const joined = this.#pending.length === 0 ? m.payload : Buffer.concat([this.#pending, m.payload]);
    const nl = joined.lastIndexOf(10);
    // A private key spans lines, and the detector reads it from its BEGIN line to its END line: one
    // whose END has not come yet is held whole with the unfinished line (docs/security.md class 233).
    const cut = nl < 0 ? 0 : openKeyStart(joined, nl + 1);
    const rest = joined.subarray(cut);
    if (rest.length > this.o.maxLine)
      throw new EventStreamError(`a line longer than ${this.o.maxLine} bytes, which cannot be masked whole`);
    this.#pending = Buffer.from(rest);
    if (cut > 0) await this.#emitData(joined.subarray(0, cut), m.headers);
  }

  async #emitData(data: Buffer, headers: readonly EventHeader[]): Promise<void> {
    if (data.length === 0) return;
    const r = await this.#mask(data.toString('utf8'), true);
    this.push(encodeMessage({ headers, payload: r === null ? data : Buffer.from(r, 'utf8') }));
  }

  async #flushPending(): Promise<void> {
    const headers = this.#pendingHeaders;
    const pending = this.#pending;
    this.#pending = Buffer.alloc(0);
    this.#pendingHeaders = undefined;
    this.#pendingType = undefined;
    if (headers !== undefined) await this.#emitData(pending, headers);
  }

  /**
   * The masked text, or null when nothing changed. A JSON event is masked as a JSON answer is; lines
   * of data (records, a response's text) as a piece of a stream, whose first line is no table's
   * header. A long one goes to the masking thread (class 149), read as a text answer is.
   */
  async #mask(text: string, data: boolean): Promise<string | null> {
    const m = this.o.masking;
    const r =
      text.length > INLINE_CHARS
        ? await maskBodyOffLoop('json', text, m)
        : data
          ? maskNamedText(text, m.detectors, m.style, m.fieldNames, 'text', { tables: false })
          : maskJsonText(text, m.detectors, {
              keyNames: m.fieldNames,
              style: m.style,
              keysInInvalidJson: true,
            });
    if (r === null) return null;
    for (const [k, n] of Object.entries(r.counts)) this.counts[k] = (this.counts[k] ?? 0) + n;
    return r.text;
  }
}
