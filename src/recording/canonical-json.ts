// Canonical JSON (RFC 8785 JCS style) for the hash chain: one byte sequence per value, on any machine.
// Pure. It must never depend on property insertion order, whitespace or the runtime's locale.
//
// Rules (docs/recording.md §Canonical JSON): object keys sorted by UTF-16 code units (JavaScript's
// default string order, as JCS §3.2.3 requires); no whitespace; strings and numbers serialised as
// ECMAScript JSON.stringify does (JCS §3.2.2); members whose value is undefined or a function are
// left out, as JSON.stringify leaves them out; values with toJSON (Date) are replaced by its result;
// non-finite numbers become null (JSON.stringify's rule; JCS would refuse them — a record must not
// fail on them). BigInt and cyclic values are refused.

export class CanonicalJsonError extends Error {}

/** Printable ASCII but `"` and `\\`: a string JSON.stringify writes as it is, between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * JSON.stringify(s), the same text: a plain string (ids, hashes, times, keywords, most statements) is
 * quoted here, without a call into the runtime's serialiser, which cost more than the rest of an
 * event's text on the record's hot path (canonical-json.test.ts checks both agree on any string).
 */
export function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** JSON.stringify(n) for a number: its shortest text, or null when it is not finite. */
export function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** Deeper than this is refused: it also stops a cyclic value without tracking every object seen. */
const MAX_DEPTH = 200;

/** The canonical JSON text of a JSON-compatible value. */
export function canonicalJson(value: unknown): string {
  const out = write(value, 0);
  if (out === undefined) throw new CanonicalJsonError('value has no JSON form');
  return out;
}

/**
 * The canonical JSON of a member's value at `depth` (1 for a top-level object's members), or
 * undefined when the member is left out: for writers that build a known object's text directly and
 * must give exactly what canonicalJson gives for the whole object (event-data.ts).
 */
export function canonicalMember(value: unknown, depth: number): string | undefined {
  return write(value, depth);
}

// On the hot path (two events per statement): plain loops and string concatenation, no per-call
// allocations beyond the key list.
function write(value: unknown, depth: number): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return jsonString(value);
    case 'number':
      return jsonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      throw new CanonicalJsonError('BigInt has no canonical JSON form');
    default:
      break;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return write((value as { toJSON(): unknown }).toJSON(), depth);
  }
  if (depth >= MAX_DEPTH) throw new CanonicalJsonError('value nested too deeply (or cyclic)');
  if (Array.isArray(value)) {
    // Array holes and undefined elements are null, as in JSON.stringify.
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += write(value[i], depth + 1) ?? 'null';
    }
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = write(obj[k], depth + 1);
    if (v === undefined) continue;
    out += `${first ? '' : ','}${jsonString(k)}:${v}`;
    first = false;
  }
  return out + '}';
}
