// Masking of Kubernetes responses for masked principals (docs/kubernetes.md §Masking): every value of a
// Secret's `data` and `stringData` (and every object's last-applied annotation, a copy of it masked as
// the object it copies), Pod env values under sensitive names, a ConfigMap's entries under sensitive
// names and the sensitive fields of the files it holds, then, in every object, the string under a
// sensitive field name (an annotation `db-password`, a TokenRequest's `status.token`, a custom
// resource's `password`), the values the field names in a string stand before (`password: …`,
// `--db-password=…`) and the content detectors over every string — in JSON objects, lists, Tables
// (`as=Table` rows carry objects) and watch events. Logs and exec output go through field names and
// the detectors line by line. A response that must be masked but cannot be is withheld, never sent as it came.

import { Transform, type TransformCallback } from 'node:stream';
import {
  DEFAULT_SENSITIVE_KEYS,
  jsonViewHidesCode,
  maskJsonText,
  maskKeyedText,
  maskTextFields,
  openPrivateKeyAt,
  PRIVATE_KEY_END,
  sensitiveKeyTag,
  type DetectorSet,
  type KeyTagOf,
} from '../../masking/index.js';
import { apiServerMediaType } from '../../wire/kubernetes/json-body.js';

export type NameMatcher = (name: string) => boolean;

function normalize(k: string): string {
  return k.toLowerCase().replace(/[-_. ]/g, '');
}

/** Case-insensitive, ignoring `_ - .` and spaces, `*` wildcards (as src/masking's key names). */
export function nameMatcher(names: readonly string[]): NameMatcher {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const n of names) {
    if (n.includes('*')) {
      const body = normalize(n)
        .split('*')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      globs.push(new RegExp(`^${body}$`));
    } else exact.add(normalize(n));
  }
  return (name) => {
    const k = normalize(name);
    if (exact.has(k)) return true;
    // An env name like DB_PASSWORD or GITHUB_TOKEN ends in a sensitive word.
    for (const e of exact) if (e.length >= 5 && k.endsWith(e)) return true;
    return globs.some((g) => g.test(k));
  };
}

export interface KubeMaskOptions {
  readonly detectors: DetectorSet;
  readonly envNames: NameMatcher;
  /**
   * The response is to a request on core `secrets`: an object in it that names no kind but has `data`
   * or `stringData` is a Secret (a list's items, a Table row's object), whatever shape holds it.
   */
  readonly secrets?: boolean;
  /** The same for core `configmaps`: a kind-less object with `data` in the response is a ConfigMap. */
  readonly configMaps?: boolean;
  /**
   * Field names whose string values are masked whole in any object, compared as JSON keys are (an
   * env-shaped key by its end): the masking layer's sensitive names and the connection's `envNames`
   * (kubeFieldNames). Default: the masking layer's.
   */
  readonly fieldNames?: readonly string[];
}

/** The field names a connection masks in objects: the masking layer's sensitive names and its envNames. */
export function kubeFieldNames(envNames: readonly string[] | undefined): readonly string[] {
  return [...new Set([...DEFAULT_SENSITIVE_KEYS, ...(envNames ?? [])])];
}

/** The matcher of `o`'s field names (made once per list: sensitiveKeyTag keeps it). */
function fieldKeys(o: Pick<KubeMaskOptions, 'fieldNames'>): KeyTagOf {
  return sensitiveKeyTag(o.fieldNames ?? DEFAULT_SENSITIVE_KEYS);
}

/** A ConfigMap entry's key that is a sensitive name: an env name, or a field name (masked whole in reads). */
export function sensitiveEntry(k: string, o: Pick<KubeMaskOptions, 'envNames' | 'fieldNames'>): boolean {
  return o.envNames(k) || fieldKeys(o)(k) !== undefined;
}

export type Counts = Record<string, number>;

const REDACTED_SECRET = '[REDACTED:secret]';
/** Secret `data` values must stay valid base64, or clients fail to decode the whole object. */
const REDACTED_SECRET_B64 = Buffer.from(REDACTED_SECRET).toString('base64');
const REDACTED_ENV = '[REDACTED:env]';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const MAX_DEPTH = 256;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function add(counts: Counts, tag: string, n = 1): void {
  counts[tag] = (counts[tag] ?? 0) + n;
}

