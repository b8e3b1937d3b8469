// Kubernetes rule matchers (docs/kubernetes.md): verbs, API groups, resources with subresources,
// namespaces, names, non-resource URLs, exec commands and their shell risk categories, tty/stdin and
// port-forward ports, compiled once per policy snapshot. Pure matching; the decider owns the order.

import { kubernetesBodyCategories, type KubernetesAction } from '../core/action.js';
import type { RuleMatchConfig } from '../config/policy-schema.js';
import { commandMismatch, compileCommandMatch, compilePorts, portsMismatch } from './command-match.js';
import { compileGlob, type Glob } from './glob.js';
import { compilePathPattern, type PathPattern } from './path-pattern.js';

export interface KubernetesMatch {
  readonly verbs: ReadonlySet<string> | undefined;
  readonly apiGroups: readonly Glob[] | undefined;
  /** `sub`: the pattern names a subresource (it has a `/`); otherwise it matches main resources only. */
  readonly resources: readonly { readonly glob: Glob; readonly sub: boolean }[] | undefined;
  readonly namespaces: readonly Glob[] | undefined;
  readonly names: readonly Glob[] | undefined;
  readonly nonResourceURLs: readonly PathPattern[] | undefined;
  readonly commands: readonly Glob[] | undefined;
  readonly commandCategories: ReadonlySet<string> | undefined;
  readonly tty: boolean | undefined;
  readonly stdin: boolean | undefined;
  readonly ports: readonly (readonly [number, number])[] | undefined;
}

/** Fields only Kubernetes requests have (a rule naming one matches Kubernetes requests only). */
export function hasKubernetesOnlyFields(m: RuleMatchConfig): boolean {
  return (
    m.verbs !== undefined ||
    m.apiGroups !== undefined ||
    m.resources !== undefined ||
    m.namespaces !== undefined ||
    m.names !== undefined ||
    m.nonResourceURLs !== undefined ||
    m.stdin !== undefined
  );
}

/** The command fields Kubernetes exec and SSH share (a rule naming only these matches both). */
export function hasCommandFields(m: RuleMatchConfig): boolean {
  return (
    m.commands !== undefined ||
    m.commandCategories !== undefined ||
    m.tty !== undefined ||
    m.ports !== undefined
  );
}

export function compileKubernetesMatch(m: RuleMatchConfig): KubernetesMatch {
  const command = compileCommandMatch(m);
  return {
    verbs:
      m.verbs === undefined || m.verbs.includes('*')
        ? undefined
        : new Set(m.verbs.map((v) => v.toLowerCase())),
    apiGroups: m.apiGroups?.map((g) => compileGlob(g === 'core' ? '' : g)),
    resources: m.resources?.map((r) => ({ glob: compileGlob(r), sub: r.includes('/') })),
    namespaces: m.namespaces?.map(compileGlob),
    names: m.names?.map(compileGlob),
    nonResourceURLs: m.nonResourceURLs?.map(compilePathPattern),
    commands: command.commands,
    commandCategories: command.commandCategories,
    tty: m.tty,
    stdin: m.stdin,
    ports: compilePorts(m.ports),
  };
}

