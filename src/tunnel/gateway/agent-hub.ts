// The gateway's agents: every live link by agent name, the target lists each name may dial, and
// `dial` — which picks a healthy link (fewest open streams, then round robin) and opens the upstream
// connection through it. It also polls the store for revocations (ending a revoked agent's links and
// streams within a poll) and writes each link's heartbeat to the store for `gatehouse agent list`.

import type { KeyObject } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { ERROR_CODES, GatewayError } from '../../core/errors.js';
import type { DialOptions, DialTarget, Logger } from '../../core/ports.js';
import { targetKey } from '../target-list.js';
import { AgentLink, DialError, type LinkSettings } from './agent-link.js';
import type { AgentRegistry, RegisteredAgent } from './agent-registry.js';

export interface AgentHubOptions extends Omit<LinkSettings, 'logger'> {
  readonly registry: AgentRegistry;
  readonly signingKey: KeyObject;
  readonly logger: Logger;
  readonly dialTimeoutMs: number;
  /** How often revocations are looked up in the store (default 1000 ms). */
  readonly revocationPollMs?: number;
  /**
   * Live links one registered agent (one key) may hold on this replica (default 4; a healthy agent
   * holds one per replica). Every link costs an HTTP/2 session, timers and a store row rewritten
   * each heartbeat, so without a bound one stolen or compromised agent key could open them without end.
   */
  readonly maxLinksPerAgent?: number;
}

export interface LinkInfo {
  readonly id: string;
  readonly agentId: string;
  readonly name: string;
  readonly address: string;
  readonly version: string;
  readonly connectedAt: Date;
  readonly lastHeartbeat: Date;
  readonly activeStreams: number;
  readonly totalStreams: number;
  readonly draining: boolean;
}

export class AgentHub {
  private readonly links = new Map<string, Set<AgentLink>>();
  private targets: ReadonlyMap<string, readonly string[]> = new Map();
  private issuedAt = 0;
  private rr = 0;
  private readonly poll: NodeJS.Timeout;
  private polling = false;
  private stopped = false;

  constructor(private readonly options: AgentHubOptions) {
    this.poll = setInterval(() => void this.housekeeping(), options.revocationPollMs ?? 1000);
    this.poll.unref();
  }

  /** The targets each agent name may dial (from the connections whose `via` names it). */
  setTargets(byAgent: ReadonlyMap<string, readonly DialTarget[]>): void {
    const next = new Map<string, string[]>();
    for (const [name, list] of byAgent) next.set(name, [...new Set(list.map(targetKey))].sort());
    this.targets = next;
    // Strictly increasing even within one millisecond: the agent refuses a list older than its own.
    this.issuedAt = Math.max(Date.now(), this.issuedAt + 1);
    for (const set of this.links.values()) for (const link of set) void this.sendTargets(link);
  }

  private async sendTargets(link: AgentLink): Promise<void> {
    const targets = this.targets.get(link.name) ?? [];
    try {
      await link.pushTargets(targets, this.options.signingKey, this.issuedAt);
    } catch (e) {
      if (link.closed) return;
      this.options.logger.error(
        { agent: link.name, link: link.id, err: (e as Error).message },
        'agent did not accept its target list',
      );
      link.fail(`the agent "${link.name}" did not accept its target list`);
    }
  }

  get maxLinksPerAgent(): number {
    return this.options.maxLinksPerAgent ?? 4;
  }

  /** Live links of this agent (one registered key) on this replica. */
  linkCount(agentId: string): number {
    let n = 0;
    for (const set of this.links.values()) for (const l of set) if (l.agent.id === agentId && !l.closed) n++;
    return n;
  }

  /** Takes over an authenticated agent connection. */
  async attach(agent: RegisteredAgent, socket: Duplex, address: string, version: string): Promise<AgentLink> {
    const link = new AgentLink(agent, address, version, socket, {
      ...this.options,
      logger: this.options.logger,
    });
    if (this.stopped) {
      link.fail('the gateway is shutting down');
      return link;
    }
    // The listener refuses past the limit before its welcome; this holds it for hellos that raced.
    if (this.linkCount(agent.id) >= this.maxLinksPerAgent) {
      link.fail(
        `the agent "${agent.name}" already holds ${this.maxLinksPerAgent} connections to this gateway`,
      );
      return link;
    }
    let set = this.links.get(agent.name);
    if (!set) this.links.set(agent.name, (set = new Set()));
    set.add(link);
    link.onClose((l) => {
      this.links.get(l.name)?.delete(l);
      void this.options.registry.removeConnection(l.id).catch(() => undefined);
    });
    this.options.logger.info(
      { agent: agent.name, agentId: agent.id, link: link.id, address, version },
      'agent connected',
    );
    await this.sendTargets(link);
    void this.saveLink(link);
    return link;
  }

