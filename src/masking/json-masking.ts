// Masks a JSON document given as text: values under sensitive key names whatever they hold, and any
// string or number a detector flags. Edits the text in place: formatting, key order and big numbers stay.

import type { DetectorSet } from './detector-set.js';
import type { MaskContext, MaskResult, MaskStyle, StyleChoice } from './finding.js';
import { textFieldSpans, writeMasked, type KeyTagOf } from './text-fields.js';
import { isNoEchoDefaultKey, isNoEchoTrue, NO_ECHO_TAG } from './no-echo-defaults.js';
import { mayNameFields } from './text-features.js';

/**
 * Key names whose values are masked whatever they contain. Matched case-insensitively, ignoring
 * `_`, `-`, `.` and spaces (so `secret_access_key` also covers `SecretAccessKey`); `*` is a wildcard.
 */
export const DEFAULT_SENSITIVE_KEYS = [
  'password',
  'passwd',
  'pwd',
  '*_password',
  'passphrase',
  'secret',
  'client_secret',
  '*_secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'session_token',
  'auth_token',
  '*_auth_token',
  'bearer_token',
  'api_key',
  'apikey',
  '*_apikey',
  'api_token',
  'private_key',
  'private_key_id',
  'secret_access_key',
  'secret_key',
  '*_secret_key',
  'secret_key_base',
  'encryption_key',
  'signing_key',
  'master_key',
  'auth_key',
  'requirepass',
  'masterauth',
  'aws_secret_access_key',
  'aws_session_token',
  'authorization',
  'cookie',
  'set_cookie',
  'card',
  'card_number',
  'cc_number',
  'credit_card',
  'cvv',
  'cvc',
  'ssn',
] as const;

export interface JsonMaskOptions {
  /** Key names whose values are masked whole (default DEFAULT_SENSITIVE_KEYS). */
  readonly keyNames?: readonly string[];
  readonly style: StyleChoice;
  /**
   * Field names are read in text too (text-fields.ts): in a string that may name values (a config
   * file, a DSN, a command line held in a field), and in the whole text when it is not JSON after all
   * (HTTP bodies labelled JSON that do not parse as one document: an XSSI prefix (`)]}'`), JSONP
   * (`cb({…})`), JSON lines, a truncated body; a PostgreSQL text value that starts like JSON).
   */
  readonly keysInInvalidJson?: boolean;
  /**
   * An object under a sensitive key is masked whole (default), or read member by member: false for
   * Kubernetes objects, where such an object is structure a client decodes into types (a Pod's `secret`
   * volume source, a CRD's schema of a `password` property), not a value.
   */
  readonly wholeObjects?: boolean;
}

/** How deep JSON held in a JSON string ("{\"password\":…}") is itself parsed. */
const MAX_NESTED_DOCUMENTS = 2;
const MAX_NESTING = 512;

/** The tag a key-name entry masks under: `SecretAccessKey` → `secretaccesskey`, `*_password` → `password`. */
export function keyTag(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '')
      .replace(/^_+|_+$/g, '') || 'key'
  );
}

function normalizeKey(k: string): string {
  return k.toLowerCase().replace(/[-_. ]/g, '');
}

/** Returns the configured entry a key matches, used as the tag (`[REDACTED:password]`). */
type KeyMatcher = (key: string) => string | undefined;

const matcherCache = new WeakMap<readonly string[], KeyMatcher>();

/** An environment variable's name: upper-case words joined by `_` (`DB_PASSWORD`, `GITHUB_TOKEN`). */
const ENV_NAME = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

/** Entries this short are not read as the end of an env name (`CARD` in `DISCOUNT_CARD`, `PWD`). */
const MIN_ENV_SUFFIX = 5;

/**
 * The matcher for a key-name list. An environment variable's name (`GITHUB_TOKEN`, `STRIPE_API_KEY`,
 * in a `.env` file, `env` output, a ConfigMap or a JSON object) also matches when it ends in an entry of
 * five characters or more (`token`, `api_key`), as the Kubernetes engine reads env names: a
 * camelCase or lower-case key does not (`nextToken`, `page_token` stay, pagination needs them).
 */
