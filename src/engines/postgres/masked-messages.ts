// Rewrites upstream → client messages after masking: DataRow cells, ErrorResponse/NoticeResponse
// fields, NotificationResponse payloads, ParameterStatus values, COPY data and fast-path results.
// Every length field is recomputed; an unchanged message is returned as undefined so it is relayed as is.

import type { ResultMasker, RowMasker } from '../../core/masking.js';
import { sqlMaskerOf } from '../../masking/result-masker.js';
import { ProtocolError, decodeErrorFields, encode, type ErrorFields } from '../../wire/postgres/index.js';

/** Fields that carry no data from the database: severity, SQLSTATE, positions, server source location. */
const STRUCTURAL_FIELDS = new Set(['S', 'V', 'C', 'P', 'p', 'L', 'F', 'R']);

function typedFrame(type: number, bodyLength: number): Buffer {
  const out = Buffer.allocUnsafe(5 + bodyLength);
  out[0] = type;
  out.writeInt32BE(4 + bodyLength, 1);
  return out;
}

function cstringBytes(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

/** Bytes per slab of the row arena: masked rows are written side by side, so they leave as one slice. */
const SLAB_BYTES = 64 * 1024;

/**
 * Space for rewritten rows. Consecutive rows land next to each other in one slab, which OutputBatch
 * then writes as a single slice; a slab is never written twice (a full one is simply dropped), so a
 * slice still queued on the socket is never overwritten.
 */
export class RowArena {
  private current = Buffer.allocUnsafe(0);
  private pos = 0;

  /** The slab the last reservation is in. */
  get slab(): Buffer {
    return this.current;
  }

  /** Where the last reservation ends in `slab`. */
  get end(): number {
    return this.pos;
  }

  /** Reserves `size` bytes of `slab` (read it after the call) and returns where they start. */
  reserve(size: number): number {
    if (this.pos + size > this.current.length) {
      this.current = Buffer.allocUnsafe(Math.max(SLAB_BYTES, size));
      this.pos = 0;
    }
    const at = this.pos;
    this.pos += size;
    return at;
  }
}

/** A row masker that can take a cell as a range of the row (PlannedRowMasker): no Buffer per cell. */
interface RangeRowMasker extends RowMasker {
  maskRange(index: number, b: Buffer, start: number, end: number): Buffer | null | undefined;
  /** Columns whose NULL cells are masked too (a derived column's); undefined when none. */
  readonly nullOps?: readonly unknown[] | undefined;
  /** For a NULL cell of such a column: the value to send, or null to keep it NULL. */
  maskNull?(index: number): Buffer | null;
}

/**
 * Copies short runs with a loop, eight bytes a turn: Buffer#copy has a fixed cost of ~80 ns (checks,
 * a view object, the native call), which a row's pieces (tens of bytes) do not amortise. Measured on
 * Node 20: the unrolled loop is faster up to about 200 bytes.
 */
function copyBytes(src: Buffer, dst: Buffer, to: number, from: number, end: number): number {
  const n = end - from;
  if (n > 192) return src.copy(dst, to, from, end);
  const d = to - from;
  let i = from;
  for (const e8 = end - 8; i <= e8; i += 8) {
    dst[i + d] = src[i] as number;
    dst[i + d + 1] = src[i + 1] as number;
    dst[i + d + 2] = src[i + 2] as number;
    dst[i + d + 3] = src[i + 3] as number;
    dst[i + d + 4] = src[i + 4] as number;
    dst[i + d + 5] = src[i + 5] as number;
    dst[i + d + 6] = src[i + 6] as number;
    dst[i + d + 7] = src[i + 7] as number;
  }
  for (; i < end; i++) dst[i + d] = src[i] as number;
  return n;
}

// Edits of the row being rebuilt (planRow fills them, writeRow then reads them, with nothing in between:
// one set of arrays serves every call).
const editStart: number[] = [];
const editEnd: number[] = [];
const editValue: (Buffer | null)[] = [];
/** How many of the entries above the last planRow filled. */
let editCount = 0;

/**
 * Masks the cells of the DataRow frame `b[s, e)` (55.7: Int16 count, then Int32 length and bytes per
 * column, -1 for NULL), recording its edits; returns the new frame's size, or -1 when no cell changed.
 * Only cells `work` marks are given to the masker.
 */
function planRow(
  b: Buffer,
  s: number,
  e: number,
  masker: RowMasker,
  work: readonly boolean[] | undefined,
): number {
  if (e - s < 7) throw new ProtocolError('DataRow truncated');
  const n = b.readInt16BE(s + 5);
  let pos = s + 7;
  let edits = 0;
  let delta = 0;
  const ranged =
    typeof (masker as Partial<RangeRowMasker>).maskRange === 'function'
      ? (masker as RangeRowMasker)
      : undefined;
  const nulls = ranged?.nullOps !== undefined ? ranged : undefined;
  for (let i = 0; i < n; i++) {
    if (pos + 4 > e) throw new ProtocolError('DataRow truncated');
    // Int32 big-endian, read by hand: this loop runs for every cell of every masked row.
    const len =
      ((b[pos] as number) << 24) |
      ((b[pos + 1] as number) << 16) |
      ((b[pos + 2] as number) << 8) |
      (b[pos + 3] as number);
    const start = pos;
    pos += 4;
    if (len === -1) {
      const r = nulls?.nullOps?.[i] !== undefined ? nulls.maskNull!(i) : null;
      if (r !== null) {
        editStart[edits] = start;
        editEnd[edits] = pos;
        editValue[edits] = r;
        edits++;
        delta += r.length;
      }
      continue;
    }
    if (len < 0 || pos + len > e) throw new ProtocolError('DataRow cell length out of range');
    if (work === undefined || work[i] === true) {
      const r = ranged
        ? ranged.maskRange(i, b, pos, pos + len)
        : masker.maskCell(i, b.subarray(pos, pos + len));
      if (r !== undefined) {
        editStart[edits] = start;
        editEnd[edits] = pos + len;
        editValue[edits] = r;
        edits++;
        delta += (r === null ? 0 : r.length) - len;
      }
    }
    pos += len;
  }
  if (pos !== e) throw new ProtocolError('DataRow has trailing bytes');
  editCount = edits;
  return edits === 0 ? -1 : e - s + delta;
}

/** Int32 big-endian, written by hand (Buffer#writeInt32BE checks its arguments on every call). */
function putInt32(out: Buffer, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

/** Writes the row planRow planned for `b[s, e)`, `size` bytes, at `out[at]`. */
function writeRow(b: Buffer, s: number, e: number, out: Buffer, at: number, size: number): void {
  let from = s;
  let to = at;
  for (let k = 0; k < editCount; k++) {
    const value = editValue[k] as Buffer | null;
    to += copyBytes(b, out, to, from, editStart[k] as number);
    putInt32(out, to, value === null ? -1 : value.length);
    to += 4;
    if (value !== null) to += copyBytes(value, out, to, 0, value.length);
    from = editEnd[k] as number;
    editValue[k] = null;
  }
  copyBytes(b, out, to, from, e);
  putInt32(out, at + 1, size - 1);
}

/**
 * Masks the cells of a DataRow frame (55.7: Int16 count, then Int32 length and bytes per column, -1 for
 * NULL) into a new Buffer. Only cells `work` marks are given to the masker. Returns the new frame, or
 * undefined when no cell changed. The relay uses maskDataRowInto (no Buffer per row); this is its
 * plain form, which the tests hold it to.
 */
export function maskDataRow(
  raw: Buffer,
  masker: RowMasker,
  work: readonly boolean[] | undefined,
): Buffer | undefined {
  const size = planRow(raw, 0, raw.length, masker, work);
  if (size < 0) return undefined;
  const out = Buffer.allocUnsafe(size);
  writeRow(raw, 0, raw.length, out, 0, size);
  return out;
}

/**
 * maskDataRow for the frame `b[start, end)`, written into the arena without a Buffer object per row:
 * returns -1 when no cell changed, else where the new frame starts in `arena.slab` (it ends at
 * `arena.end`).
 */
export function maskDataRowInto(
  b: Buffer,
  start: number,
  end: number,
  masker: RowMasker,
  work: readonly boolean[] | undefined,
  arena: RowArena,
): number {
  const size = planRow(b, start, end, masker, work);
  if (size < 0) return -1;
  const at = arena.reserve(size);
  writeRow(b, start, end, arena.slab, at, size);
  return at;
}

const NOTHING = Buffer.alloc(0);

/**
 * Masks every data-bearing field of an ErrorResponse or NoticeResponse (M, D, H, W, q, and the object
 * names). Returns the frame to send and the fields as sent (for the record).
 */
export function maskFieldsMessage(
  type: 'E' | 'N',
  raw: Buffer,
  body: Buffer,
  masker: ResultMasker,
): { raw: Buffer; fields: ErrorFields } {
  const fields = decodeErrorFields(body);
  const sql = sqlMaskerOf(masker);
  let changed = false;
  if (sql) {
    changed = sql.maskFields(fields, type === 'E' ? 'error' : 'notice');
    // A later notice of a statement running unseen code: not sent (class 245).
    if (type === 'N' && sql.noticeDropped) return { raw: NOTHING, fields };
  } else {
    for (const [k, v] of Object.entries(fields)) {
      if (STRUCTURAL_FIELDS.has(k)) continue;
      const m = masker.maskText(v);
      if (m !== undefined) {
        fields[k] = m;
        changed = true;
      }
    }
  }
  return { raw: changed ? encode.fieldsMessage(type, fields) : raw, fields };
}

/**
 * NotificationResponse (Int32 pid, channel, payload): masks the channel name and the payload. The
 * payload is whatever the sending session or trigger put there (`row_to_json(NEW)`, a ruled column):
 * under column rules it is masked whole, as an untraceable value (docs/security.md, class 98); the
 * channel goes through the content detectors when the client LISTENed on it itself, and is masked
 * whole under column rules otherwise (class 246).
 */
export function maskNotification(
  body: Buffer,
  masker: ResultMasker,
  /** The client LISTENs on the channel itself; any other channel code named (class 246). */
  listensOn: (channel: string) => boolean = () => true,
): Buffer | undefined {
  const c0 = 4;
  const c1 = body.indexOf(0, c0);
  const p1 = c1 < 0 ? -1 : body.indexOf(0, c1 + 1);
  if (body.length < 6 || c1 < 0 || p1 < 0) throw new ProtocolError('NotificationResponse truncated');
  const channel = body.toString('utf8', c0, c1);
  const payload = body.toString('utf8', c1 + 1, p1);
  // A channel the client did not LISTEN on itself was named by code Gatehouse could not see into
  // (`EXECUTE format('LISTEN %I', secret)`): under column rules it is masked whole, as the payload is.
  const mc =
    (listensOn(channel) ? undefined : sqlMaskerOf(masker)?.maskUntraced(channel, 'notification')) ??
    masker.maskText(channel);
  const mp = sqlMaskerOf(masker)?.maskUntraced(payload, 'notification') ?? masker.maskText(payload);
  if (mc === undefined && mp === undefined) return undefined;
  const parts = [body.subarray(0, 4), cstringBytes(mc ?? channel), cstringBytes(mp ?? payload)];
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = typedFrame(0x41, len);
  let pos = 5;
  for (const p of parts) pos += p.copy(out, pos);
  return out;
}

/** ParameterStatus (name, value): `set_config('application_name', <a card>, …)` must not echo it. */
export function maskParameterStatus(body: Buffer, masker: ResultMasker): Buffer | undefined {
  const n1 = body.indexOf(0);
  const v1 = n1 < 0 ? -1 : body.indexOf(0, n1 + 1);
  if (n1 < 0 || v1 < 0) throw new ProtocolError('ParameterStatus truncated');
  const m = masker.maskText(body.toString('utf8', n1 + 1, v1));
  if (m === undefined) return undefined;
  const name = body.subarray(0, n1 + 1);
  const value = cstringBytes(m);
  const out = typedFrame(0x53, name.length + value.length);
  name.copy(out, 5);
  value.copy(out, 5 + name.length);
  return out;
}

/**
 * ParameterStatus of a value the client did not give the setting: code Gatehouse could not see into
 * chose it (`set_config('application_name', secret, false)` in a DO block, a function, a row-level
 * security policy), so under column rules it is masked whole, as a notification's payload is
 * (docs/security.md, class 244); without rules, the content detectors.
 */
export function maskUntracedParameter(
  name: string,
  value: string,
  body: Buffer,
  masker: ResultMasker,
): Buffer | undefined {
  const whole = sqlMaskerOf(masker)?.maskUntraced(value, 'parameter');
  return whole === undefined ? maskParameterStatus(body, masker) : encode.parameterStatus(name, whole);
}

/** CopyData with new contents. */
export function copyDataFrame(data: Buffer): Buffer {
  const out = typedFrame(0x64, data.length);
  data.copy(out, 5);
  return out;
}

/**
 * FunctionCallResponse (Int32 length or -1, bytes): the fast path names neither type nor column, so
 * a result in which a detector finds anything is withheld (sent as NULL).
 */
export function maskFunctionResult(body: Buffer, masker: ResultMasker): Buffer | undefined {
  if (body.length < 4) throw new ProtocolError('FunctionCallResponse truncated');
  const len = body.readInt32BE(0);
  if (len < 0) return undefined;
  const untraced = sqlMaskerOf(masker)?.untracedResult === true;
  if (!untraced && masker.maskText(body.toString('latin1', 4, 4 + len)) === undefined) return undefined;
  const out = typedFrame(0x56, 4);
  out.writeInt32BE(-1, 5);
  return out;
}

/** A NoticeResponse written by Gatehouse itself (never masked: it holds no data). */
export function gatehouseNotice(message: string): Buffer {
  return encode.noticeResponse({ severity: 'NOTICE', code: '01000', message });
}
