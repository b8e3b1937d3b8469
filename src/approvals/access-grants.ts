// Time-bound access grants (JIT access): while a principal holds an approved grant for a connection,
// its actions there are decided by its own policies plus the grant's rules, evaluated together
// (deny still wins). Every statement is decided anew, so a grant ends the moment it expires.

import type { Action } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import type { Identity } from '../core/identity.js';
import type { Logger, PolicyDecider } from '../core/ports.js';
import type { PolicyConfig, PolicyDefaultsConfig } from '../config/policy-schema.js';
import type { ApprovalsConfig } from '../config/schema.js';
import { createPolicyDecider } from '../policy/index.js';
import type { ApprovalRepository } from './approval-repository.js';
import type { ApprovalSignal } from './approval-signal.js';

interface ActiveGrant {
  readonly id: string;
  readonly grant: string;
  readonly connection: string;
  readonly until: number;
}

export interface PolicySource {
  readonly policies: readonly PolicyConfig[];
  readonly policyDefaults?: PolicyDefaultsConfig;
}

export interface AccessGrantsOptions {
  readonly repository: ApprovalRepository;
  readonly signal: ApprovalSignal;
  readonly config: () => ApprovalsConfig;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Re-reads the active grants this often even without a signal (default 30 s). */
  readonly refreshIntervalMs?: number;
}

/**
 * Whose grant it is: the principal, and whether it is an agent. A token an MCP client holds names the
 * person who signed in for it but is an agent's (docs/security.md, class 72): a grant approved for
 * the person is not the agent's, nor the other way round.
 */
const key = (subject: string, issuer: string, agent: boolean) =>
  `${issuer}\u0000${subject}\u0000${agent ? 'agent' : 'person'}`;

/** Keeps the active grants in memory (the policy decider is synchronous) and layers them on policy. */
export class AccessGrants {
  #active = new Map<string, ActiveGrant[]>();
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #refreshing: Promise<void> | undefined;
  #again = false;
  readonly #layered = new WeakMap<PolicyDecider, Map<string, PolicyDecider>>();
  readonly #wrapped = new WeakMap<PolicyDecider, { generation: number; decider: PolicyDecider }>();

  constructor(private readonly opts: AccessGrantsOptions) {}

  async start(): Promise<void> {
    await this.refresh();
    // An access request decided here or on another replica (or an unknown change) changes the set.
    this.#unsubscribe = this.opts.signal.subscribe((_id, kind) => {
      if (kind !== 'statement') void this.refresh();
    });
    this.#timer = setInterval(() => void this.refresh(), this.opts.refreshIntervalMs ?? 30_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#unsubscribe?.();
  }

  #now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Re-reads the approved, unexpired grants. Concurrent calls coalesce into one more read. */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        try {
          const rows = await this.opts.repository.activeAccessGrants(new Date(this.#now()));
          const next = new Map<string, ActiveGrant[]>();
          for (const r of rows) {
            if (!r.grantName || !r.validUntil) continue;
            const k = key(r.requester.subject, r.requester.issuer, r.requester.agent);
            const list = next.get(k) ?? [];
            list.push({
              id: r.id,
              grant: r.grantName,
              connection: r.connection,
              until: r.validUntil.getTime(),
            });
            next.set(k, list);
          }
          if (fingerprint(next) !== fingerprint(this.#active)) this.#generation++;
          this.#active = next;
        } catch (err) {
          this.opts.logger.warn(
            { err: String(err) },
            'access grants could not be read; keeping the previous set',
          );
        }
      } while (this.#again);
    })().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  /** Grant names active now for this principal on this connection (sorted). */
  activeFor(identity: Identity, connection: string): string[] {
    const now = this.#now();
    const list = this.#active.get(key(identity.subject, identity.issuer, identity.agent)) ?? [];
    return [
      ...new Set(list.filter((g) => g.connection === connection && g.until > now).map((g) => g.grant)),
    ].sort();
  }

  /** `base` with the active grants layered on; `source` is the config `base` was built from. */
  layer(base: PolicyDecider, source: PolicySource): PolicyDecider {
    const cached = this.#wrapped.get(base);
    if (cached && cached.generation === this.#generation) return cached.decider;
    const generation = this.#generation;
    const elevated = (identity: Identity, connection: string): PolicyDecider => {
      const names = this.activeFor(identity, connection);
      if (names.length === 0) return base;
      return this.#combined(base, source, names, connection);
    };
    const decider: PolicyDecider = {
      version: `${base.version}+grants.${generation}`,
      connectionAccess: (identity: Identity, connection: string): Decision =>
        elevated(identity, connection).connectionAccess(identity, connection),
      decide: (identity: Identity, action: Action): Decision =>
        elevated(identity, action.connection).decide(identity, action),
    };
    this.#wrapped.set(base, { generation, decider });
    return decider;
  }

  #combined(
    base: PolicyDecider,
    source: PolicySource,
    names: readonly string[],
    connection: string,
  ): PolicyDecider {
    let perBase = this.#layered.get(base);
    if (!perBase) {
      perBase = new Map();
      this.#layered.set(base, perBase);
    }
    const k = `${connection}\u0000${names.join('\u0000')}`;
    const hit = perBase.get(k);
    if (hit) return hit;
    const config = this.opts.config();
    const taken = new Set(source.policies.flatMap((p) => p.rules.map((r) => r.id)));
    const extra: PolicyConfig[] = [];
    for (const name of names) {
      const g = config.grants[name];
      if (!g) continue;
      const clash = g.rules.find((r) => taken.has(r.id));
      if (clash) {
        this.opts.logger.error(
          { grant: name, rule: clash.id },
          'access grant rule id clashes with a policy rule id; grant ignored',
        );
        continue;
      }
      g.rules.forEach((r) => taken.add(r.id));
      // Applies only to this principal: the layered decider is used for grant holders alone.
      extra.push({ id: `grant.${name}`, subjects: {}, connections: [connection], rules: g.rules });
    }
    const decider = extra.length
      ? createPolicyDecider({
          policies: [...source.policies, ...extra],
          ...(source.policyDefaults ? { defaults: source.policyDefaults } : {}),
        })
      : base;
    perBase.set(k, decider);
    return decider;
  }
}

function fingerprint(m: ReadonlyMap<string, readonly ActiveGrant[]>): string {
  return [...m.entries()]
    .map(
      ([k, v]) =>
        `${k}=${v
          .map((g) => `${g.id}@${g.until}`)
          .sort()
          .join(',')}`,
    )
    .sort()
    .join(';');
}