function keyMatcher(names: readonly string[]): KeyMatcher {
  const cached = matcherCache.get(names);
  if (cached) return cached;
  const exact = new Map<string, string>();
  const globs: { re: RegExp; tag: string }[] = [];
  for (const name of names) {
    const tag = keyTag(name);
    if (name.includes('*')) {
      const body = normalizeKey(name)
        .split('*')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      globs.push({ re: new RegExp(`^${body}$`), tag });
    } else exact.set(normalizeKey(name), tag);
  }
  const suffixes = [...exact].filter(([k]) => k.length >= MIN_ENV_SUFFIX);
  const passTag = exact.get('password');
  const m: KeyMatcher = (key) => {
    const k = normalizeKey(key);
    const hit = exact.get(k);
    if (hit !== undefined) return hit;
    for (const g of globs) if (g.re.test(k)) return g.tag;
    if (ENV_NAME.test(key)) {
      for (const [s, tag] of suffixes) if (k.endsWith(s)) return tag;
      // `DB_PASS`, `SMTP_PASS`: `pass` is too short a word to end other names with (`BYPASS`).
      if (key.endsWith('_PASS') && passTag !== undefined) return passTag;
    }
    return undefined;
  };
  matcherCache.set(names, m);
  return m;
}

/** The tag a key matches in `names` (default DEFAULT_SENSITIVE_KEYS), or undefined: for text-fields.ts' readers. */
export function sensitiveKeyTag(names: readonly string[] = DEFAULT_SENSITIVE_KEYS): KeyTagOf {
  return keyMatcher(names);
}

class InvalidJson extends Error {}

/** A value the redact style wrote (`[REDACTED:password]`). */
const REDACTION = /^\[REDACTED:[a-z0-9_]{1,64}\]$/;

/**
 * A redaction written already, or its base64 (a Kubernetes Secret's `data`, masked as
 * `base64("[REDACTED:secret]")` so that clients can still decode it): kept as it is.
 */
function isRedaction(raw: string): boolean {
  if (REDACTION.test(raw)) return true;
  if (raw.length < 16 || raw.length > 100 || !/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) return false;
  return REDACTION.test(Buffer.from(raw, 'base64').toString('latin1'));
}

/**
 * Members that name another member's value in a name/value object, and the members that hold the
 * value (compared as keys are: case-insensitively, ignoring `_ - .` and spaces).
 */
const PAIR_NAME_KEYS = new Set([
  'name',
  'key',
  'parametername',
  'parameterkey',
  'optionname',
  'variablename',
]);
const PAIR_VALUE_KEYS = new Set(['value', 'parametervalue', 'optionvalue', 'variablevalue']);

/**
 * A value its own service marks secret by a type member beside it, whatever the object's name says: an
 * SSM parameter of type SecureString (`{"Name": "/prod/app/signing", "Type": "SecureString", "Value":
 * "…"}` from GetParameter, GetParameters, GetParametersByPath, GetParameterHistory). The tag its value
 * member is masked under, or undefined.
 */
export function secretTypeTag(key: string, value: string | undefined): string | undefined {
  if (key.length !== 4 || key.toLowerCase() !== 'type' || value === undefined) return undefined;
  return value.toLowerCase() === 'securestring' ? 'securestring' : undefined;
}

/**
 * A member's part in a name/value object (PAIR_NAME_KEYS, PAIR_VALUE_KEYS), for readers of other
 * representations of the same objects (an AWS query API's XML: xml-masking.ts).
 */
export function pairMemberRole(key: string): 'name' | 'value' | undefined {
  if (maybePairKey(key, PAIR_NAME_KEYS, NAME_FIRSTS)) return 'name';
  if (maybePairKey(key, PAIR_VALUE_KEYS, VALUE_FIRSTS)) return 'value';
  return undefined;
}

/** Whether a member key is one of `set`'s, as keys compare (a plain lower-case key is not rewritten). */
function maybePairKey(key: string, set: ReadonlySet<string>, firsts: string): boolean {
  if (key.length < 3 || key.length > 24 || !firsts.includes(key[0]!)) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 97 || c > 122) return set.has(normalizeKey(key));
  }
  return set.has(key);
}
const NAME_FIRSTS = 'nNkKpPoOvV';
const VALUE_FIRSTS = 'vVpPoO';

