// Protocol-neutral Actions: what an engine asks the gate about. One union, switched on `kind` by policy
// (which owns each protocol's matchers). Every Action also describes itself (`describe`), so the gate
// and the record never need a branch per protocol. Build actions with the constructors below.

import type { SqlStatement } from './sql-statement.js';

/** How an action reads in the record and in logs; filled in by the action's constructor. */
export interface ActionDescription {
  /** How it reached the gateway (`simple-query`, `parse`, `http`, `exec`…). */
  readonly via: string;
  /** The statement, request line or command as decided (never a credential). */
  readonly text: string;
  /** Its kind in lower-case words (`select`, `drop table`, `s3:DeleteBucket`, `delete namespaces`…). */
  readonly kind: string;
  /** Risk categories, when the protocol's classifier gives them. */
  readonly categories: readonly string[];
  /** Parameters bound to the statement, when known. */
  readonly params?: readonly (string | null)[];
  /**
   * The digest and size of a request body read whole for review (HTTP, AWS, Kubernetes): what an
   * approval of the request is bound to, so the record can be matched to the approved body.
   */
  readonly body?: RecordedBody;
}

/** A reviewed body as the record holds it: its SHA-256 (hex) and size, never its content. */
export interface RecordedBody {
  readonly sha256: string;
  readonly bytes: number;
}

interface ActionBase {
  readonly connection: string;
  readonly describe: ActionDescription;
}

/**
 * The body of a request held for approval (HTTP, AWS, Kubernetes): read whole before the approval is
 * asked for or taken, and forwarded byte for byte as read. Only a reviewed request carries one; one
 * that policy allows streams its body.
 */
export interface RequestBody {
  /** SHA-256 of the complete body as forwarded, in hex: what an approval is bound to. */
  readonly sha256: string;
  readonly bytes: number;
  /**
   * What an approver is shown: the body with the connection's sensitive fields and detector findings
   * masked, clipped (then `…`); a note in place of a body that cannot be masked (binary, unknown type).
   */
  readonly shown: string;
  /**
   * Characters of the masked body left out of `shown` (past SHOWN_WHOLE_BODY_CHARS only the head is
   * shown); absent when it is shown whole.
   */
  readonly clippedChars?: number;
}

/** How a SQL action reached the gateway, for records and for rules that care. */
export type SqlVia = 'simple-query' | 'parse' | 'copy-data' | 'function-call' | 'mcp' | 'startup';

export interface SqlAction extends ActionBase {
  readonly kind: 'sql';
  readonly via: SqlVia;
  /** The statement as classified from the parse tree. */
  readonly statement: SqlStatement;
  /**
   * Bind parameters in text form, when known (extended protocol), for records and for what an
   * approval request shows: each clipped to its first 1024 bytes (then `…`).
   */
  readonly params?: readonly (string | null)[];
  /**
   * The bind parameters whole, when `params` clipped any: what an approval is bound to and the impact
   * preview runs with. Built only when asked for (a review), not for every Bind.
   */
  readonly paramsInFull?: () => readonly (string | null)[];
  /**
   * The Bind's parameter format codes (as sent: none, one for all, or one per parameter; 1 is binary)
   * and the prepared statement's declared parameter types (0 or missing: the server infers it). With
   * `params`, what an approval is bound to: a binary 0x41 and the text `\x41` read alike there, and a
   * declared type can choose another function overload.
   */
  readonly paramFormats?: readonly number[];
  readonly paramTypes?: readonly number[];
  /**
   * The session's effective run-time settings when the statement was decided (DateStyle, TimeZone…):
   * an impact preview runs under them, and an approval is bound to them.
   */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * The rows of a `COPY … FROM STDIN` held for approval, collected before it is asked for: shown to
   * the approver, bound by their digest, and forwarded exactly as collected (copy-in-review.ts).
   */
  readonly copyData?: RequestBody;
  /**
   * For a statement held for approval: the writes forwarded before it that are not committed yet
   * (earlier in its transaction block, its query string or its pipeline), first few texts. An impact
   * preview reads committed data on its own connection, so it cannot show what such a statement
   * will do, and says so instead (docs/security.md, class 66).
   */
  readonly afterUncommitted?: readonly string[];
  /**
   * For a statement held for approval: the statements of its session that created or named temporary
   * relations, or ran code Gatehouse cannot see into (which may have), first few texts. The session's
   * unqualified names reach its temporary relations first; a preview's session has none (class 66).
   */
  readonly temporaryObjects?: readonly string[];
}