function maskSecret(o: Record<string, unknown>, counts: Counts): void {
  for (const field of ['data', 'stringData'] as const) {
    const d = o[field];
    if (!isObject(d)) continue;
    for (const k of Object.keys(d)) {
      d[k] = field === 'data' ? REDACTED_SECRET_B64 : REDACTED_SECRET;
      add(counts, 'secret');
    }
  }
}

/**
 * A ConfigMap's `data`: an entry whose key is a sensitive env name (`DB_PASSWORD`, loaded with
 * `envFrom`) is masked whole, as an env value is; any other is a file (`application.properties`,
 * `config.yaml`, `.env`) whose values under sensitive field names are masked whole
 * (src/masking/text-fields.ts: YAML, properties and `.env` lines, `key=value` pairs, JSON keys, CSV
 * columns). The detectors then run over every string, as everywhere.
 */
function maskConfigMap(v: Record<string, unknown>, o: KubeMaskOptions, counts: Counts): void {
  maskBinaryData(v.binaryData, o, counts);
  const data = v.data;
  if (!isObject(data)) return;
  const keys = (name: string) => (sensitiveEntry(name, o) ? 'config' : undefined);
  for (const [k, value] of Object.entries(data)) {
    if (typeof value !== 'string') continue;
    if (sensitiveEntry(k, o)) {
      data[k] = REDACTED_ENV;
      add(counts, 'env');
      continue;
    }
    const encoded = maskEncodedEntry(value, o);
    if (encoded) {
      data[k] = encoded.value;
      for (const [tag, n] of Object.entries(encoded.counts)) add(counts, tag, n);
      continue;
    }
    const r = maskTextFields(value, o.detectors, 'redact', keys);
    if (!r) continue;
    data[k] = r.text;
    for (const [tag, n] of Object.entries(r.counts)) add(counts, tag, n);
  }
}

const REDACTED_ENV_B64 = Buffer.from(REDACTED_ENV).toString('base64');
const REDACTED_CONFIG = '[REDACTED:config]';
const REDACTED_CONFIG_B64 = Buffer.from(REDACTED_CONFIG).toString('base64');

/**
 * The first bytes of formats that hold their content where no text masking reads it: compressed
 * streams and archives (a Helm release kept by Helm's ConfigMap driver is base64 of gzip), Java
 * keystores, and DER (a private key, a certificate, a PKCS#12 bundle: a SEQUENCE).
 */
const BINARY_MAGIC: readonly (readonly number[])[] = [
  [0x1f, 0x8b], // gzip
  [0x78, 0x01], // zlib
  [0x78, 0x5e],
  [0x78, 0x9c],
  [0x78, 0xda],
  [0x42, 0x5a, 0x68], // bzip2
  [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], // xz
  [0x28, 0xb5, 0x2f, 0xfd], // zstd
  [0x04, 0x22, 0x4d, 0x18], // lz4
  [0x50, 0x4b, 0x03, 0x04], // zip, jar
  [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], // 7z
  [0xfe, 0xed, 0xfe, 0xed], // JKS
  [0xce, 0xce, 0xce, 0xce], // JCEKS
  [0x30, 0x80], // DER SEQUENCE, indefinite or long-form length
  [0x30, 0x81],
  [0x30, 0x82],
  [0x30, 0x83],
  [0x30, 0x84],
];

function binaryFormat(bytes: Buffer): boolean {
  return BINARY_MAGIC.some((m) => bytes.length >= m.length + 2 && m.every((b, i) => bytes[i] === b));
}

/** A value that is base64 (standard or URL-safe, wrapped or not) of at least 12 bytes: the bytes. */
function base64Value(value: string): Buffer | undefined {
  const compact = value.replace(/\s+/g, '');
  if (compact.length < 16 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) return undefined;
  const url = /[-_]/.test(compact);
  if (url && /[+/]/.test(compact)) return undefined;
  const bytes = Buffer.from(compact, url ? 'base64url' : 'base64');
  const again = bytes.toString(url ? 'base64url' : 'base64').replace(/=+$/, '');
  return again === compact.replace(/=+$/, '') ? bytes : undefined;
}