/** The string literal between `start` and `end` (its quotes included), read. */
function jsonStringAt(t: string, start: number, end: number): string | undefined {
  const raw = t.slice(start + 1, end - 1);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(t.slice(start, end)) as string;
  } catch {
    return undefined;
  }
}

/** Where the JSON value at `p` ends (a string, an object or array with what it holds, a literal). */
function skipJson(t: string, p: number): number {
  let depth = 0;
  for (let i = p; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 34) {
      for (i++; i < t.length; i++) {
        const d = t.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
      if (depth === 0) return i + 1;
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      if (depth === 0) return i;
      if (--depth === 0) return i + 1;
    } else if (depth === 0 && (c === 44 || c === 32 || c === 10 || c === 13 || c === 9)) return i;
  }
  return t.length;
}

/**
 * The tag of the object whose members go on at `p` (after a member's value) when one of them named as
 * a name (PAIR_NAME_KEYS) holds a string that is a sensitive key; undefined otherwise, or when the rest
 * does not read as JSON (the masker then finds that out itself).
 */
function pairNameTagAhead(t: string, p: number, keys: KeyMatcher): string | undefined {
  for (;;) {
    p = afterWs(t, p);
    if (t.charCodeAt(p) !== 44) return undefined;
    p = afterWs(t, p + 1);
    if (t.charCodeAt(p) !== 34) return undefined;
    const keyEnd = skipJson(t, p);
    const key = jsonStringAt(t, p, keyEnd);
    p = afterWs(t, keyEnd);
    if (key === undefined || t.charCodeAt(p) !== 58) return undefined;
    p = afterWs(t, p + 1);
    const end = skipJson(t, p);
    if (t.charCodeAt(p) === 34 && maybePairKey(key, PAIR_NAME_KEYS, NAME_FIRSTS)) {
      const name = jsonStringAt(t, p, end);
      const tag = name === undefined ? undefined : keys(name);
      if (tag !== undefined) return tag;
    }
    if (t.charCodeAt(p) === 34) {
      const tag = secretTypeTag(key, jsonStringAt(t, p, end));
      if (tag !== undefined) return tag;
    }
    p = end;
  }
}

/**
 * Whether the members that go on at `p` (after a member's value) declare the object a NoEcho
 * parameter (`"NoEcho": true` or `"true"`: no-echo-defaults.ts); false when the rest does not read as
 * JSON (the masker then finds that out itself).
 */
function noEchoAhead(t: string, p: number): boolean {
  for (;;) {
    p = afterWs(t, p);
    if (t.charCodeAt(p) !== 44) return false;
    p = afterWs(t, p + 1);
    if (t.charCodeAt(p) !== 34) return false;
    const keyEnd = skipJson(t, p);
    const key = jsonStringAt(t, p, keyEnd);
    p = afterWs(t, keyEnd);
    if (key === undefined || t.charCodeAt(p) !== 58) return false;
    p = afterWs(t, p + 1);
    const end = skipJson(t, p);
    if (isNoEchoKey(key) && noEchoValueAt(t, p, end)) return true;
    p = end;
  }
}

function isNoEchoKey(key: string): boolean {
  return key.length === 6 && key.toLowerCase() === 'noecho';
}

/** Whether the JSON value at [start, end) is `true` or a string reading "true". */
function noEchoValueAt(t: string, start: number, end: number): boolean {
  if (t.startsWith('true', start) && end - start === 4) return true;
  return t.charCodeAt(start) === 34 && isNoEchoTrue(jsonStringAt(t, start, end));
}

function afterWs(t: string, p: number): number {
  for (let c = t.charCodeAt(p); c === 32 || c === 10 || c === 13 || c === 9; c = t.charCodeAt(++p));
  return p;
}

