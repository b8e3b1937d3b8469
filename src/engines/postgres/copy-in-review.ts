// COPY … FROM STDIN held for approval, with its rows bound to the approval.
//
// PostgreSQL asks for a COPY's rows only after the statement has started (CopyInResponse), so an
// approval asked for the statement alone cannot show or bind the rows: approving `COPY users FROM
// STDIN` would let the client load any rows at all. Gatehouse therefore answers for the server: it
// sends the client a CopyInResponse itself, collects the rows the client sends (bounded), and only
// at CopyDone asks for the approval, with the rows shown to the approvers and bound by their SHA-256.
// Nothing reaches the upstream before the approval; after it, the statement and exactly the rows
// collected are forwarded, and the upstream's own CopyInResponse is withheld (the client had ours).
//
// Only for a simple Query holding the COPY alone: a reviewed COPY FROM STDIN among other statements,
// or through the extended protocol, is refused (client-connection.ts).

import { createHash, type Hash } from 'node:crypto';
import { parseSync } from 'libpg-query';
import type { RequestBody } from '../../core/action.js';
import { clipShown } from '../../core/visible-text.js';
import type { Frame } from '../../wire/postgres/index.js';

/** Rows of one reviewed COPY that Gatehouse holds while it asks for the approval, at most. */
export const MAX_REVIEWED_COPY_BYTES = 4 * 1024 * 1024;
/** The rows an approver is shown whole up to this many characters, then clipped, saying so. */
export const SHOWN_COPY_CHARS = 64 * 1024;

/** Rule ids of the engine's own refusals of a reviewed COPY FROM STDIN (recorded as refusals). */
export const COPY_REVIEW_LIMIT_RULE = 'pg-reviewed-copy-too-large';
export const COPY_REVIEW_ALONE_RULE = 'pg-reviewed-copy-not-alone';

export function reviewedCopyTooLarge(max: number): string {
  return (
    `Gatehouse: this COPY … FROM STDIN needs approval, and its rows are larger than the ${max} bytes ` +
    `Gatehouse holds to show them to the approver and bind the approval to them. Load them in smaller COPYs.`
  );
}

export const REVIEWED_COPY_NOT_ALONE =
  'Gatehouse: this COPY … FROM STDIN needs approval, and its rows are collected and shown to the approver ' +
  'before it runs; send it as a simple query on its own (psql \\copy and the drivers\u2019 copy APIs do), ' +
  'not with other statements or through the extended protocol.';

/** What the server would answer a `COPY … FROM STDIN` with: the rows' format, and their columns. */
export interface CopyIn {
  /** 0 text or CSV, 1 binary. */
  readonly format: 0 | 1;
  /** The column list's length, when the statement names its columns. */
  readonly listedColumns?: number;
  /** The target table as written. */
  readonly relation: { readonly schema?: string; readonly name: string };
  /** The COPY's own ENCODING option, as written: the server reads the rows in it. */
  readonly encoding?: string;
}

/** An encoding name PostgreSQL reads as UTF-8 (pg_char_to_encoding ignores case and punctuation). */
export function isUtf8Name(name: string): boolean {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return n === 'utf8' || n === 'unicode';
}

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  isNode(v) && isNode(v['String']) && typeof v['String']['sval'] === 'string'
    ? v['String']['sval']
    : undefined;

/**
 * The COPY a statement's text is, when it is a `COPY … FROM STDIN` (the client sends the rows);
 * undefined for anything else (COPY TO, from a file or a program, another statement). The text is
 * one statement the classifier parsed already (libpg-query is loaded).
 */
