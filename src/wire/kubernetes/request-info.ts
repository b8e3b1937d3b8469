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
  const v = q.get(key)?.[0];
  if (v === undefined) return false;
  return !(v === '0' || v.toLowerCase() === 'false');
}

function firstParam(q: QueryValues, key: string): string | undefined {
  return q.get(key)?.[0];
}

const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
/** Subresources whose upgrade (WebSocket or SPDY) the API server authorises as `create` (KEP-4006). */
export const STREAMING_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);

/** path.IsValidPathSegmentName: not "." or "..", no "/" or "%". */
function validPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/**
 * fields.ParseSelector + RequiresExactMatch("metadata.name"): the name an exact `metadata.name=x`
 * (or `==`) term pins, in a comma-separated AND of terms with `\` escapes. Undefined when none.
 */
export function exactMetadataName(selector: string): string | undefined {
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i]!;
    if (c === '\\' && i + 1 < selector.length) {
      cur += c + selector[i + 1]!;
      i++;
    } else if (c === ',') {
      terms.push(cur);
      cur = '';
    } else cur += c;
  }
  terms.push(cur);
  for (const t of terms) {
    if (t.trim() === '') continue;
    const m = /^([^!=\\]+?)\s*(==|=|!=)\s*(.*)$/s.exec(t);
    if (!m) throw new UnclassifiableRequest('the fieldSelector is malformed');
    if (m[1]!.trim() !== 'metadata.name' || m[2] === '!=') continue;
    const raw = m[3]!;
    let value = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!;
      if (c === '\\') {
        const n = raw[i + 1];
        if (n === undefined || !'\\,='.includes(n))
          throw new UnclassifiableRequest('the fieldSelector has an invalid escape');
        value += n;
        i++;
      } else value += c;
    }
    return value;
  }
  return undefined;
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

  if (name === '' && verb === 'get') {
    verb = boolParam(query, 'watch') ? 'watch' : 'list';
  }
  if ((verb === 'list' || verb === 'watch') && name === '') {
    const selector = firstParam(query, 'fieldSelector');
    if (selector !== undefined) {
      const pinned = exactMetadataName(selector);
      if (pinned !== undefined && validPathSegmentName(pinned)) name = pinned;
    }
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
  };
  if (apiGroup === '' && resource === 'pods' && STREAMING_SUBRESOURCES.has(subresource)) {
    // KEP-4006: the upgrade (a GET for WebSockets, a POST for SPDY) is authorised as `create`.
    const streaming = { ...info, verb: 'create' as const };
    if (subresource === 'portforward') {
      const ports = portsOf(query);
      return ports ? { ...streaming, ports } : streaming;
    }
    return {
      ...streaming,
      exec: {
        command: subresource === 'exec' ? [...(query.get('command') ?? [])] : [],
        container: firstParam(query, 'container') ?? '',
        stdin: boolParam(query, 'stdin'),
        stdout: boolParam(query, 'stdout'),
        stderr: boolParam(query, 'stderr'),
        tty: boolParam(query, 'tty'),
      },
    };
  }
  return info;
}

/** `pods/exec`, `deployments.apps`, `namespaces` — the resource as kubectl and RBAC name it. */
export function resourceLabel(info: Pick<KubeRequestInfo, 'resource' | 'subresource' | 'apiGroup'>): string {
  const r = info.apiGroup === '' ? info.resource : `${info.resource}.${info.apiGroup}`;
  return info.subresource === '' ? r : `${r}/${info.subresource}`;
}