  /** Opens an upstream connection to `target` through a healthy agent named `name`. */
  async dial(target: DialTarget, name: string, options: DialOptions = {}): Promise<Duplex> {
    const key = targetKey(target);
    const allowed = this.targets.get(name);
    if (!allowed?.includes(key)) {
      throw new GatewayError(
        ERROR_CODES.UPSTREAM_UNAVAILABLE,
        `${key} is not a target of agent "${name}" (no connection routed through it names it)`,
      );
    }
    const tried = new Set<AgentLink>();
    let last: DialError | undefined;
    for (;;) {
      const link = this.pick(name, key, tried);
      if (!link) break;
      tried.add(link);
      try {
        return await link.dial(target, key, {
          timeoutMs: this.options.dialTimeoutMs,
          ...(options.connection ? { connection: options.connection } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (e) {
        if (!(e instanceof DialError)) throw e;
        last = e;
        // Only a link failure is worth another agent: a refusal or an unreachable upstream is not.
        if (e.failure.kind !== 'link' || options.signal?.aborted) break;
      }
    }
    if (last) throw new GatewayError(ERROR_CODES.UPSTREAM_UNAVAILABLE, last.message);
    const connected = this.links.get(name)?.size ?? 0;
    throw new GatewayError(
      ERROR_CODES.UPSTREAM_UNAVAILABLE,
      connected > 0
        ? `no agent "${name}" can take a new connection to ${key} right now (draining, full or still starting)`
        : `the agent "${name}" is not connected to this gateway`,
    );
  }

  private pick(name: string, key: string, skip: ReadonlySet<AgentLink>): AgentLink | undefined {
    const candidates = [...(this.links.get(name) ?? [])].filter((l) => !skip.has(l) && l.canDial(key));
    if (candidates.length === 0) return undefined;
    const least = Math.min(...candidates.map((l) => l.activeStreams));
    const best = candidates.filter((l) => l.activeStreams === least);
    return best[this.rr++ % best.length];
  }

  list(): LinkInfo[] {
    const out: LinkInfo[] = [];
    for (const set of this.links.values())
      for (const l of set)
        out.push({
          id: l.id,
          agentId: l.agent.id,
          name: l.name,
          address: l.address,
          version: l.version,
          connectedAt: l.connectedAt,
          lastHeartbeat: l.lastHeartbeat,
          activeStreams: l.activeStreams,
          totalStreams: l.totalStreams,
          draining: l.draining,
        });
    return out;
  }

  /** Ends every live link of this agent (id or name) now: used after a revocation in this process. */
  disconnect(nameOrId: string, reason: string): number {
    let n = 0;
    for (const set of this.links.values())
      for (const l of [...set])
        if (l.agent.id === nameOrId || l.name === nameOrId) {
          l.fail(reason);
          n++;
        }
    return n;
  }

  private async saveLink(l: AgentLink): Promise<void> {
    if (l.closed) return;
    await this.options.registry
      .saveConnection({
        id: l.id,
        agentId: l.agent.id,
        name: l.name,
        replica: this.options.replica,
        address: l.address,
        version: l.version,
        connectedAt: l.connectedAt,
        heartbeatAt: l.lastHeartbeat,
        activeStreams: l.activeStreams,
        totalStreams: l.totalStreams,
      })
      .catch((e: unknown) =>
        this.options.logger.warn(
          { agent: l.name, err: (e as Error).message },
          'could not record agent heartbeat',
        ),
      );
  }

  private ticks = 0;

  private async housekeeping(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const all = [...this.links.values()].flatMap((s) => [...s]);
      if (all.length === 0) return;
      const revoked = await this.options.registry.revokedAmong([...new Set(all.map((l) => l.agent.id))]);
      for (const l of all) if (revoked.has(l.agent.id)) l.fail(`the agent "${l.name}" was revoked`);
      // Heartbeats reach the store about once per heartbeat interval.
      const every = Math.max(
        1,
        Math.round(this.options.heartbeatMs / (this.options.revocationPollMs ?? 1000)),
      );
      if (++this.ticks % every === 0) for (const l of all) if (!l.closed) await this.saveLink(l);
    } catch (e) {
      // The store did not answer: live links keep running (new agents cannot authenticate meanwhile).
      this.options.logger.warn({ err: (e as Error).message }, 'agent revocation check failed');
    } finally {
      this.polling = false;
    }
  }

  async stop(graceMs = 1000): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    const all = [...this.links.values()].flatMap((s) => [...s]);
    await Promise.all(all.map((l) => l.shutdown('the gateway is shutting down', graceMs)));
    await Promise.all(all.map((l) => this.options.registry.removeConnection(l.id).catch(() => undefined)));
  }
}
