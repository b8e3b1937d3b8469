// Decoders and encoders for the PostgreSQL value formats masking has to look inside: int8 and numeric
// binary, bytea hex, binary arrays and composites, and the text form of a row value (record_out).
// Pure; a malformed value returns undefined so the caller can withhold it, never pass it.

/** int8 binary send: 8 bytes big-endian two's complement → decimal text, as int8out prints it. */
export function int8BinaryToText(b: Buffer): string | undefined {
  return b.length === 8 ? b.readBigInt64BE(0).toString() : undefined;
}

const NUMERIC_NAN = 0xc000;
const NUMERIC_NEG = 0x4000;

/**
 * numeric binary send (numeric.c numeric_send): ndigits, weight, sign, dscale, then base-10000
 * digits → decimal text as numeric_out prints it. Special values print as words.
 */
export function numericBinaryToText(b: Buffer): string | undefined {
  if (b.length < 8) return undefined;
  const ndigits = b.readUInt16BE(0);
  const weight = b.readInt16BE(2);
  const sign = b.readUInt16BE(4);
  const dscale = b.readUInt16BE(6);
  if (b.length !== 8 + 2 * ndigits) return undefined;
  if (sign === NUMERIC_NAN) return 'NaN';
  if (sign !== 0 && sign !== NUMERIC_NEG) return 'Infinity';
  const digit = (j: number): number => (j >= 0 && j < ndigits ? b.readUInt16BE(8 + 2 * j) : 0);
  let int = '';
  if (weight < 0) int = '0';
  else
    for (let j = 0; j <= weight; j++) int += j === 0 ? String(digit(j)) : String(digit(j)).padStart(4, '0');
  let frac = '';
  for (let k = 1; frac.length < dscale; k++) frac += String(digit(weight + k)).padStart(4, '0');
  frac = frac.slice(0, dscale);
  return `${sign === NUMERIC_NEG ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** bytea in hex output format (`\x…`, the default since 9.0) → bytes; undefined for escape format. */
export function byteaHexToBytes(text: string): Buffer | undefined {
  if (!text.startsWith('\\x') || text.length % 2 !== 0) return undefined;
  const hex = text.slice(2);
  if (!/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}

export function bytesToByteaHex(bytes: Buffer): string {
  return `\\x${bytes.toString('hex')}`;
}

/** A binary array (arrayfuncs.c array_send): header, dimensions, then each element as length + bytes. */
export interface BinaryArray {
  readonly header: Buffer;
  readonly elementType: number;
  readonly hasNull: boolean;
  readonly elements: (Buffer | null)[];
}

const MAX_ARRAY_DIMS = 6;

export function decodeBinaryArray(b: Buffer): BinaryArray | undefined {
  if (b.length < 12) return undefined;
  const ndim = b.readInt32BE(0);
  const flags = b.readInt32BE(4);
  const elementType = b.readUInt32BE(8);
  if (ndim < 0 || ndim > MAX_ARRAY_DIMS || (flags !== 0 && flags !== 1)) return undefined;
  let pos = 12;
  let count = ndim === 0 ? 0 : 1;
  for (let d = 0; d < ndim; d++) {
    if (pos + 8 > b.length) return undefined;
    const size = b.readInt32BE(pos);
    if (size < 0) return undefined;
    count *= size;
    pos += 8;
  }
  // Each element needs at least its 4-byte length: a count larger than that is a hostile header.
  if (count > (b.length - pos) / 4) return undefined;
  const header = b.subarray(0, pos);
  const elements: (Buffer | null)[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + 4 > b.length) return undefined;
    const len = b.readInt32BE(pos);
    pos += 4;
    if (len === -1) elements.push(null);
    else {
      if (len < 0 || pos + len > b.length) return undefined;
      elements.push(b.subarray(pos, pos + len));
      pos += len;
    }
  }
  if (pos !== b.length) return undefined;
  return { header, elementType, hasNull: flags === 1, elements };
}

export function encodeBinaryArray(a: BinaryArray): Buffer {
  const hasNull = a.elements.some((e) => e === null);
  let size = a.header.length;
  for (const e of a.elements) size += 4 + (e?.length ?? 0);
  const out = Buffer.allocUnsafe(size);
  a.header.copy(out, 0);
  out.writeInt32BE(hasNull ? 1 : 0, 4);
  let pos = a.header.length;
  for (const e of a.elements) {
    out.writeInt32BE(e === null ? -1 : e.length, pos);
    pos += 4;
    if (e !== null) pos += e.copy(out, pos);
  }
  return out;
}

/** A binary composite (rowtypes.c record_send): a field count, then type OID, length and bytes per field. */
export interface BinaryField {
  readonly typeOid: number;
  readonly value: Buffer | null;
}

export function decodeBinaryComposite(b: Buffer): BinaryField[] | undefined {
  if (b.length < 4) return undefined;
  const n = b.readInt32BE(0);
  if (n < 0 || n > (b.length - 4) / 8) return undefined;
  const fields: BinaryField[] = [];
  let pos = 4;
  for (let i = 0; i < n; i++) {
    if (pos + 8 > b.length) return undefined;
    const typeOid = b.readUInt32BE(pos);
    const len = b.readInt32BE(pos + 4);
    pos += 8;
    if (len === -1) fields.push({ typeOid, value: null });
    else {
      if (len < 0 || pos + len > b.length) return undefined;
      fields.push({ typeOid, value: b.subarray(pos, pos + len) });
      pos += len;
    }
  }
  return pos === b.length ? fields : undefined;
}

export function encodeBinaryComposite(fields: readonly BinaryField[]): Buffer {
  let size = 4;
  for (const f of fields) size += 8 + (f.value?.length ?? 0);
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(fields.length, 0);
  let pos = 4;
  for (const f of fields) {
    out.writeUInt32BE(f.typeOid, pos);
    out.writeInt32BE(f.value === null ? -1 : f.value.length, pos + 4);
    pos += 8;
    if (f.value !== null) pos += f.value.copy(out, pos);
  }
  return out;
}

/**
 * The text form of a row value, as record_out writes it: `(a,"b c",,"x""y")`. An empty unquoted
 * field is NULL; inside quotes `""` is `"` and `\\` is `\` (record_in also accepts `\` before any
 * character). Returns undefined when the text is not in that form.
 */
