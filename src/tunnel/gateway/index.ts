// The gateway's side of the network-resident agents, assembled for the composition root: registry
// (store), key material, the hub and the listener. main.ts calls startAgentGateway once.

import type { PreauthSignals } from '../../core/preauth.js';
import { randomUUID } from 'node:crypto';
import { toMs, type AgentsConfig } from '../../config/schema.js';
import type { DialTarget, Logger } from '../../core/ports.js';
import { AgentHub } from './agent-hub.js';
import { listenerCredentials, targetSigningKey } from './agent-keys.js';
import { AgentListener, type AgentListenerAddress } from './agent-listener.js';
import { AgentRegistry } from './agent-registry.js';

export interface AgentGatewayOptions {
  readonly config: AgentsConfig;
  readonly dataDir: string;
  readonly baseDir: string;
  readonly db: { getKysely(): unknown };
  readonly logger: Logger;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
  readonly targets: ReadonlyMap<string, readonly DialTarget[]>;
}

export interface AgentGateway {
  readonly hub: AgentHub;
  readonly registry: AgentRegistry;
  readonly address: AgentListenerAddress;
  /** This process's replica id (agent connections are per replica: docs/agent.md). */
  readonly replica: string;
  /** Pin of the listener certificate (what join tokens carry). */
  readonly pin: string;
  setTargets(targets: ReadonlyMap<string, readonly DialTarget[]>): void;
  stop(): Promise<void>;
}

function parseHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

export async function startAgentGateway(o: AgentGatewayOptions): Promise<AgentGateway> {
  const { config } = o;
  const registry = new AgentRegistry(o.db.getKysely());
  const replica = randomUUID();
  const heartbeatMs = toMs(config.heartbeatInterval);
  const heartbeatTimeoutMs = Math.max(toMs(config.heartbeatTimeout), 2 * heartbeatMs);
  await registry.purgeStaleConnections(new Date(Date.now() - 3_600_000)).catch(() => undefined);
  const [creds, signing] = await Promise.all([
    listenerCredentials(config, o.dataDir, o.baseDir),
    targetSigningKey(config, o.dataDir, o.baseDir),
  ]);
  const hub = new AgentHub({
    registry,
    signingKey: signing.privateKey,
    logger: o.logger,
    replica,
    heartbeatMs,
    heartbeatTimeoutMs,
    dialTimeoutMs: toMs(config.dialTimeout),
    streamWindowBytes: 256 * 1024,
    sessionWindowBytes: 32 * 1024 * 1024,
    maxStreams: config.maxStreamsPerAgent,
    maxLinksPerAgent: config.maxConnectionsPerAgent,
  });
  hub.setTargets(o.targets);
  const { host, port } = parseHostPort(config.listen);
  const listener = new AgentListener({
    host,
    port,
    cert: creds.cert,
    key: creds.key,
    registry,
    hub,
    signingPublicKey: signing.publicKey,
    replica,
    heartbeatMs,
    logger: o.logger,
    websocket: config.websocket,
    handshakeTimeoutMs: toMs(config.handshakeTimeout),
    maxPendingHandshakes: config.maxPendingHandshakes,
    maxPendingHandshakesPerAddress: config.maxPendingHandshakesPerAddress,
    ...(o.preauth ? { preauth: o.preauth } : {}),
  });
  const address = await listener.start();
  o.logger.info({ address: `${address.host}:${address.port}`, replica }, 'agent listener started');
  return {
    hub,
    registry,
    address,
    replica,
    pin: creds.pin,
    setTargets: (t) => hub.setTargets(t),
    async stop() {
      await hub.stop();
      await listener.stop();
    },
  };
}

export { AgentRegistry } from './agent-registry.js';
export { listenerCredentials, targetSigningKey } from './agent-keys.js';
export { RoutingDialer } from './routing-dialer.js';
