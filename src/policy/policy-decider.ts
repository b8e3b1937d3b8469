// The policy decider: evaluates one action for one principal against an immutable compiled snapshot
// of `policies:` (deny wins, category coverage, default deny). Pure and synchronous; no I/O.

import type { Action, HttpAction, KubernetesAction, SqlAction, SshAction } from '../core/action.js';
import { deny, type Decision, type Obligations } from '../core/decision.js';
import type { Identity } from '../core/identity.js';
import type { PolicyDecider } from '../core/ports.js';
import { SQL_CATEGORIES, type SqlCategory } from '../core/sql-statement.js';
import type { PolicyConfig, PolicyDefaultsConfig } from '../config/policy-schema.js';
import {
  CATEGORY_BIT,
  compilePolicies,
  policyApplies,
  subjectMismatch,
  type CompiledPolicies,
  type CompiledPolicy,
  type CompiledRule,
  type DefaultEffect,
  type RuleDomain,
} from './compiled-policy.js';
import {
  functionRef,
  grantMatch,
  restrictionMatch,
  type NamePattern,
  type NameRef,
  type UnqualifiedResolution,
} from './glob.js';
import { kubernetesMismatch, kubernetesWhat } from './kubernetes-match.js';
import { sshMismatch, sshWhat } from './ssh-match.js';
import {
  connectionAccessMessage,
  displayKind,
  fillCustomMessage,
  httpMessage,
  mostSevere,
  sqlDefaultMessage,
  sqlDenyMessage,
  sqlNameMessage,
  sqlReviewMessage,
  unparseableMessage,
} from './policy-messages.js';
import type {
  CategoryCoverage,
  PolicyTrace,
  PolicyTraceEntry,
  RuleTrace,
  TracedAction,
} from './policy-trace.js';
import { policyVersion } from './policy-version.js';
import { resourceNames, type AwsResourceMatch, type ResourceNames } from './aws-resource-names.js';

export interface PolicyDeciderConfig {
  readonly policies: readonly PolicyConfig[];
  /** `policyDefaults:`: per-connection effect for what no rule covers (deny unless set to review). */
  readonly defaults?: PolicyDefaultsConfig;
}

export interface ExplainingPolicyDecider extends PolicyDecider {
  /** The full rule trace for one action; `trace.decision` equals `decide(identity, action)`. */
  explain(identity: Identity, action: Action): PolicyTrace;
  reachMatters(identity: Identity, connection: string, writes: boolean): boolean;
}

/** Rule ids of the engine's own decisions (see docs/policy.md). */
export const ENGINE_RULE_IDS = {
  connectionAccess: 'connection-access',
  defaultDeny: 'default-deny',
  defaultReview: 'default-review',
  noRestrictingRule: 'no-restricting-rule',
  unparseable: 'unparseable',
} as const;

export function createPolicyDecider(config: PolicyDeciderConfig): ExplainingPolicyDecider {
  const compiled = compilePolicies(config.policies, config.defaults);
  const version = policyVersion(config.policies, config.defaults);
  // Identities are immutable and live for a session: remember which policies apply to each.
  const applicableCache = new WeakMap<Identity, Map<string, readonly CompiledPolicy[]>>();

  function applicable(identity: Identity, connection: string): readonly CompiledPolicy[] {
    let perConnection = applicableCache.get(identity);
    if (perConnection === undefined) {
      perConnection = new Map();
      applicableCache.set(identity, perConnection);
    }
    let list = perConnection.get(connection);
    if (list === undefined) {
      list = compiled.policies.filter((p) => policyApplies(p, identity, connection));
      perConnection.set(connection, list);
    }
    return list;
  }

  // Per applicable list (so per identity and connection): whether reach can change a decision.
  const reachCache = new WeakMap<readonly CompiledPolicy[], { readAny: boolean; writes: boolean }>();

  return {
    version,
    reachMatters(identity, connection, writes) {
      const list = applicable(identity, connection);
      let r = reachCache.get(list);
      if (r === undefined) {
        r = { readAny: false, writes: false };
        for (const p of list)
          for (const rule of p.rules) {
            if ((rule.domain !== 'sql' && rule.domain !== 'any') || rule.tables === undefined) continue;
            // sqlTouchesReach: a deny or review rule restricted to tables sees reached user tables.
            if (rule.effect !== 'allow' && rule.tables.some(mayBeUserTable)) r.readAny = true;
            // sqlCoverMask: a grant restricted to tables covers a write only with all it reaches.
            if (rule.effect !== 'deny') r.writes = true;
          }
        reachCache.set(list, r);
      }
      return r.readAny || (writes && r.writes);
    },
    connectionAccess(identity, connection) {
      const list = applicable(identity, connection);
      const first = list[0];
      if (first === undefined) return connectionDenied(identity, connection);
      return { effect: 'allow', ruleId: first.id, obligations: {} };
    },
    decide(identity, action) {
      const list = applicable(identity, action.connection);
      if (list.length === 0) return connectionDenied(identity, action.connection);
      if (action.kind === 'sql') return evaluateSql(list, compiled, action, undefined);
      if (action.kind === 'kubernetes') return evaluateKubernetes(list, compiled, action, undefined);
      if (action.kind === 'ssh') return evaluateSsh(list, compiled, action, undefined);
      return evaluateHttp(list, compiled, action, undefined);
    },
    explain(identity, action) {
      return explain(compiled, version, identity, action);
    },
  };
}

function connectionDenied(identity: Identity, connection: string): Decision {
  return deny(ENGINE_RULE_IDS.connectionAccess, connectionAccessMessage(connection, identity.subject));
}

// ---------------------------------------------------------------------------------------------------
// SQL