/**
 * A ConfigMap `data` value that holds its content only inside an encoding (docs/security.md class
 * 357): base64 of a compressed stream, an archive, a keystore or DER is replaced whole (what it holds
 * cannot be masked where it is; a Helm release's gzip holds the chart's values and rendered Secrets);
 * base64 of UTF-8 text is decoded and masked as a file is, and encoded again when anything was masked.
 * Undefined when the value is not such an encoding, or nothing in it was masked.
 */
function maskEncodedEntry(value: string, o: KubeMaskOptions): { value: string; counts: Counts } | undefined {
  const bytes = base64Value(value);
  if (bytes === undefined) return undefined;
  if (binaryFormat(bytes)) return { value: REDACTED_CONFIG, counts: { config: 1 } };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const keys = (name: string) => (sensitiveEntry(name, o) ? 'config' : undefined);
  const masked = maskKeyedText(text, o.detectors, 'redact', keys);
  if (!masked) return undefined;
  return { value: Buffer.from(masked.text, 'utf8').toString('base64'), counts: { ...masked.counts } };
}

/**
 * A ConfigMap's `binaryData`: base64 of files, masked as `data`'s once decoded (an entry under a
 * sensitive env name whole; a UTF-8 file by its field names, then the detectors, and encoded again).
 * A file that is not UTF-8 (a keystore, an archive, a compressed file, a DER key) holds what no masking
 * reads where it is, so it is replaced whole (class 357: a gzip'd `.env` or a DER private key went out
 * as it came, since the detectors read its bytes as latin-1 and found nothing). A value that is not
 * base64 is replaced whole.
 */
function maskBinaryData(binaryData: unknown, o: KubeMaskOptions, counts: Counts): void {
  if (!isObject(binaryData)) return;
  const keys = (name: string) => (sensitiveEntry(name, o) ? 'config' : undefined);
  for (const [k, value] of Object.entries(binaryData)) {
    if (typeof value !== 'string') continue;
    if (sensitiveEntry(k, o)) {
      binaryData[k] = REDACTED_ENV_B64;
      add(counts, 'env');
      continue;
    }
    const bytes = Buffer.from(value, 'base64');
    if (bytes.toString('base64').replace(/=+$/, '') !== value.replace(/=+$/, '')) {
      binaryData[k] = REDACTED_CONFIG_B64;
      add(counts, 'config');
      continue;
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      binaryData[k] = REDACTED_CONFIG_B64;
      add(counts, 'config');
      continue;
    }
    if (binaryFormat(bytes)) {
      // A compressed stream or DER whose bytes happen to be UTF-8 is still not text.
      binaryData[k] = REDACTED_CONFIG_B64;
      add(counts, 'config');
      continue;
    }
    const masked = maskKeyedText(text, o.detectors, 'redact', keys);
    if (!masked) continue;
    binaryData[k] = Buffer.from(masked.text, 'utf8').toString('base64');
    for (const [tag, n] of Object.entries(masked.counts)) add(counts, tag, n);
  }
}

/**
 * The last-applied annotation is a copy of the object as `kubectl apply` sent it (JSON, with a
 * trailing newline), on whatever holds the object's metadata: the object itself, or the
 * PartialObjectMetadata the API server returns for it (`as=PartialObjectMetadata`, and a Table row's
 * object, whose default `includeObject=Metadata` is one). So it is masked as the object it copies, on
 * every object: whole when it copies a Secret (the object is one, or the response is to a request on
 * Secrets, whose metadata-only forms name another kind) or cannot be read as JSON; else parsed, masked
 * as a response would be (Secret data, env values under sensitive names) and written back.
 */
function maskLastApplied(
  v: Record<string, unknown>,
  secret: boolean,
  o: KubeMaskOptions,
  counts: Counts,
  depth: number,
): void {
  const meta = v.metadata;
  const ann = isObject(meta) ? meta.annotations : undefined;
  if (!isObject(ann) || !Object.hasOwn(ann, LAST_APPLIED)) return;
  const copy = ann[LAST_APPLIED];
  if (typeof copy !== 'string') return;
  if (secret || o.secrets === true) {
    ann[LAST_APPLIED] = REDACTED_SECRET;
    add(counts, 'secret');
    return;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(copy);
  } catch {
    ann[LAST_APPLIED] = REDACTED_SECRET;
    add(counts, 'secret');
    return;
  }
  const inner: Counts = {};
  walk(doc, o, inner, depth + 1);
  if (Object.keys(inner).length === 0) return;
  for (const [k, n] of Object.entries(inner)) add(counts, k, n);
  ann[LAST_APPLIED] = `${JSON.stringify(doc)}${copy.endsWith('\n') ? '\n' : ''}`;
}

