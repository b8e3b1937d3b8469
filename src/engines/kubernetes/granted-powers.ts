// What a write gives someone in the cluster beyond the write itself (docs/kubernetes.md, "Writes that
// grant rights or credentials"). A RoleBinding or ClusterRoleBinding gives its subjects everything its
// role holds (cluster-admin to a service account the agent then uses); a Role or ClusterRole with `*`,
// `escalate`, `bind` or `impersonate`, access to Secrets, `pods/exec` or `nodes/proxy`, or labels that
// aggregate it into `admin`, gives that to whoever it is bound to; a Secret of type
// `kubernetes.io/service-account-token` is filled with an account's token by the cluster; a
// CertificateSigningRequest, once approved, is a client certificate; a TokenRequest
// (`kubectl create token`) is one. Such a write is decided as `privilege` (and `secrets` where it yields
// a credential), with what it grants named, not as an ordinary write. So is a CustomResourceDefinition
// with a conversion webhook: the API server sends every stored object of the kind to the service it
// names and serves and stores what that service answers (docs/security.md class 232). So is a write
// that sends in-cluster traffic elsewhere (class 251): a Service's externalIPs (every node sends traffic
// for those addresses to it: CVE-2020-8554), its externalName, its load balancer's address, and the
// addresses of Endpoints and EndpointSlices; what others send there, credentials included, is the
// writer's. So are an Ingress's hosts and paths (class 316) and the annotations controllers read on
// an Ingress or a Service (class 358: ingress-nginx's auth-url, external-dns's hostname).
//
// Read from the body as the API server reads it (JSON, keys case-sensitive), whatever the patch type.
// kubectl's typed commands (`create rolebinding`, `create role`, `create secret`) send protobuf: its
// fields that decide a grant are read too (grant-protobuf.ts). A body that cannot be read (other
// protobuf, YAML that is not JSON) may grant anything: it is decided as `privilege` and `secrets`. Bindings, CSRs and
// TokenRequests are both whatever their body says; the body only names what they grant.

import { apiServerMediaType } from '../../wire/kubernetes/json-body.js';
import { grantObjectFromProtobuf } from './grant-protobuf.js';
import { firstNamed, patchOperations, pointer, readBodyDocument } from './json-write-body.js';

const RBAC = 'rbac.authorization.k8s.io';
const WRITES = new Set(['create', 'update', 'patch']);

type Target = {
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  readonly name: string;
  readonly namespace?: string;
};

type Kind =
  | 'role'
  | 'binding'
  | 'secret'
  | 'csr'
  | 'token'
  | 'crd'
  | 'service'
  | 'serviceStatus'
  | 'endpoints'
  | 'slice'
  | 'ingress'
  | 'ingressStatus'
  | 'route'
  | 'gateway'
  | 'gatewayStatus'
  | 'referenceGrant'
  | 'nodeStatus'
  | 'controllerRoute'
  | 'clusterReach'
  | 'systemConfig';

/** Gateway API's routes: each claims hostnames and paths of the Gateways it attaches to. */
const GATEWAY_ROUTES = new Set(['httproutes', 'grpcroutes', 'tlsroutes', 'tcproutes', 'udproutes']);
const GATEWAY_GROUPS = new Set(['gateway.networking.k8s.io', 'gateway.networking.x-k8s.io']);

/**
 * The routing resources of controllers other than Ingress and Gateway API (class 359), by API group:
 * every resource of the group, or the ones named. Each claims a host's traffic, sends it or a copy of
 * it elsewhere, authenticates it against a service of the writer's choice, or runs code in every proxy.
 */
const CONTROLLER_ROUTE_GROUPS: ReadonlyMap<string, ReadonlySet<string> | 'all'> = new Map<
  string,
  ReadonlySet<string> | 'all'
>([
  // Istio: VirtualService, Gateway, ServiceEntry, DestinationRule, EnvoyFilter, Sidecar…; who may reach
  // what (AuthorizationPolicy, PeerAuthentication); WasmPlugin runs code in every proxy it selects.
  ['networking.istio.io', 'all'],
  ['security.istio.io', 'all'],
  ['extensions.istio.io', 'all'],
  // Traefik (current and old group): IngressRoute(TCP/UDP), Middleware (forwardAuth), TraefikService…
  ['traefik.io', 'all'],
  ['traefik.containo.us', 'all'],
  // Contour: HTTPProxy, TLSCertificateDelegation (another namespace's certificate), ExtensionService.
  ['projectcontour.io', 'all'],
  // OpenShift's Route.
  ['route.openshift.io', 'all'],
  // Kong: plugins (top-level `config`), KongIngress, consumers and their credentials.
  ['configuration.konghq.com', 'all'],
  // Emissary/Ambassador: Mapping, Host, AuthService…
  ['getambassador.io', 'all'],
  // NGINX's own controller: VirtualServer, VirtualServerRoute, TransportServer, Policy.
  ['k8s.nginx.org', 'all'],
  // Gloo: VirtualService, RouteTable, Upstream.
  ['gateway.solo.io', 'all'],
  ['gloo.solo.io', 'all'],
  // APISIX: ApisixRoute, ApisixUpstream, ApisixPluginConfig…
  ['apisix.apache.org', 'all'],
  // Linkerd's routes and authorization policies.
  ['policy.linkerd.io', 'all'],
  // external-dns's DNSEndpoint: any record, in any zone it manages.
  ['externaldns.k8s.io', 'all'],
  // AWS Load Balancer Controller: a TargetGroupBinding puts a Service's pods behind any target group.
  ['elbv2.k8s.aws', 'all'],
  // Cilium's Envoy configuration (the L7 proxy of every node, or of the Services it names).
  ['cilium.io', new Set(['ciliumenvoyconfigs', 'ciliumclusterwideenvoyconfigs'])],
]);