/** A statement reduced to what rules compare, lower-cased once. */
interface SqlView {
  readonly kind: string;
  /** Distinct categories; a statement with none is treated as `unknown` (fail closed). */
  readonly cats: readonly SqlCategory[];
  /** Bit i set for cats[i]. */
  readonly full: number;
  /** CATEGORY_BIT of cats[i], and all of them together. */
  readonly catBits: readonly number[];
  readonly allBits: number;
  readonly tables: readonly NameRef[];
  readonly functions: readonly NameRef[];
  /** Where unqualified names may live on the action's connection. */
  readonly res: UnqualifiedResolution;
  /**
   * Bits (of `full`) of the categories beyond read, transaction and session when the statement has an
   * effect it does not place on a table it names: it names none (VACUUM or ANALYZE of every table,
   * NOTIFY, CHECKPOINT), or calls a function whose target is an argument (`setval`); and `read` when it
   * calls a function that reads data stored elsewhere (`lo_get`). A rule restricted to tables does not
   * grant these (classes 101, 103). 0 otherwise.
   */
  readonly untargeted: number;
  /**
   * Names written as a field of a value (`(x).f`, `t.f`), which PostgreSQL calls as f(x) when x has
   * no field f: deny and review rules restricted to functions match them (class 172); grants do not
   * count them, since most are columns.
   */
  readonly fieldCalls: readonly NameRef[];
  /** Relations the statement reaches without naming them, as the engine resolved them (class 113). */
  readonly reaches: readonly NameRef[];
  /** It may reach relations Gatehouse could not place: table-restricted deny and review rules match. */
  readonly reachesUnknown: boolean;
  /** Relations a write reaches that a grant restricted to tables must name too (class 129). */
  readonly grantReaches: readonly NameRef[];
  /**
   * Bits (of `full`) of the categories beyond read, transaction and session: a rule restricted to
   * tables grants them only when it names every relation in `grantReaches`, and never when what the
   * write reaches could not be read (all of them set then); 0 when there is nothing to name.
   */
  readonly grantReachBits: number;
  readonly grantReachUnknown: boolean;
}

/** Categories that change nothing beyond the statement's own session and reads. */
const SESSION_ONLY: ReadonlySet<SqlCategory> = new Set(['read', 'transaction', 'session']);

const KNOWN: ReadonlySet<string> = new Set(SQL_CATEGORIES);

/** What a statement's categories give the view, worked out once per categories array. */
interface CategoryView {
  readonly cats: readonly SqlCategory[];
  readonly full: number;
  readonly catBits: readonly number[];
  readonly allBits: number;
  /** Bits (of `full`) of the categories beyond read, transaction and session. */
  readonly effectBits: number;
  /** Index of `read` in cats, or -1. */
  readonly read: number;
}

// What the view derives from a statement's arrays is kept per array, for frozen arrays only: the
// classifier freezes what it returns (and a literal template's statements and the variants the
// engines decide share those arrays), so one decision after another of the same statement, or of texts
// of one template, lower-cases nothing again and allocates only the view itself. An array that is not
// frozen could change after it was looked at, so what is derived from it is worked out each time.
const CATEGORY_VIEWS = new WeakMap<readonly string[], CategoryView>();
const NAME_REFS = new WeakMap<
  readonly { readonly schema?: string; readonly name: string }[],
  readonly NameRef[]
>();
const FUNCTION_REFS = new WeakMap<readonly string[], readonly NameRef[]>();
const NO_REFS: readonly NameRef[] = Object.freeze([]);

function categoryView(categories: readonly string[]): CategoryView {
  let v = CATEGORY_VIEWS.get(categories);
  if (v !== undefined) return v;
  v = categoryViewOf(categories);
  if (Object.isFrozen(categories)) CATEGORY_VIEWS.set(categories, v);
  return v;
}

function categoryViewOf(categories: readonly string[]): CategoryView {
  const cats: SqlCategory[] = [];
  for (const c of categories) {
    // A category this build does not know is treated as unknown, never ignored.
    const known: SqlCategory = KNOWN.has(c) ? (c as SqlCategory) : 'unknown';
    if (!cats.includes(known)) cats.push(known);
  }
  if (cats.length === 0) cats.push('unknown');
  const catBits = cats.map((c) => CATEGORY_BIT.get(c)!);
  let effectBits = 0;
  for (let i = 0; i < cats.length; i++) if (!SESSION_ONLY.has(cats[i]!)) effectBits |= 1 << i;
  return Object.freeze({
    cats: Object.freeze(cats),
    full: (1 << cats.length) - 1,
    catBits: Object.freeze(catBits),
    allBits: catBits.reduce((a, b) => a | b, 0),
    effectBits,
    read: cats.indexOf('read'),
  });
}

function nameRefs(
  list: readonly { readonly schema?: string; readonly name: string }[] | undefined,
): readonly NameRef[] {
  if (list === undefined || list.length === 0) return NO_REFS;
  let refs = NAME_REFS.get(list);
  if (refs === undefined) {
    refs = Object.freeze(
      list.map((t) =>
        t.schema === undefined
          ? { name: t.name.toLowerCase() }
          : { schema: t.schema.toLowerCase(), name: t.name.toLowerCase() },
      ),
    );
    if (Object.isFrozen(list)) NAME_REFS.set(list, refs);
  }
  return refs;
}

function functionRefs(list: readonly string[]): readonly NameRef[] {
  if (list.length === 0) return NO_REFS;
  let refs = FUNCTION_REFS.get(list);
  if (refs === undefined) {
    refs = Object.freeze(list.map(functionRef));
    if (Object.isFrozen(list)) FUNCTION_REFS.set(list, refs);
  }
  return refs;
}

function viewOf(action: SqlAction, res: UnqualifiedResolution): SqlView {
  const st = action.statement;
  const c = categoryView(st.categories);
  const tables = nameRefs(st.tables);
  let untargeted = 0;
  if (st.untargeted === true || tables.length === 0) untargeted = c.effectBits;
  // Data read from outside the named tables (a large object, other sessions' statements) is not a
  // read of them either (class 103).
  if (st.readsElsewhere === true && c.read >= 0) untargeted |= 1 << c.read;
  const grantReaches = nameRefs(st.grantReaches);
  return {
    kind: st.kind.toLowerCase(),
    cats: c.cats,
    full: c.full,
    catBits: c.catBits,
    allBits: c.allBits,
    tables,
    functions: functionRefs(st.functions),
    fieldCalls: functionRefs(st.fields ?? []),
    res,
    untargeted,
    reaches: nameRefs(st.reaches),
    reachesUnknown: st.reachesUnknown === true,
    grantReaches,
    grantReachBits: st.grantReachUnknown === true || grantReaches.length > 0 ? c.effectBits : 0,
    grantReachUnknown: st.grantReachUnknown === true,
  };
}

function anyName(
  patterns: readonly NamePattern[],
  refs: readonly NameRef[],
  res: UnqualifiedResolution,
): boolean {
  for (const ref of refs) for (const p of patterns) if (restrictionMatch(p, ref, res)) return true;
  return false;
}

function everyName(
  patterns: readonly NamePattern[],
  refs: readonly NameRef[],
  res: UnqualifiedResolution,
): boolean {
  outer: for (const ref of refs) {
    for (const p of patterns) if (grantMatch(p, ref, res)) continue outer;
    return false;
  }
  return true;
}

