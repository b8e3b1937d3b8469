// The shipped default policy for AI agents on Kubernetes connections (issue 14 §2), documented in
// docs/kubernetes.md: reads allowed, Secret reads reviewed, writes reviewed; deleting namespaces, nodes,
// CRDs and PersistentVolumes, deletecollection, RBAC and service-account token changes, and proxying
// refused; pods (and workload templates) that are privilege, writes that grant rights or a credential, and
// writes that send in-cluster traffic elsewhere (a Service's externalIPs, endpoints), refused; exec decided on its command by the shell classifier (read-only allowed, destructive refused,
// what cannot be judged reviewed); interactive exec, attach and port-forward reviewed. Plain config data.

import type { ReviewMode } from '../core/decision.js';
import type { PolicyConfig, RuleConfig } from '../config/policy-schema.js';

export interface DefaultKubernetesPolicyOptions {
  /** Groups treated as agents besides agent principals (default `ai-agents`). */
  readonly agentGroups?: readonly string[];
  /** Groups of people with broad cluster rights (default `k8s-admins`). */
  readonly adminGroups?: readonly string[];
  readonly approval?: string;
  readonly mode?: ReviewMode;
  /** Masking obligation on what agents may do (Secrets, Pod env, exec output, logs). */
  readonly mask?: boolean | string;
}

/** Discovery and version endpoints kubectl reads before anything else. */
export const KUBERNETES_DISCOVERY_URLS: readonly string[] = [
  '/api',
  '/api/*',
  '/apis',
  '/apis/**',
  '/version',
  '/openapi/**',
  '/healthz',
  '/livez',
  '/readyz',
];

/** Subresources that are plain reads or ordinary writes (not exec, attach, port-forward or proxy). */
export const KUBERNETES_PLAIN_SUBRESOURCES: readonly string[] = [
  '*/log',
  '*/status',
  '*/scale',
  '*/eviction',
  '*/binding',
  '*/finalize',
  '*/ephemeralcontainers',
  '*/resize',
];

/**
 * Resources whose writes may grant rights or a credential, read from their body
 * (src/engines/kubernetes/granted-powers.ts): RBAC roles and bindings, Secrets (a service account
 * token's), certificate signing requests and their approval, TokenRequests, and
 * CustomResourceDefinitions (a conversion webhook is handed every stored object of the kind).
 */
export const KUBERNETES_GRANT_RESOURCES: readonly string[] = [
  'roles',
  'clusterroles',
  'rolebindings',
  'clusterrolebindings',
  'secrets',
  'certificatesigningrequests',
  'certificatesigningrequests/*',
  'serviceaccounts/token',
  'customresourcedefinitions',
  // The ConfigMaps of kube-system and kube-public (class 360): EKS's aws-auth maps IAM identities to
  // groups (system:masters), CoreDNS's Corefile where names resolve; other namespaces' stay ordinary.
  'configmaps',
  // Cluster-scoped objects that decide what every pod of a kind is given (class 361): a CSIDriver (the
  // pods' tokens), a ClusterTrustBundle (what they trust), a StorageClass, a VolumeAttachment, a
  // DeviceClass, a ResourceSlice.
  'csidrivers',
  'clustertrustbundles',
  'storageclasses',
  'volumeattachments',
  'deviceclasses',
  'resourceslices',
];

/**
 * Resources whose writes may send in-cluster traffic elsewhere, read from their body
 * (src/engines/kubernetes/granted-powers.ts): a Service's externalIPs or externalName, its load
 * balancer's addresses (its status), and the Endpoints and EndpointSlices a Service sends traffic to.
 */
export const KUBERNETES_ROUTE_RESOURCES: readonly string[] = [
  'services',
  'services/status',
  'endpoints',
  'endpointslices',
  // The hosts and paths an Ingress or a Gateway API route claims, a Gateway's listeners, and the
  // addresses their status publishes (docs/security.md class 316).
  'ingresses',
  'ingresses/status',
  'httproutes',
  'grpcroutes',
  'tlsroutes',
  'tcproutes',
  'udproutes',
  'gateways',
  'gateways/status',
  'listenersets',
  'listenersets/status',
  'referencegrants',
  // Where the API server reaches a node's kubelet: its exec, log and port-forward traffic (class 318).
  'nodes/status',
  // Other controllers' routing resources (class 359; src/engines/kubernetes/granted-powers.ts
  // CONTROLLER_ROUTE_GROUPS reads them by API group): Istio, Traefik, Contour, OpenShift, Kong,
  // Emissary, NGINX, Gloo, APISIX, Linkerd, external-dns, the AWS Load Balancer Controller, Cilium. A
  // resource of those groups missing here is still refused, as a privileged write.
  'virtualservices',
  'serviceentries',
  'destinationrules',
  'envoyfilters',
  'sidecars',
  'workloadentries',
  'workloadgroups',
  'authorizationpolicies',
  'peerauthentications',
  'requestauthentications',
  'wasmplugins',
  'ingressroutes',
  'ingressroutetcps',
  'ingressrouteudps',
  'middlewares',
  'middlewaretcps',
  'traefikservices',
  'serverstransports',
  'serverstransporttcps',
  'tlsoptions',
  'tlsstores',
  'httpproxies',
  'tlscertificatedelegations',
  'extensionservices',
  'routes',
  'kongplugins',
  'kongclusterplugins',
  'kongingresses',
  'kongconsumers',
  'kongupstreampolicies',
  'mappings',
  'hosts',
  'tcpmappings',
  'authservices',
  'virtualservers',
  'virtualserverroutes',
  'transportservers',
  'policies',
  'routetables',
  'upstreams',
  'apisixroutes',
  'apisixupstreams',
  'apisixpluginconfigs',
  'apisixglobalrules',
  'apisixconsumers',
  'apisixtlses',
  'servers',
  'serverauthorizations',
  'dnsendpoints',
  'targetgroupbindings',
  'ciliumenvoyconfigs',
  'ciliumclusterwideenvoyconfigs',
];