function kindOf(a: Target): Kind | undefined {
  if (!WRITES.has(a.verb)) return undefined;
  // The cluster's own components' configuration (class 360): EKS's aws-auth, CoreDNS's Corefile,
  // kube-proxy's, the cluster-info joining nodes trust.
  if (
    a.apiGroup === '' &&
    a.resource === 'configmaps' &&
    a.subresource === '' &&
    SYSTEM_NAMESPACES.has(a.namespace ?? '')
  )
    return 'systemConfig';
  // Cluster-scoped objects that decide what every pod of a kind is given (class 361).
  if (a.subresource === '' && Object.hasOwn(CLUSTER_REACH, `${a.resource}.${a.apiGroup}`))
    return 'clusterReach';
  const routes = CONTROLLER_ROUTE_GROUPS.get(a.apiGroup);
  if (routes !== undefined && a.subresource === '' && (routes === 'all' || routes.has(a.resource)))
    return 'controllerRoute';
  if (a.apiGroup === RBAC && a.subresource === '') {
    if (a.resource === 'roles' || a.resource === 'clusterroles') return 'role';
    if (a.resource === 'rolebindings' || a.resource === 'clusterrolebindings') return 'binding';
    return undefined;
  }
  if (a.apiGroup === '' && a.resource === 'secrets' && a.subresource === '') return 'secret';
  if (a.apiGroup === 'certificates.k8s.io' && a.resource === 'certificatesigningrequests') return 'csr';
  if (a.apiGroup === '' && a.resource === 'serviceaccounts' && a.subresource === 'token') return 'token';
  if (
    a.apiGroup === 'apiextensions.k8s.io' &&
    a.resource === 'customresourcedefinitions' &&
    a.subresource === ''
  )
    return 'crd';
  // Where in-cluster traffic goes (docs/security.md class 251): a Service's external addresses or
  // name, its load balancer's address (its status), and the endpoints a Service sends its traffic to.
  if (a.apiGroup === '' && a.resource === 'services' && a.subresource === '') return 'service';
  // The API server takes only the status from a write of the status, and only the rest from the object's.
  if (a.apiGroup === '' && a.resource === 'services' && a.subresource === 'status') return 'serviceStatus';
  if (a.apiGroup === '' && a.resource === 'endpoints' && a.subresource === '') return 'endpoints';
  // Where the API server reaches a node's kubelet (exec, logs, port-forward, nodes/proxy): a Node's
  // status addresses and daemon endpoints (class 318).
  if (a.apiGroup === '' && a.resource === 'nodes' && a.subresource === 'status') return 'nodeStatus';
  if (a.apiGroup === 'discovery.k8s.io' && a.resource === 'endpointslices' && a.subresource === '')
    return 'slice';
  // Who gets the traffic for a host (docs/security.md class 316): an Ingress's or a route's hosts and
  // paths, a Gateway's listeners, and the addresses their status publishes (external-dns points the
  // host's name there). Whose host it is, Gatehouse cannot know.
  if ((a.apiGroup === 'networking.k8s.io' || a.apiGroup === 'extensions') && a.resource === 'ingresses') {
    if (a.subresource === '') return 'ingress';
    if (a.subresource === 'status') return 'ingressStatus';
    return undefined;
  }
  if (GATEWAY_GROUPS.has(a.apiGroup)) {
    if (GATEWAY_ROUTES.has(a.resource) && a.subresource === '') return 'route';
    if (a.resource === 'gateways' || a.resource === 'listenersets' || a.resource === 'xlistenersets')
      return a.subresource === '' ? 'gateway' : a.subresource === 'status' ? 'gatewayStatus' : undefined;
    if (a.resource === 'referencegrants' && a.subresource === '') return 'referenceGrant';
  }
  return undefined;
}

/** What a write that sends traffic somewhere gives its writer: the traffic, and what its clients send. */
const REDIRECT = "the traffic others send there, and the credentials in it, reach the writer's choice";

/** The addresses of Endpoints' subsets or an EndpointSlice's endpoints, for the approver. */
function addresses(v: unknown): string {
  const out: string[] = [];
  const visit = (x: unknown): void => {
    if (out.length >= 5) return;
    if (Array.isArray(x)) x.forEach(visit);
    else if (isObj(x)) {
      if (typeof x.ip === 'string') out.push(x.ip.slice(0, 60));
      if (typeof x.hostname === 'string') out.push(x.hostname.slice(0, 100));
      for (const [k, y] of Object.entries(x))
        if (k === 'addresses' && Array.isArray(y) && y.every((a) => typeof a === 'string'))
          out.push(...y.map((a: string) => a.slice(0, 60)));
        else if (k !== 'ip' && k !== 'hostname') visit(y);
    }
  };
  visit(v);
  return out.length > 0 ? ` (${out.slice(0, 5).join(', ')})` : '';
}

/** A Service's `spec` (whole, or a merge patch's part): external addresses, an external name. */
function serviceSpec(spec: unknown, found: Found): void {
  if (!isObj(spec)) return;
  const ips = spec.externalIPs;
  if (ips !== undefined && ips !== null && !(Array.isArray(ips) && ips.length === 0))
    found.add(
      `spec.externalIPs=${Array.isArray(ips) ? ips.map((x) => s(x, 60)).join(',') : s(ips, 100)} (every node sends traffic for these addresses to this Service, whoever they belong to: ${REDIRECT})`,
    );
  if (typeof spec.externalName === 'string' && spec.externalName !== '')
    found.add(
      `spec.externalName=${spec.externalName.slice(0, 200)} (the Service's in-cluster name resolves to that host: ${REDIRECT})`,
    );
  else if (spec.type === 'ExternalName')
    found.add(`spec.type=ExternalName (the Service's in-cluster name resolves to another host: ${REDIRECT})`);
}

/** A Service's `status` (its status subresource): a load balancer's addresses, which nodes then take. */
function serviceStatus(status: unknown, found: Found): void {
  if (!isObj(status) || !isObj(status.loadBalancer)) return;
  const ingress = status.loadBalancer.ingress;
  if (ingress !== undefined && ingress !== null && !(Array.isArray(ingress) && ingress.length === 0))
    found.add(
      `status.loadBalancer.ingress${addresses(ingress)} (every node sends traffic for these addresses to this Service: ${REDIRECT})`,
    );
}

