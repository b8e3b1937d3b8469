// The rows of a COPY … FROM STDIN that policy allows, recorded before they are forwarded.
//
// PostgreSQL reads a COPY's rows from the messages that follow the statement in the client's stream:
// the COPY's Query (each COPY FROM STDIN of a multi-statement Query in turn) or Execute, then
// CopyData … until CopyDone or CopyFail, whether or not the server's CopyInResponse has been sent
// yet. Gatehouse attributes them the same way (client-connection.ts): every forwarded COPY FROM STDIN
// opens a target, in stream order; CopyData goes to the first open target, CopyDone or CopyFail
// closes it, and any other message but Flush and Sync closes every open target (in COPY the server
// would end the session at that message; outside it, it reads no more rows). CopyData, CopyDone and
// CopyFail with no open target are not forwarded: the server is not in COPY then, and ignores them.
// Flush and Sync, which the server ignores in COPY, are not forwarded while a COPY may be open,
// except a Sync the server answers because the COPY failed to start (ClientConnection.copyAround).
//
// The rows of a target are gathered up to COPY_RECORD_PART_BYTES (or until the client has nothing
// more buffered), recorded as a `copy.data` event of the COPY's statement, and forwarded only once
// that event is committed; CopyDone or CopyFail is forwarded after a `copy.end` event with the size,
// the SHA-256 of every row byte of the COPY and the part count. A record that cannot be written ends
// the session: the server's COPY is then aborted, and nothing that is not in the record was sent.

import { createHash, type Hash } from 'node:crypto';
import type { Frame } from '../../wire/postgres/index.js';
import type { SqlStatement } from '../../core/sql-statement.js';
import type { Run } from './response-tracker.js';
import { copyInOf } from './copy-in-review.js';

/** Event types of a COPY's rows in the session record (docs/recording.md; EVENT_TYPES in recording/). */
export const COPY_DATA_EVENT = 'copy.data';
export const COPY_END_EVENT = 'copy.end';

/** Rows gathered into one `copy.data` event at most (plus one message); then recorded and forwarded. */
export const COPY_RECORD_PART_BYTES = 64 * 1024;

/** What holding one message costs besides its bytes (the two views of it), counted toward a part. */
const PER_MESSAGE_BYTES = 64;

/** The longest CopyFail message kept in the record (characters). */
const MAX_FAIL_MESSAGE = 1024;

/** True when the statement is a COPY … FROM STDIN (the client sends its rows). Parses only COPYs. */
export function isCopyFromStdin(statement: SqlStatement | undefined): boolean {
  return (
    statement?.kind === 'copy' && statement.parseError === undefined && copyInOf(statement.text) !== undefined
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One forwarded COPY FROM STDIN whose rows the client may still send. */
export class CopyTarget {
  private parts = 0;
  private bytes = 0;
  private readonly hash: Hash = createHash('sha256');

  /**
   * Whether the server started this COPY (its CopyInResponse), once known. Until then a Sync from the
   * client is held: the server ignores it in COPY, and answers it when the COPY failed to start.
   */
  started: boolean | undefined = undefined;
  /** Syncs the client sent while `started` was not known: forwarded if it did not start, else dropped. */
  heldSyncs = 0;

  constructor(
    /** The COPY's statement id: its events are recorded under it. */
    readonly statementId: string,
    /** Its run: the relay names it when the server starts the COPY, settle when it ends. */
    readonly run?: Run,
  ) {}

  /** Whether any row byte was recorded for it. */
  get hasData(): boolean {
    return this.bytes > 0;
  }

  /** The `copy.data` event of the rows in `bodies` (CopyData payloads, in order). */
  part(bodies: readonly Buffer[]): Record<string, unknown> {
    const rows = bodies.length === 1 ? bodies[0]! : Buffer.concat(bodies);
    this.parts++;
    this.bytes += rows.length;
    this.hash.update(rows);
    let text: string | undefined;
    try {
      text = utf8.decode(rows);
    } catch {
      text = undefined;
    }
    // Text as text, so the record reads as what was loaded; anything else (binary COPY, another
    // encoding, a character cut between two parts) as base64. Readers join the parts' bytes.
    return text !== undefined
      ? { part: this.parts, bytes: rows.length, text }
      : { part: this.parts, bytes: rows.length, base64: rows.toString('base64') };
  }

  /** The `copy.end` event: how the client ended the rows, and what they were, whole. */
  end(how: 'done' | 'fail' | 'interrupted', failMessage?: string): Record<string, unknown> {
    return {
      end: how,
      parts: this.parts,
      bytes: this.bytes,
      sha256: this.hash.digest('hex'),
      ...(failMessage !== undefined ? { message: failMessage.slice(0, MAX_FAIL_MESSAGE) } : {}),
    };
  }
}

/** The CopyFail's message, as text (lossy: it is only recorded). */
export function copyFailMessage(f: Frame): string {
  const end = f.body.indexOf(0);
  return f.body.subarray(0, end < 0 ? f.body.length : end).toString('utf8');
}

/** CopyData gathered for the first open target, not yet recorded or forwarded. */
export class CopyPart {
  readonly frames: Buffer[] = [];
  readonly bodies: Buffer[] = [];
  bytes = 0;

  constructor(readonly target: CopyTarget) {}

  /** Adds a CopyData message; true once the part is full (a message of one byte counts as more). */
  add(f: Frame): boolean {
    this.frames.push(f.raw);
    this.bodies.push(f.body);
    this.bytes += f.raw.length + PER_MESSAGE_BYTES;
    return this.bytes >= COPY_RECORD_PART_BYTES;
  }
}

/** CopyData payloads grouped into parts of about COPY_RECORD_PART_BYTES (a reviewed COPY's rows). */
export function copyParts(bodies: readonly Buffer[]): Buffer[][] {
  const parts: Buffer[][] = [];
  let current: Buffer[] = [];
  let bytes = 0;
  for (const b of bodies) {
    current.push(b);
    bytes += b.length;
    if (bytes >= COPY_RECORD_PART_BYTES) {
      parts.push(current);
      current = [];
      bytes = 0;
    }
  }
  if (current.length > 0) parts.push(current);
  return parts;
}