function mergeCounts(
  a: Readonly<Record<string, number>> | undefined,
  b: Readonly<Record<string, number>> | undefined,
): Record<string, number> {
  const out: Record<string, number> = { ...a };
  for (const [k, v] of Object.entries(b ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

class JsonTextMasker {
  private pos = 0;
  private copied = 0;
  private readonly pieces: string[] = [];
  readonly counts: Record<string, number> = {};

  constructor(
    private readonly text: string,
    private readonly set: DetectorSet,
    private readonly style: StyleChoice,
    private readonly keyNames: readonly string[],
    private readonly keys: KeyMatcher,
    private readonly nested: number,
    /** A string's content is read for field names too (HTTP bodies: keysInInvalidJson). */
    private readonly keysInText = false,
    /** An object under a sensitive key is masked whole (else read member by member). */
    private readonly wholeObjects = true,
  ) {}

  run(): string | null {
    this.ws();
    this.value(undefined, 0);
    this.ws();
    if (this.pos !== this.text.length) throw new InvalidJson();
    if (this.pieces.length === 0) return null;
    return this.pieces.join('') + this.text.slice(this.copied);
  }

  /** Returns false (and changes nothing) when the replacement is the text already there. */
  private replace(start: number, end: number, replacement: string): boolean {
    if (end - start === replacement.length && this.text.startsWith(replacement, start)) return false;
    this.pieces.push(this.text.slice(this.copied, start), replacement);
    this.copied = end;
    return true;
  }

  private count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }

  private merge(counts: Readonly<Record<string, number>>): void {
    for (const [k, v] of Object.entries(counts)) this.count(k, v);
  }

  private styleFor(tag: string): MaskStyle {
    return typeof this.style === 'function' ? this.style(tag) : this.style;
  }

  private ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 10 || c === 13 || c === 9) this.pos++;
      else break;
    }
  }

  /** A value under a sensitive key: masked whole (strings and numbers; true/false/null kept). */
  private maskWholeAt(start: number, end: number, raw: string, tag: string): void {
    // Already masked upstream of this pass (the Kubernetes engine's `[REDACTED:env]`): kept as it is.
    if (isRedaction(raw)) return;
    const masked = this.set.maskWhole(raw, this.styleFor(tag), tag);
    if (this.replace(start, end, masked === null ? 'null' : JSON.stringify(masked))) this.count(tag);
  }

  private value(tag: string | undefined, level: number): void {
    if (level > MAX_NESTING) throw new InvalidJson();
    const t = this.text;
    const c = t.charCodeAt(this.pos);
    if (c === 123) return this.object(this.wholeObjects ? tag : undefined, level);
    if (c === 91) return this.array(tag, level);
    if (c === 34) {
      const start = this.pos;
      const s = this.string();
      if (tag !== undefined) return this.maskWholeAt(start, this.pos, s, tag);
      return this.scanString(start, this.pos, s);
    }
    if (c === 116 && t.startsWith('true', this.pos)) return void (this.pos += 4);
    if (c === 102 && t.startsWith('false', this.pos)) return void (this.pos += 5);
    if (c === 110 && t.startsWith('null', this.pos)) return void (this.pos += 4);
    const start = this.pos;
    while (this.pos < t.length) {
      const d = t.charCodeAt(this.pos);
      if ((d >= 48 && d <= 57) || d === 45 || d === 43 || d === 46 || d === 101 || d === 69) this.pos++;
      else break;
    }
    const num = t.slice(start, this.pos);
    if (!NUMBER.test(num)) throw new InvalidJson();
    if (tag !== undefined) return this.maskWholeAt(start, this.pos, num, tag);
    const r = this.set.mask(num, this.style, 'cell');
    if (r) {
      this.replace(start, this.pos, r.isNull ? 'null' : JSON.stringify(r.text));
      this.merge(r.counts);
    }
  }

  private scanString(start: number, end: number, s: string): void {
    let r: MaskResult | null;
    const first = s.trimStart().charCodeAt(0);
    if ((first === 123 || first === 91) && this.nested < MAX_NESTED_DOCUMENTS) {
      r = maskJson(
        s,
        this.set,
        this.style,
        this.keyNames,
        this.nested + 1,
        this.keysInText,
        this.wholeObjects,
      );
    } else {
      // In an HTTP body, a document held in a string (a config file, a connection string, a command
      // line) is read as a text answer is: the values its field names stand before, then the detectors.
      const fields =
        this.keysInText && mayNameFields(s) ? maskTextFields(s, this.set, this.style, this.keys) : null;
      r = fields ? withDetectors(fields, this.set, this.style) : this.set.mask(s, this.style, 'cell');
    }
    if (r) {
      this.replace(start, end, r.isNull ? 'null' : JSON.stringify(r.text));
      this.merge(r.counts);
    }
  }

  private object(tag: string | undefined, level: number): void {
    const t = this.text;
    this.pos++;
    this.ws();
    if (t.charCodeAt(this.pos) === 125) return void this.pos++;
    /** Name members seen and not yet read (their strings' bounds, two numbers each). */
    const names: number[] = [];
    /** The tag a name member read so far gives a name/value object's value. */
    let pairTag: string | undefined;
    /** The tag a type member read so far gives it (secretTypeTag). */
    let typeTag: string | undefined;
    /** Whether a `NoEcho` member read so far declares the object a NoEcho parameter. */
    let noEcho = false;
    for (;;) {
      if (t.charCodeAt(this.pos) !== 34) throw new InvalidJson();
      const keyStart = this.pos;
      const key = this.string();
      // Keys can hold data too (a map keyed by email); a masked key is redacted, never nulled.
      const rk = this.set.mask(key, this.style, 'text');
      if (rk) {
        this.replace(keyStart, this.pos, JSON.stringify(rk.text));
        this.merge(rk.counts);
      }
      this.ws();
      if (t.charCodeAt(this.pos) !== 58) throw new InvalidJson();
      this.pos++;
      this.ws();
      let memberTag = tag ?? this.keys(key);
      // A name/value object (`{"name": "DB_PASSWORD", "value": "…"}`: an ECS or CodeBuild environment
      // variable, a CloudFormation parameter): its value is masked whole when its name is a sensitive
      // key, whichever comes first. A name seen before the value gives its tag; else the members
      // after the value are looked through for one.
      if (memberTag === undefined && maybePairKey(key, PAIR_VALUE_KEYS, VALUE_FIRSTS)) {
        for (let i = 0; pairTag === undefined && i < names.length; i += 2) {
          const name = jsonStringAt(t, names[i]!, names[i + 1]!);
          if (name !== undefined) pairTag = this.keys(name);
        }
        names.length = 0;
        memberTag = pairTag ?? typeTag ?? pairNameTagAhead(t, skipJson(t, this.pos), this.keys);
      }
      // A CloudFormation parameter declared NoEcho: its default, whichever comes first (class 368).
      if (
        memberTag === undefined &&
        isNoEchoDefaultKey(key) &&
        (noEcho || noEchoAhead(t, skipJson(t, this.pos)))
      )
        memberTag = NO_ECHO_TAG;
      const valueStart = this.pos;
      this.value(memberTag, level + 1);
      if (!noEcho && isNoEchoKey(key)) noEcho = noEchoValueAt(t, valueStart, this.pos);
      if (typeTag === undefined && t.charCodeAt(valueStart) === 34)
        typeTag = secretTypeTag(key, jsonStringAt(t, valueStart, this.pos));
      // A name member: read (as a key) only once a value member asks for it.
      if (
        pairTag === undefined &&
        t.charCodeAt(valueStart) === 34 &&
        maybePairKey(key, PAIR_NAME_KEYS, NAME_FIRSTS)
      )
        names.push(valueStart, this.pos);
      this.ws();
      const c = t.charCodeAt(this.pos);
      this.pos++;
      if (c === 125) return;
      if (c !== 44) throw new InvalidJson();
      this.ws();
    }
  }

  private array(tag: string | undefined, level: number): void {
    const t = this.text;
    this.pos++;
    this.ws();
    if (t.charCodeAt(this.pos) === 93) return void this.pos++;
    for (;;) {
      this.value(tag, level + 1);
      this.ws();
      const c = t.charCodeAt(this.pos);
      this.pos++;
      if (c === 93) return;
      if (c !== 44) throw new InvalidJson();
      this.ws();
    }
  }

  /** Reads a string literal at pos and returns its value (RFC 8259 §7). */
  private string(): string {
    const t = this.text;
    const start = this.pos;
    let p = start + 1;
    let escaped = false;
    for (;;) {
      if (p >= t.length) throw new InvalidJson();
      const c = t.charCodeAt(p);
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        p += 2;
        continue;
      }
      if (c < 0x20) throw new InvalidJson();
      p++;
    }
    this.pos = p + 1;
    if (!escaped) return t.slice(start + 1, p);
    try {
      return JSON.parse(t.slice(start, p + 1)) as string;
    } catch {
      throw new InvalidJson();
    }
  }
}