/**
 * True for a write whose body may grant rights or a credential (RBAC, Secrets, CSRs, TokenRequests), or
 * hand a kind's objects to a service (a CRD's conversion webhook).
 */
export function writesGrant(a: Target): boolean {
  return kindOf(a) !== undefined;
}

export interface GrantReading {
  /** What it grants, named (`roleRef ClusterRole cluster-admin to ServiceAccount prod/ci`). */
  readonly grants: readonly string[];
  /** `privilege`, and `secrets` where it yields a credential; empty when it grants nothing. */
  readonly categories: readonly string[];
}

/**
 * A body Gatehouse cannot read (protobuf, which kubectl's typed commands send: `kubectl create
 * rolebinding`; YAML that is not JSON): it may grant anything.
 */
function unread(reason: string): GrantReading {
  return {
    grants: [`what Gatehouse cannot read: ${reason}, so it may grant anything`],
    categories: ['privilege', 'secrets'],
  };
}

const MAX_NAMED = 20;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const s = (v: unknown, n = 100): string =>
  typeof v === 'string' ? v.slice(0, n) : JSON.stringify(v ?? null).slice(0, n);

/** Verbs that only read. */
const READ_VERBS = new Set(['get', 'list', 'watch']);
/** Verbs that give power whatever the resource. */
const POWER_VERBS = new Set(['*', 'escalate', 'bind', 'impersonate']);
/** Resources whose read is itself a credential or a way past the API's rules. */
const SECRET_RESOURCES = new Set(['*', 'secrets', 'serviceaccounts/token']);
/** Subresources a read of which runs code or reaches past the API server (GET exec under SPDY, the kubelet's API). */
const REACHING_SUBRESOURCES = /(^|\/)(exec|attach|portforward|proxy|\*)$/;
const AGGREGATE_LABEL = 'rbac.authorization.k8s.io/aggregate-to-';
const TOKEN_TYPE = 'kubernetes.io/service-account-token';
const TOKEN_ACCOUNT = 'kubernetes.io/service-account.name';

class Found {
  readonly grants = new Set<string>();
  readonly categories = new Set<string>();
  add(what: string, secrets = false): void {
    this.grants.add(what.slice(0, 400));
    this.categories.add('privilege');
    if (secrets) this.categories.add('secrets');
  }
}

/** What one RBAC rule (a PolicyRule object) grants beyond reading ordinary objects. */
function rule(r: unknown, at: string, found: Found): void {
  if (!isObj(r)) {
    found.add(`${at}: a rule Gatehouse cannot read`);
    return;
  }
  const verbs = Array.isArray(r.verbs) ? r.verbs : undefined;
  const resources = Array.isArray(r.resources) ? r.resources : [];
  if (verbs === undefined || verbs.some((v) => typeof v !== 'string')) {
    found.add(`${at}.verbs: verbs Gatehouse cannot read`);
    return;
  }
  const vs = verbs as string[];
  const rs = resources.map((x) => (typeof x === 'string' ? x : '*'));
  const power = vs.filter((v) => POWER_VERBS.has(v));
  const secrets = rs.filter((x) => SECRET_RESOURCES.has(x));
  const reaching = rs.filter((x) => REACHING_SUBRESOURCES.test(x));
  const writes = vs.filter((v) => !READ_VERBS.has(v) && !POWER_VERBS.has(v));
  const on = rs.length > 0 ? rs.map((x) => s(x, 60)).join(',') : s(r.nonResourceURLs, 200);
  if (power.length > 0) found.add(`${at} grants ${power.join(',')} on ${on.slice(0, 200)}`, true);
  else if (secrets.length > 0) found.add(`${at} grants ${vs.join(',')} on ${secrets.join(',')}`, true);
  else if (reaching.length > 0) found.add(`${at} grants ${vs.join(',')} on ${reaching.join(',')}`);
  else if (writes.length > 0 && rs.length > 0)
    found.add(`${at} grants ${writes.join(',')} on ${on.slice(0, 200)}`);
}

function rules(v: unknown, at: string, found: Found): void {
  if (v === null) return; // removed
  if (!Array.isArray(v)) {
    found.add(`${at}: rules Gatehouse cannot read`);
    return;
  }
  v.forEach((r, i) => rule(r, `${at}[${i}]`, found));
}

function labels(v: unknown, at: string, found: Found): void {
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v))
    if (k.startsWith(AGGREGATE_LABEL) && x !== null)
      found.add(
        `${at}.${k.slice(0, 100)}=${s(x, 20)} (aggregates the role into ${k.slice(AGGREGATE_LABEL.length, 100)})`,
        true,
      );
}

/**
 * Cluster-scoped objects that decide what every pod of a kind is given, by `resource.group` (class
 * 361): what each does, and whether it hands out a credential.
 */
const CLUSTER_REACH: Readonly<Record<string, { readonly reach: string; readonly secrets: boolean }>> = {
  'csidrivers.storage.k8s.io': {
    reach:
      "every node's kubelet hands the driver what it asks of the pods that mount its volumes: tokenRequests are their service account tokens, podInfoOnMount their identity",
    secrets: true,
  },
  'storageclasses.storage.k8s.io': {
    reach:
      "every claim of the class is made by the provisioner it names with its parameters (a node's path, another team's share, the provisioner's own Secrets)",
    secrets: false,
  },
  'volumeattachments.storage.k8s.io': {
    reach: 'attaches the PersistentVolume it names to the node it names, whoever’s storage it is',
    secrets: false,
  },
  'clustertrustbundles.certificates.k8s.io': {
    reach:
      "the pods that project it trust the certificates it holds: a certificate of the writer's makes their TLS the writer's to read",
    secrets: true,
  },
  'deviceclasses.resource.k8s.io': {
    reach:
      'its config is handed to the driver for every claim of the class, and its selectors pick the devices those claims get',
    secrets: false,
  },
  'resourceslices.resource.k8s.io': {
    reach: "advertises a node's devices to the scheduler: claims are given what it lists",
    secrets: false,
  },
};