export interface HttpAction extends ActionBase {
  readonly kind: 'http';
  readonly method: string;
  readonly path: string;
  /** `service:Operation` for AWS requests (e.g. `s3:DeleteBucket`); undefined for generic HTTP. */
  readonly operation?: string;
  /** Resource the operation acts on (bucket, bucket/key, table, function ARN…). */
  readonly resource?: string;
  /**
   * Every other name the request's parameters hold (an AWS JSON body's strings, a query request's
   * values; not item or message data), for deny and review rules on resources: a resource named in a
   * parameter Gatehouse does not read as the request's own is still seen by them. `too-many` when there
   * were more than can be checked (those rules then match). Not recorded: the record has the request.
   */
  readonly mentions?: readonly string[] | 'too-many';
  /**
   * Name prefixes the request reads every resource under (SSM GetParametersByPath's `Path`; `''`:
   * any), where it selects resources instead of naming them: deny and review rules on resources match
   * if one of their names may be under one.
   */
  readonly selects?: readonly string[];
  /**
   * Decided by rules on resources only (a rule without `awsResources` does not match it): what a
   * service does on the caller's behalf with a resource named in its answer, e.g. the KMS key S3
   * decrypts an object with (docs/security.md, class 126).
   */
  readonly rulesOnResourcesOnly?: true;
  /**
   * What else the request makes the upstream do on the client's behalf, each written as the request
   * the client would send to do it itself (S3 CopyObject reads its `x-amz-copy-source`: s3:GetObject,
   * `GET /<bucket>/<key>`). Policy decides each as it would that request; the request is allowed only
   * if it and every one of these is. They are in its record (`describe.text`).
   */
  readonly implied?: readonly HttpAction[];
  /**
   * Request headers that change what it does, as decided and forwarded (S3: `x-amz-acl: public-read`
   * on the s3:PutObjectAcl a PutObject with that header implies). In its record text and bound into an
   * approval: the same request with another value is another request.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The canonical, percent-decoded path policy decides on, whole: `path` is the recorded form (secret
   * query values masked, clipped at 4096 characters), and a rule on the end of a path must see it.
   * Required, and the only path rules match: an action built without it cannot fall back to the
   * clipped record (docs/security.md, classes 5 and 155).
   */
  readonly decidedPath: string;
  /**
   * Other paths the upstream's application may route `decidedPath` as (a PHP script's PATH_INFO, a
   * format suffix: src/wire/http/path-readings.ts). Deny and review rules on paths match them too;
   * allow rules do not (docs/security.md, class 207). Generic HTTP only.
   */
  readonly pathReadings?: readonly string[];
  /**
   * The whole request target as decided and forwarded (path and query; `path` is the recorded form,
   * with secret query values masked and clipped at 4096 characters): what an approval is bound to.
   */
  readonly target?: string;
  /**
   * The target as an approver is shown it: whole, secret query values masked (`path` is clipped for
   * the record). Absent: `path`.
   */
  readonly shownPath?: string;
  /** The request's body, when it was reviewed and had one: an approval is bound to its digest. */
  readonly body?: RequestBody;
  /**
   * The client's headers that go up with a reviewed request and may change what it does (HTTP and
   * AWS: every one but those that only trace or date an attempt; Kubernetes: the body's Content-Type),
   * each bound to its approval by digest and shown to the approver: the same request sent again with
   * another such header is another request (docs/security.md, class 205).
   */
  readonly boundHeaders?: readonly BoundHeader[];
}

/**
 * A Kubernetes API request with the attributes the API server's RequestInfo gives it, plus what
 * exec/attach and port-forward carry (docs/kubernetes.md).
 */
