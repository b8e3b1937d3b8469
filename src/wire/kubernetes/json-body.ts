// A request body as the API server decodes it, where that differs from JSON.parse. The API server
// decodes a built-in object with sigs.k8s.io/json (encoding/json, case-sensitive): a key given twice
// in one object is decoded again into what the first occurrence left, so objects, maps and pointers
// merge key by key and arrays reuse their elements; JSON.parse keeps only the last occurrence. A body
// with a key given twice is therefore read one way by Gatehouse (and an approver) and another by the
// API server, and no legitimate client sends one (kubectl re-encodes what it sends; the API server's
// own strict field validation rejects it). Pure.

/** The media type of a request body, as the API server reads it: none means JSON (its first serializer). */
export function apiServerMediaType(contentType: string | string[] | undefined): string {
  const t = (Array.isArray(contentType) ? contentType[0] : contentType) ?? '';
  const type = t.split(';')[0]!.trim().toLowerCase();
  return type === '' ? 'application/json' : type;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const JSON_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * The first key a JSON text gives twice in one object, compared as Go compares them (decoded, a lone
 * surrogate escape read as U+FFFD); undefined when every object's keys are distinct. `text` must be
 * valid JSON (JSON.parse accepted it).
 */
export function duplicateJsonKey(text: string): string | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b) open.push(new Set());
    else if (c === 0x5b) open.push(null);
    else if (c === 0x7d || c === 0x5d) open.pop();
    else if (c === 0x22) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
      const raw = text.slice(i, end + 1);
      i = end;
      let next = end + 1;
      while (JSON_SPACE.has(text.charCodeAt(next))) next++;
      const keys = open.at(-1);
      if (text.charCodeAt(next) !== 0x3a || !keys) continue;
      const key = (JSON.parse(raw) as string).replace(LONE_SURROGATE, '\ufffd');
      if (keys.has(key)) return key;
      keys.add(key);
    }
  }
  return undefined;
}

/**
 * Why the API server would read this body otherwise than JSON.parse does, for the client; undefined
 * when it reads it the same (or it is not JSON at all, which the API server then refuses itself).
 */
export function ambiguousJsonBody(text: string): string | undefined {
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  const key = duplicateJsonKey(text);
  if (key === undefined) return undefined;
  const shown = JSON.stringify(key.slice(0, 60));
  return `the body names the key ${shown} twice in one object, which the API server merges (it decodes both into one object) where JSON readers keep only the last`;
}

/** The JSON patch (RFC 6902) operations that write what the patch itself carries, and read nothing. */
const WRITING_PATCH_OPS = new Set(['add', 'remove', 'replace']);

/**
 * Why a JSON patch (`application/json-patch+json`) reads the object it patches, for the client;
 * undefined when every operation is `add`, `remove` or `replace`. `copy` and `move` put a value of
 * the object (`from`) somewhere else in it, and `test` answers whether a value of it is the one given:
 * for a principal whose reads are masked, each shows a masked value (a Secret's data, an env value)
 * where masking does not look, or one guess at a time. What is not a list of such operations, as the
 * API server's decoder reads it (evanphx/json-patch: a JSON array of objects keyed case-sensitively,
 * `op` a string), is refused as well: Gatehouse cannot tell what it reads.
 */
export function jsonPatchReadingObject(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'the JSON patch is not valid JSON';
  }
  if (!Array.isArray(doc)) return 'the JSON patch is not a list of operations';
  for (const op of doc as unknown[]) {
    if (typeof op !== 'object' || op === null || Array.isArray(op))
      return 'the JSON patch has an operation that is not an object';
    const name = (op as Record<string, unknown>).op;
    if (typeof name !== 'string') return 'the JSON patch has an operation without an "op"';
    if (!WRITING_PATCH_OPS.has(name))
      return `the JSON patch has a "${name.slice(0, 20)}" operation, which reads the object it patches`;
  }
  return undefined;
}