/** `pods`, `pods/exec`: what `resources:` patterns match. */
function resourcePath(a: KubernetesAction): string {
  return (a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`).toLowerCase();
}

// A pattern without `/` matches main resources only (`pods`, `*`); one with `/` matches subresources
// (`pods/exec`, `*/log`, `*/*`). So `*` never covers exec, attach or port-forward by accident.
function resourceMatches(patterns: NonNullable<KubernetesMatch['resources']>, a: KubernetesAction): boolean {
  const main = a.resource.toLowerCase();
  const full = resourcePath(a);
  for (const p of patterns) {
    if (p.sub ? a.subresource !== '' && p.glob(full) : a.subresource === '' && p.glob(main)) return true;
  }
  return false;
}

function any(globs: readonly Glob[], s: string): boolean {
  for (const g of globs) if (g(s)) return true;
  return false;
}

const STREAMING = new Set(['exec', 'attach']);

/**
 * Why a rule does not match the action, or undefined when it does. `grant` is the sense of an allow
 * rule: its command categories and ports must cover all of the action's; deny and review rules fire
 * when any one is listed.
 */
export function kubernetesMismatch(
  k: KubernetesMatch,
  a: KubernetesAction,
  grant: boolean,
): string | undefined {
  if (k.nonResourceURLs !== undefined) {
    if (a.resourceRequest) return 'the rule matches non-resource URLs and this is a resource request';
    if (!k.nonResourceURLs.some((p) => p(a.path))) return `path ${a.path} is not in nonResourceURLs`;
  } else if (!a.resourceRequest) {
    return `${a.path} is a non-resource URL and the rule names no nonResourceURLs`;
  }
  if (k.verbs !== undefined && !k.verbs.has(a.verb)) return `verb ${a.verb} is not listed`;
  if (k.apiGroups !== undefined && !any(k.apiGroups, a.apiGroup.toLowerCase()))
    return `API group "${a.apiGroup}" is not listed`;
  if (k.resources !== undefined && !resourceMatches(k.resources, a))
    return `resource ${resourcePath(a)} is not listed`;
  if (k.namespaces !== undefined && !any(k.namespaces, a.namespace.toLowerCase()))
    return a.namespace === '' ? 'the request is cluster-scoped' : `namespace ${a.namespace} is not listed`;
  if (k.names !== undefined && !any(k.names, a.name.toLowerCase()))
    return a.name === '' ? 'the request names no object' : `name ${a.name} is not listed`;
  const streaming = STREAMING.has(a.subresource);
  if (k.commands !== undefined || k.commandCategories !== undefined) {
    const text = a.subresource === 'exec' ? (a.command ?? []).join(' ') : undefined;
    // A write of a pod spec that makes the pod privilege is `privilege` to category rules, as a
    // command that gains privileges is: one rule keeps both off (docs/kubernetes.md).
    // So is a write that grants rights, and `secrets` one that yields a credential (granted-powers.ts).
    const body = text === undefined ? kubernetesBodyCategories(a) : [];
    const why =
      body.length > 0 && k.commands === undefined
        ? commandMismatch(k, '', body, grant)
        : commandMismatch(k, text, a.commandCategories, grant);
    if (why !== undefined) return why;
  }
  if (k.tty !== undefined && (!streaming || a.tty !== k.tty))
    return k.tty ? 'the session has no terminal' : 'the session has a terminal';
  if (k.stdin !== undefined && (!streaming || a.stdin !== k.stdin))
    return k.stdin ? 'the session sends no input' : 'the session sends input';
  if (k.ports !== undefined) {
    const why = portsMismatch(k.ports, a.ports ?? [], grant);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** The request in words for messages: `delete namespaces prod`, `exec in pod web (namespace default): rm -rf /data`. */
export function kubernetesWhat(a: KubernetesAction): string {
  if (!a.resourceRequest) return `${a.verb.toUpperCase()} ${a.path}`;
  const ns = a.namespace !== '' && a.resource !== 'namespaces' ? ` in namespace ${a.namespace}` : '';
  if (a.subresource === 'exec' || a.subresource === 'attach') {
    const cmd = a.command && a.command.length > 0 ? `: ${a.command.join(' ')}` : '';
    const secrets =
      a.podSecrets && a.podSecrets.length > 0 ? ` (the pod holds Secrets: ${a.podSecrets.join('; ')})` : '';
    return `${a.subresource} in pod ${a.name}${ns}${cmd}${secrets}`;
  }
  if (a.subresource === 'portforward') {
    const ports = a.ports && a.ports.length > 0 ? ` ports ${a.ports.join(', ')}` : '';
    return `port-forward to pod ${a.name}${ns}${ports}`;
  }
  const group = a.apiGroup === '' ? '' : `.${a.apiGroup}`;
  const sub = a.subresource === '' ? '' : `/${a.subresource}`;
  const privilege =
    (a.podPrivileges && a.podPrivileges.length > 0
      ? ` (a pod that is privilege: ${a.podPrivileges.join(', ')})`
      : '') + (a.grants && a.grants.length > 0 ? ` (it grants: ${a.grants.join('; ')})` : '');
  return `${a.verb} ${a.resource}${group}${sub}${a.name === '' ? '' : ` ${a.name}`}${ns}${privilege}`;
}
