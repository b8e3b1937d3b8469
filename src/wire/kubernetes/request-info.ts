// A Kubernetes API request's attributes, derived as the API server's RequestInfoFactory derives them
// (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go): verb, API group and version, resource,
// subresource, namespace and name, from the canonical path and the query; plus the exec/attach options
// and port-forward ports the request carries. Pure. Requests it cannot classify are an error, never a guess.

import type { CanonicalPath } from '../http/canonical-path.js';

export type KubeVerb =
  'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | 'proxy';

export interface KubeRequestInfo {
  /** False for non-resource URLs (`/api`, `/apis`, `/version`, `/openapi/v2`, `/healthz`…). */
  readonly isResourceRequest: boolean;
  readonly verb: KubeVerb;
  /** `api` or `apis` for resource requests. */
  readonly apiPrefix: string;
  /** '' for the core group. */
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly resource: string;
  readonly subresource: string;
  readonly name: string;
  /** The decoded path (what a non-resource rule matches). */
  readonly path: string;
  /** exec and attach: the options in the query (KEP-4006 / PodExecOptions). */
  readonly exec?: ExecOptions;
  /** port-forward: ports named in the query (kubectl ≥ 1.31 names them inside the tunnel instead). */
  readonly ports?: readonly number[];
  /**
   * The query to forward when this request's attributes were read from it (list and watch, exec,
   * attach, port-forward): rebuilt from what was read, so the API server reads what was decided.
   * Undefined when no attribute comes from the query: the query is then forwarded as received.
   */
  readonly query?: string;
}

export interface ExecOptions {
  /** exec: argv, in order (`command=` repeated). Empty for attach. */
  readonly command: readonly string[];
  readonly container: string;
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly tty: boolean;
}

export type QueryValues = ReadonlyMap<string, readonly string[]>;

export class UnclassifiableRequest extends Error {
  override readonly name = 'UnclassifiableRequest';
}

/** Decodes a query as Go's url.ParseQuery does (`+` is a space), refusing what Go would reject (`;`, bad escapes). */
export function parseQuery(raw: string): QueryValues {
  const out = new Map<string, string[]>();
  if (raw === '') return out;
  if (raw.length > 65_536)
    throw new UnclassifiableRequest('the query string is longer than 65536 characters');
  for (const part of raw.split('&')) {
    if (part === '') continue;
    if (part.includes(';'))
      throw new UnclassifiableRequest('the query has a ";" (not a parameter separator)');
    const eq = part.indexOf('=');
    const decode = (s: string): string => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        throw new UnclassifiableRequest('the query has a malformed percent-escape');
      }
    };
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decode(part.slice(eq + 1));
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

/**
 * runtime.Convert_Slice_string_To_bool (k8s.io/apimachinery/pkg/runtime/conversion.go): absent is
 * false; a first value of "0" or "false" (any case) is false; anything else — "f", "no", "off", "" —
 * is true. The same reading as RequestInfo's fallback for `watch`.
 */
function boolParam(q: QueryValues, key: string): boolean {
  const v = singleParam(q, key);
  if (v === undefined) return false;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/**
 * A parameter Gatehouse decides on that the API server reads once: its value, or undefined when
 * absent. Given twice it is refused (the API server would take the first; a reader of the record
 * might take either).
 */
function singleParam(q: QueryValues, key: string): string | undefined {
  const values = q.get(key);
  if (values === undefined) return undefined;
  if (values.length > 1) throw new UnclassifiableRequest(`the query names ${key} more than once`);
  return values[0];
}

/** Go's url.QueryEscape (what kubectl sends): unreserved bytes kept, space as +, the rest %XX. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A query in Go's url.Values.Encode form: keys sorted, each value in order. */
function encodeQuery(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => `${queryEscape(k)}=${queryEscape(v)}`).join('&');
}

