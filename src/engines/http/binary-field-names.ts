// A masked principal's API answer in a binary representation: CBOR, MessagePack, Smile, BSON and the
// like carry each field's name as plain bytes before its value, with no `:` or `=` between them, so
// neither JSON masking nor the field-name reading of text (src/masking/text-fields.ts) can find the
// value a sensitive name stands before, and the detectors see only its content. Protocol Buffers,
// Avro and Thrift carry no names at all. An API that negotiates its format answers in these as
// readily as in JSON (`Accept: application/cbor`, Elasticsearch's `format=smile`): such an answer
// cannot be masked, so it is withheld (docs/security.md, class 206). Pure.

/** Schema-bound binary encodings: their values carry no field names that masking could read. */
const NAMELESS = /protobuf|grpc|avro|thrift|capnp|flatbuffers|\bion\b|x-ion|amazon\.ion/i;

/** A field name as the matcher compares it: lower case, without `-`, `_`, `.` and spaces. */
function normalized(s: string): string {
  return s.toLowerCase().replace(/[-_. ]/g, '');
}

const cores = new Map<string, RegExp | undefined>();

/**
 * The sensitive names as a search over normalized bytes: each name's longest literal piece (a glob's
 * `*_password` is `password`) of three characters or more. A serialization's length prefix may be a
 * letter (CBOR writes a text of 8 bytes after `h`), so names are found inside runs of letters, not
 * only between other bytes: where that reads more than a name, an answer is withheld that could have
 * been masked, never the reverse.
 */
function namesSearch(fieldNames: readonly string[]): RegExp | undefined {
  const key = fieldNames.join('\n');
  if (cores.has(key)) return cores.get(key);
  const pieces = new Set<string>();
  for (const name of fieldNames) {
    const longest = normalized(name)
      .split('*')
      .reduce((a, b) => (b.length > a.length ? b : a), '');
    if (longest.length >= 3) pieces.add(longest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  }
  const re = pieces.size === 0 ? undefined : new RegExp([...pieces].join('|'));
  if (cores.size > 64) cores.clear();
  cores.set(key, re);
  return re;
}

/**
 * Why a binary answer cannot be masked (a sensitive field name in it, in a form masking cannot place
 * its value in, or a schema-bound encoding), or undefined when masking reads it as it reads text: it
 * is JSON whatever its label, or holds no sensitive name.
 */
export function unmaskableBinary(
  contentType: string | undefined,
  body: Buffer,
  fieldNames: readonly string[],
): string | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (NAMELESS.test(type)) return `it is ${type}, whose values carry no field names masking could read`;
  try {
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body).replace(/^\uFEFF/, ''));
    // JSON under another label: masked as JSON, by field name.
    return undefined;
  } catch {
    // Not JSON: searched for the names a serialization keeps in plain bytes.
  }
  const search = namesSearch(fieldNames);
  if (search === undefined) return undefined;
  const readings = [body.toString('latin1')];
  const bom = body.length >= 2 ? (body[0]! << 8) | body[1]! : 0;
  if (bom === 0xfffe) readings.push(new TextDecoder('utf-16le').decode(body));
  else if (bom === 0xfeff) readings.push(new TextDecoder('utf-16be').decode(body));
  for (const text of readings) {
    const m = search.exec(normalized(text));
    if (m)
      return `it is ${type || 'a binary body'} and names a sensitive field ("${m[0]}") in a form masking cannot read`;
  }
  return undefined;
}