/** What a controller's routing resource or a cluster-reaching object does, and whether it is a credential. */
function reachOf(kind: Kind, name: string): { readonly reach: string; readonly secrets: boolean } {
  if (kind === 'clusterReach') {
    const key = name.split(' ')[0] ?? '';
    return Object.hasOwn(CLUSTER_REACH, key)
      ? CLUSTER_REACH[key]!
      : { reach: CONTROLLER_REACH, secrets: true };
  }
  return { reach: CONTROLLER_REACH, secrets: false };
}

/** Namespaces whose ConfigMaps are the cluster's own components' configuration. */
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public']);

/** What the well-known system ConfigMaps' entries do, by ConfigMap name. */
const SYSTEM_CONFIG: Readonly<Record<string, { readonly reach: string; readonly secrets: boolean }>> = {
  'aws-auth': {
    reach:
      'EKS maps the IAM roles and users it lists to Kubernetes users and groups: system:masters is cluster-admin, to whoever holds the role',
    secrets: true,
  },
  coredns: {
    reach:
      "the cluster's DNS server runs it: a rewrite, a hosts entry or a forward sends any in-cluster name's traffic, and the credentials in it, to the writer's address",
    secrets: false,
  },
  'cluster-info': {
    reach: 'joining nodes take the API server address and CA they trust from it',
    secrets: false,
  },
};

const SYSTEM_CONFIG_REACH =
  "the cluster's own components (DNS, kube-proxy, the cloud's identity mapping, node joining) read the ConfigMaps of kube-system and kube-public as their configuration, and what each makes of it Gatehouse cannot know";

/** An entry of a system ConfigMap set, changed or removed (`entry`: its path), named with what it does. */
function systemConfigEntry(configMap: string, entry: string, found: Found, removed = false): void {
  const known = Object.hasOwn(SYSTEM_CONFIG, configMap) ? SYSTEM_CONFIG[configMap] : undefined;
  found.add(
    `${entry.slice(0, 160)}${removed ? ' removed' : ''} of ConfigMap ${configMap.slice(0, 100) || '(unnamed)'} (${known?.reach ?? SYSTEM_CONFIG_REACH})`,
    known?.secrets ?? false,
  );
}

/** What an object holds besides what it is: its fields, read for a controller's routing resources. */
const OBJECT_ENVELOPE = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/** What a controller's routing resource does, for the approver and the refusal. */
const CONTROLLER_REACH =
  "a controller (Istio, Traefik, Contour, OpenShift's router, Kong, external-dns…) routes, copies or authenticates the traffic of the hosts it serves by it, or runs it in every proxy: whose hosts they are, and what the controller makes of it, Gatehouse cannot know";

/** Reads a role, binding, Secret or CSR object (a whole one, or a merge patch's, apply's part). */
function object(kind: Kind, doc: unknown, found: Found, name: string, patch = false): void {
  if (!isObj(doc)) return;
  const meta = isObj(doc.metadata) ? doc.metadata : undefined;
  switch (kind) {
    case 'role':
      if ('rules' in doc) rules(doc.rules, 'rules', found);
      if ('aggregationRule' in doc && doc.aggregationRule !== null)
        found.add('aggregationRule (gathers the rules of every ClusterRole its selectors match)', true);
      if (meta) labels(meta.labels, 'metadata.labels', found);
      return;
    case 'binding': {
      const ref = isObj(doc.roleRef) ? doc.roleRef : undefined;
      const subjects = Array.isArray(doc.subjects) ? doc.subjects.filter(isObj) : [];
      const who = subjects
        .slice(0, 5)
        .map((x) => `${s(x.kind, 30)} ${x.namespace ? `${s(x.namespace, 60)}/` : ''}${s(x.name)}`)
        .join(', ');
      // What the role grants is not in the request (and may change later): every binding is power.
      if (ref) found.add(`roleRef ${s(ref.kind, 30)} ${s(ref.name)}${who ? ` to ${who}` : ''}`, true);
      else if ('subjects' in doc)
        found.add(`subjects ${who || s(doc.subjects, 200)} of binding ${name}`, true);
      // A whole binding names its role (the API server refuses one without); a patch that touches
      // neither its role nor its subjects grants nothing new.
      else if (!patch) found.add(`a binding of ${name || 'a role'}`, true);
      return;
    }
    case 'secret': {
      const ann = meta && isObj(meta.annotations) ? meta.annotations : undefined;
      const account = ann && typeof ann[TOKEN_ACCOUNT] === 'string' ? ann[TOKEN_ACCOUNT] : undefined;
      if (doc.type === TOKEN_TYPE)
        found.add(
          `type=${TOKEN_TYPE}${account ? ` for service account ${account.slice(0, 100)}` : ''}`,
          true,
        );
      else if (ann && TOKEN_ACCOUNT in ann)
        found.add(`metadata.annotations.${TOKEN_ACCOUNT}=${s(ann[TOKEN_ACCOUNT])}`, true);
      return;
    }
    case 'csr': {
      const spec = isObj(doc.spec) ? doc.spec : undefined;
      found.add(
        `a certificate signing request${spec && typeof spec.signerName === 'string' ? ` for signer ${spec.signerName.slice(0, 100)}` : ''}`,
        true,
      );
      return;
    }
    case 'token':
      return;
    case 'crd':
      if (isObj(doc.spec)) conversion(doc.spec.conversion, 'spec.conversion', found);
      return;
    case 'service':
      serviceSpec(doc.spec, found);
      if ('metadata' in doc) routingAnnotations(kind, doc.metadata, found, patch);
      return;
    case 'serviceStatus':
      serviceStatus(doc.status, found);
      return;
    case 'endpoints':
      if (doc.subsets !== undefined && doc.subsets !== null)
        found.add(
          `subsets${addresses(doc.subsets)} (the Service of the same name sends its traffic there: ${REDIRECT})`,
        );
      return;
    case 'slice':
      if (doc.endpoints !== undefined && doc.endpoints !== null)
        found.add(
          `endpoints${addresses(doc.endpoints)} (the Service its kubernetes.io/service-name label names sends traffic there: ${REDIRECT})`,
        );
      return;
    case 'ingress':
      ingressSpec(doc.spec, 'spec', found);
      if ('metadata' in doc) routingAnnotations(kind, doc.metadata, found, patch);
      return;
    case 'route':
      routeSpec(doc.spec, 'spec', found);
      return;
    case 'gateway':
      gatewaySpec(doc.spec, 'spec', found);
      return;
    case 'ingressStatus':
    case 'gatewayStatus':
      publishedStatus(kind, doc.status, found);
      return;
    case 'nodeStatus':
      nodeStatus(doc.status, 'status', found);
      return;
    case 'systemConfig': {
      const configMap = name || (meta && typeof meta.name === 'string' ? meta.name : '');
      for (const field of ['data', 'binaryData']) {
        const entries = doc[field];
        if (entries === undefined) continue;
        if (!isObj(entries)) {
          if (entries !== null || patch) systemConfigEntry(configMap, `${field}`, found, entries === null);
          continue;
        }
        for (const [k, v] of Object.entries(entries))
          systemConfigEntry(configMap, `${field}.${k}`, found, v === null && patch);
      }
      return;
    }
    case 'controllerRoute':
    case 'clusterReach': {
      const { reach, secrets } = reachOf(kind, name);
      for (const [k, v] of Object.entries(doc))
        if (!OBJECT_ENVELOPE.has(k) && v !== undefined && !(patch && v === null && k !== 'spec'))
          found.add(`${k.slice(0, 60)} of ${name}=${s(v, 200)} (${reach})`, secrets);
      if (kind === 'controllerRoute' && 'metadata' in doc)
        routingAnnotations(kind, doc.metadata, found, patch);
      return;
    }
    case 'referenceGrant':
      if (doc.spec !== undefined && doc.spec !== null)
        found.add(
          `spec=${s(doc.spec, 200)} (lets the routes and Gateways of the namespaces it names reach this namespace's Services and Secrets)`,
          true,
        );
      return;
  }
}