function kindMatches(r: CompiledRule, kind: string): boolean {
  if (r.kinds === undefined) return true;
  for (const g of r.kinds) if (g(kind)) return true;
  return false;
}

/** Restriction sense: the rule's conditions hold for some part of the statement (any category, any table…). */
function sqlTouches(r: CompiledRule, v: SqlView): boolean {
  return (
    (r.categoryBits & v.allBits) !== 0 &&
    kindMatches(r, v.kind) &&
    (r.tables === undefined || anyName(r.tables, v.tables, v.res)) &&
    touchesFunctions(r, v)
  );
}

/** Restriction sense of `functions`: a call the statement makes, written or as a field (class 172). */
function touchesFunctions(r: CompiledRule, v: SqlView): boolean {
  return (
    r.functions === undefined ||
    anyName(r.functions, v.functions, v.res) ||
    anyName(r.functions, v.fieldCalls, v.res)
  );
}

/**
 * Restriction sense for deny and review rules: as `sqlTouches`, where a rule restricted to tables also
 * matches a table the statement reaches without naming it, and any statement whose reach Gatehouse
 * could not place (class 113).
 */
function sqlTouchesReach(r: CompiledRule, v: SqlView): boolean {
  if (sqlTouches(r, v)) return true;
  if (r.tables === undefined || (v.reaches.length === 0 && !v.reachesUnknown)) return false;
  return (
    (r.categoryBits & v.allBits) !== 0 &&
    kindMatches(r, v.kind) &&
    (v.reachesUnknown
      ? r.tables.some(mayBeUserTable)
      : anyName(r.tables.filter(mayBeUserTable), v.reaches, v.res)) &&
    touchesFunctions(r, v)
  );
}

/**
 * A pattern that may name a table of the user's, not only a system catalog. Reach is for user tables:
 * what Gatehouse cannot place (a trigger's code) is taken to write any user table, and the system
 * views are views over the catalogs (`pg_roles` over `pg_authid`), so a rule on
 * `pg_catalog.pg_authid` is matched by the tables a statement names, as before, not by its reach.
 */
function mayBeUserTable(p: NamePattern): boolean {
  if (p.schema === undefined) return true;
  const system = p.schema('pg_catalog') || p.schema('information_schema');
  return !system || p.schema('public');
}

/**
 * Grant sense: when the rule's conditions hold for the whole statement (every table, every function),
 * the bits of the statement's categories it lists; 0 otherwise.
 */
function sqlCoverMask(r: CompiledRule, v: SqlView): number {
  if ((r.categoryBits & v.allBits) === 0) return 0;
  if (!kindMatches(r, v.kind)) return 0;
  if (r.tables !== undefined && !everyName(r.tables, v.tables, v.res)) return 0;
  if (r.functions !== undefined && !everyName(r.functions, v.functions, v.res)) return 0;
  let mask = 0;
  for (let i = 0; i < v.catBits.length; i++) if ((r.categoryBits & v.catBits[i]!) !== 0) mask |= 1 << i;
  if (r.tables === undefined) return mask;
  // A rule restricted to tables grants only what it can see the statement do to them (class 101),
  // and a write only when it names every table the write reaches as well (class 129).
  mask &= ~v.untargeted;
  if (v.grantReachBits !== 0 && (v.grantReachUnknown || !everyName(r.tables, v.grantReaches, v.res)))
    mask &= ~v.grantReachBits;
  return mask;
}

/** Merges obligations: mask if any rule masks (the first profile named wins), the smallest row cap. */
class ObligationSet {
  private mask: true | string | undefined;
  private rowCap: number | undefined;
  add(r: CompiledRule): void {
    if (r.mask !== undefined && r.mask !== false && (this.mask === undefined || this.mask === true))
      this.mask = r.mask;
    if (r.rowCap !== undefined && (this.rowCap === undefined || r.rowCap < this.rowCap))
      this.rowCap = r.rowCap;
  }
  result(): Obligations {
    if (this.mask === undefined && this.rowCap === undefined) return {};
    return {
      ...(this.mask === undefined ? {} : { mask: this.mask === true ? true : { profile: this.mask } }),
      ...(this.rowCap === undefined ? {} : { rowCap: this.rowCap }),
    };
  }
}

/** Collects per-rule traces while evaluating; absent on the decide() path. */
interface RuleSink {
  sqlRule(r: CompiledRule, v: SqlView, touches: boolean, cover: number, matched: boolean): void;
  httpRule(r: CompiledRule, a: HttpAction, matched: boolean): void;
  kubernetesRule(r: CompiledRule, a: KubernetesAction, matched: boolean, reason: string): void;
  sshRule(r: CompiledRule, a: SshAction, matched: boolean, reason: string): void;
}

function evaluateSql(
  policies: readonly CompiledPolicy[],
  compiled: CompiledPolicies,
  action: SqlAction,
  sink: RuleSink | undefined,
): Decision {
  const st = action.statement;
  // Parse failures are refused whatever the rules say (issue 3; DESIGN "what cannot be parsed is denied").
  if (st.parseError !== undefined || st.kind === 'unparsed') {
    return deny(ENGINE_RULE_IDS.unparseable, unparseableMessage(st.parseError));
  }
  const defaults = compiled.defaultFor(action.connection);
  const v = viewOf(action, defaults.resolution);
  let allowMask = 0;
  let reviewMask = 0;
  let firstDeny: CompiledRule | undefined;
  let firstReview: CompiledRule | undefined;
  let firstAllow: CompiledRule | undefined;
  const obligations = new ObligationSet();

  outer: for (const p of policies) {
    for (const r of p.rules) {
      if (r.domain !== 'sql' && r.domain !== 'any') {
        sink?.sqlRule(r, v, false, 0, false);
        continue;
      }
      if (r.effect === 'deny') {
        const touches = sqlTouchesReach(r, v);
        sink?.sqlRule(r, v, touches, 0, touches);
        if (touches) {
          firstDeny ??= r;
          if (sink === undefined) break outer; // deny wins; the first deny in order names the decision
        }
        continue;
      }
      const cover = sqlCoverMask(r, v);
      // Whether the rule touches matters only when it covers nothing (obligations, review triggers).
      const touches =
        cover === 0 || sink !== undefined
          ? r.effect === 'review'
            ? sqlTouchesReach(r, v)
            : sqlTouches(r, v)
          : true;
      const matched = cover !== 0 || touches;
      sink?.sqlRule(r, v, touches, cover, matched);
      if (!matched) continue;
      obligations.add(r);
      if (r.effect === 'review') {
        reviewMask |= cover;
        firstReview ??= r;
      } else {
        allowMask |= cover;
        if (cover !== 0) firstAllow ??= r;
      }
    }
  }

  if (firstDeny !== undefined) {
    return deny(firstDeny.id, sqlRuleMessage('deny', firstDeny, v, action.connection));
  }
  const uncoveredMask = v.full & ~(allowMask | reviewMask);
  if (uncoveredMask !== 0) {
    const uncovered = v.cats.filter((_, i) => (uncoveredMask & (1 << i)) !== 0);
    return sqlDefault(defaults, v, uncovered, action.connection, obligations.result());
  }
  if (firstReview !== undefined) {
    return {
      effect: 'review',
      ruleId: firstReview.id,
      message: sqlRuleMessage('review', firstReview, v, action.connection),
      mode: firstReview.mode,
      ...(firstReview.approval === undefined ? {} : { approvalRule: firstReview.approval }),
      obligations: obligations.result(),
    };
  }
  if (firstAllow === undefined) {
    // Unreachable: every category is covered, so some allow or review rule covered it. Fail closed anyway.
    return sqlDefault(defaults, v, v.cats, action.connection, {});
  }
  return { effect: 'allow', ruleId: firstAllow.id, obligations: obligations.result() };
}