function maskEnv(container: unknown, o: KubeMaskOptions, counts: Counts): void {
  if (!isObject(container) || !Array.isArray(container.env)) return;
  for (const e of container.env) {
    if (isObject(e) && typeof e.name === 'string' && typeof e.value === 'string' && o.envNames(e.name)) {
      e.value = REDACTED_ENV;
      add(counts, 'env');
    }
  }
}

/**
 * `secret`: v is a Secret unless it names another kind. The API server sets `kind` on a list alone, not
 * on its items (kubernetes/kubernetes#3030), so a SecretList's items are Secrets by where they are.
 */
function walk(
  v: unknown,
  o: KubeMaskOptions,
  counts: Counts,
  depth: number,
  secret = false,
  configMap = false,
): void {
  if (depth > MAX_DEPTH) throw new Error('the response nests too deeply to mask');
  if (Array.isArray(v)) {
    for (const x of v) walk(x, o, counts, depth + 1, secret, configMap);
    return;
  }
  if (!isObject(v)) return;
  const kindless = v.kind === undefined;
  const isSecret =
    v.kind === 'Secret' ||
    (kindless && secret) ||
    (kindless && o.secrets === true && ('data' in v || 'stringData' in v));
  if (isSecret) maskSecret(v, counts);
  else if (v.kind === 'ConfigMap' || (kindless && (configMap || (o.configMaps === true && 'data' in v))))
    maskConfigMap(v, o, counts);
  maskLastApplied(v, isSecret, o, counts, depth);
  for (const field of ['containers', 'initContainers', 'ephemeralContainers']) {
    const list = v[field];
    if (Array.isArray(list)) for (const c of list) maskEnv(c, o, counts);
  }
  for (const [k, x] of Object.entries(v))
    walk(
      x,
      o,
      counts,
      depth + 1,
      k === 'items' && v.kind === 'SecretList',
      k === 'items' && v.kind === 'ConfigMapList',
    );
}

/**
 * Masks one JSON document (an object, a list, a Table, a watch event). Returns null when nothing
 * changed. Text that is not JSON is masked as text is (its field names, then the detectors).
 *
 * After the kinds above, by field name as an HTTP answer's JSON is (docs/security.md, class 158): a
 * string or number under a sensitive name (`o.fieldNames`) whole, and every string read for the field
 * names it holds (an annotation's `password: …`, a container argument's `--db-password=…`, a JSON text).
 * An object under a sensitive name is read member by member, not masked whole: in Kubernetes it is
 * structure a typed client decodes (a Pod's `secret` volume, a CRD's schema of a `password` property).
 * What a client needs to go on reading is under no sensitive name and holds none (`metadata.continue`,
 * `resourceVersion`); a camelCase key ending in one (`nextToken`) is not read as an env name is.
 */
export function maskKubeJson(text: string, o: KubeMaskOptions): { text: string; counts: Counts } | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    const r = maskKeyedText(text, o.detectors, 'redact', fieldKeys(o));
    return r ? { text: r.text, counts: { ...r.counts } } : null;
  }
  const counts: Counts = {};
  walk(doc, o, counts, 0);
  const structural = Object.keys(counts).length > 0;
  const base = structural ? JSON.stringify(doc) : text;
  const detected = maskJsonText(base, o.detectors, {
    keyNames: o.fieldNames ?? DEFAULT_SENSITIVE_KEYS,
    style: 'redact',
    keysInInvalidJson: true,
    wholeObjects: false,
  });
  if (detected) for (const [k, n] of Object.entries(detected.counts)) add(counts, k, n);
  if (!structural && !detected) return null;
  return { text: detected?.text ?? base, counts };
}

/** The masking relay gives the event loop back after this much work (as the PostgreSQL relay does). */
const SLICE_MS = 20;
/** A document shorter than this is masked in one go (a few milliseconds). */
const WHOLE_BELOW = 256 * 1024;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Where the elements of a document's top-level `items` array (a list) or `rows` array (a Table) lie
 * in its text, as [start, end) pairs, and where the array opens and closes; undefined when the text is
 * not an object holding such an array. Gives the event loop back every SLICE_MS.
 */