/** What a write that claims a host's traffic gives its writer. */
const CLAIM =
  "traffic for that host and path, which may be another team's, and the credentials in it, reach the writer's backend";

/** An annotation whose value an ingress controller writes into its own configuration (ingress-nginx's snippets). */
const SNIPPET_ANNOTATION = /snippet/i;

/** An Ingress's `spec` (whole, or a merge patch's part): the hosts and paths it claims, a default backend, TLS hosts. */
function ingressSpec(spec: unknown, at: string, found: Found): void {
  if (spec === undefined || spec === null) return;
  if (!isObj(spec)) {
    found.add(`${at}=${s(spec, 60)} (an Ingress Gatehouse cannot read: ${CLAIM})`);
    return;
  }
  const rules = spec.rules;
  if (rules !== undefined && rules !== null) {
    const list = Array.isArray(rules) ? rules : [rules];
    list.slice(0, 5).forEach((r, i) => {
      const host =
        isObj(r) && typeof r.host === 'string' && r.host !== '' ? r.host.slice(0, 200) : '* (every host)';
      const http = isObj(r) && isObj(r.http) && Array.isArray(r.http.paths) ? r.http.paths : [];
      const paths = http
        .slice(0, 5)
        .map((p: unknown) => (isObj(p) && typeof p.path === 'string' ? p.path.slice(0, 100) : '/'))
        .join(',');
      found.add(`${at}.rules[${i}] host ${host}${paths ? ` paths ${paths}` : ''} (${CLAIM})`);
    });
    if (list.length > 5) found.add(`${at}.rules: ${list.length - 5} more (${CLAIM})`);
  }
  for (const key of ['defaultBackend', 'backend'])
    if (spec[key] !== undefined && spec[key] !== null)
      found.add(`${at}.${key} (every host and path no other rule claims: ${CLAIM})`);
  if (spec.tls !== undefined && spec.tls !== null)
    found.add(
      `${at}.tls hosts ${s(Array.isArray(spec.tls) ? spec.tls.flatMap((t: unknown): unknown[] => (isObj(t) && Array.isArray(t.hosts) ? (t.hosts as unknown[]) : [])) : spec.tls, 200)} (a certificate issuer may be asked for those hosts' certificates)`,
    );
  if (spec.ingressClassName !== undefined && spec.ingressClassName !== null && Object.keys(spec).length === 1)
    found.add(
      `${at}.ingressClassName=${s(spec.ingressClassName, 60)} (the controller that serves its hosts)`,
    );
}

/**
 * Annotations no controller reads as configuration of a host's traffic: kubectl's, Helm's and Argo
 * CD's bookkeeping, a rollout's cause, Prometheus's scrape settings.
 */
const INERT_ANNOTATION =
  /^(?:kubectl\.kubernetes\.io\/|kubernetes\.io\/change-cause$|kubernetes\.io\/description$|meta\.helm\.sh\/|helm\.sh\/|argocd\.argoproj\.io\/|deployment\.kubernetes\.io\/|prometheus\.io\/)/;

/** What an annotation on an Ingress or a Service may do, for the approver and the refusal. */
const ANNOTATION_REACH =
  "an ingress controller, a load balancer controller, an address allocator or external-dns reads an Ingress's or a Service's annotations as configuration of its traffic (ingress-nginx's auth-url sends each request's headers to the URL it names, mirror-target copies each request there, auth-tls-secret reads another namespace's Secret, external-dns points the hostname it names here, a load balancer's internal flag keeps it off the internet); which of them a controller reads, under which prefix, Gatehouse cannot know";

