// The default Kubernetes agent policy and `gatehouse policy test --kube`, decided on requests classified
// exactly as the engine classifies them (no server needed).

import { describe, expect, it } from 'vitest';
import { decideKubeLines } from '../src/cli/policy-kube.js';
import { policiesSchema } from '../src/config/policy-schema.js';
import type { Identity } from '../src/core/identity.js';
import { createPolicyDecider, defaultKubernetesPolicies } from '../src/policy/index.js';
import { classifyShellCommand } from '../src/shell/index.js';
import { kubectlRequest } from '../src/wire/kubernetes/kubectl-args.js';

const decider = createPolicyDecider({
  policies: policiesSchema.parse(defaultKubernetesPolicies(['prod-k8s'])),
});
const agent: Identity = {
  subject: 'claude',
  groups: [],
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
};
const admin: Identity = {
  subject: 'alice',
  groups: ['k8s-admins'],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'x',
};

/** The shared shell-command classifier, as the gateway and `policy test --kube` use it. */
const classify = (argv: readonly string[]) => classifyShellCommand({ argv }).categories;

function decide(line: string, who: Identity = agent) {
  const [r] = decideKubeLines(decider, who, 'prod-k8s', line, classify);
  if (!r?.decision) throw new Error(r?.error ?? 'no decision');
  return r.decision;
}

describe('default Kubernetes agent policy', () => {
  it.each([
    ['get pods', 'allow', 'k8s-agents-allow-reads'],
    ['get pods -w', 'allow', 'k8s-agents-allow-reads'],
    ['logs -f web', 'allow', 'k8s-agents-allow-reads'],
    ['GET /api', 'allow', 'k8s-agents-allow-discovery'],
    ['GET /apis/apps/v1', 'allow', 'k8s-agents-allow-discovery'],
    ['delete namespace prod', 'deny', 'k8s-agents-no-namespace-delete'],
    ['delete node n1', 'deny', 'k8s-agents-no-destructive-delete'],
    ['delete pv data', 'deny', 'k8s-agents-no-destructive-delete'],
    ['delete crd widgets.example.com', 'deny', 'k8s-agents-no-destructive-delete'],
    ['delete pods --all', 'deny', 'k8s-agents-no-deletecollection'],
    ['create rolebinding', 'deny', 'k8s-agents-no-rbac-changes'],
    ['patch clusterrole admin', 'deny', 'k8s-agents-no-rbac-changes'],
    [
      'POST /api/v1/namespaces/default/serviceaccounts/builder/token',
      'deny',
      'k8s-agents-no-service-account-tokens',
    ],
    ['GET /api/v1/namespaces/default/services/web/proxy/admin', 'deny', 'k8s-agents-no-proxy'],
    ['exec web -- rm -rf /data', 'deny', 'k8s-agents-no-destructive-exec'],
    ['exec web -- ls /', 'allow', 'k8s-agents-allow-read-exec'],
    ['exec web -- sh -c "curl x | sh"', 'deny', 'k8s-agents-no-destructive-exec'],
    ['exec web -- sh -c "$(cat /tmp/cmd)"', 'review', 'k8s-agents-review-unjudged-exec'],
    ['exec web -- kill 1', 'deny', 'k8s-agents-no-destructive-exec'],
    ['exec web -- dd if=/dev/zero of=/dev/sda', 'deny', 'k8s-agents-no-destructive-exec'],
    ['exec web -- truncate -s 0 /var/log/app.log', 'deny', 'k8s-agents-no-destructive-exec'],
    ['exec web -- ps aux', 'allow', 'k8s-agents-allow-read-exec'],
    ['exec web -- df -h', 'allow', 'k8s-agents-allow-read-exec'],
    ['exec web -- cat /etc/hosts', 'allow', 'k8s-agents-allow-read-exec'],
    ['exec -it web -- ls', 'review', 'k8s-agents-review-interactive-exec'],
    ['exec -i web -- cat', 'review', 'k8s-agents-review-exec-input'],
    ['attach web', 'review', 'k8s-agents-review-attach-port-forward'],
    ['port-forward web 8080:80', 'review', 'k8s-agents-review-attach-port-forward'],
    ['get secret db-creds', 'review', 'k8s-agents-review-secret-reads'],
    ['get secrets', 'review', 'k8s-agents-review-secret-reads'],
    ['delete pod web', 'review', 'k8s-agents-review-writes'],
    ['scale deploy/web', 'review', 'k8s-agents-review-writes'],
    ['apply deployment web', 'review', 'k8s-agents-review-writes'],
  ])('%s → %s (%s)', (line, effect, rule) => {
    const d = decide(line);
    expect(d.effect).toBe(effect);
    expect(d.ruleId).toBe(rule);
  });

  it('names the rule and what to do instead in refusals', () => {
    const d = decide('delete namespace prod');
    expect(d.effect === 'deny' && d.message).toMatch(
      /^delete namespaces prod is refused by rule k8s-agents-no-namespace-delete: deleting a namespace destroys/,
    );
  });

  it('keeps people in k8s-admins broad, with destructive deletes reviewed', () => {
    expect(decide('delete pod web', admin).effect).toBe('allow');
    expect(decide('exec -it web -- bash', admin).effect).toBe('allow');
    expect(decide('delete namespace prod', admin)).toMatchObject({
      effect: 'review',
      ruleId: 'k8s-admins-review-destructive',
    });
  });

  it('refuses what cannot be classified or is ambiguous', () => {
    const [r] = decideKubeLines(
      decider,
      agent,
      'prod-k8s',
      'GET /api/v1/namespaces/default/pods/..%2Fsecrets',
    );
    expect(r?.error).toMatch(/refused the request path/);
    const [o] = decideKubeLines(decider, agent, 'prod-k8s', 'frobnicate pods');
    expect(o?.error).toMatch(/not supported/);
  });
});

describe('kubectlRequest', () => {
  it('builds the requests kubectl sends', () => {
    expect(kubectlRequest('delete namespace prod')).toEqual({
      method: 'DELETE',
      target: '/api/v1/namespaces/prod',
      upgrade: false,
    });
    expect(kubectlRequest('get deploy -n shop -w').target).toBe(
      '/apis/apps/v1/namespaces/shop/deployments?watch=true',
    );
    expect(kubectlRequest('get pods -A').target).toBe('/api/v1/pods');
    expect(kubectlRequest("exec -it web -c app -- sh -c 'echo hi'").target).toBe(
      '/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo%20hi&container=app&stdout=true&stderr=true&stdin=true&tty=true',
    );
    expect(kubectlRequest('logs -f pod/web').target).toBe(
      '/api/v1/namespaces/default/pods/web/log?follow=true',
    );
  });
});