async function topLevelElements(
  text: string,
): Promise<{ open: number; close: number; elements: [number, number][] } | undefined> {
  let depth = 0;
  let key: string | undefined;
  let lastString = -1;
  let array: { open: number; close: number; elements: [number, number][] } | undefined;
  let elementStart = -1;
  let slice = performance.now();
  for (let i = 0; i < text.length; i++) {
    if ((i & 0xffff) === 0 && performance.now() - slice > SLICE_MS) {
      await nextTurn();
      slice = performance.now();
    }
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      lastString = start;
      if (array && depth === 2 && elementStart < 0) elementStart = start;
      continue;
    }
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    if (c === 0x3a && depth === 1 && lastString >= 0) {
      key = text
        .slice(lastString + 1, i)
        .trimEnd()
        .replace(/"$/, '');
      continue;
    }
    if (array && depth === 2 && elementStart < 0 && c !== 0x2c && c !== 0x5d) elementStart = i;
    if (c === 0x7b || c === 0x5b) {
      if (depth === 1 && c === 0x5b && (key === 'items' || key === 'rows') && !array)
        array = { open: i, close: -1, elements: [] };
      else if (depth === 0 && c !== 0x7b) return undefined;
      depth++;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (array && array.close < 0 && depth === 1 && c === 0x5d) {
        if (elementStart >= 0) array.elements.push([elementStart, trimmedEnd(text, i)]);
        elementStart = -1;
        array.close = i;
      }
    } else if (c === 0x2c && array && array.close < 0 && depth === 2) {
      if (elementStart >= 0) array.elements.push([elementStart, trimmedEnd(text, i)]);
      elementStart = -1;
    }
  }
  return array && array.close >= 0 && depth === 0 ? array : undefined;
}

function trimmedEnd(text: string, end: number): number {
  let e = end;
  while (e > 0 && /\s/.test(text[e - 1]!)) e--;
  return e;
}

/**
 * maskKubeJson for a whole response, without holding the event loop: a list's items (a Table's rows)
 * are masked one by one, giving the loop back every SLICE_MS, then put back into the list, itself
 * masked without them. A SecretList's items are Secrets (they name no kind). The result is the same as
 * maskKubeJson's, up to whitespace between items.
 */
export async function maskKubeJsonSliced(
  text: string,
  o: KubeMaskOptions,
): Promise<{ text: string; counts: Counts } | null> {
  if (text.length < WHOLE_BELOW) return maskKubeJson(text, o);
  const list = await topLevelElements(text);
  if (!list) return maskKubeJson(text, o);
  const hole = `gatehouse-items-${Math.random().toString(36).slice(2)}`;
  const outerText = `${text.slice(0, list.open)}"${hole}"${text.slice(list.close + 1)}`;
  let outer: unknown;
  try {
    outer = JSON.parse(outerText);
  } catch {
    return maskKubeJson(text, o);
  }
  const itemOptions =
    isObject(outer) && outer.kind === 'SecretList'
      ? { ...o, secrets: true }
      : isObject(outer) && outer.kind === 'ConfigMapList'
        ? { ...o, configMaps: true }
        : o;
  const counts: Counts = {};
  const parts: string[] = [];
  let changed = false;
  let slice = performance.now();
  for (const [start, end] of list.elements) {
    const item = text.slice(start, end);
    const r = maskKubeJson(item, itemOptions);
    if (r) {
      changed = true;
      for (const [k, n] of Object.entries(r.counts)) add(counts, k, n);
      parts.push(r.text);
    } else parts.push(item);
    if (performance.now() - slice > SLICE_MS) {
      await nextTurn();
      slice = performance.now();
    }
  }
  const masked = maskKubeJson(outerText, o);
  if (masked) for (const [k, n] of Object.entries(masked.counts)) add(counts, k, n);
  if (!changed && !masked) return null;
  const base = masked?.text ?? outerText;
  const at = base.indexOf(`"${hole}"`);
  if (at < 0) throw new Error('the list could not be put back together after masking');
  return { text: `${base.slice(0, at)}[${parts.join(',')}]${base.slice(at + hole.length + 2)}`, counts };
}