export function defaultKubernetesPolicies(
  connections: readonly string[],
  options: DefaultKubernetesPolicyOptions = {},
): PolicyConfig[] {
  const review = {
    ...(options.mode === undefined ? {} : { mode: options.mode }),
    ...(options.approval === undefined ? {} : { approval: options.approval }),
  };
  const mask = options.mask === undefined ? {} : { mask: options.mask };
  const denyRule = (id: string, match: RuleConfig['match'], message: string): RuleConfig => ({
    id,
    effect: 'deny',
    match,
    message,
  });
  const agents: PolicyConfig = {
    id: 'k8s-agents',
    description:
      'Default guardrails for AI agents on Kubernetes: read freely, review changes and secrets, never destroy.',
    subjects: [{ agent: true }, { groups: [...(options.agentGroups ?? ['ai-agents'])] }],
    connections: [...connections],
    rules: [
      denyRule(
        'k8s-agents-no-namespace-delete',
        { verbs: ['delete', 'deletecollection'], resources: ['namespaces'] },
        '{kind} is refused by rule {rule}: deleting a namespace destroys everything in it. Delete the objects you mean one by one, or ask a cluster administrator.',
      ),
      denyRule(
        'k8s-agents-no-destructive-delete',
        {
          verbs: ['delete', 'deletecollection'],
          resources: ['nodes', 'persistentvolumes', 'customresourcedefinitions'],
        },
        '{kind} is refused by rule {rule}: deleting nodes, PersistentVolumes or CRDs destroys capacity, data or every object of a type. Ask a cluster administrator.',
      ),
      denyRule(
        'k8s-agents-no-deletecollection',
        { verbs: ['deletecollection'] },
        '{kind} is refused by rule {rule}: deleting a whole collection cannot be limited. Delete the objects you mean by name, or ask a cluster administrator.',
      ),
      denyRule(
        'k8s-agents-no-rbac-changes',
        {
          apiGroups: ['rbac.authorization.k8s.io'],
          verbs: ['create', 'update', 'patch', 'delete', 'deletecollection', 'bind', 'escalate'],
        },
        '{kind} is refused by rule {rule}: agents may read RBAC but not change roles or bindings. Ask a cluster administrator.',
      ),
      denyRule(
        'k8s-agents-no-admission-changes',
        {
          apiGroups: ['admissionregistration.k8s.io'],
          verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'],
        },
        '{kind} is refused by rule {rule}: admission webhooks and policies change or admit every later object of the cluster (a mutating webhook can add a privileged container to every pod). Ask a cluster administrator.',
      ),
      denyRule(
        'k8s-agents-no-api-routing',
        {
          apiGroups: ['apiregistration.k8s.io'],
          verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'],
        },
        "{kind} is refused by rule {rule}: an APIService sends every request of its API group to the service it names, which then answers as the API server and is told each caller's identity. Ask a cluster administrator.",
      ),
      denyRule(
        'k8s-agents-no-service-account-tokens',
        {
          verbs: ['create', 'update', 'patch', 'delete'],
          resources: ['serviceaccounts', 'serviceaccounts/token'],
        },
        '{kind} is refused by rule {rule}: agents may not create service accounts or mint their tokens. Ask a cluster administrator.',
      ),
      denyRule(
        'k8s-agents-no-proxy',
        { resources: ['*/proxy'] },
        '{kind} is refused by rule {rule}: the API server proxy tunnels arbitrary HTTP past these rules. Use port-forward, which is reviewed, or ask a cluster administrator.',
      ),
      denyRule(
        'k8s-agents-no-proxy-verb',
        { verbs: ['proxy'] },
        '{kind} is refused by rule {rule}: the API server proxy tunnels arbitrary HTTP past these rules.',
      ),
      denyRule(
        'k8s-agents-no-destructive-exec',
        { resources: ['pods/exec'], commandCategories: ['destructive', 'privilege', 'exfiltration'] },
        '{kind} is refused by rule {rule}: the command destroys data, gains privileges or sends data away. Run a read-only command, or ask a person with access to the pod.',
      ),
      denyRule(
        'k8s-agents-no-traffic-redirects',
        {
          verbs: ['create', 'update', 'patch'],
          resources: [...KUBERNETES_ROUTE_RESOURCES],
          commandCategories: ['privilege'],
        },
        "{kind} is refused by rule {rule}: it sends traffic others address to a Service, an address or a host the writer chooses (a Service's externalIPs or externalName, a load balancer's address, a Service's endpoints, the hosts and paths an Ingress or a route claims, where a node's kubelet is), and the credentials in that traffic with it. Ask a cluster administrator.",
      ),
      denyRule(
        'k8s-agents-no-granted-powers',
        {
          verbs: ['create', 'update', 'patch'],
          resources: [...KUBERNETES_GRANT_RESOURCES],
          commandCategories: ['privilege', 'secrets'],
        },
        "{kind} is refused by rule {rule}: it gives someone rights in the cluster or a credential for it, or decides what the cluster's own components or every pod of a kind are given, outside these rules. Ask a cluster administrator.",
      ),
      denyRule(
        'k8s-agents-no-privileged-pods',
        { verbs: ['create', 'update', 'patch'], commandCategories: ['privilege'] },
        "{kind} is refused by rule {rule}: such a pod is root on its node or acts with another service account's rights. Leave out those fields, or ask a cluster administrator.",
      ),
      {
        id: 'k8s-agents-review-interactive-exec',
        effect: 'review',
        match: { resources: ['pods/exec', 'pods/attach'], tty: true },
        ...review,
        ...mask,
      },
      {
        id: 'k8s-agents-review-exec-input',
        effect: 'review',
        match: { resources: ['pods/exec', 'pods/attach'], stdin: true },
        ...review,
        ...mask,
      },
      {
        // An exec into a pod whose container holds Secrets (env, mounted volumes) reads them as a
        // Secret read does, which is reviewed: `printenv DB_PASSWORD` is one.
        id: 'k8s-agents-review-exec-secrets',
        effect: 'review',
        match: { resources: ['pods/exec'], commandCategories: ['secrets'] },
        ...review,
        ...mask,
      },
      {
        id: 'k8s-agents-review-unjudged-exec',
        effect: 'review',
        match: { resources: ['pods/exec'], commandCategories: ['unknown', 'write'] },
        ...review,
        ...mask,
      },
      {
        id: 'k8s-agents-review-attach-port-forward',
        effect: 'review',
        match: { resources: ['pods/attach', 'pods/portforward'] },
        ...review,
        ...mask,
      },
      {
        id: 'k8s-agents-review-secret-reads',
        effect: 'review',
        match: { resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
        ...review,
        ...mask,
      },
      {
        id: 'k8s-agents-review-writes',
        effect: 'review',
        match: {
          verbs: ['create', 'update', 'patch', 'delete'],
          resources: ['*', ...KUBERNETES_PLAIN_SUBRESOURCES],
        },
        ...review,
        ...mask,
      },
      {
        id: 'k8s-agents-allow-read-exec',
        effect: 'allow',
        match: { resources: ['pods/exec'], commandCategories: ['read'] },
        ...mask,
      },
      {
        id: 'k8s-agents-allow-reads',
        effect: 'allow',
        match: { verbs: ['get', 'list', 'watch'], resources: ['*', ...KUBERNETES_PLAIN_SUBRESOURCES] },
        ...mask,
      },
      {
        id: 'k8s-agents-allow-discovery',
        effect: 'allow',
        match: { verbs: ['get'], nonResourceURLs: [...KUBERNETES_DISCOVERY_URLS] },
      },
    ],
  };
  const admins: PolicyConfig = {
    id: 'k8s-admins',
    description:
      'People in the cluster admin group keep broad rights; deleting namespaces, nodes, PVs and CRDs still needs a second person.',
    subjects: { groups: [...(options.adminGroups ?? ['k8s-admins'])], agent: false },
    connections: [...connections],
    rules: [
      {
        id: 'k8s-admins-review-destructive',
        effect: 'review',
        match: {
          verbs: ['delete', 'deletecollection'],
          resources: ['namespaces', 'nodes', 'persistentvolumes', 'customresourcedefinitions'],
        },
        ...review,
      },
      { id: 'k8s-admins-allow-all', effect: 'allow', match: {} },
    ],
  };
  return [agents, admins];
}
