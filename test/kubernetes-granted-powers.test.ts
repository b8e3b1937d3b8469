// A write that gives someone rights in the cluster, or a credential for it, was decided as an ordinary
// write: a RoleBinding of cluster-admin to a service account, a Role with `*` verbs or access to
// Secrets, a ClusterRole that aggregates into admin, a Secret of type service-account-token (the
// cluster fills it with the account's token), a CertificateSigningRequest, a TokenRequest. Now their
// bodies are read and such writes are `privilege` (and `secrets` where they yield a credential), with
// what they grant named (docs/security.md class 118). Real kubectl and raw requests against the fake
// API server.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import type { KubernetesAction } from '../src/core/action.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

/**
 * A team's own policy for its agent: it may write in namespace `dev`, but nothing that is privilege
 * or hands out secrets (one rule for commands, pods and grants alike).
 */
const TEAM: PolicyConfig = {
  id: 'team',
  subjects: { groups: ['team-agents'] },
  connections: ['prod-k8s'],
  rules: [
    {
      id: 'team-no-privilege',
      effect: 'deny',
      match: { commandCategories: ['privilege', 'secrets'] },
    },
    { id: 'team-writes-dev', effect: 'allow', match: { namespaces: ['dev', ''] } },
    {
      id: 'team-discovery',
      effect: 'allow',
      match: { verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/**'] },
    },
  ],
};

/** People in `ops` may write; a write that grants is held for a second person. */
const OPS: PolicyConfig = {
  id: 'ops',
  subjects: { groups: ['ops'], agent: false },
  connections: ['prod-k8s'],
  rules: [
    { id: 'ops-review-grants', effect: 'review', match: { commandCategories: ['privilege', 'secrets'] } },
    { id: 'ops-allow', effect: 'allow', match: {} },
  ],
};

describe('writes that grant rights or credentials', { timeout: 120_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;
  let team: string;
  let ops: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: [...defaultKubernetesPolicies(['prod-k8s']), TEAM, OPS],
    });
    agent = await gw.token({ subject: 'claude', agent: true });
    team = await gw.token({ subject: 'team-bot', agent: false, groups: ['team-agents'] });
    ops = await gw.token({ subject: 'olga', agent: false, groups: ['ops'] });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  const send = (token: string, method: string, target: string, body: string, type: string) =>
    gw.send(token, method, target, body, type);

  const writes = () => api.seen.filter((s) => s.method !== 'GET').length;

  /** Runs kubectl; fails the test at once if the request is held for approval instead of refused. */
  async function refusedKubectl(token: string, args: string[]): Promise<string> {
    return gw.refusedKubectl(token, args);
  }

  /** An object written to a file for `kubectl create -f` (sent as JSON, as for `apply`). */
  function file(name: string, obj: unknown): string {
    const f = path.join(gw.dir, `${name}.json`);
    writeFileSync(f, JSON.stringify(obj));
    return f;
  }

  it.skipIf(!haveKubectl)(
    "kubectl's bindings, roles and tokens are refused under a rule that allows writes; a read-only role is not",
    async () => {
      const before = writes();
      // kubectl's typed commands send protobuf: read too.
      const typed = await refusedKubectl(team, [
        'create',
        'rolebinding',
        'mine',
        '-n',
        'dev',
        '--clusterrole=cluster-admin',
        '--serviceaccount=dev:default',
      ]);
      expect(typed).toContain('team-no-privilege');
      expect(typed).toContain('roleRef ClusterRole cluster-admin to ServiceAccount dev/default');
      const typedRole = await refusedKubectl(team, [
        'create',
        'role',
        'peek',
        '-n',
        'dev',
        '--verb=get',
        '--resource=secrets',
      ]);
      expect(typedRole).toContain('rules[0] grants get on secrets');
      const typedSecret = await refusedKubectl(team, [
        'create',
        'secret',
        'generic',
        'tok',
        '-n',
        'dev',
        '--type=kubernetes.io/service-account-token',
      ]);
      expect(typedSecret).toContain('type=kubernetes.io/service-account-token');
      const rb = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'mine', namespace: 'dev' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'dev' }],
      };
      const binding = await refusedKubectl(team, ['create', '--validate=false', '-f', file('rb', rb)]);
      expect(binding).toContain('team-no-privilege');
      expect(binding).toContain('roleRef ClusterRole cluster-admin to ServiceAccount dev/default');
      const role = (name: string, verbs: string[], resources: string[]) => ({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name, namespace: 'dev' },
        rules: [{ apiGroups: [''], resources, verbs }],
      });
      const star = await refusedKubectl(team, [
        'create',
        '--validate=false',
        '-f',
        file('star', role('all', ['*'], ['pods'])),
      ]);
      expect(star).toContain('team-no-privilege');
      expect(star).toContain('rules[0] grants * on pods');
      const secrets = await refusedKubectl(team, [
        'create',
        '--validate=false',
        '-f',
        file('peek', role('peek', ['get'], ['secrets'])),
      ]);
      expect(secrets).toContain('rules[0] grants get on secrets');
      const exec = await refusedKubectl(team, [
        'create',
        '--validate=false',
        '-f',
        file('exec', role('shell', ['create'], ['pods/exec'])),
      ]);
      expect(exec).toContain('rules[0] grants create on pods/exec');
      const token = await refusedKubectl(team, ['create', 'token', 'default', '-n', 'dev']);
      expect(token).toContain('a token of service account default');
      expect(writes()).toBe(before);
      // A role that only reads pods grants nothing past the rule: it reaches the API server, as JSON
      // and as kubectl's protobuf.
      const roles = () =>
        api.seen.filter((s) => s.method === 'POST' && s.url.includes('/namespaces/dev/roles'));
      await gw.kubectl(team, [
        'create',
        '--validate=false',
        '-f',
        file('reader', role('reader', ['get'], ['pods'])),
      ]);
      expect(roles()).toHaveLength(1);
      await gw.kubectl(team, [
        'create',
        'role',
        'reader2',
        '-n',
        'dev',
        '--verb=get,list',
        '--resource=pods',
      ]);
      expect(roles()).toHaveLength(2);
    },
  );

  it('aggregation, token Secrets, CSRs and patches are refused for agents by the default policy; plain Secrets held', async () => {
    const before = writes();
    const asked = gw.approver.seen.length;
    const cases: [string, string, string, unknown, string, string, string][] = [
      [
        team,
        'POST',
        '/apis/rbac.authorization.k8s.io/v1/clusterroles',
        {
          kind: 'ClusterRole',
          metadata: { name: 'sneak', labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } },
          rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
        },
        'application/json',
        'aggregate-to-admin',
        'team-no-privilege',
      ],
      [
        team,
        'PATCH',
        '/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles/reader',
        [{ op: 'add', path: '/rules/0/verbs/-', value: 'escalate' }],
        'application/json-patch+json',
        'rules.0.verbs.- changed',
        'team-no-privilege',
      ],
      [
        team,
        'PATCH',
        '/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings/mine',
        { subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'dev' }] },
        'application/merge-patch+json',
        'subjects ServiceAccount dev/default',
        'team-no-privilege',
      ],
      [
        agent,
        'POST',
        '/api/v1/namespaces/default/secrets',
        {
          kind: 'Secret',
          type: 'kubernetes.io/service-account-token',
          metadata: { name: 't', annotations: { 'kubernetes.io/service-account.name': 'deployer' } },
        },
        'application/json',
        'type=kubernetes.io/service-account-token for service account deployer',
        'k8s-agents-no-granted-powers',
      ],
      [
        agent,
        'POST',
        '/apis/certificates.k8s.io/v1/certificatesigningrequests',
        {
          kind: 'CertificateSigningRequest',
          metadata: { name: 'me' },
          spec: {
            request: 'LS0t',
            signerName: 'kubernetes.io/kube-apiserver-client',
            usages: ['client auth'],
          },
        },
        'application/json',
        'for signer kubernetes.io/kube-apiserver-client',
        'k8s-agents-no-granted-powers',
      ],
      [
        team,
        'PUT',
        '/apis/certificates.k8s.io/v1/certificatesigningrequests/me/approval',
        { kind: 'CertificateSigningRequest', metadata: { name: 'me' } },
        'application/json',
        'approval of certificate signing request me',
        'team-no-privilege',
      ],
    ];
    for (const [token, method, target, body, type, grant, rule] of cases) {
      const r = await send(token, method, target, JSON.stringify(body), type);
      expect(r.status, `${method} ${target}`).toBe(403);
      expect(r.body, target).toContain(rule);
      expect(r.body, target).toContain(grant);
    }
    // A body Gatehouse cannot read may grant anything.
    const yaml = await send(
      team,
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings',
      'kind: RoleBinding\nroleRef: {kind: ClusterRole, name: cluster-admin}\n',
      'application/yaml',
    );
    expect(yaml.status).toBe(403);
    expect(yaml.body).toContain('it is not JSON text, so it may grant anything');
    expect(gw.approver.seen.length).toBe(asked);
    expect(writes()).toBe(before);
    // An ordinary Secret grants nothing: held for review as before (class 84).
    const plain = send(
      agent,
      'POST',
      '/api/v1/namespaces/default/secrets',
      JSON.stringify({ kind: 'Secret', metadata: { name: 'plain' }, stringData: { a: 'b' } }),
      'application/json',
    );
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('k8s-agents-review-writes');
    expect(held.ctx.action.describe.categories).toEqual(['write']);
    held.deny();
    expect((await plain).status).toBe(403);
  });

  it("a person's review shows what the binding grants", async () => {
    const pending = send(
      ops,
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      JSON.stringify({
        kind: 'ClusterRoleBinding',
        metadata: { name: 'ci-admin' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'ci', namespace: 'prod' }],
      }),
      'application/json',
    );
    const held = await gw.approver.next();
    const action = held.ctx.action as KubernetesAction;
    expect(held.ctx.decision.ruleId).toBe('ops-review-grants');
    expect(action.describe.categories).toEqual(['write', 'privilege', 'secrets']);
    expect(action.describe.params).toEqual([
      'grants: roleRef ClusterRole cluster-admin to ServiceAccount prod/ci',
    ]);
    held.deny();
    expect((await pending).status).toBe(403);
  });
});