/**
 * The field names whose values are masked whole in output (logs, exec output): the masking layer's
 * sensitive names, and the env names this connection masks in Pod specs (tag `env`).
 */
export function outputFieldNames(o: Pick<KubeMaskOptions, 'envNames'>): KeyTagOf {
  let keys = outputNames.get(o.envNames);
  if (keys === undefined) {
    const sensitive = sensitiveKeyTag();
    const envNames = o.envNames;
    keys = (name) => sensitive(name) ?? (envNames(name) ? 'env' : undefined);
    outputNames.set(envNames, keys);
  }
  return keys;
}

/** outputFieldNames per connection's env-name matcher: made once, not per log line. */
const outputNames = new WeakMap<NameMatcher, KeyTagOf>();

/**
 * Masks free text (a log line, exec input): the values sensitive field names stand before
 * (`password=…`, `DB_PASSWORD: …`; a line at a time, so no table is read), then the content detectors.
 */
export function maskKubeText(text: string, o: KubeMaskOptions): { text: string; counts: Counts } | null {
  const r = maskKeyedText(text, o.detectors, 'redact', outputFieldNames(o), 'text', { tables: false });
  return r ? { text: r.text, counts: { ...r.counts } } : null;
}

/** Lines a held key may span before it is masked as it is (an RSA 16384 key is ~220). */
const MAX_KEY_LINES = 1000;

/**
 * A line-at-a-time masking stream for watch events (JSON lines) and logs (text): each complete line
 * is masked as it arrives, so streams stay live. A line longer than `maxLineBytes` is an error for
 * JSON (it cannot be masked whole) and is masked in pieces for text.
 */
export class LineMaskingStream extends Transform {
  #tail: Buffer = Buffer.alloc(0);
  /**
   * Text: the lines of a PEM private key held from its BEGIN line until its END line, masked as one
   * text (the detector reads a key from BEGIN to END; a line at a time it saw only the BEGIN line,
   * and the key's body went out in clear: docs/security.md class 233).
   */
  #key: Buffer[] | undefined;
  #keyBytes = 0;
  readonly counts: Counts = {};

  constructor(
    private readonly mode: 'json' | 'text',
    private readonly options: KubeMaskOptions,
    private readonly maxLineBytes: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      let buf = this.#tail.length > 0 ? Buffer.concat([this.#tail, chunk]) : chunk;
      const out: Buffer[] = [];
      let nl = buf.indexOf(10);
      while (nl >= 0) {
        const line = buf.subarray(0, nl + 1);
        const masked = this.mode === 'text' ? this.#keyLine(line) : this.#mask(line);
        if (masked) out.push(masked);
        buf = buf.subarray(nl + 1);
        nl = buf.indexOf(10);
      }
      if (buf.length > this.maxLineBytes) {
        if (this.mode === 'json') throw new Error(`a watch event is larger than ${this.maxLineBytes} bytes`);
        const masked = this.#keyLine(buf);
        if (masked) out.push(masked);
        buf = Buffer.alloc(0);
      }
      this.#tail = Buffer.from(buf);
      done(null, out.length > 0 ? Buffer.concat(out) : undefined);
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      const tail = this.#tail.length > 0 ? this.#tail : undefined;
      // A key still held (no END line came): masked with what is left, as an unterminated key is.
      const held = this.#key ? [...this.#key, ...(tail ? [tail] : [])] : undefined;
      this.#key = undefined;
      done(null, held ? this.#mask(Buffer.concat(held)) : tail ? this.#mask(tail) : undefined);
    } catch (e) {
      done(e as Error);
    }
  }

  /**
   * One text line: masked and returned, or held (undefined) while it is part of a private key whose
   * END line has not come; the held key is masked whole when it does, or when it passes the cap.
   */
  #keyLine(line: Buffer): Buffer | undefined {
    const text = line.toString('latin1');
    if (this.#key === undefined) {
      // A line that opens no key (none, or each one's END on it too) is masked as it is.
      if (openPrivateKeyAt(text) < 0) return this.#mask(line);
      this.#key = [];
      this.#keyBytes = 0;
    }
    this.#key.push(Buffer.from(line));
    this.#keyBytes += line.length;
    if (
      !PRIVATE_KEY_END.test(text) &&
      this.#keyBytes <= this.maxLineBytes &&
      this.#key.length <= MAX_KEY_LINES
    )
      return undefined;
    const block = Buffer.concat(this.#key);
    this.#key = undefined;
    return this.#mask(block);
  }