/** Every parameter as read, keys sorted, with the ones Gatehouse decided on replaced (undefined: dropped). */
function rebuiltQuery(q: QueryValues, decided: ReadonlyMap<string, string | undefined>): string {
  const pairs: [string, string][] = [];
  for (const key of [...new Set([...q.keys(), ...decided.keys()])].sort(byteOrder)) {
    if (decided.has(key)) {
      const v = decided.get(key);
      if (v !== undefined) pairs.push([key, v]);
    } else for (const v of q.get(key) ?? []) pairs.push([key, v]);
  }
  return encodeQuery(pairs);
}

const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
/** Subresources whose upgrade (WebSocket or SPDY) the API server authorises as `create` (KEP-4006). */
export const STREAMING_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);

/** path.IsValidPathSegmentName: not "." or "..", no "/" or "%". */
function validPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/** One term of a field selector, as fields.ParseSelector reads it (`==` is `=`). */
export interface FieldTerm {
  readonly field: string;
  readonly op: '=' | '!=';
  readonly value: string;
}

/**
 * The field names Gatehouse passes: every field label the API server supports (`metadata.name`,
 * `spec.nodeName`, `status.phase`, a CRD's selectable fields) is of this form. Anything else —
 * whitespace around a name or an operator, a `\`, a `!` — is read by the API server as a different
 * field (and then refused by it, or not), so Gatehouse refuses it first.
 */
const FIELD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const EDGE_SPACE = /^[\s\p{Cc}]|[\s\p{Cc}]$/u;

/** fields.UnescapeValue: `\\`, `\,` and `\=` are the only escapes; a bare `,` or `=` is an error. */
function unescapeFieldValue(raw: string): string {
  let value = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\') {
      const n = raw[i + 1];
      if (n === undefined || !'\\,='.includes(n))
        throw new UnclassifiableRequest(
          'the fieldSelector has an invalid escape (only \\\\, \\, and \\= are)',
        );
      value += n;
      i++;
    } else if (c === ',' || c === '=')
      throw new UnclassifiableRequest(`the fieldSelector has an unescaped "${c}" in a value`);
    else value += c;
  }
  return value;
}

/**
 * A field selector read exactly as k8s.io/apimachinery/pkg/fields.ParseSelector reads it: split on
 * unescaped commas, the terms sorted (byte order), empty terms skipped, each split at the first
 * `!=`, `==` or `=` with nothing trimmed, the value unescaped. What the API server would refuse is
 * refused; so are forms it reads but a reader could take otherwise: a field name not of the plain
 * form, a value with whitespace or a control at either end, and `metadata.name` pinned by `=` and
 * named again (`metadata.name=a,metadata.name=b`).
 */
export function parseFieldSelector(selector: string): FieldTerm[] {
  const parts: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  if (selector !== '') parts.push(selector.slice(start));
  parts.sort(byteOrder);
  const terms: FieldTerm[] = [];
  for (const part of parts) {
    if (part === '') continue;
    let at = -1;
    let op = '';
    for (let i = 0; i < part.length && at < 0; i++) {
      if (part.startsWith('!=', i)) op = '!=';
      else if (part.startsWith('==', i)) op = '==';
      else if (part[i] === '=') op = '=';
      else continue;
      at = i;
    }
    if (at < 0) throw new UnclassifiableRequest('a fieldSelector term has no =, == or != operator');
    const field = part.slice(0, at);
    const value = unescapeFieldValue(part.slice(at + op.length));
    if (!FIELD_NAME.test(field))
      throw new UnclassifiableRequest(
        `the fieldSelector field "${field.slice(0, 40)}" is not a plain field name (letters, digits, ".", "_", "-"; no spaces)`,
      );
    if (EDGE_SPACE.test(value))
      throw new UnclassifiableRequest('a fieldSelector value starts or ends with whitespace');
    terms.push({ field, op: op === '!=' ? '!=' : '=', value });
  }
  const names = terms.filter((t) => t.field === 'metadata.name');
  if (names.length > 1 && names.some((t) => t.op === '='))
    throw new UnclassifiableRequest('the fieldSelector names metadata.name more than once');
  return terms;
}

