// Incremental framer for PostgreSQL protocol messages: bytes in → whole frames out. Pure: no
// sockets. A partial frame waits for more bytes; an invalid or oversized length is a ProtocolError.

import { ProtocolError } from './protocol-error.js';

/** PostgreSQL's own MAX_STARTUP_PACKET_LENGTH (src/include/libpq/pqcomm.h). */
export const MAX_STARTUP_PACKET_BYTES = 10_000;
/**
 * PostgreSQL's own PG_MAX_AUTH_TOKEN_LENGTH (src/backend/libpq/auth.c): the longest message it reads
 * before the client is authenticated (a password, a SASL message).
 */
export const MAX_AUTH_MESSAGE_BYTES = 65_535;

export interface Frame {
  /** Message type byte; 0 for untyped startup-phase packets. */
  readonly type: number;
  /** Payload after the type byte and length. */
  readonly body: Buffer;
  /** The whole frame as received (type + length + payload), for relaying unchanged. */
  readonly raw: Buffer;
  /**
   * The whole frame is `bytes[start, end)` (the same bytes as `raw`): the hot relay path reads and
   * forwards frames by range, without a Buffer object per frame.
   */
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
}

/**
 * A frame as FrameReader returns it. `raw` and `body` are made on first use: relaying a DataRow
 * (unchanged, or masked into the row arena) needs neither, and a Buffer object per frame less is
 * measurable when a result streams at a million rows a second.
 */
class ReadFrame implements Frame {
  private rawBuffer: Buffer | undefined = undefined;
  private bodyBuffer: Buffer | undefined = undefined;

  constructor(
    readonly type: number,
    readonly bytes: Buffer,
    readonly start: number,
    readonly end: number,
    /** Bytes before the payload: 5 (type and length), 4 for a startup packet. */
    private readonly header: number,
  ) {}

  get raw(): Buffer {
    return (this.rawBuffer ??= this.bytes.subarray(this.start, this.end));
  }

  get body(): Buffer {
    return (this.bodyBuffer ??= this.bytes.subarray(this.start + this.header, this.end));
  }
}

export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Chunks held while a large frame is still arriving, so we concatenate once, not per chunk. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private needed = 0;

  constructor(
    private maxMessageBytes: number,
    /** Startup phase: packets have no type byte. Switch off with `startupDone()`. */
    private startup = false,
  ) {}

  /**
   * After the startup packet, messages carry a type byte. `maxMessageBytes` bounds the messages from
   * here on (until `limitMessages`): a message before authentication is bounded as PostgreSQL bounds
   * it, not as an authenticated session's are.
   */
  startupDone(maxMessageBytes = this.maxMessageBytes): void {
    this.startup = false;
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Bounds the messages not yet read (a frame already under way was checked against the old bound). */
  limitMessages(maxMessageBytes: number): void {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** The length of the frame under way (type, length and payload) once its header is read, else 0. */
  get announced(): number {
    return this.needed > 5 ? this.needed : 0;
  }

  get buffered(): number {
    return this.buf.length - this.pos + this.pendingBytes;
  }

  push(chunk: Buffer): void {
    if (this.pendingBytes > 0 || this.needed > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes + (this.buf.length - this.pos) < this.needed) return;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), ...this.pending]);
      this.pos = 0;
      this.pending = [];
      this.pendingBytes = 0;
      this.needed = 0;
      return;
    }
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
      this.pos = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.pos = 0;
    }
  }

  /** The next complete frame, or undefined when more bytes are needed. */
  next(): Frame | undefined {
    if (this.needed > 0) return undefined;
    const avail = this.buf.length - this.pos;
    const header = this.startup ? 4 : 5;
    if (avail < header) {
      if (avail > 0) this.needed = header;
      return undefined;
    }
    const p = this.pos;
    const type = this.startup ? 0 : this.buf[p]!;
    const len = this.buf.readInt32BE(this.startup ? p : p + 1);
    if (this.startup) {
      if (len < 8 || len > MAX_STARTUP_PACKET_BYTES)
        throw new ProtocolError(`invalid startup packet length ${len}`);
    } else if (len < 4) {
      throw new ProtocolError(`invalid message length ${len}`);
    } else if (len - 4 > this.maxMessageBytes) {
      throw new ProtocolError(
        `message of ${len - 4} bytes exceeds the limit of ${this.maxMessageBytes} bytes`,
        true,
      );
    }
    const total = this.startup ? len : len + 1;
    if (avail < total) {
      this.needed = total;
      return undefined;
    }
    this.pos = p + total;
    return new ReadFrame(type, this.buf, p, p + total, header);
  }
}
