// Splits a raw query string into the decoded key → value(s) map SigV4 canonicalises (smithy's
// HttpRequest.query). Malformed percent-escapes are an error, never guessed at.

export type QueryMap = Record<string, string | string[]>;

/** Returns undefined when a key or value has a malformed %-escape. `a&a=1` gives `{a: ['', '1']}`. */
export function parseQuery(raw: string): QueryMap | undefined {
  const out: QueryMap = Object.create(null) as QueryMap;
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    } catch {
      return undefined;
    }
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

/** The single value of a query key; undefined when absent or repeated. */
export function single(query: QueryMap, key: string): string | undefined {
  const v = query[key];
  return typeof v === 'string' ? v : undefined;
}