export interface KubernetesAction extends ActionBase {
  readonly kind: 'kubernetes';
  /** get, list, watch, create, update, patch, delete, deletecollection, proxy (KEP-4006: exec is create). */
  readonly verb: string;
  /** False for non-resource URLs (discovery, /version, /openapi…): `path` is what rules match then. */
  readonly resourceRequest: boolean;
  /** '' for the core group. */
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  readonly subresource: string;
  /** '' for cluster-scoped requests. */
  readonly namespace: string;
  readonly name: string;
  /** The canonical path, decoded (as decided and forwarded). */
  readonly path: string;
  /** exec: the command's argv; attach: empty. */
  readonly command?: readonly string[];
  /** Risk categories of `command` from the shell-command classifier (src/shell). */
  readonly commandCategories?: readonly string[];
  readonly container?: string;
  readonly tty?: boolean;
  readonly stdin?: boolean;
  /** port-forward: the ports asked for. */
  readonly ports?: readonly number[];
  /**
   * A write of a pod spec (a pod, a workload's template, an ephemeral container, a patch of one): the
   * fields that make the pod privilege (`spec.hostPID=true`,
   * `spec.containers[0].securityContext.privileged=true`), read from its body; empty when it sets none.
   * Absent for requests that write no pod spec. Non-empty makes the action's categories `privilege`.
   */
  readonly podPrivileges?: readonly string[];
  /**
   * A write of a pod spec: the Secrets it hands to the pod's containers (`spec.containers[0].envFrom[0]
   * .secretRef=db`), read from its body (docs/security.md, class 243); non-empty makes the action's
   * categories `secrets`: the pod's command reads them where its writer reads (logs, exec output).
   */
  readonly podSecretRefs?: readonly string[];
  /**
   * A write that may grant rights or a credential (RBAC roles and bindings, Secrets, certificate
   * signing requests, TokenRequests): what it grants, read from its body (`roleRef ClusterRole
   * cluster-admin to ServiceAccount prod/ci`); empty when it grants nothing. Absent for other requests.
   */
  readonly grants?: readonly string[];
  /** The categories `grants` adds: `privilege`, and `secrets` where it yields a credential. */
  readonly grantCategories?: readonly string[];
  /**
   * exec: what of the container comes from Secrets (`env DB_PASSWORD from Secret db key password`),
   * read from the pod before the exec is decided; non-empty adds the command category `secrets`.
   */
  readonly podSecrets?: readonly string[];
  /**
   * The whole request line as decided (`describe.text` is clipped for records): what an approval of
   * this request is bound to.
   */
  readonly requestLine: string;
  /** The request's body, when it was reviewed and had one: an approval is bound to its digest. */
  readonly body?: RequestBody;
  /**
   * The client's headers that go up with a reviewed request and may change what it does (HTTP and
   * AWS: every one but those that only trace or date an attempt; Kubernetes: the body's Content-Type),
   * each bound to its approval by digest and shown to the approver: the same request sent again with
   * another such header is another request (docs/security.md, class 205).
   */
  readonly boundHeaders?: readonly BoundHeader[];
}

/**
 * What an SSH client asks of a host through Gatehouse (docs/ssh.md). `exec` and `line` carry a command
 * line and its shell risk categories (the same classifier and vocabulary as Kubernetes exec);
 * `shell`, `sftp`, `subsystem` and `port-forward` are decided as what they are.
 */
export interface SshAction extends ActionBase {
  readonly kind: 'ssh';
  /**
   * exec: a command run without a terminal session; shell: an interactive shell; line: a command line
   * reconstructed from a shell session's echo (an audit aid); sftp and other subsystems; port-forward:
   * a direct-tcpip channel opened from the host.
   */
  readonly request: SshRequest;
  /** exec and line: the command line as the host's shell will read it; sftp: one request (`rename ~/a ~/b`). */
  readonly command?: string;
  /** exec and line: the shell classifier's categories (src/shell); [unknown] when it cannot judge. */
  readonly commandCategories?: readonly string[];
  /** exec and line: the classifier's kind (`rm -r, ls`). */
  readonly commandKind?: string;
  /** A terminal was asked for (pty-req) before the exec or shell. */
  readonly tty?: boolean;
  /** exec: the environment variables passed with it (those the connection's env list allows). */
  readonly env?: Readonly<Record<string, string>>;
  /** subsystem and sftp: the subsystem's name. */
  readonly subsystem?: string;
  /** port-forward: where the host is asked to connect. */
  readonly destination?: { readonly host: string; readonly port: number };
}

export const SSH_REQUESTS = ['exec', 'shell', 'line', 'sftp', 'subsystem', 'port-forward'] as const;
export type SshRequest = (typeof SSH_REQUESTS)[number];