function sqlDefault(
  d: DefaultEffect,
  v: SqlView,
  uncovered: readonly SqlCategory[],
  connection: string,
  obligations: Obligations,
): Decision {
  const ruleId = d.effect === 'deny' ? ENGINE_RULE_IDS.defaultDeny : ENGINE_RULE_IDS.defaultReview;
  const message =
    d.message === undefined
      ? sqlDefaultMessage(d.effect, ruleId, v.kind, uncovered, connection, d.mode)
      : fillCustomMessage(d.message, {
          kind: v.kind,
          category: uncovered.join(', '),
          rule: ruleId,
          connection,
          names: '',
        });
  if (d.effect === 'deny') return deny(ruleId, message);
  return {
    effect: 'review',
    ruleId,
    message,
    mode: d.mode,
    ...(d.approval === undefined ? {} : { approvalRule: d.approval }),
    obligations,
  };
}

function refName(r: NameRef): string {
  return r.schema === undefined ? r.name : `${r.schema}.${r.name}`;
}

/** The message for a deny or review rule: its own text, or the default for what it matched. */
function sqlRuleMessage(effect: 'deny' | 'review', r: CompiledRule, v: SqlView, connection: string): string {
  const listed = r.categories === undefined ? v.cats : v.cats.filter((c) => r.categories!.has(c));
  const category = mostSevere(listed) ?? mostSevere(v.cats) ?? 'unknown';
  const names = [
    ...(r.tables === undefined
      ? []
      : [...v.tables, ...v.reaches].filter((t) => r.tables!.some((p) => restrictionMatch(p, t, v.res)))),
    ...(r.functions === undefined
      ? []
      : v.functions.filter((f) => r.functions!.some((p) => restrictionMatch(p, f, v.res)))),
  ]
    .map(refName)
    .filter((n, i, all) => all.indexOf(n) === i);
  // A table reached without being named (a view's base table, a partition, a sequence's owner) or a
  // reach Gatehouse could not place is said so (class 113).
  const reached =
    r.tables !== undefined && !v.tables.some((t) => r.tables!.some((p) => restrictionMatch(p, t, v.res)));
  if (reached) {
    const base =
      r.message !== undefined
        ? fillCustomMessage(r.message, {
            kind: v.kind,
            category,
            rule: r.id,
            connection,
            names: names.join(', '),
          })
        : effect === 'deny'
          ? sqlDenyMessage(r.id, v.kind, category)
          : sqlReviewMessage(r.id, v.kind, category, r.mode);
    return names.length > 0
      ? `${base} (${displayKind(v.kind)} reaches ${names.join(', ')} without naming it: through a view, a partition or inheritance, a sequence's owner or a cascading foreign key.)`
      : `${base} (${displayKind(v.kind)} may reach tables Gatehouse cannot place — a trigger or rule of a table it writes, a relation given as a non-constant argument, or every table — so a rule restricted to tables applies to it.)`;
  }
  if (r.message !== undefined) {
    return fillCustomMessage(r.message, {
      kind: v.kind,
      category,
      rule: r.id,
      connection,
      names: names.join(', '),
    });
  }
  // A rule that singles out tables or functions (and not categories) is explained by those names.
  if (r.categories === undefined && (r.tables !== undefined || r.functions !== undefined)) {
    return sqlNameMessage(effect, r.id, v.kind, names, r.mode);
  }
  return effect === 'deny'
    ? sqlDenyMessage(r.id, v.kind, category)
    : sqlReviewMessage(r.id, v.kind, category, r.mode);
}

// ---------------------------------------------------------------------------------------------------
// HTTP

function httpMatches(r: CompiledRule, a: HttpAction): boolean {
  if (a.rulesOnResourcesOnly === true && r.awsResources === undefined) return false;
  // Instructions another principal runs (REMOTE_INSTRUCTIONS: a shell command on an instance) may
  // make any request of any service as that principal, so a deny or review rule on resources applies
  // to them whatever operations, methods or paths it is restricted to (docs/security.md, class 142).
  if (
    r.effect !== 'allow' &&
    r.awsResources !== undefined &&
    a.selects?.includes('*') === true &&
    awsResourcesMatch(r, r.awsResources, a)
  )
    return true;
  if (r.operations !== undefined) {
    if (a.operation === undefined) return false;
    const op = a.operation.toLowerCase();
    if (!r.operations.some((g) => g(op))) return false;
  }
  if (r.methods !== undefined && !r.methods.has(a.method.toUpperCase())) return false;
  if (r.paths !== undefined) {
    // The whole canonical path: the recorded one is clipped, and a rule may be on a path's end.
    // Deny and review rules also hold on the other paths the upstream's application may route it as
    // (a script's PATH_INFO, a format suffix: class 207); an allow rule only on the path itself.
    const paths = r.effect === 'allow' ? [a.decidedPath] : [a.decidedPath, ...(a.pathReadings ?? [])];
    if (!r.paths.some((m) => paths.some((p) => m(p)))) return false;
  }
  if (r.awsResources !== undefined && !awsResourcesMatch(r, r.awsResources, a)) return false;
  return true;
}