  #mask(line: Buffer): Buffer {
    const text = line.toString('utf8');
    const newline = text.endsWith('\n') ? '\n' : '';
    const body = newline ? text.slice(0, -1) : text;
    const r = this.mode === 'json' ? maskKubeJson(body, this.options) : maskKubeText(body, this.options);
    if (!r) return line;
    for (const [k, n] of Object.entries(r.counts)) add(this.counts, k, n);
    return Buffer.from(r.text + newline, 'utf8');
  }
}

/** `{ "name": "DB_PASSWORD", "value": "…" }` anywhere (an env entry in a patch, too): the value masked. */
function maskNamedValues(v: unknown, o: KubeMaskOptions, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error('the body nests too deeply to mask');
  if (Array.isArray(v)) {
    for (const x of v) maskNamedValues(x, o, depth + 1);
    return;
  }
  if (!isObject(v)) return;
  if (typeof v.name === 'string' && typeof v.value === 'string' && o.envNames(v.name)) v.value = REDACTED_ENV;
  for (const x of Object.values(v)) maskNamedValues(x, o, depth + 1);
}

/**
 * YAML media types the API server reads (a create or update body, a server-side apply patch). JSON is
 * YAML: a body of one of these types that is JSON text (what kubectl sends, `apply --server-side`
 * included) is read by the API server's YAML-to-JSON conversion as JSON reads it, and is shown as JSON.
 */
const YAML_TYPES = new Set(['application/yaml', 'application/apply-patch+yaml']);

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Why an approver could not be shown this request body, so that it must not be held for one; undefined
 * when it can be (empty; or UTF-8 JSON text under a JSON or YAML media type, or none). What else the API
 * server reads — YAML that is not JSON, protobuf, CBOR, bytes that are not UTF-8 (Go's JSON decoder
 * reads them as U+FFFD) — an approver would approve blind.
 */
export function kubeBodyUnshowable(
  contentType: string | string[] | undefined,
  body: Buffer,
): string | undefined {
  if (body.length === 0) return undefined;
  const type = apiServerMediaType(contentType);
  if (type !== 'application/json' && !type.endsWith('+json') && !YAML_TYPES.has(type))
    return `its content type ${type.slice(0, 80)} cannot be shown`;
  let text: string;
  try {
    text = STRICT_UTF8.decode(body);
  } catch {
    return 'it is not UTF-8 text';
  }
  try {
    JSON.parse(text);
  } catch {
    return YAML_TYPES.has(type) ? 'it is YAML that is not JSON' : 'it is not valid JSON';
  }
  // JSON takes these raw in a string; YAML 1.1 reads them as line breaks, which it folds (with the
  // spaces around them) inside a quoted scalar: the API server would store another value than shown.
  if (YAML_TYPES.has(type) && YAML_BREAKS.test(text))
    return 'it holds a character YAML reads as a line break (U+0085, U+2028 or U+2029)';
  return undefined;
}

const YAML_BREAKS = /[\u0085\u2028\u2029]/;