/**
 * An annotation a controller may read as configuration of an Ingress's or a Service's traffic (class
 * 358): one under a prefix (`nginx.ingress.kubernetes.io/auth-url`, `external-dns.alpha.kubernetes.io/…`,
 * `service.beta.kubernetes.io/…`; ingress-nginx's prefix is a setting, so any prefix) but the inert
 * ones, a snippet under any name, and a strategic merge directive (which drops what it does not name).
 */
function routingAnnotation(kind: Kind, key: string): boolean {
  if (key.startsWith('$')) return true;
  if (kind === 'ingress' && SNIPPET_ANNOTATION.test(key)) return true;
  return key.includes('/') && !INERT_ANNOTATION.test(key);
}

/** One annotation of an Ingress or a Service set (`value`) or removed (null), named. */
function routingAnnotationFound(kind: Kind, key: string, value: unknown, found: Found): void {
  const at = `metadata.annotations.${key.slice(0, 100)}`;
  if (kind === 'ingress' && SNIPPET_ANNOTATION.test(key) && value !== null)
    found.add(
      `${at} (configuration the ingress controller runs as its own, with its rights over every Secret it serves)`,
    );
  else if (value === null) found.add(`${at} removed (what it enforced is taken away: ${ANNOTATION_REACH})`);
  else found.add(`${at}=${s(value, 200)} (${ANNOTATION_REACH})`);
}

/**
 * An Ingress's or a Service's `metadata` (whole, or a merge patch's part): the annotations a
 * controller reads, set or removed, and a removal of every annotation in a patch.
 */
function routingAnnotations(kind: Kind, meta: unknown, found: Found, patch: boolean): void {
  if (meta === null) {
    if (patch) found.add(`metadata removed (every annotation with it: ${ANNOTATION_REACH})`);
    return;
  }
  if (!isObj(meta)) return;
  for (const k of Object.keys(meta))
    if (k.startsWith('$'))
      found.add(
        `metadata.${k.slice(0, 60)}=${s(meta[k], 100)} (drops annotations it does not name: ${ANNOTATION_REACH})`,
      );
  const ann = meta.annotations;
  if (ann === null) {
    if (patch) found.add(`metadata.annotations removed (every annotation: ${ANNOTATION_REACH})`);
    return;
  }
  if (!isObj(ann)) return;
  for (const [k, v] of Object.entries(ann))
    if (routingAnnotation(kind, k)) routingAnnotationFound(kind, k, v, found);
}

/**
 * A JSON patch operation on an Ingress's or a Service's metadata: one that replaces or removes the
 * whole map drops annotations the request does not show; one on an annotation a controller reads
 * (its path, or a `move`'s `from`) sets or removes it.
 */
function routingAnnotationOp(
  kind: Kind,
  op: string,
  at: readonly string[],
  value: unknown,
  from: unknown,
  found: Found,
): void {
  if (op === 'test') return;
  const froms = op === 'move' && typeof from === 'string' ? pointer(from) : undefined;
  if (froms !== undefined && froms[0] === 'metadata')
    routingAnnotationOp(kind, 'remove', froms, undefined, undefined, found);
  if (at[0] !== 'metadata') return;
  if (at.length <= 2 && (at.length === 1 || at[1] === 'annotations')) {
    found.add(
      `${at.join('.')} ${op === 'remove' ? 'removed' : 'replaced whole'} (the annotations it drops are not in the request: ${ANNOTATION_REACH})`,
    );
    if ((op === 'add' || op === 'replace') && isObj(value))
      routingAnnotations(kind, at.length === 1 ? value : { annotations: value }, found, false);
    return;
  }
  if (at[1] !== 'annotations') return;
  const key = at[2]!;
  if (!routingAnnotation(kind, key)) return;
  if (op === 'remove') routingAnnotationFound(kind, key, null, found);
  else if (op === 'add' || op === 'replace')
    routingAnnotationFound(kind, key, at.length > 3 ? `${at.slice(3).join('.')} changed` : value, found);
  else
    found.add(
      `metadata.annotations.${key.slice(0, 100)} (a value Gatehouse cannot read: ${ANNOTATION_REACH})`,
    );
}

/** A Gateway API route's `spec`: its hostnames (none: every hostname of its Gateways), parents and rules. */
function routeSpec(spec: unknown, at: string, found: Found): void {
  if (spec === undefined || spec === null) return;
  if (!isObj(spec)) {
    found.add(`${at}=${s(spec, 60)} (a route Gatehouse cannot read: ${CLAIM})`);
    return;
  }
  const claims = ['hostnames', 'parentRefs', 'rules'].filter(
    (k) => spec[k] !== undefined && spec[k] !== null,
  );
  if (claims.length === 0) return;
  const hosts =
    Array.isArray(spec.hostnames) && spec.hostnames.length > 0 ? s(spec.hostnames, 200) : undefined;
  const parents = Array.isArray(spec.parentRefs)
    ? spec.parentRefs
        .filter(isObj)
        .slice(0, 5)
        .map((p) => `${p.namespace ? `${s(p.namespace, 60)}/` : ''}${s(p.name)}`)
        .join(', ')
    : '';
  found.add(
    `${at}.${claims.join(',')}${hosts ? ` hostnames ${hosts}` : ''}${parents ? ` on ${parents}` : ''} (${CLAIM})`,
  );
}

/** A Gateway's (or ListenerSet's) `spec`: the listeners' hostnames and ports, the addresses it takes. */
function gatewaySpec(spec: unknown, at: string, found: Found): void {
  if (spec === undefined || spec === null) return;
  if (!isObj(spec)) {
    found.add(`${at}=${s(spec, 60)} (a Gateway Gatehouse cannot read: ${CLAIM})`);
    return;
  }
  for (const key of ['listeners', 'addresses', 'parentRef'])
    if (spec[key] !== undefined && spec[key] !== null)
      found.add(`${at}.${key}=${s(spec[key], 200)} (${CLAIM})`);
}