/**
 * An allow rule on resources matches the request's own resource in a spelling certain to name it; a
 * deny or review rule matches any name the request holds in any spelling that may name it (its
 * resource, and the names its parameters mention: HttpAction.mentions), so neither another spelling
 * of a denied resource nor a parameter Gatehouse does not read as the resource walks around it
 * (docs/security.md, class 70).
 */
function awsResourcesMatch(r: CompiledRule, m: AwsResourceMatch, a: HttpAction): boolean {
  return awsResourceHit(r, m, a) !== undefined;
}

/** What a rule on resources matched in the request, in words (for its message), or undefined. */
function awsResourceHit(r: CompiledRule, m: AwsResourceMatch, a: HttpAction): string | undefined {
  const service = a.operation === undefined ? undefined : a.operation.slice(0, a.operation.indexOf(':'));
  if (r.effect === 'allow')
    return a.resource !== undefined && m.allows(service, a.resource) ? a.resource : undefined;
  if (a.resource !== undefined) {
    const why = m.restrictsWhy(service, a.resource);
    if (why === 'alias')
      return `${a.resource} (an alias may name any key, and Gatehouse does not know which one it names)`;
    if (why === 'key') return `${a.resource} (a key an alias this rule names may point at)`;
    if (why === 'name') return a.resource;
  }
  // Instructions another principal runs (a shell command on an instance) may touch any resource of
  // any service (src/engines/http/aws/mentions.ts, REMOTE_INSTRUCTIONS; docs/security.md, class 127).
  if (a.selects?.includes('*') === true && m.restrictsUnder(undefined, ''))
    return 'whatever the instructions it hands another principal touch (Gatehouse cannot read what they name)';
  const under = a.selects?.find((prefix) => prefix !== '*' && m.restrictsUnder(service, prefix));
  if (under !== undefined) {
    if (service === 'kms' && under === '')
      return 'the key its ciphertext names (Gatehouse cannot read which)';
    return under === '' ? 'whatever it selects' : `what it selects under ${under}`;
  }
  if (a.mentions === undefined) return undefined;
  if (a.mentions === 'too-many') return 'more names than Gatehouse checks';
  // Not the name itself: a parameter's value is only shown where the record shows the request.
  return mentionSpellings(a, service).some((names) => m.restrictsSpelled(service, names))
    ? 'a name in its parameters'
    : undefined;
}

/**
 * The spellings of each name a request mentions, read once per request and kept with it: every deny
 * and review rule on resources looks at all of them (up to MAX_MENTIONS). Read again for each rule,
 * 2,000 names under five such rules took about 21 ms of the event loop; read once, about 10.
 */
const SPELLED = new WeakMap<HttpAction, readonly ResourceNames[]>();
function mentionSpellings(a: HttpAction, service: string | undefined): readonly ResourceNames[] {
  let spelled = SPELLED.get(a);
  if (spelled === undefined) {
    const mentions = a.mentions === undefined || a.mentions === 'too-many' ? [] : a.mentions;
    spelled = mentions.map((name) => resourceNames(service, name));
    SPELLED.set(a, spelled);
  }
  return spelled;
}

function httpWhat(a: HttpAction): string {
  return a.operation === undefined
    ? `${a.method.toUpperCase()} ${a.path}`
    : `${a.operation} (${a.method.toUpperCase()} ${a.path})`;
}

/**
 * A request and what it implies (HttpAction.implied, e.g. the read of an S3 copy source), each decided
 * as its own request: a deny of any of them refuses the request, else a review of any holds it, else it
 * is allowed. Obligations are those of all of them together.
 */
function evaluateHttp(
  policies: readonly CompiledPolicy[],
  compiled: CompiledPolicies,
  action: HttpAction,
  sink: RuleSink | undefined,
): Decision {
  const own = evaluateHttpRequest(policies, compiled, action, sink);
  const implied = action.implied;
  if (implied === undefined || implied.length === 0) return own;
  if (own.effect === 'deny' && sink === undefined) return own;
  let denied = own.effect === 'deny' ? own : undefined;
  let review = own.effect === 'review' ? own : undefined;
  const obligations: Obligations[] = own.effect === 'deny' ? [] : [own.obligations];
  const partOf = `It is part of ${httpWhat(action)}, which is decided with it.`;
  for (const a of implied) {
    const d = evaluateHttpRequest(policies, compiled, a, sink);
    if (d.effect === 'deny') {
      denied ??= deny(d.ruleId, `${d.message} ${partOf}`);
      if (sink === undefined) return denied;
      continue;
    }
    obligations.push(d.obligations);
    if (d.effect === 'review') review ??= { ...d, message: `${d.message} ${partOf}` };
  }
  if (denied !== undefined) return denied;
  const merged = mergeObligations(obligations);
  if (review !== undefined) return { ...review, obligations: merged };
  return { effect: 'allow', ruleId: own.ruleId, obligations: merged };
}

/** The obligations of several decisions at once: a mask if any masks (a named profile first), the lowest row cap. */
function mergeObligations(all: readonly Obligations[]): Obligations {
  let mask: Obligations['mask'];
  let rowCap: number | undefined;
  for (const o of all) {
    if (o.mask !== undefined && o.mask !== false && (mask === undefined || mask === true)) mask = o.mask;
    if (o.rowCap !== undefined && (rowCap === undefined || o.rowCap < rowCap)) rowCap = o.rowCap;
  }
  return {
    ...(mask === undefined ? {} : { mask }),
    ...(rowCap === undefined ? {} : { rowCap }),
  };
}