/** A JSON pointer's tokens (`~1` is `/`, `~0` is `~`), as the API server's JSON patch reads them. */
function pointerTokens(path: string): string[] {
  return path === ''
    ? []
    : path
        .slice(1)
        .split('/')
        .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * The body of a request on Secrets, as an approver may see it: what it does to the Secret (its type,
 * its metadata: the annotation that makes it a service account's token, labels, names; a JSON patch's
 * operations and paths) with every value it would store in `data` or `stringData` replaced, and the
 * last-applied annotation (a copy of the Secret) too. An object (create, update, merge, strategic and
 * apply patches) is masked as a Secret; a JSON patch's `value`s are shown only where they land in the
 * metadata (not the last-applied annotation), `type` or `immutable`, else replaced.
 */
function maskSecretBody(doc: unknown, o: KubeMaskOptions, counts: Counts): void {
  if (isObject(doc)) {
    maskSecret(doc, counts);
    maskLastApplied(doc, true, o, counts, 0);
    return;
  }
  if (!Array.isArray(doc)) return;
  for (const op of doc as unknown[]) {
    if (!isObject(op) || !Object.hasOwn(op, 'value')) continue;
    const t = typeof op.path === 'string' ? pointerTokens(op.path) : undefined;
    const value = op.value;
    if (t !== undefined && t.length === 0 && isObject(value)) maskSecretBody(value, o, counts);
    else if (t !== undefined && t.length === 1 && t[0] === 'metadata' && isObject(value))
      maskLastApplied({ metadata: value }, true, o, counts, 0);
    else if (
      t !== undefined &&
      t.length === 2 &&
      t[0] === 'metadata' &&
      t[1] === 'annotations' &&
      isObject(value)
    )
      maskLastApplied({ metadata: { annotations: value } }, true, o, counts, 0);
    else if (
      t !== undefined &&
      ((t.length >= 2 && t[0] === 'metadata' && !(t[1] === 'annotations' && t[2] === LAST_APPLIED)) ||
        (t.length === 1 && (t[0] === 'type' || t[0] === 'immutable')))
    )
      continue;
    else {
      op.value = REDACTED_SECRET;
      add(counts, 'secret');
    }
  }
}

/**
 * How a request body held for approval is shown to the approver: JSON only (objects, merge and JSON
 * patches), masked as a response would be (Secret data, env values under sensitive names, the
 * detectors), plus any `name`/`value` pair under a sensitive name and values under the sensitive key
 * names. A body for a Secret is shown as what it does without the values it stores (maskSecretBody):
 * its type and metadata are what make it a credential (a service-account token Secret). YAML and
 * other types are not shown.
 */
export function kubeBodyView(
  contentType: string | string[] | undefined,
  resource: string,
  o: KubeMaskOptions,
): (text: string) => string | { readonly note: string } | undefined {
  // The API server reads a body without a Content-Type as JSON: so is it shown.
  const type = apiServerMediaType(contentType);
  return (text) => {
    const yaml = YAML_TYPES.has(type);
    if (type !== 'application/json' && !type.endsWith('+json') && !yaml) return undefined;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      // YAML that is not JSON is not shown (its reading is Go's YAML 1.1, not JSON's).
      return yaml ? undefined : { note: 'it is not valid JSON' };
    }
    if (resource === 'secrets') maskSecretBody(doc, o, {});
    maskNamedValues(doc, o, 0);
    const structural = JSON.stringify(doc);
    const kube = maskKubeJson(structural, o)?.text ?? structural;
    return (
      maskJsonText(kube, o.detectors, { keyNames: DEFAULT_SENSITIVE_KEYS, style: 'redact' })?.text ?? kube
    );
  };
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function fromBase64(v: string): string | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return undefined;
  return Buffer.from(v, 'base64').toString('latin1');
}

/**
 * Why the approver's masked view of this body would hide what the request runs, for the client;
 * undefined when every value it masks is a literal (or it is not shown as JSON at all, which
 * kubeBodyUnshowable answers). A Secret's stored values are not shown by design (class 84) and are
 * not looked at here; every other value the view masks — an env value under a sensitive name, a
 * value after a field name in a command, a script's line, what a detector found — is.
 */
export function kubeBodyHidesCode(
  contentType: string | string[] | undefined,
  resource: string,
  body: Buffer,
  o: KubeMaskOptions,
): string | undefined {
  let text: string;
  try {
    text = STRICT_UTF8.decode(body);
  } catch {
    return undefined;
  }
  const baseline = parsedJson(text);
  if (baseline === undefined) return undefined;
  // What the approver is never shown of a Secret is the baseline: it is left out, not hidden.
  if (resource === 'secrets') maskSecretBody(baseline, o, {});
  const view = kubeBodyView(contentType, resource, o)(text);
  if (typeof view !== 'string') return undefined;
  const shown = parsedJson(view);
  if (shown === undefined) return 'the view of the body could not be compared with the body';
  // binaryData: base64 of files, masked decoded and encoded again.
  const at = jsonViewHidesCode(baseline, shown, {
    decode: (path, value) => (/(^|\.)binaryData\./.test(path) ? fromBase64(value) : undefined),
  });
  return at === undefined
    ? undefined
    : `in what the approver would be shown, a masked value holds more than a literal (${at.slice(0, 200)}): a command or a script the approver could not see`;
}
