// Compiles `policies:` and `policyDefaults:` config into an immutable snapshot the decider evaluates:
// patterns become matchers once, so a decision does no parsing. No evaluation happens here.

import type { Identity } from '../core/identity.js';
import type { ReviewMode } from '../core/decision.js';
import { SQL_CATEGORIES, type SqlCategory } from '../core/sql-statement.js';
import type {
  PolicyConfig,
  PolicyDefaultsConfig,
  RuleConfig,
  SubjectMatchConfig,
} from '../config/policy-schema.js';
import {
  compileGlob,
  compileNamePattern,
  DEFAULT_RESOLUTION,
  resolutionFor,
  type Glob,
  type NamePattern,
  type UnqualifiedResolution,
} from './glob.js';
import {
  compileKubernetesMatch,
  hasCommandFields,
  hasKubernetesOnlyFields,
  type KubernetesMatch,
} from './kubernetes-match.js';
import { compileSshMatch, hasSshOnlyFields, type SshMatch } from './ssh-match.js';
import { compilePathPattern, type PathPattern } from './path-pattern.js';
import { compileAwsResources, type AwsResourceMatch } from './aws-resource-names.js';

/**
 * Which actions a rule can match. `command`: the rule names only fields Kubernetes exec and SSH share
 * (commands, commandCategories, tty, ports), so it matches both.
 */
export type RuleDomain = 'any' | 'sql' | 'http' | 'kubernetes' | 'ssh' | 'command';

export interface CompiledRule {
  readonly policyId: string;
  readonly id: string;
  readonly effect: 'allow' | 'deny' | 'review';
  /** Which actions the rule can match: SQL-only fields make it `sql`, HTTP-only fields `http`. */
  readonly domain: RuleDomain;
  readonly categories: ReadonlySet<SqlCategory> | undefined;
  /** The listed categories as bits (CATEGORY_BIT); every bit when the rule lists none. */
  readonly categoryBits: number;
  readonly kinds: readonly Glob[] | undefined;
  readonly tables: readonly NamePattern[] | undefined;
  readonly functions: readonly NamePattern[] | undefined;
  readonly operations: readonly Glob[] | undefined;
  /** Upper-case methods; undefined when any method matches. */
  readonly methods: ReadonlySet<string> | undefined;
  readonly paths: readonly PathPattern[] | undefined;
  /** AWS resources (HttpAction.resource, and for deny and review the names it mentions): aws-resource-names.ts. */
  readonly awsResources: AwsResourceMatch | undefined;
  /** Kubernetes matchers; undefined unless the rule names a Kubernetes (or shared command) field. */
  readonly kubernetes: KubernetesMatch | undefined;
  /** SSH matchers; undefined unless the rule names an SSH (or shared command) field. */
  readonly ssh: SshMatch | undefined;
  readonly message: string | undefined;
  readonly mode: ReviewMode;
  readonly approval: string | undefined;
  readonly mask: boolean | string | undefined;
  readonly rowCap: number | undefined;
  readonly config: RuleConfig;
}

export interface CompiledPolicy {
  readonly id: string;
  readonly subjects: readonly SubjectMatchConfig[];
  readonly allConnections: boolean;
  readonly connections: ReadonlySet<string>;
  readonly rules: readonly CompiledRule[];
}

export interface DefaultEffect {
  readonly effect: 'deny' | 'review';
  readonly mode: ReviewMode;
  readonly approval: string | undefined;
  readonly message: string | undefined;
  /** Where unqualified names are assumed to live on this connection. */
  readonly resolution: UnqualifiedResolution;
  /** Where it came from: `policyDefaults.<name>`, `policyDefaults."*"` or `built-in`. */
  readonly source: string;
}

export interface CompiledPolicies {
  readonly policies: readonly CompiledPolicy[];
  defaultFor(connection: string): DefaultEffect;
}

const BUILT_IN_DEFAULT: DefaultEffect = {
  effect: 'deny',
  mode: 'hold',
  approval: undefined,
  message: undefined,
  resolution: DEFAULT_RESOLUTION,
  source: 'built-in',
};

export function compilePolicies(
  policies: readonly PolicyConfig[],
  defaults: PolicyDefaultsConfig | undefined,
): CompiledPolicies {
  const compiled = policies.map(compilePolicy);
  const table = new Map<string, DefaultEffect>();
  for (const [conn, d] of Object.entries(defaults ?? {})) {
    const source = `policyDefaults.${conn === '*' ? '"*"' : conn}`;
    table.set(
      conn,
      typeof d === 'string'
        ? {
            effect: d,
            mode: 'hold',
            approval: undefined,
            message: undefined,
            resolution: DEFAULT_RESOLUTION,
            source,
          }
        : {
            effect: d.effect,
            mode: d.mode ?? 'hold',
            approval: d.approval,
            message: d.message,
            resolution: resolutionFor(d.searchPath),
            source,
          },
    );
  }
  return {
    policies: compiled,
    defaultFor: (connection) => table.get(connection) ?? table.get('*') ?? BUILT_IN_DEFAULT,
  };
}