function evaluateHttpRequest(
  policies: readonly CompiledPolicy[],
  compiled: CompiledPolicies,
  action: HttpAction,
  sink: RuleSink | undefined,
): Decision {
  let firstDeny: CompiledRule | undefined;
  let firstReview: CompiledRule | undefined;
  let firstAllow: CompiledRule | undefined;
  const obligations = new ObligationSet();
  outer: for (const p of policies) {
    for (const r of p.rules) {
      const matched = (r.domain === 'http' || r.domain === 'any') && httpMatches(r, action);
      sink?.httpRule(r, action, matched);
      if (!matched) continue;
      if (r.effect === 'deny') {
        firstDeny ??= r;
        if (sink === undefined) break outer;
        continue;
      }
      obligations.add(r);
      if (r.effect === 'review') firstReview ??= r;
      else firstAllow ??= r;
    }
  }
  const what = httpWhat(action);
  // A rule on resources says which one it saw: the request's own, or a name it mentions.
  const onWhat = (r: CompiledRule): string => {
    const hit = r.awsResources === undefined ? undefined : awsResourceHit(r, r.awsResources, action);
    return hit === undefined ? what : `${what} on ${hit.length > 200 ? `${hit.slice(0, 200)}…` : hit}`;
  };
  const custom = (r: CompiledRule, text: string): string =>
    fillCustomMessage(text, {
      kind: what,
      category: 'http',
      rule: r.id,
      connection: action.connection,
      names: action.resource ?? '',
    });
  if (firstDeny !== undefined) {
    return deny(
      firstDeny.id,
      firstDeny.message === undefined
        ? httpMessage('deny', firstDeny.id, onWhat(firstDeny), 'hold', false, action.connection)
        : custom(firstDeny, firstDeny.message),
    );
  }
  // Decided by the rules on resources that restrict it only (HttpAction.rulesOnResourcesOnly): no
  // such rule, nothing to refuse; the request it is part of was decided by the whole policy.
  if (firstReview === undefined && firstAllow === undefined && action.rulesOnResourcesOnly === true)
    return { effect: 'allow', ruleId: ENGINE_RULE_IDS.noRestrictingRule, obligations: {} };
  if (firstReview === undefined && firstAllow === undefined) {
    const d = compiled.defaultFor(action.connection);
    const ruleId = d.effect === 'deny' ? ENGINE_RULE_IDS.defaultDeny : ENGINE_RULE_IDS.defaultReview;
    const message =
      d.message === undefined
        ? httpMessage(d.effect, ruleId, what, d.mode, true, action.connection)
        : fillCustomMessage(d.message, {
            kind: what,
            category: 'http',
            rule: ruleId,
            connection: action.connection,
            names: '',
          });
    if (d.effect === 'deny') return deny(ruleId, message);
    return {
      effect: 'review',
      ruleId,
      message,
      mode: d.mode,
      ...(d.approval === undefined ? {} : { approvalRule: d.approval }),
      obligations: {},
    };
  }
  if (firstReview !== undefined) {
    return {
      effect: 'review',
      ruleId: firstReview.id,
      message:
        firstReview.message === undefined
          ? httpMessage(
              'review',
              firstReview.id,
              onWhat(firstReview),
              firstReview.mode,
              false,
              action.connection,
            )
          : custom(firstReview, firstReview.message),
      mode: firstReview.mode,
      ...(firstReview.approval === undefined ? {} : { approvalRule: firstReview.approval }),
      obligations: obligations.result(),
    };
  }
  return { effect: 'allow', ruleId: firstAllow!.id, obligations: obligations.result() };
}

// ---------------------------------------------------------------------------------------------------
// Rule domains

/** What each rule domain matches, for "not applicable" reasons. */
const DOMAIN_WORDS: Readonly<Record<Exclude<RuleDomain, 'any'>, string>> = {
  sql: 'SQL statements',
  http: 'HTTP requests',
  kubernetes: 'Kubernetes requests',
  ssh: 'SSH requests',
  command: 'Kubernetes and SSH commands',
};

/** Why a rule does not apply to an action of `domain` at all (`command` rules apply to both command domains). */
function otherDomain(r: CompiledRule, domain: 'sql' | 'http' | 'kubernetes' | 'ssh'): string | undefined {
  if (r.domain === 'any' || r.domain === domain) return undefined;
  if (r.domain === 'command' && (domain === 'kubernetes' || domain === 'ssh')) return undefined;
  return `not applicable: the rule matches ${DOMAIN_WORDS[r.domain]} only`;
}

// ---------------------------------------------------------------------------------------------------
// Kubernetes

/** Why a rule does (undefined) or does not match a Kubernetes request, in its effect's sense. */
function kubernetesRuleMismatch(r: CompiledRule, a: KubernetesAction): string | undefined {
  const other = otherDomain(r, 'kubernetes');
  if (other !== undefined) return other;
  if (r.kubernetes === undefined) return undefined;
  return kubernetesMismatch(r.kubernetes, a, r.effect === 'allow');
}

function evaluateKubernetes(
  policies: readonly CompiledPolicy[],
  compiled: CompiledPolicies,
  action: KubernetesAction,
  sink: RuleSink | undefined,
): Decision {
  return evaluateFirstMatch(policies, compiled, action, {
    mismatch: (r) => kubernetesRuleMismatch(r, action),
    ...(sink ? { trace: (r, matched, reason) => sink.kubernetesRule(r, action, matched, reason) } : {}),
    what: kubernetesWhat(action),
    category: 'kubernetes',
    names: action.name,
  });
}

// ---------------------------------------------------------------------------------------------------
// SSH

/** Why a rule does (undefined) or does not match an SSH request, in its effect's sense. */
function sshRuleMismatch(r: CompiledRule, a: SshAction): string | undefined {
  const other = otherDomain(r, 'ssh');
  if (other !== undefined) return other;
  if (r.ssh === undefined) return undefined;
  return sshMismatch(r.ssh, a, r.effect === 'allow');
}

function evaluateSsh(
  policies: readonly CompiledPolicy[],
  compiled: CompiledPolicies,
  action: SshAction,
  sink: RuleSink | undefined,
): Decision {
  return evaluateFirstMatch(policies, compiled, action, {
    mismatch: (r) => sshRuleMismatch(r, action),
    ...(sink ? { trace: (r, matched, reason) => sink.sshRule(r, action, matched, reason) } : {}),
    what: sshWhat(action),
    category: 'ssh',
    names: action.destination?.host ?? '',
  });
}

// ---------------------------------------------------------------------------------------------------
// Requests decided rule by rule (Kubernetes, SSH): deny wins, then review, then allow, else the default.

interface FirstMatchCase {
  /** Why the rule does not match (undefined: it matches). */
  mismatch(r: CompiledRule): string | undefined;
  /** Told about every rule when explaining (absent on the decide() path, which stops at a deny). */
  readonly trace?: (r: CompiledRule, matched: boolean, reason: string) => void;
  /** The action in words for messages. */
  readonly what: string;
  /** `{category}` in custom messages. */
  readonly category: string;
  /** `{names}` in custom messages. */
  readonly names: string;
}