export type Action = SqlAction | HttpAction | KubernetesAction | SshAction;

export function sqlAction(fields: {
  readonly connection: string;
  readonly via: SqlVia;
  readonly statement: SqlStatement;
  readonly params?: readonly (string | null)[] | undefined;
  readonly paramsInFull?: (() => readonly (string | null)[]) | undefined;
  readonly paramFormats?: readonly number[] | undefined;
  readonly paramTypes?: readonly number[] | undefined;
  readonly settings?: Readonly<Record<string, string>> | undefined;
  readonly copyData?: RequestBody | undefined;
  readonly afterUncommitted?: readonly string[] | undefined;
  readonly temporaryObjects?: readonly string[] | undefined;
}): SqlAction {
  const { connection, via, statement, params, paramsInFull, paramFormats, paramTypes, settings, copyData } =
    fields;
  const { afterUncommitted, temporaryObjects } = fields;
  // Built field by field, in the order a spread of each optional part gave, not by spreading: this
  // runs for every decision of every statement (several per statement), and each spread of a small
  // object of its own allocated it and took V8's slow copy path.
  const describe: Mutable<SqlAction['describe']> = {
    via,
    text: statement.text,
    kind: statement.kind,
    categories: statement.categories,
  };
  const action: Mutable<Omit<SqlAction, 'describe'>> & { describe?: SqlAction['describe'] } = {
    kind: 'sql',
    connection,
    via,
    statement,
  };
  if (params) {
    action.params = params;
    describe.params = params;
    if (paramsInFull) action.paramsInFull = paramsInFull;
    if (paramFormats) action.paramFormats = paramFormats;
    if (paramTypes) action.paramTypes = paramTypes;
  }
  if (settings) action.settings = settings;
  if (copyData) {
    action.copyData = copyData;
    describe.body = { sha256: copyData.sha256, bytes: copyData.bytes };
  }
  if (afterUncommitted !== undefined && afterUncommitted.length > 0)
    action.afterUncommitted = afterUncommitted;
  if (temporaryObjects !== undefined && temporaryObjects.length > 0)
    action.temporaryObjects = temporaryObjects;
  action.describe = describe;
  return action as SqlAction;
}