export function parseRecordText(text: string): (string | null)[] | undefined {
  if (text.length < 2 || text[0] !== '(' || text[text.length - 1] !== ')') return undefined;
  const fields: (string | null)[] = [];
  let i = 1;
  const end = text.length - 1;
  for (;;) {
    let value = '';
    let quoted = false;
    let any = false;
    while (i < end) {
      const c = text[i] as string;
      if (!quoted && c === ',') break;
      any = true;
      if (c === '"') {
        if (quoted && text[i + 1] === '"') {
          value += '"';
          i += 2;
          continue;
        }
        quoted = !quoted;
        i++;
        continue;
      }
      if (c === '\\') {
        if (i + 1 >= end) return undefined;
        value += text[i + 1];
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    if (quoted) return undefined;
    fields.push(any ? value : null);
    if (i >= end) break;
    i++; // the comma
  }
  return fields;
}

/** record_out's quoting: quote empty values and values with `"` `\` `(` `)` `,` or white space. */
export function formatRecordText(fields: readonly (string | null)[]): string {
  const parts = fields.map((v) => {
    if (v === null) return '';
    if (v !== '' && !/["\\(),\s]/.test(v)) return v;
    return `"${v.replace(/["\\]/g, (c) => c + c)}"`;
  });
  return `(${parts.join(',')})`;
}

/** Range flags (rangetypes.h): empty, and bounds at infinity (no bytes sent for them). */
const RANGE_EMPTY = 0x01;
const RANGE_LB_INF = 0x08;
const RANGE_UB_INF = 0x10;

/**
 * The bounds of a binary range (rangetypes.c range_send: a flags byte, then each finite bound as
 * length + bytes in its element type's binary form); undefined when the bytes are not one.
 */
export function decodeBinaryRange(b: Buffer): Buffer[] | undefined {
  if (b.length < 1) return undefined;
  const flags = b[0] as number;
  const out: Buffer[] = [];
  let pos = 1;
  if ((flags & RANGE_EMPTY) === 0) {
    for (const inf of [RANGE_LB_INF, RANGE_UB_INF]) {
      if ((flags & inf) !== 0) continue;
      if (pos + 4 > b.length) return undefined;
      const len = b.readInt32BE(pos);
      pos += 4;
      if (len < 0 || pos + len > b.length) return undefined;
      out.push(b.subarray(pos, pos + len));
      pos += len;
    }
  }
  return pos === b.length ? out : undefined;
}

/** The ranges of a binary multirange (multirangetypes.c multirange_send: a count, then length + range). */
export function decodeBinaryMultirange(b: Buffer): Buffer[] | undefined {
  if (b.length < 4) return undefined;
  const n = b.readInt32BE(0);
  if (n < 0 || n > (b.length - 4) / 4) return undefined;
  const out: Buffer[] = [];
  let pos = 4;
  for (let i = 0; i < n; i++) {
    if (pos + 4 > b.length) return undefined;
    const len = b.readInt32BE(pos);
    pos += 4;
    if (len < 0 || pos + len > b.length) return undefined;
    out.push(b.subarray(pos, pos + len));
    pos += len;
  }
  return pos === b.length ? out : undefined;
}