function evaluateFirstMatch(
  policies: readonly CompiledPolicy[],
  compiled: CompiledPolicies,
  action: Action,
  c: FirstMatchCase,
): Decision {
  let firstDeny: CompiledRule | undefined;
  let firstReview: CompiledRule | undefined;
  let firstAllow: CompiledRule | undefined;
  const obligations = new ObligationSet();
  outer: for (const p of policies) {
    for (const r of p.rules) {
      const why = c.mismatch(r);
      const matched = why === undefined;
      c.trace?.(r, matched, why ?? (r.effect === 'deny' ? 'fires: deny wins' : 'matches'));
      if (!matched) continue;
      if (r.effect === 'deny') {
        firstDeny ??= r;
        if (c.trace === undefined) break outer;
        continue;
      }
      obligations.add(r);
      if (r.effect === 'review') firstReview ??= r;
      else firstAllow ??= r;
    }
  }
  const what = c.what;
  const custom = (r: CompiledRule, text: string): string =>
    fillCustomMessage(text, {
      kind: what,
      category: c.category,
      rule: r.id,
      connection: action.connection,
      names: c.names,
    });
  if (firstDeny !== undefined) {
    return deny(
      firstDeny.id,
      firstDeny.message === undefined
        ? httpMessage('deny', firstDeny.id, what, 'hold', false, action.connection)
        : custom(firstDeny, firstDeny.message),
    );
  }
  if (firstReview === undefined && firstAllow === undefined) {
    const d = compiled.defaultFor(action.connection);
    const ruleId = d.effect === 'deny' ? ENGINE_RULE_IDS.defaultDeny : ENGINE_RULE_IDS.defaultReview;
    const message =
      d.message === undefined
        ? httpMessage(d.effect, ruleId, what, d.mode, true, action.connection)
        : fillCustomMessage(d.message, {
            kind: what,
            category: c.category,
            rule: ruleId,
            connection: action.connection,
            names: '',
          });
    if (d.effect === 'deny') return deny(ruleId, message);
    return {
      effect: 'review',
      ruleId,
      message,
      mode: d.mode,
      ...(d.approval === undefined ? {} : { approvalRule: d.approval }),
      obligations: {},
    };
  }
  if (firstReview !== undefined) {
    return {
      effect: 'review',
      ruleId: firstReview.id,
      message:
        firstReview.message === undefined
          ? httpMessage('review', firstReview.id, what, firstReview.mode, false, action.connection)
          : custom(firstReview, firstReview.message),
      mode: firstReview.mode,
      ...(firstReview.approval === undefined ? {} : { approvalRule: firstReview.approval }),
      obligations: obligations.result(),
    };
  }
  return { effect: 'allow', ruleId: firstAllow!.id, obligations: obligations.result() };
}

// ---------------------------------------------------------------------------------------------------
// Explain

function explain(
  compiled: CompiledPolicies,
  version: string,
  identity: Identity,
  action: Action,
): PolicyTrace {
  const connection = action.connection;
  const entries: { policy: string; applies: boolean; reason: string; rules: RuleTrace[] }[] = [];
  const applicableList: CompiledPolicy[] = [];
  for (const p of compiled.policies) {
    const applies = policyApplies(p, identity, connection);
    entries.push({
      policy: p.id,
      applies,
      reason: applicabilityReason(p, identity, connection, applies),
      rules: [],
    });
    if (applies) applicableList.push(p);
  }
  const byPolicy = new Map(entries.map((e) => [e.policy, e.rules]));
  const coverage = new Map<SqlCategory, { allow: string[]; review: string[] }>();
  const sink: RuleSink = {
    sqlRule(r, v, touches, cover, matched) {
      const covers = v.cats.filter((_, i) => (cover & (1 << i)) !== 0);
      for (const c of covers) {
        const slot = coverage.get(c);
        if (slot !== undefined) (r.effect === 'review' ? slot.review : slot.allow).push(r.id);
      }
      byPolicy.get(r.policyId)!.push({
        policy: r.policyId,
        rule: r.id,
        effect: r.effect,
        touches,
        covers,
        matched,
        reason: sqlRuleReason(r, v, touches, covers),
      });
    },
    kubernetesRule(r, _a, matched, reason) {
      byPolicy.get(r.policyId)!.push({
        policy: r.policyId,
        rule: r.id,
        effect: r.effect,
        touches: matched,
        covers: [],
        matched,
        reason: matched ? reason : `no match: ${reason}`,
      });
    },
    sshRule(r, _a, matched, reason) {
      byPolicy.get(r.policyId)!.push({
        policy: r.policyId,
        rule: r.id,
        effect: r.effect,
        touches: matched,
        covers: [],
        matched,
        reason: matched ? reason : `no match: ${reason}`,
      });
    },
    httpRule(r, a, matched) {
      const reason = otherDomain(r, 'http') ?? httpRuleReason(r, a, matched);
      byPolicy.get(r.policyId)!.push({
        policy: r.policyId,
        rule: r.id,
        effect: r.effect,
        touches: matched,
        covers: [],
        matched,
        // A request's implied parts are traced after it, each rule again, named by the part.
        reason: a === action ? reason : `${httpWhat(a)}: ${reason}`,
      });
    },
  };

  let decision: Decision;
  let traced: TracedAction;
  if (action.kind === 'sql') {
    const st = action.statement;
    traced = {
      kind: 'sql',
      statementKind: st.kind,
      text: st.text,
      categories: [...st.categories],
      tables: st.tables.map((t) => (t.schema === undefined ? t.name : `${t.schema}.${t.name}`)),
      functions: [...st.functions],
      ...(st.parseError === undefined ? {} : { parseError: st.parseError }),
    };
    if (st.parseError === undefined && st.kind !== 'unparsed') {
      for (const c of viewOf(action, compiled.defaultFor(connection).resolution).cats)
        coverage.set(c, { allow: [], review: [] });
    }
  } else if (action.kind === 'kubernetes') {
    traced = {
      kind: 'kubernetes',
      verb: action.verb,
      resource: action.resourceRequest
        ? `${action.resource}${action.apiGroup === '' ? '' : `.${action.apiGroup}`}${action.subresource === '' ? '' : `/${action.subresource}`}`
        : '',
      namespace: action.namespace,
      name: action.name,
      path: action.path,
      ...(action.command ? { command: [...action.command] } : {}),
      ...(action.commandCategories ? { commandCategories: [...action.commandCategories] } : {}),
    };
  } else if (action.kind === 'ssh') {
    traced = {
      kind: 'ssh',
      request: action.request,
      ...(action.command !== undefined ? { command: action.command } : {}),
      ...(action.commandCategories ? { commandCategories: [...action.commandCategories] } : {}),
      ...(action.commandKind !== undefined ? { commandKind: action.commandKind } : {}),
      ...(action.subsystem !== undefined ? { subsystem: action.subsystem } : {}),
      ...(action.destination ? { destination: `${action.destination.host}:${action.destination.port}` } : {}),
    };
  } else {
    traced = {
      kind: 'http',
      method: action.method,
      path: action.path,
      ...(action.operation === undefined ? {} : { operation: action.operation }),
      ...(action.implied === undefined
        ? {}
        : {
            implied: action.implied.map((a) => ({
              method: a.method,
              path: a.path,
              ...(a.operation === undefined ? {} : { operation: a.operation }),
            })),
          }),
    };
  }
  if (applicableList.length === 0) decision = connectionDenied(identity, connection);
  else if (action.kind === 'sql') decision = evaluateSql(applicableList, compiled, action, sink);
  else if (action.kind === 'kubernetes')
    decision = evaluateKubernetes(applicableList, compiled, action, sink);
  else if (action.kind === 'ssh') decision = evaluateSsh(applicableList, compiled, action, sink);
  else decision = evaluateHttp(applicableList, compiled, action, sink);

  const d = compiled.defaultFor(connection);
  const coverageList: CategoryCoverage[] = [...coverage].map(([category, c]) => ({ category, ...c }));
  const policies: PolicyTraceEntry[] = entries;
  return {
    version,
    connection,
    principal: {
      subject: identity.subject,
      groups: [...identity.groups],
      tokenKind: identity.tokenKind,
      agent: identity.agent,
    },
    action: traced,
    policies,
    coverage: coverageList,
    defaultEffect: { effect: d.effect, source: d.source },
    decision,
  };
}