/** `T` with its readonly fields writable: for building a frozen-by-type value field by field. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function httpAction(fields: {
  readonly connection: string;
  readonly method: string;
  readonly path: string;
  readonly operation?: string | undefined;
  readonly resource?: string | undefined;
  readonly mentions?: readonly string[] | 'too-many' | undefined;
  readonly selects?: readonly string[] | undefined;
  readonly implied?: readonly HttpAction[] | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** The whole canonical path policy decides on (HttpAction.decidedPath); `path` is only recorded. */
  readonly decidedPath: string;
  readonly pathReadings?: readonly string[] | undefined;
  readonly target?: string | undefined;
  readonly shownPath?: string | undefined;
  readonly body?: RequestBody | undefined;
}): HttpAction {
  const { connection, method, path, operation, resource, mentions, selects } = fields;
  const { implied, headers, decidedPath, target, body, pathReadings, shownPath } = fields;
  const also = implied && implied.length > 0 ? implied : undefined;
  const decidedHeaders = headers && Object.keys(headers).length > 0 ? headers : undefined;
  // `PUT /dst/k + s3:GetObject GET /src/k`: the request and what it implies, in the order decided;
  // `PUT /dst/k + s3:PutObjectAcl PUT /dst/k?acl= [x-amz-acl: public-read]`: with the headers decided.
  let text = `${method} ${path}${headersText(decidedHeaders)}`;
  for (const a of also ?? [])
    text += ` + ${a.operation ?? a.method.toLowerCase()} ${a.method} ${a.path}${headersText(a.headers)}`;
  return {
    kind: 'http',
    connection,
    method,
    path,
    ...(operation !== undefined ? { operation } : {}),
    ...(resource !== undefined ? { resource } : {}),
    ...(mentions !== undefined ? { mentions } : {}),
    ...(selects !== undefined ? { selects } : {}),
    ...(also !== undefined ? { implied: also } : {}),
    ...(decidedHeaders !== undefined ? { headers: decidedHeaders } : {}),
    decidedPath,
    ...(pathReadings !== undefined && pathReadings.length > 0 ? { pathReadings } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(shownPath !== undefined && shownPath !== path ? { shownPath } : {}),
    ...(body !== undefined ? { body } : {}),
    describe: {
      via: 'http',
      text,
      kind: operation ?? method.toLowerCase(),
      categories: [],
      ...(body !== undefined ? { body: recordedBody(body) } : {}),
    },
  };
}

/** ` [name: value; name: value]` for an HTTP action's decided headers, in name order; '' for none. */
export function headersText(headers: Readonly<Record<string, string>> | undefined): string {
  if (headers === undefined) return '';
  const names = Object.keys(headers).sort();
  if (names.length === 0) return '';
  return ` [${names.map((n) => `${n}: ${headers[n]}`).join('; ')}]`;
}

function recordedBody(body: RequestBody): RecordedBody {
  return { sha256: body.sha256, bytes: body.bytes };
}

/** A request header bound to an approval: its name, its value's SHA-256, and its value as shown (masked). */
export interface BoundHeader {
  readonly name: string;
  readonly sha256: string;
  readonly shown: string;
}

/** The action with the headers it was reviewed with (bound to its approval, shown to the approver). */
export function withBoundHeaders<A extends HttpAction | KubernetesAction>(
  action: A,
  headers: readonly BoundHeader[],
): A {
  return headers.length === 0 ? action : { ...action, boundHeaders: headers };
}

/**
 * The action with the body it was reviewed with: bound to the approval (`body`) and named in its
 * record by digest and size (`describe.body`).
 */
export function withReviewedBody<A extends HttpAction | KubernetesAction>(action: A, body: RequestBody): A {
  return { ...action, body, describe: { ...action.describe, body: recordedBody(body) } };
}

/** `pods/exec`, `deployments.apps`, `namespaces`: the resource as kubectl and RBAC name it. */
export function kubernetesResourceLabel(a: {
  readonly resource: string;
  readonly subresource: string;
  readonly apiGroup: string;
}): string {
  const r = a.apiGroup === '' ? a.resource : `${a.resource}.${a.apiGroup}`;
  return a.subresource === '' ? r : `${r}/${a.subresource}`;
}

type KubernetesFields = Omit<KubernetesAction, 'kind' | 'describe' | 'requestLine'> & {
  /** The request line as received after canonicalisation (`DELETE /api/v1/namespaces/prod`). */
  readonly requestLine: string;
};

/** Categories for records and `sessions list --category`: read, write, delete, exec, plus the command's. */
function kubernetesCategories(f: KubernetesFields): string[] {
  const cats: string[] = [];
  if (f.subresource === 'exec' || f.subresource === 'attach') cats.push('exec');
  else if (f.subresource === 'portforward') cats.push('port-forward');
  else if (['get', 'list', 'watch'].includes(f.verb)) cats.push('read');
  else if (f.verb === 'delete' || f.verb === 'deletecollection') cats.push('delete');
  else if (f.verb === 'proxy') cats.push('proxy');
  else cats.push('write');
  for (const c of f.commandCategories ?? []) if (!cats.includes(c)) cats.push(c);
  for (const c of kubernetesBodyCategories(f)) if (!cats.includes(c)) cats.push(c);
  return cats;
}

/**
 * What a write's body makes it, to category rules and records: `privilege` for a privileged pod spec,
 * `privilege` and `secrets` for what it grants. Empty when the body was not read or holds neither.
 */
export function kubernetesBodyCategories(f: {
  readonly podPrivileges?: readonly string[];
  readonly podSecretRefs?: readonly string[];
  readonly grantCategories?: readonly string[];
}): string[] {
  const cats: string[] = [];
  if (f.podPrivileges && f.podPrivileges.length > 0) cats.push('privilege');
  if (f.podSecretRefs && f.podSecretRefs.length > 0) cats.push('secrets');
  for (const c of f.grantCategories ?? []) if (!cats.includes(c)) cats.push(c);
  return cats;
}

export function kubernetesAction(fields: KubernetesFields): KubernetesAction {
  const { requestLine, ...rest } = fields;
  const what = fields.resourceRequest ? kubernetesResourceLabel(fields) : fields.path;
  const action: KubernetesAction = {
    kind: 'kubernetes',
    ...rest,
    requestLine,
    describe: {
      via: 'kubernetes',
      text: requestLine.length > 4096 ? `${requestLine.slice(0, 4096)}…` : requestLine,
      kind: `${fields.verb} ${what}`,
      categories: kubernetesCategories(fields),
      ...(fields.command && fields.command.length > 0
        ? { params: fields.command }
        : (fields.podPrivileges?.length ?? 0) +
              (fields.podSecretRefs?.length ?? 0) +
              (fields.grants?.length ?? 0) >
            0
          ? {
              params: [
                ...(fields.podPrivileges ?? []).map((f) => `privilege: ${f}`),
                ...(fields.podSecretRefs ?? []).map((f) => `secrets: ${f}`),
                ...(fields.grants ?? []).map((f) => `grants: ${f}`),
              ],
            }
          : {}),
      ...(fields.body !== undefined ? { body: recordedBody(fields.body) } : {}),
    },
  };
  return action;
}

/**
 * The action with the privilege-bearing fields its body's pod spec sets, and the Secrets it hands to
 * the pod (src/engines/kubernetes/pod-privileges.ts).
 */
export function withPodPrivileges(
  a: KubernetesAction,
  fields: readonly string[],
  secretRefs: readonly string[] = [],
): KubernetesAction {
  const { kind: _kind, describe: _describe, ...rest } = a;
  return kubernetesAction({ ...rest, podPrivileges: [...fields], podSecretRefs: [...secretRefs] });
}

/** The action with what its body grants (src/engines/kubernetes/granted-powers.ts). */
export function withGrants(
  a: KubernetesAction,
  grants: readonly string[],
  categories: readonly string[],
): KubernetesAction {
  const { kind: _kind, describe: _describe, ...rest } = a;
  return kubernetesAction({ ...rest, grants: [...grants], grantCategories: [...categories] });
}

/** The exec with what of its container comes from Secrets (src/engines/kubernetes/pod-secrets.ts). */
export function withPodSecrets(a: KubernetesAction, sources: readonly string[]): KubernetesAction {
  const { kind: _kind, describe: _describe, ...rest } = a;
  const cats = [...(a.commandCategories ?? ['unknown'])];
  if (sources.length > 0 && !cats.includes('secrets')) cats.push('secrets');
  return kubernetesAction({ ...rest, podSecrets: [...sources], commandCategories: cats });
}

type SshFields = Omit<SshAction, 'kind' | 'describe'>;

/** `exec`, `shell`, `sftp`… plus the command's categories, for records and `sessions list --category`. */
function sshCategories(f: SshFields): string[] {
  const cats: string[] = [f.request === 'line' ? 'shell' : f.request];
  for (const c of f.commandCategories ?? []) if (!cats.includes(c)) cats.push(c);
  return cats;
}

function sshText(f: SshFields): string {
  switch (f.request) {
    case 'exec':
    case 'line': {
      const c = f.command ?? '';
      return c.length > 4096 ? `${c.slice(0, 4096)}…` : c;
    }
    case 'shell':
      return f.tty ? 'shell (terminal)' : 'shell (no terminal)';
    case 'sftp':
      // One request inside an sftp subsystem (src/engines/ssh/sftp-gate.ts), or the subsystem itself.
      return f.command !== undefined ? `sftp ${f.command.slice(0, 4096)}` : `subsystem ${f.subsystem ?? ''}`;
    case 'subsystem':
      return `subsystem ${f.subsystem ?? ''}`;
    case 'port-forward':
      return `direct-tcpip ${f.destination?.host ?? ''}:${f.destination?.port ?? 0}`;
  }
}

export function sshAction(fields: SshFields): SshAction {
  const kind =
    fields.request === 'exec' || fields.request === 'line'
      ? (fields.commandKind ?? 'unknown')
      : fields.request === 'sftp' && fields.commandKind !== undefined
        ? fields.commandKind
        : fields.request === 'subsystem'
          ? `subsystem ${fields.subsystem ?? ''}`
          : fields.request;
  return {
    kind: 'ssh',
    ...fields,
    describe: {
      via: fields.request === 'line' ? 'ssh-shell' : `ssh-${fields.request}`,
      text: sshText(fields),
      kind,
      categories: sshCategories(fields),
    },
  };
}

/** A short human description of an action for logs and records. */
export function describeAction(action: Action): string {
  return action.describe.text;
}
