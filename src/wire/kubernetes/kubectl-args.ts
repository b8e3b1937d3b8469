// kubectl-shaped commands ("delete namespace prod", "exec -it web -- ls /", "logs -f web -n shop") turned
// into the API request kubectl would send, for `gatehouse policy test --kube` and the MCP `kubernetes`
// tool. Covers the common verbs and built-in resource types; anything else is an error naming what is
// supported. Pure.

export interface KubeRequestShape {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Origin-form path with query, as kubectl sends it. */
  readonly target: string;
  /** exec/attach/port-forward: the request is a WebSocket upgrade. */
  readonly upgrade: boolean;
}

interface ResourceType {
  readonly resource: string;
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
}

const T = (resource: string, group: string, version: string, namespaced: boolean): ResourceType => ({
  resource,
  group,
  version,
  namespaced,
});

const TYPES: ReadonlyMap<string, ResourceType> = (() => {
  const m = new Map<string, ResourceType>();
  const add = (names: string[], t: ResourceType) => names.forEach((n) => m.set(n, t));
  add(['po', 'pod', 'pods'], T('pods', '', 'v1', true));
  add(['ns', 'namespace', 'namespaces'], T('namespaces', '', 'v1', false));
  add(['svc', 'service', 'services'], T('services', '', 'v1', true));
  add(['cm', 'configmap', 'configmaps'], T('configmaps', '', 'v1', true));
  add(['secret', 'secrets'], T('secrets', '', 'v1', true));
  add(['sa', 'serviceaccount', 'serviceaccounts'], T('serviceaccounts', '', 'v1', true));
  add(['no', 'node', 'nodes'], T('nodes', '', 'v1', false));
  add(['pv', 'persistentvolume', 'persistentvolumes'], T('persistentvolumes', '', 'v1', false));
  add(
    ['pvc', 'persistentvolumeclaim', 'persistentvolumeclaims'],
    T('persistentvolumeclaims', '', 'v1', true),
  );
  add(['ev', 'event', 'events'], T('events', '', 'v1', true));
  add(['ep', 'endpoints'], T('endpoints', '', 'v1', true));
  add(['deploy', 'deployment', 'deployments'], T('deployments', 'apps', 'v1', true));
  add(['sts', 'statefulset', 'statefulsets'], T('statefulsets', 'apps', 'v1', true));
  add(['ds', 'daemonset', 'daemonsets'], T('daemonsets', 'apps', 'v1', true));
  add(['rs', 'replicaset', 'replicasets'], T('replicasets', 'apps', 'v1', true));
  add(['job', 'jobs'], T('jobs', 'batch', 'v1', true));
  add(['cj', 'cronjob', 'cronjobs'], T('cronjobs', 'batch', 'v1', true));
  add(['ing', 'ingress', 'ingresses'], T('ingresses', 'networking.k8s.io', 'v1', true));
  add(['role', 'roles'], T('roles', 'rbac.authorization.k8s.io', 'v1', true));
  add(['rolebinding', 'rolebindings'], T('rolebindings', 'rbac.authorization.k8s.io', 'v1', true));
  add(['clusterrole', 'clusterroles'], T('clusterroles', 'rbac.authorization.k8s.io', 'v1', false));
  add(
    ['clusterrolebinding', 'clusterrolebindings'],
    T('clusterrolebindings', 'rbac.authorization.k8s.io', 'v1', false),
  );
  add(
    ['crd', 'crds', 'customresourcedefinition', 'customresourcedefinitions'],
    T('customresourcedefinitions', 'apiextensions.k8s.io', 'v1', false),
  );
  return m;
})();

export class KubectlArgsError extends Error {
  override readonly name = 'KubectlArgsError';
}

/** Splits a command line into words: whitespace separates, single and double quotes group. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let has = false;
  for (const c of line) {
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur !== '') out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (quote) throw new KubectlArgsError('an unterminated quote');
  if (has || cur !== '') out.push(cur);
  return out;
}

function typeOf(word: string): ResourceType {
  const t = TYPES.get(word.toLowerCase());
  if (!t)
    throw new KubectlArgsError(
      `unknown resource type "${word}" (known: pods, namespaces, services, configmaps, secrets, deployments, statefulsets, daemonsets, jobs, nodes, roles, … )`,
    );
  return t;
}

function collectionPath(t: ResourceType, namespace: string): string {
  const base = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  return t.namespaced
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${t.resource}`
    : `${base}/${t.resource}`;
}

function q(params: [string, string][]): string {
  return params.length === 0
    ? ''
    : `?${params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
}

/**
 * The request for a kubectl command (without the leading `kubectl`). Supported: get, describe, delete,
 * create/apply/replace/patch/edit/scale (on a named object), logs, exec, attach, port-forward.
 */