/** Published addresses (an Ingress's `status.loadBalancer.ingress`, a Gateway's `status.addresses`). */
function publishedStatus(kind: Kind, status: unknown, found: Found): void {
  if (!isObj(status)) return;
  const v =
    kind === 'ingressStatus'
      ? isObj(status.loadBalancer)
        ? status.loadBalancer.ingress
        : undefined
      : status.addresses;
  if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
    found.add(
      `${kind === 'ingressStatus' ? 'status.loadBalancer.ingress' : 'status.addresses'}${addresses(v)} (DNS for its hosts is pointed there: ${REDIRECT})`,
    );
}

/** What the API server sends to the address a Node's status names. */
const KUBELET_REACH =
  "the API server sends every exec, attach, log and port-forward of the node's pods there (what people type into an exec included) and shows what it answers";

/** A Node's `status` (its status subresource): the kubelet's addresses and port. */
function nodeStatus(status: unknown, at: string, found: Found): void {
  if (status === undefined || status === null) return;
  if (!isObj(status)) {
    found.add(`${at}=${s(status, 60)} (a status Gatehouse cannot read: ${KUBELET_REACH})`);
    return;
  }
  if (status.addresses !== undefined && status.addresses !== null)
    found.add(`${at}.addresses=${s(status.addresses, 200)} (${KUBELET_REACH})`);
  if (status.daemonEndpoints !== undefined && status.daemonEndpoints !== null)
    found.add(`${at}.daemonEndpoints=${s(status.daemonEndpoints, 200)} (${KUBELET_REACH})`);
}

/** What a conversion webhook is given: every stored object of the kind, and the say over what is served. */
const CONVERSION_REACH =
  'the API server sends every stored object of the kind to that service and serves and stores what it answers';

/**
 * A CRD's `spec.conversion` (whole, or a merge patch's part): a webhook, or the Webhook strategy
 * (v1's `webhook`, v1beta1's `webhookClientConfig`). `None`, or its removal, hands nothing over.
 */
function conversion(v: unknown, at: string, found: Found): void {
  if (v === undefined || v === null) return;
  if (!isObj(v)) {
    found.add(`${at}=${s(v, 60)} (a conversion Gatehouse cannot read: ${CONVERSION_REACH})`, true);
    return;
  }
  for (const key of ['webhook', 'webhookClientConfig'])
    if (v[key] !== undefined && v[key] !== null) {
      const c = isObj(v[key]) && key === 'webhook' ? v[key].clientConfig : v[key];
      const svc = isObj(c) && isObj(c.service) ? c.service : undefined;
      const to = isObj(c)
        ? typeof c.url === 'string'
          ? ` to ${c.url.slice(0, 200)}`
          : svc
            ? ` to service ${s(svc.namespace, 60)}/${s(svc.name)}`
            : ''
        : '';
      found.add(`${at}.${key}${to} (${CONVERSION_REACH})`, true);
    }
  if (v.strategy !== undefined && v.strategy !== null && v.strategy !== 'None')
    found.add(`${at}.strategy=${s(v.strategy, 40)} (${CONVERSION_REACH})`, true);
}

/** One JSON patch operation that writes `value` at `path` (undefined value: copied or moved, unread). */
function patchOp(
  kind: Kind,
  path: string[],
  value: unknown,
  readable: boolean,
  found: Found,
  name: string,
): void {
  const at = path.join('.').slice(0, 200);
  if (path.length === 0) {
    if (!readable) found.add('the whole object (a value Gatehouse cannot read)', true);
    return object(kind, readable ? value : {}, found, name);
  }
  const [top, second, third] = path;
  switch (kind) {
    case 'role':
      if (top === 'rules') {
        if (path.length === 1 && readable) rules(value, 'rules', found);
        else if (path.length === 2 && readable) rule(value, `rules[${second}]`, found);
        // A part of a rule: the rest of it is not in the request.
        else found.add(`${at} changed (the rest of the rule is not in the request)`, true);
      } else if (top === 'aggregationRule') {
        found.add(`${at} (gathers the rules of every ClusterRole its selectors match)`, true);
      } else if (top === 'metadata' && second === 'labels') {
        if (third === undefined) {
          if (readable) labels(value, 'metadata.labels', found);
          else found.add(`${at} (labels Gatehouse cannot read)`, true);
        } else if (third.startsWith(AGGREGATE_LABEL)) found.add(`${at} (aggregates the role)`, true);
      } else if (top === 'metadata' && second === undefined) {
        if (!readable) found.add(`${at} (labels Gatehouse cannot read)`, true);
        else if (isObj(value)) labels(value.labels, 'metadata.labels', found);
      }
      return;
    case 'binding':
      if (top === 'roleRef' || top === 'subjects') found.add(`${at} of binding ${name} changed`, true);
      return;
    case 'secret':
      if (top === 'type' || (top === 'metadata' && (second === undefined || second === 'annotations'))) {
        const wrapped =
          top === 'type'
            ? { type: value }
            : second === undefined
              ? { metadata: value }
              : third === undefined
                ? { metadata: { annotations: value } }
                : { metadata: { annotations: { [third]: value } } };
        if (!readable) found.add(`${at} (a value Gatehouse cannot read)`, true);
        else object('secret', wrapped, found, name);
      }
      return;
    case 'csr':
      found.add(`a certificate signing request (${at})`, true);
      return;
    case 'token':
      return;
    case 'service':
    case 'serviceStatus':
      if (top === (kind === 'service' ? 'spec' : 'status')) {
        const sub = kind === 'service' ? serviceSpec : serviceStatus;
        const fields = kind === 'service' ? ['externalIPs', 'externalName', 'type'] : ['loadBalancer'];
        if (second !== undefined && !fields.includes(second)) return;
        if (!readable)
          found.add(`${at} (a value Gatehouse cannot read: it may send the Service's traffic elsewhere)`);
        else if (second === undefined) sub(value, found);
        else if (third === undefined) sub({ [second]: value }, found);
        else if (value !== null) found.add(`${at} changed (${REDIRECT})`);
      }
      return;
    case 'endpoints':
    case 'slice':
      if (top === (kind === 'endpoints' ? 'subsets' : 'endpoints') && (readable ? value !== null : true))
        found.add(
          `${at}${readable ? addresses(value) : ' (a value Gatehouse cannot read)'} (the Service sends its traffic there: ${REDIRECT})`,
        );
      return;
    case 'ingress':
    case 'route':
    case 'gateway':
    case 'referenceGrant':
    case 'ingressStatus':
    case 'gatewayStatus': {
      const status = kind === 'ingressStatus' || kind === 'gatewayStatus';
      // An Ingress's metadata (its annotations) is read by routingAnnotationOp.
      if (top === 'metadata') return;
      if (top !== (status ? 'status' : 'spec')) return;
      if (!readable) found.add(`${at} (a value Gatehouse cannot read: ${CLAIM})`);
      else if (second === undefined) object(kind, { [top]: value }, found, name);
      else if (value !== null) found.add(`${at}=${s(value, 200)} changed (${CLAIM})`);
      return;
    }
    case 'nodeStatus':
      if (top !== 'status') return;
      if (second !== undefined && second !== 'addresses' && second !== 'daemonEndpoints') return;
      if (!readable) found.add(`${at} (a value Gatehouse cannot read: ${KUBELET_REACH})`);
      else if (second === undefined) nodeStatus(value, 'status', found);
      else found.add(`${at}=${s(value, 200)} (${KUBELET_REACH})`);
      return;
    case 'systemConfig':
      if (top !== 'data' && top !== 'binaryData') return;
      if (!readable) systemConfigEntry(name, `${at} (a value Gatehouse cannot read)`, found);
      else if (second === undefined) object(kind, { [top]: value }, found, name, true);
      else systemConfigEntry(name, path.slice(0, 2).join('.'), found, value === null);
      return;
    case 'controllerRoute':
    case 'clusterReach': {
      // A controller route's metadata (the annotations) is read by routingAnnotationOp.
      if (OBJECT_ENVELOPE.has(top!)) return;
      const { reach, secrets } = reachOf(kind, name);
      if (!readable) found.add(`${at} of ${name} (a value Gatehouse cannot read: ${reach})`, secrets);
      else if (value === null) found.add(`${at} of ${name} removed (${reach})`, secrets);
      else found.add(`${at} of ${name}=${s(value, 200)} changed (${reach})`, secrets);
      return;
    }
    case 'crd':
      if (top !== 'spec') return;
      if (second === undefined) {
        if (!readable) found.add(`${at} (a value Gatehouse cannot read: ${CONVERSION_REACH})`, true);
        else object('crd', { spec: value }, found, name);
      } else if (second === 'conversion') {
        if (!readable) found.add(`${at} (a value Gatehouse cannot read: ${CONVERSION_REACH})`, true);
        else if (third === undefined) conversion(value, 'spec.conversion', found);
        else if (third === 'strategy') conversion({ strategy: value }, 'spec.conversion', found);
        else if (value !== null) found.add(`${at} changed (${CONVERSION_REACH})`, true);
      }
      return;
  }
}