/** fields.Selector.String(): the canonical form, `field=value` / `field!=value` escaped, sorted. */
export function fieldSelectorString(terms: readonly FieldTerm[]): string {
  return terms
    .map((t) => `${t.field}${t.op}${t.value.replace(/[\\,=]/g, (c) => `\\${c}`)}`)
    .sort(byteOrder)
    .join(',');
}

/** RequiresExactMatch(field) on a parsed selector: the value its `=` term on the field pins. */
function exactMatch(terms: readonly FieldTerm[], field: string): string | undefined {
  return terms.find((t) => t.field === field && t.op === '=')?.value;
}

/**
 * fields.ParseSelector + RequiresExactMatch("metadata.name"): the name an exact `metadata.name=x`
 * (or `==`) term pins. Undefined when none; throws what parseFieldSelector refuses.
 */
export function exactMetadataName(selector: string): string | undefined {
  return exactMatch(parseFieldSelector(selector), 'metadata.name');
}

function verbOf(method: string): KubeVerb | undefined {
  switch (method) {
    case 'POST':
      return 'create';
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return undefined;
  }
}

function portsOf(q: QueryValues): number[] | undefined {
  const values = q.get('ports');
  if (values === undefined) return undefined;
  const ports: number[] = [];
  for (const v of values) {
    for (const p of v.split(',')) {
      if (!/^\d{1,5}$/.test(p) || Number(p) > 65535)
        throw new UnclassifiableRequest(`the port-forward port "${p.slice(0, 20)}" is not a port number`);
      ports.push(Number(p));
    }
  }
  return ports;
}

/**
 * The request's attributes. `path` must be canonical (src/wire/http/canonical-path.ts): its segments
 * are split once and decoded, so the attributes here are the ones the API server will see.
 */
