// Public surface of the policy engine: the decider, its trace, the shipped default agent policy and
// the decision cache. Callers import from here, not from the files behind it.

export { createPolicyDecider, ENGINE_RULE_IDS } from './policy-decider.js';
export type { ExplainingPolicyDecider, PolicyDeciderConfig } from './policy-decider.js';
export type {
  PolicyTrace,
  PolicyTraceEntry,
  RuleTrace,
  CategoryCoverage,
  TracedAction,
} from './policy-trace.js';
export {
  defaultAgentPolicies,
  DEFAULT_AGENT_POLICIES,
  SEARCH_PATH_KINDS,
  CREDENTIAL_CATALOGS,
} from './default-agent-policy.js';
export type { DefaultAgentPolicyOptions } from './default-agent-policy.js';
export { DecisionCache, withDecisionCache } from './decision-cache.js';
export { policyVersion, canonicalJson } from './policy-version.js';
export { formatTrace, formatDecision } from './format-trace.js';
export { defaultAwsPolicies, type DefaultAwsPolicyOptions } from './default-aws-policy.js';
export {
  defaultKubernetesPolicies,
  KUBERNETES_DISCOVERY_URLS,
  type DefaultKubernetesPolicyOptions,
} from './default-kubernetes-policy.js';
export { defaultSshPolicies, type DefaultSshPolicyOptions } from './default-ssh-policy.js';