function maskJson(
  text: string,
  set: DetectorSet,
  style: StyleChoice,
  keyNames: readonly string[],
  nested: number,
  keysInInvalidJson = false,
  wholeObjects = true,
): MaskResult | null {
  const keys = keyMatcher(keyNames);
  const m = new JsonTextMasker(text, set, style, keyNames, keys, nested, keysInInvalidJson, wholeObjects);
  let out: string | null;
  try {
    out = m.run();
  } catch (e) {
    if (!(e instanceof InvalidJson)) throw e;
    // Not JSON after all: scan it as text, so content detectors still apply (and, when asked, what
    // follows each sensitive `"key":` is masked whole first).
    return keysInInvalidJson ? maskKeyedText(text, set, style, keys) : set.mask(text, style, 'text');
  }
  return out === null ? null : { text: out, counts: m.counts, isNull: false };
}

/**
 * Masks a JSON text: values under `keyNames` are masked whole (a `null` style gives JSON null), other
 * strings and numbers are scanned by the detector set, JSON held inside strings is masked the same
 * way (two levels). Returns null when nothing changed. Invalid JSON is masked as plain text.
 */
export function maskJsonText(
  jsonText: string,
  set: DetectorSet,
  options: JsonMaskOptions,
): MaskResult | null {
  const keyNames = options.keyNames ?? DEFAULT_SENSITIVE_KEYS;
  return maskJson(
    jsonText,
    set,
    options.style,
    keyNames,
    0,
    options.keysInInvalidJson === true,
    options.wholeObjects !== false,
  );
}

