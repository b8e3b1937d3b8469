// Reads sqlcommenter key/value comments (`/*key='value',k2='v2'*/`, https://google.github.io/sqlcommenter/spec/)
// for prompt lineage. The result is recorded, never used to decide anything.

/** Bounds, so that a hostile comment cannot blow up what is recorded. */
export const COMMENT_LIMITS = { maxPairs: 32, maxKeyLength: 128, maxValueLength: 2048 } as const;

/**
 * The pairs in one comment's body (the text between `/*` and `*\/`), or undefined when the body is not
 * exactly a sqlcommenter list. Keys and values are URL-decoded; a value's `\'` is an escaped quote.
 */
export function parseSqlcommenter(body: string): Map<string, string> | undefined {
  const text = body.trim();
  if (text.length === 0) return undefined;
  const pairs = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    const equals = text.indexOf('=', i);
    if (equals < 0) return undefined;
    const rawKey = text.slice(i, equals).trim();
    let j = equals + 1;
    while (text[j] === ' ') j += 1;
    if (text[j] !== "'") return undefined;
    j += 1;
    let rawValue = '';
    for (;;) {
      const ch = text[j];
      if (ch === undefined) return undefined; // unterminated value
      if (ch === '\\' && text[j + 1] === "'") {
        rawValue += "'";
        j += 2;
      } else if (ch === "'") {
        j += 1;
        break;
      } else {
        rawValue += ch;
        j += 1;
      }
    }
    const key = decode(rawKey);
    const value = decode(rawValue);
    if (key === undefined || value === undefined || key.length === 0) return undefined;
    if (
      pairs.size < COMMENT_LIMITS.maxPairs &&
      key.length <= COMMENT_LIMITS.maxKeyLength &&
      value.length <= COMMENT_LIMITS.maxValueLength
    ) {
      pairs.set(key, value);
    }
    while (text[j] === ' ') j += 1;
    if (j >= text.length) break;
    if (text[j] !== ',') return undefined;
    i = j + 1;
  }
  return pairs.size > 0 ? pairs : undefined;
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