/** What the write grants (see the file's comment), or why its body cannot be read. */
export function grantedPowers(
  a: Target,
  contentType: string | string[] | undefined,
  body: Buffer,
): GrantReading {
  const kind = kindOf(a);
  const found = new Found();
  if (kind === undefined) return { grants: [], categories: [] };
  // A controller's routing resource is named by its resource and group (its kind is not in the target).
  const name =
    kind === 'controllerRoute' || kind === 'clusterReach'
      ? `${a.resource.slice(0, 60)}.${a.apiGroup.slice(0, 60)}${a.name ? ` ${a.name.slice(0, 100)}` : ''}`
      : a.name;
  if (kind === 'token') {
    found.add(`a token of service account ${a.name.slice(0, 100)}`, true);
    return done(found);
  }
  if (kind === 'csr' && a.subresource !== '') {
    found.add(`${a.subresource} of certificate signing request ${a.name.slice(0, 100)}`, true);
    return done(found);
  }
  const type = apiServerMediaType(contentType);
  if (type === 'application/vnd.kubernetes.protobuf' && a.verb !== 'patch') {
    // kubectl's typed commands (`create rolebinding`, `create role`, `create secret`) send protobuf.
    const obj = grantObjectFromProtobuf(a.resource, body);
    if (obj === undefined) return unread('its protobuf is not one Gatehouse reads');
    object(kind, obj, found, a.name);
    return done(found);
  }
  const read = readBodyDocument(contentType, body);
  if (!read.ok) return unread(read.reason);
  if (read.type === 'application/json-patch+json') {
    const patch = patchOperations(read.doc);
    if (!patch.ok) return unread(patch.reason);
    for (const { op, at, value, from } of patch.ops) {
      if (kind === 'ingress' || kind === 'service' || kind === 'controllerRoute')
        routingAnnotationOp(kind, op, at, value, from, found);
      if (op === 'add' || op === 'replace') patchOp(kind, at, value, true, found, name);
      else if (
        op === 'remove' &&
        (kind === 'controllerRoute' || kind === 'clusterReach' || kind === 'systemConfig')
      )
        patchOp(kind, at, null, true, found, name);
      // A move takes its value away from where it was.
      if (
        op === 'move' &&
        (kind === 'controllerRoute' || kind === 'systemConfig') &&
        typeof from === 'string'
      ) {
        const was = pointer(from);
        if (was === undefined) found.add(`a move from ${s(from, 100)} (${CONTROLLER_REACH})`);
        else patchOp(kind, was, null, true, found, name);
      } else if (op === 'copy' || op === 'move') patchOp(kind, at, undefined, false, found, name);
    }
  } else {
    if (!isObj(read.doc)) return unread('it is not a JSON object');
    object(kind, read.doc, found, name, a.verb === 'patch');
  }
  return done(found);
}

function done(found: Found): GrantReading {
  const named = firstNamed([...found.grants], MAX_NAMED);
  const categories = ['privilege', 'secrets'].filter((c) => found.categories.has(c));
  return { grants: named, categories };
}