export function copyInOf(text: string): CopyIn | undefined {
  let stmt: unknown;
  try {
    const r = parseSync(text) as { stmts?: { stmt?: unknown }[] };
    if (r.stmts?.length !== 1) return undefined;
    stmt = r.stmts[0]?.stmt;
  } catch {
    return undefined;
  }
  const copy = isNode(stmt) ? stmt['CopyStmt'] : undefined;
  if (!isNode(copy) || copy['is_from'] !== true) return undefined;
  if (copy['filename'] !== undefined || copy['is_program'] === true) return undefined;
  const rel = isNode(copy['relation']) ? copy['relation'] : undefined;
  const name = rel && typeof rel['relname'] === 'string' ? rel['relname'] : undefined;
  if (name === undefined) return undefined;
  const schema = typeof rel!['schemaname'] === 'string' ? rel!['schemaname'] : undefined;
  let format: 0 | 1 = 0;
  let encoding: string | undefined;
  for (const o of Array.isArray(copy['options']) ? copy['options'] : []) {
    const d = isNode(o) ? o['DefElem'] : undefined;
    if (isNode(d) && d['defname'] === 'format' && str(d['arg'])?.toLowerCase() === 'binary') format = 1;
    if (isNode(d) && d['defname'] === 'encoding') encoding = str(d['arg']) ?? '(unreadable)';
  }
  const list = Array.isArray(copy['attlist']) ? copy['attlist'] : undefined;
  return {
    format,
    ...(list ? { listedColumns: list.length } : {}),
    relation: { ...(schema !== undefined ? { schema } : {}), name },
    ...(encoding !== undefined ? { encoding } : {}),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The rows of one reviewed COPY, as the client sent them, while the approval is asked for. */
export class CopyInRows {
  /** The CopyData messages as received, copied one after another (a message may be one byte). */
  private buf = Buffer.alloc(0);
  private used = 0;
  private size = 0;
  private readonly hash: Hash = createHash('sha256');

  constructor(
    readonly format: 0 | 1,
    /** At most this many bytes of messages (the rows and their 5-byte headers) are held. */
    private readonly limit = MAX_REVIEWED_COPY_BYTES,
    /** The COPY's ENCODING option: rows the server reads in another encoding than UTF-8 are not shown. */
    private readonly encoding?: string,
  ) {}

  /** Adds a CopyData message; false (and nothing kept) when the messages would pass the limit. */
  add(f: Frame): boolean {
    const need = this.used + f.raw.length;
    if (need > this.limit) return false;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.limit, Math.max(need, 2 * this.buf.length, 64 * 1024)));
      this.buf.copy(grown, 0, 0, this.used);
      this.buf = grown;
    }
    f.raw.copy(this.buf, this.used);
    this.used = need;
    this.size += f.body.length;
    this.hash.update(f.body);
    return true;
  }

  /** The rows' bytes (CopyData bodies), without the messages' headers. */
  get bytes(): number {
    return this.size;
  }

  /** The CopyData messages exactly as received, one after another: what is forwarded after approval. */
  get messages(): Buffer {
    return this.buf.subarray(0, this.used);
  }

  /** The CopyData payloads, in order (views of the messages). */
  bodies(): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < this.used;) {
      const len = this.buf.readInt32BE(i + 1);
      out.push(this.buf.subarray(i + 5, i + 1 + len));
      i += 1 + len;
    }
    return out;
  }

  /** The rows' digest, size and what an approver is shown (call once, at CopyDone). */
  body(): RequestBody {
    const sha256 = this.hash.digest('hex');
    return { sha256, bytes: this.size, shown: this.shown() };
  }

  /** The rows, without the messages' headers. */
  private data(): Buffer {
    const out = Buffer.allocUnsafe(this.size);
    let at = 0;
    for (let i = 0; i < this.used;) {
      const len = this.buf.readInt32BE(i + 1);
      at += this.buf.copy(out, at, i + 5, i + 1 + len);
      i += 1 + len;
    }
    return out;
  }

  private shown(): string {
    if (this.size === 0) return '(no rows)';
    if (this.format === 1) return '(not shown: binary COPY data; the approval is bound to its digest)';
    // Read as UTF-8, the bytes would show other characters, and other fields, than the server loads
    // (in SJIS or BIG5 a byte 0x5C, the escape, can be the second half of a character): class 134.
    if (this.encoding !== undefined && !isUtf8Name(this.encoding))
      return `(not shown: the COPY reads its rows in the encoding ${JSON.stringify(this.encoding)}, not UTF-8; the approval is bound to their digest)`;
    let text: string;
    try {
      text = utf8.decode(this.data());
    } catch {
      return '(not shown: not UTF-8 text; the approval is bound to its digest)';
    }
    return clipShown(text, SHOWN_COPY_CHARS);
  }
}