export function requestInfo(method: string, path: CanonicalPath, query: QueryValues): KubeRequestInfo {
  const m = method.toUpperCase();
  const base = {
    isResourceRequest: false,
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    path: path.decoded,
  };
  const methodVerb = verbOf(m);
  let parts = [...path.segments];
  const nonResource = (): KubeRequestInfo => {
    // Non-resource URLs take the lower-cased method as their verb; only reads are meaningful.
    if (methodVerb === undefined) throw new UnclassifiableRequest(`the method ${m} is not a Kubernetes verb`);
    return { ...base, verb: methodVerb === 'get' ? 'get' : methodVerb };
  };
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return nonResource();
  const apiPrefix = parts[0];
  parts = parts.slice(1);
  let apiGroup = '';
  if (apiPrefix === 'apis') {
    if (parts.length < 3) return nonResource();
    apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  const apiVersion = parts[0]!;
  parts = parts.slice(1);

  let verb: KubeVerb;
  let viaSpecialVerb = false;
  if (SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) throw new UnclassifiableRequest('the request names a verb but no resource');
    verb = parts[0] as KubeVerb;
    parts = parts.slice(1);
    viaSpecialVerb = true;
  } else {
    const v = methodVerb;
    if (v === undefined) throw new UnclassifiableRequest(`the method ${m} is not a Kubernetes verb`);
    verb = v;
  }
  if (viaSpecialVerb && methodVerb !== 'get')
    throw new UnclassifiableRequest(`/${verb}/ paths are read with GET, not ${m}`);

  let namespace = '';
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  let resource = '';
  let name = '';
  let subresource = '';
  if (parts.length >= 3 && verb !== 'proxy') subresource = parts[2]!;
  if (parts.length >= 2) name = parts[1]!;
  if (parts.length >= 1) resource = parts[0]!;
  if (parts.length > 3 && verb !== 'proxy' && subresource !== 'proxy')
    throw new UnclassifiableRequest('the path has more segments than resource/name/subresource');
  if (resource === '') throw new UnclassifiableRequest('the request names no resource');

  let listQuery: string | undefined;
  if (name === '' && verb === 'get') {
    // RequestInfo reads `watch` and the fieldSelector's metadata.name here only (not for /watch/
    // paths, nor deletecollection): both are forwarded as read, the rest of the query as parsed.
    verb = boolParam(query, 'watch') ? 'watch' : 'list';
    const selector = singleParam(query, 'fieldSelector');
    const terms = selector === undefined ? [] : parseFieldSelector(selector);
    const pinned = exactMatch(terms, 'metadata.name');
    if (pinned !== undefined && validPathSegmentName(pinned)) name = pinned;
    const canonical = fieldSelectorString(terms);
    listQuery = rebuiltQuery(
      query,
      new Map([
        ['watch', verb === 'watch' ? 'true' : undefined],
        ['fieldSelector', canonical === '' ? undefined : canonical],
      ]),
    );
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';

  const info: KubeRequestInfo = {
    ...base,
    isResourceRequest: true,
    verb,
    apiPrefix,
    apiGroup,
    apiVersion,
    namespace,
    resource,
    subresource,
    name,
    ...(listQuery !== undefined ? { query: listQuery } : {}),
  };
  // PodLogOptions.insecureSkipTLSVerifyBackend makes the API server read the log from the kubelet
  // without checking its certificate: a client's request would turn the cluster's own TLS check off.
  if (
    apiGroup === '' &&
    resource === 'pods' &&
    subresource === 'log' &&
    query.has('insecureSkipTLSVerifyBackend')
  )
    throw new UnclassifiableRequest(
      "insecureSkipTLSVerifyBackend is not forwarded: it turns off the API server's check of the kubelet's certificate",
    );
  if (apiGroup === '' && resource === 'pods' && STREAMING_SUBRESOURCES.has(subresource)) {
    // KEP-4006: the upgrade (a GET for WebSockets, a POST for SPDY) is authorised as `create`.
    const streaming = { ...info, verb: 'create' as const };
    if (subresource === 'portforward') {
      // PodPortForwardOptions has only `ports`: the decided ports are all that is forwarded.
      const ports = portsOf(query);
      return ports
        ? { ...streaming, ports, query: encodeQuery(ports.map((p) => ['ports', String(p)])) }
        : { ...streaming, query: '' };
    }
    const exec: ExecOptions = {
      command: subresource === 'exec' ? [...(query.get('command') ?? [])] : [],
      container: singleParam(query, 'container') ?? '',
      stdin: boolParam(query, 'stdin'),
      stdout: boolParam(query, 'stdout'),
      stderr: boolParam(query, 'stderr'),
      tty: boolParam(query, 'tty'),
    };
    return { ...streaming, exec, query: execQuery(exec) };
  }
  return info;
}

/**
 * PodExecOptions / PodAttachOptions as kubectl encodes them (keys sorted, false and empty left out):
 * the decided argv, container, stdin, stdout, stderr and tty, and nothing else.
 */
function execQuery(e: ExecOptions): string {
  const pairs: [string, string][] = e.command.map((c) => ['command', c]);
  if (e.container !== '') pairs.push(['container', e.container]);
  for (const key of ['stderr', 'stdin', 'stdout', 'tty'] as const) if (e[key]) pairs.push([key, 'true']);
  return encodeQuery(pairs);
}

/** `pods/exec`, `deployments.apps`, `namespaces` — the resource as kubectl and RBAC name it. */
export function resourceLabel(info: Pick<KubeRequestInfo, 'resource' | 'subresource' | 'apiGroup'>): string {
  const r = info.apiGroup === '' ? info.resource : `${info.resource}.${info.apiGroup}`;
  return info.subresource === '' ? r : `${r}/${info.subresource}`;
}