function applicabilityReason(
  p: CompiledPolicy,
  identity: Identity,
  connection: string,
  applies: boolean,
): string {
  if (!p.allConnections && !p.connections.has(connection)) {
    return `connection ${connection} is not in [${[...p.connections].join(', ')}]`;
  }
  if (applies)
    return p.allConnections
      ? 'all connections ("*") and the subjects match'
      : `connection ${connection} and the subjects match`;
  const why = p.subjects.map((s) => subjectMismatch(s, identity) ?? 'matches');
  return `subjects do not match: ${why.join('; or ')}`;
}

function sqlTouchFailure(r: CompiledRule, v: SqlView): string {
  const m = r.config.match;
  if (r.categories !== undefined && !v.cats.some((c) => r.categories!.has(c))) {
    return `no category of [${v.cats.join(', ')}] is in [${m.categories!.join(', ')}]`;
  }
  if (r.kinds !== undefined && !r.kinds.some((g) => g(v.kind)))
    return `kind "${v.kind}" is not in [${m.kinds!.join(', ')}]`;
  if (r.tables !== undefined && !v.tables.some((t) => r.tables!.some((p) => restrictionMatch(p, t, v.res)))) {
    return v.tables.length === 0
      ? 'the statement names no table'
      : `no table of [${v.tables.map(refName).join(', ')}] matches [${m.tables!.join(', ')}]`;
  }
  if (r.functions !== undefined && !touchesFunctions(r, v)) {
    return v.functions.length === 0
      ? 'the statement calls no function'
      : `no function of [${v.functions.map(refName).join(', ')}] matches [${m.functions!.join(', ')}]`;
  }
  return 'matches';
}

function sqlCoverFailure(r: CompiledRule, v: SqlView): string {
  const m = r.config.match;
  if (r.kinds !== undefined && !r.kinds.some((g) => g(v.kind)))
    return `kind "${v.kind}" is not in [${m.kinds!.join(', ')}]`;
  const table =
    r.tables === undefined
      ? undefined
      : v.tables.find((t) => !r.tables!.some((p) => grantMatch(p, t, v.res)));
  if (table !== undefined) return `table ${refName(table)} is outside [${m.tables!.join(', ')}]`;
  const fn =
    r.functions === undefined
      ? undefined
      : v.functions.find((f) => !r.functions!.some((p) => grantMatch(p, f, v.res)));
  if (fn !== undefined) return `function ${refName(fn)} is outside [${m.functions!.join(', ')}]`;
  return `none of [${v.cats.join(', ')}] is in [${(m.categories ?? []).join(', ')}]`;
}

function sqlRuleReason(
  r: CompiledRule,
  v: SqlView,
  touches: boolean,
  covers: readonly SqlCategory[],
): string {
  const other = otherDomain(r, 'sql');
  if (other !== undefined) return other;
  if (r.effect === 'deny') return touches ? 'fires: deny wins' : `no match: ${sqlTouchFailure(r, v)}`;
  if (covers.length > 0)
    return r.effect === 'review' ? `fires: covers ${covers.join(', ')}` : `covers ${covers.join(', ')}`;
  // Covers nothing. When no category is shared, that is the whole story; otherwise say what stopped coverage.
  const sharesCategory = (r.categoryBits & v.allBits) !== 0;
  const coverText = `covers nothing (${sqlCoverFailure(r, v)})`;
  if (touches) {
    return r.effect === 'review'
      ? `fires: touches the statement; ${coverText}`
      : `${coverText}; touches the statement, so its obligations apply`;
  }
  return sharesCategory
    ? `no match: ${sqlTouchFailure(r, v)}; ${coverText}`
    : `no match: ${sqlTouchFailure(r, v)}`;
}

function httpRuleReason(r: CompiledRule, a: HttpAction, matched: boolean): string {
  if (matched) return r.effect === 'deny' ? 'fires: deny wins' : 'matches';
  const m = r.config.match;
  if (m.operations !== undefined) {
    if (a.operation === undefined) return 'no match: the request has no operation';
    if (!r.operations!.some((g) => g(a.operation!.toLowerCase()))) {
      return `no match: operation ${a.operation} is not in [${m.operations.join(', ')}]`;
    }
  }
  if (r.methods !== undefined && !r.methods.has(a.method.toUpperCase())) {
    return `no match: method ${a.method} is not in [${m.methods!.join(', ')}]`;
  }
  if (r.paths !== undefined && !r.paths.some((p) => p(a.decidedPath)))
    return `no match: path ${a.path} is not in [${m.paths!.join(', ')}]`;
  return a.resource === undefined
    ? 'no match: the request names no AWS resource'
    : `no match: resource ${a.resource} is not in [${(m.awsResources ?? []).join(', ')}]${r.effect === 'allow' ? '' : ', nor any name the request mentions'}`;
}