/**
 * Masks whole each value a field name `keys` knows stands before in a text that is not JSON (a
 * JSON-style `"key":`, a CSV column, a YAML or `.env` line, a `key=value` pair: text-fields.ts), and
 * nothing else. Null when there is none.
 */
export function maskTextFields(
  text: string,
  set: DetectorSet,
  style: StyleChoice,
  keys: KeyTagOf,
  options: { readonly tables?: boolean } = {},
): { text: string; counts: Record<string, number> } | null {
  const counts: Record<string, number> = {};
  let out = '';
  let copied = 0;
  for (const span of textFieldSpans(text, keys, options)) {
    // Masked already (a ConfigMap file the Kubernetes engine read first): kept, and not counted again.
    if (REDACTION.test(span.value)) continue;
    const masked = set.maskWhole(span.value, typeof style === 'function' ? style(span.tag) : style, span.tag);
    out += text.slice(copied, span.start) + writeMasked(masked, span);
    copied = span.end;
    counts[span.tag] = (counts[span.tag] ?? 0) + 1;
  }
  return copied === 0 ? null : { text: out + text.slice(copied), counts };
}

/**
 * A text that is not JSON (a PostgreSQL text value, a log line, a piece of a stream): when it may name
 * values, each value a sensitive name in `keyNames` stands before is masked whole (text-fields.ts;
 * `tables: false` for a piece of a stream, whose first line is no header), then the content detectors
 * run over the rest; otherwise the detectors alone, in `context`.
 */
export function maskNamedText(
  text: string,
  set: DetectorSet,
  style: StyleChoice,
  keyNames: readonly string[],
  context: MaskContext,
  options: { readonly tables?: boolean } = {},
): MaskResult | null {
  return maskKeyedText(text, set, style, keyMatcher(keyNames), context, options);
}

/** maskNamedText with the key matcher itself (a caller whose names are not a list: an env-name rule too). */
export function maskKeyedText(
  text: string,
  set: DetectorSet,
  style: StyleChoice,
  keys: KeyTagOf,
  context: MaskContext = 'text',
  options: { readonly tables?: boolean } = {},
): MaskResult | null {
  const fields = mayNameFields(text, options) ? maskTextFields(text, set, style, keys, options) : null;
  return fields ? withDetectors(fields, set, style) : set.mask(text, style, context);
}

/** A text whose field values are masked, with the detectors run over the rest. */
function withDetectors(
  fields: { text: string; counts: Record<string, number> },
  set: DetectorSet,
  style: StyleChoice,
): MaskResult {
  const detected = set.mask(fields.text, style, 'text');
  return {
    text: detected?.text ?? fields.text,
    counts: mergeCounts(fields.counts, detected?.counts),
    isNull: false,
  };
}
