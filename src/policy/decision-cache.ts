// A bounded LRU of SQL decisions keyed by policy version, connection, principal and statement text,
// so a statement already decided is not evaluated again. Holds decisions only, never results or secrets.

import type { Action } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import type { Identity } from '../core/identity.js';
import type { ExplainingPolicyDecider } from './policy-decider.js';

/** Least-recently-used map with a fixed capacity (Map keeps insertion order; a hit re-inserts). */
export class DecisionCache {
  private readonly entries = new Map<string, Decision>();
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new Error('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Decision | undefined {
    const d = this.entries.get(key);
    if (d === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, d);
    return d;
  }

  set(key: string, decision: Decision): void {
    this.entries.delete(key);
    this.entries.set(key, decision);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Everything about a principal that a decision depends on. */
function principalKey(identity: Identity): string {
  return `${identity.subject}\u0000${identity.tokenKind}\u0000${identity.agent ? 'a' : 'p'}\u0000${[...identity.groups].sort().join('\u0001')}`;
}

/**
 * Wraps a decider with a decision cache for SQL actions. The key includes the policy version, so a
 * reloaded policy never serves an old decision, and the statement's classification as well as its
 * text: a classification is a function of the text (one classifier per process), but the PostgreSQL
 * engine also decides a text as more than it was classified as (a read that runs in a read-write
 * transaction, as a write to any table), and a cached read must not answer for that.
 */
export function withDecisionCache(
  decider: ExplainingPolicyDecider,
  options: { readonly maxEntries?: number } = {},
): ExplainingPolicyDecider & { readonly cache: DecisionCache } {
  const cache = new DecisionCache(options.maxEntries ?? 10_000);
  const principals = new WeakMap<Identity, string>();
  const keyOf = (identity: Identity, action: Action & { kind: 'sql' }): string => {
    let p = principals.get(identity);
    if (p === undefined) {
      p = principalKey(identity);
      principals.set(identity, p);
    }
    // Not the text alone: the same text is also decided as more than it was classified (a read in a
    // read-write transaction as a write to any table), and every field a rule matches is keyed.
    const st = action.statement;
    const tables = st.tables.map((t) => `${t.schema ?? ''}.${t.name}`).join('\u0001');
    // What the engine found the statement reaches (class 113) is not a function of the text either.
    const reaches =
      (st.reachesUnknown === true ? '*' : '') +
      (st.reaches ?? []).map((t) => `${t.schema ?? ''}.${t.name}`).join('\u0001') +
      '\u0002' +
      (st.grantReachUnknown === true ? '*' : '') +
      (st.grantReaches ?? []).map((t) => `${t.schema ?? ''}.${t.name}`).join('\u0001');
    return `${decider.version}\u0000${action.connection}\u0000${p}\u0000${st.kind}\u0000${st.categories.join(',')}\u0000${tables}\u0000${reaches}\u0000${st.functions.join('\u0001')}\u0000${st.text}`;
  };
  return {
    cache,
    version: decider.version,
    connectionAccess: (identity, connection) => decider.connectionAccess(identity, connection),
    explain: (identity, action) => decider.explain(identity, action),
    reachMatters: (identity, connection, writes) => decider.reachMatters(identity, connection, writes),
    decide(identity, action) {
      if (action.kind !== 'sql') return decider.decide(identity, action);
      const key = keyOf(identity, action);
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
      const d = decider.decide(identity, action);
      cache.set(key, d);
      return d;
    },
  };
}