function compilePolicy(p: PolicyConfig): CompiledPolicy {
  return {
    id: p.id,
    subjects: Array.isArray(p.subjects) ? p.subjects : [p.subjects],
    allConnections: p.connections.includes('*'),
    connections: new Set(p.connections),
    rules: p.rules.map((r) => compileRule(p.id, r)),
  };
}

const KNOWN_CATEGORIES: ReadonlySet<string> = new Set(SQL_CATEGORIES);

/** One bit per taxonomy category, so "does this rule list any of the statement's categories" is one AND. */
export const CATEGORY_BIT: ReadonlyMap<SqlCategory, number> = new Map(
  SQL_CATEGORIES.map((c, i) => [c, 1 << i]),
);
const ALL_CATEGORY_BITS = (1 << SQL_CATEGORIES.length) - 1;

function compileRule(policyId: string, r: RuleConfig): CompiledRule {
  const m = r.match;
  const sql =
    m.categories !== undefined ||
    m.kinds !== undefined ||
    m.tables !== undefined ||
    m.functions !== undefined;
  const http =
    m.operations !== undefined ||
    m.methods !== undefined ||
    m.paths !== undefined ||
    m.awsResources !== undefined;
  const kubeOnly = hasKubernetesOnlyFields(m);
  const sshOnly = hasSshOnlyFields(m);
  const command = kubeOnly || sshOnly || hasCommandFields(m);
  if ([sql, http, command].filter(Boolean).length > 1 || (kubeOnly && sshOnly))
    throw new Error(`rule ${r.id}: matches more than one kind of action (SQL, HTTP, Kubernetes, SSH)`);
  const domain: RuleDomain = sql
    ? 'sql'
    : http
      ? 'http'
      : kubeOnly
        ? 'kubernetes'
        : sshOnly
          ? 'ssh'
          : command
            ? 'command'
            : 'any';
  for (const c of m.categories ?? []) {
    if (!KNOWN_CATEGORIES.has(c)) throw new Error(`rule ${r.id}: unknown category ${c}`);
  }
  return {
    policyId,
    id: r.id,
    effect: r.effect,
    domain,
    categories: m.categories === undefined ? undefined : new Set(m.categories),
    categoryBits:
      m.categories === undefined
        ? ALL_CATEGORY_BITS
        : m.categories.reduce((bits, c) => bits | CATEGORY_BIT.get(c)!, 0),
    kinds: m.kinds?.map(compileGlob),
    tables: m.tables?.map(compileNamePattern),
    functions: m.functions?.map(compileNamePattern),
    operations: m.operations?.map(compileGlob),
    methods:
      m.methods === undefined || m.methods.includes('*')
        ? undefined
        : new Set(m.methods.map((x) => x.toUpperCase())),
    paths: m.paths?.map(compilePathPattern),
    awsResources: m.awsResources === undefined ? undefined : compileAwsResources(m.awsResources),
    kubernetes: domain === 'kubernetes' || domain === 'command' ? compileKubernetesMatch(m) : undefined,
    ssh: domain === 'ssh' || domain === 'command' ? compileSshMatch(m) : undefined,
    message: r.message,
    mode: r.mode ?? 'hold',
    approval: r.approval,
    mask: r.mask,
    rowCap: r.rowCap,
    config: r,
  };
}

/** All given fields must match; lists are any-of; `agent` compares exactly. */
export function subjectMatches(m: SubjectMatchConfig, identity: Identity): boolean {
  if (m.agent !== undefined && m.agent !== identity.agent) return false;
  if (m.tokenKinds !== undefined && !(m.tokenKinds as readonly string[]).includes(identity.tokenKind))
    return false;
  if (m.subjects !== undefined && !m.subjects.includes(identity.subject)) return false;
  if (m.groups !== undefined && !m.groups.some((g) => identity.groups.includes(g))) return false;
  return true;
}

/** Why a subject matcher does not match (for traces); undefined when it does. */
export function subjectMismatch(m: SubjectMatchConfig, identity: Identity): string | undefined {
  if (m.agent !== undefined && m.agent !== identity.agent) {
    return m.agent
      ? 'only agent principals, and this one is not an agent'
      : 'only non-agent principals, and this one is an agent';
  }
  if (m.tokenKinds !== undefined && !(m.tokenKinds as readonly string[]).includes(identity.tokenKind)) {
    return `token kind ${identity.tokenKind} is not one of [${m.tokenKinds.join(', ')}]`;
  }
  if (m.subjects !== undefined && !m.subjects.includes(identity.subject)) {
    return `subject ${identity.subject} is not one of [${m.subjects.join(', ')}]`;
  }
  if (m.groups !== undefined && !m.groups.some((g) => identity.groups.includes(g))) {
    return `groups [${identity.groups.join(', ')}] include none of [${m.groups.join(', ')}]`;
  }
  return undefined;
}

export function policyApplies(p: CompiledPolicy, identity: Identity, connection: string): boolean {
  if (!p.allConnections && !p.connections.has(connection)) return false;
  for (const s of p.subjects) if (subjectMatches(s, identity)) return true;
  return false;
}