export function kubectlRequest(
  line: string | readonly string[],
  defaultNamespace = 'default',
): KubeRequestShape {
  const words = typeof line === 'string' ? splitWords(line) : [...line];
  if (words[0] === 'kubectl') words.shift();
  const dash = words.indexOf('--');
  const command = dash >= 0 ? words.slice(dash + 1) : [];
  const args = dash >= 0 ? words.slice(0, dash) : words;
  let namespace = defaultNamespace;
  let allNamespaces = false;
  let container = '';
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-n' || a === '--namespace') namespace = args[++i] ?? '';
    else if (a.startsWith('--namespace=')) namespace = a.slice(12);
    else if (a === '-c' || a === '--container') container = args[++i] ?? '';
    else if (a.startsWith('--container=')) container = a.slice(12);
    else if (a === '-A' || a === '--all-namespaces') allNamespaces = true;
    else if (/^-[a-zA-Z]+$/.test(a)) for (const ch of a.slice(1)) flags.add(ch);
    else if (a.startsWith('--')) flags.add(a.slice(2).split('=')[0]!);
    else positional.push(a);
  }
  const verb = positional.shift();
  if (verb === undefined) throw new KubectlArgsError('no kubectl command');
  // `type/name` or `type name`.
  const target = (): { t: ResourceType; name: string } => {
    const first = positional.shift();
    if (first === undefined) throw new KubectlArgsError(`kubectl ${verb} needs a resource type`);
    const slash = first.indexOf('/');
    if (slash >= 0) return { t: typeOf(first.slice(0, slash)), name: first.slice(slash + 1) };
    return { t: typeOf(first), name: positional.shift() ?? '' };
  };
  const objectPath = (t: ResourceType, name: string) =>
    `${collectionPath(t, namespace)}/${encodeURIComponent(name)}`;
  const pod = (): string => {
    const first = positional.shift();
    if (first === undefined) throw new KubectlArgsError(`kubectl ${verb} needs a pod`);
    const name =
      first.startsWith('pod/') || first.startsWith('pods/') ? first.slice(first.indexOf('/') + 1) : first;
    return `${collectionPath(TYPES.get('pods')!, namespace)}/${encodeURIComponent(name)}`;
  };
  switch (verb) {
    case 'get':
    case 'describe': {
      const { t, name } = target();
      const watch = flags.has('w') || flags.has('watch');
      if (name !== '') return { method: 'GET', target: objectPath(t, name), upgrade: false };
      const base =
        allNamespaces && t.namespaced
          ? collectionPath({ ...t, namespaced: false }, '')
          : collectionPath(t, namespace);
      return { method: 'GET', target: `${base}${watch ? '?watch=true' : ''}`, upgrade: false };
    }
    case 'delete': {
      const { t, name } = target();
      if (name === '') {
        if (!flags.has('all')) throw new KubectlArgsError('kubectl delete needs a name, or --all');
        return { method: 'DELETE', target: collectionPath(t, namespace), upgrade: false };
      }
      return { method: 'DELETE', target: objectPath(t, name), upgrade: false };
    }
    case 'create': {
      const { t } = target();
      return { method: 'POST', target: collectionPath(t, namespace), upgrade: false };
    }
    case 'replace': {
      const { t, name } = target();
      return { method: 'PUT', target: objectPath(t, name), upgrade: false };
    }
    case 'apply':
    case 'patch':
    case 'edit':
    case 'label':
    case 'annotate': {
      const { t, name } = target();
      if (name === '') throw new KubectlArgsError(`kubectl ${verb} needs type/name here`);
      return { method: 'PATCH', target: objectPath(t, name), upgrade: false };
    }
    case 'scale': {
      const { t, name } = target();
      return { method: 'PATCH', target: `${objectPath(t, name)}/scale`, upgrade: false };
    }
    case 'logs': {
      const p = pod();
      const params: [string, string][] = [];
      if (container) params.push(['container', container]);
      if (flags.has('f') || flags.has('follow')) params.push(['follow', 'true']);
      return { method: 'GET', target: `${p}/log${q(params)}`, upgrade: false };
    }
    case 'exec':
    case 'attach': {
      const p = pod();
      if (verb === 'exec' && command.length === 0)
        throw new KubectlArgsError('kubectl exec needs -- and a command');
      const params: [string, string][] = command.map((c) => ['command', c] as [string, string]);
      if (container) params.push(['container', container]);
      params.push(['stdout', 'true'], ['stderr', 'true']);
      if (flags.has('i') || flags.has('stdin')) params.push(['stdin', 'true']);
      if (flags.has('t') || flags.has('tty')) params.push(['tty', 'true']);
      return { method: 'GET', target: `${p}/${verb}${q(params)}`, upgrade: true };
    }
    case 'port-forward': {
      const p = pod();
      const ports = positional.map((s) => s.split(':').pop() ?? s);
      return { method: 'GET', target: `${p}/portforward${q(ports.map((x) => ['ports', x]))}`, upgrade: true };
    }
    default:
      throw new KubectlArgsError(
        `kubectl ${verb} is not supported here (supported: get, describe, delete, create, apply, patch, replace, scale, logs, exec, attach, port-forward)`,
      );
  }
}

/** `GET /api/v1/…` request lines are taken as they are. */
export function requestLine(line: string): KubeRequestShape | undefined {
  const m = /^(GET|POST|PUT|PATCH|DELETE|HEAD)\s+(\/\S*)$/.exec(line.trim());
  if (!m) return undefined;
  const method = m[1] === 'HEAD' ? 'GET' : (m[1] as KubeRequestShape['method']);
  return { method, target: m[2]!, upgrade: /\/(exec|attach|portforward)(\?|$)/.test(m[2]!) };
}
