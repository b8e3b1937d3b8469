// Composition root: the only file that picks concrete adapters (store, identity providers,
// classifier, policy, approver, masker) and wires them into the gate and the engines.

import { watch, type FSWatcher } from 'node:fs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { buildHttpApi, startHttpServer, type RoutePlugin, type RunningHttp } from './api/http-server.js';
import { unavailableApprover } from './approvals/unavailable-approver.js';
import { loadConfig, type LoadedConfig } from './config/load-config.js';
import { toMs, type GatehouseConfig, type SecretRef } from './config/schema.js';
import { passThroughMaskerFactory } from './core/masking.js';
import type { Logger, PolicyDecider } from './core/ports.js';
import type { ListeningAddress } from './engines/engine.js';
import type { ListenerSettings } from './engines/postgres/client-connection.js';
import { PostgresEngine } from './engines/postgres/postgres-engine.js';
import type { UpstreamTarget } from './engines/postgres/upstream-connection.js';
import { assertEnginesFor } from './engines/registry.js';
import { Gate } from './gate/gate.js';
import { createAuthenticator, type BuiltAuthenticator } from './identity/index.js';
import { createLogger } from './logger.js';
import { createPolicyDecider } from './policy/index.js';
import { resolveSecret, type Secret } from './secrets/secret-ref.js';
import { createPostgresClassifier } from './sql/postgres/index.js';
import { openStore, type OpenedStore } from './store/index.js';

export interface GatewayOptions {
  readonly logger?: Logger;
  /** Watch the config file and reload on change (SIGHUP always reloads when the CLI runs). */
  readonly watchConfig?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export interface Gateway {
  readonly postgres?: ListeningAddress;
  readonly http?: ListeningAddress;
  readonly store: OpenedStore;
  readonly identity: BuiltAuthenticator;
  readonly logger: Logger;
  /** Re-reads the config file; a bad config is refused and the running one kept. */
  reload(): Promise<{ ok: true } | { ok: false; error: string }>;
  stop(): Promise<void>;
}

/** Relative paths in a secret ref resolve against the config file's directory. */
function absoluteRef(ref: SecretRef, baseDir: string): SecretRef {
  return 'file' in ref ? { file: path.resolve(baseDir, ref.file) } : ref;
}

interface RuntimeSnapshot {
  readonly policy: PolicyDecider;
  readonly targets: ReadonlyMap<string, UpstreamTarget>;
  readonly listener: ListenerSettings;
}

async function buildSnapshot(loaded: LoadedConfig, env: NodeJS.ProcessEnv): Promise<RuntimeSnapshot> {
  const { config, baseDir } = loaded;
  assertEnginesFor(config.connections);
  const targets = new Map<string, UpstreamTarget>();
  for (const [name, conn] of Object.entries(config.connections)) {
    const u = conn.upstream;
    const secret: Secret | undefined = u.password ? await resolveSecret(absoluteRef(u.password, baseDir), env) : undefined;
    targets.set(name, {
      host: u.host,
      port: u.port,
      database: u.database,
      user: u.user,
      ...(secret ? { password: () => secret.reveal() } : {}),
      tls: { mode: u.tls.mode, ...(u.tls.ca ? { ca: path.resolve(baseDir, u.tls.ca) } : {}), ...(u.tls.serverName ? { serverName: u.tls.serverName } : {}) },
      connectTimeoutMs: toMs(u.connectTimeout),
    });
  }
  const pgl = config.listeners.postgres;
  const secureContext = pgl?.tls
    ? tls.createSecureContext({
        cert: readFileSync(path.resolve(baseDir, pgl.tls.cert)),
        key: readFileSync(path.resolve(baseDir, pgl.tls.key)),
        minVersion: 'TLSv1.2',
      })
    : undefined;
  const listener: ListenerSettings = {
    ...(secureContext ? { secureContext } : {}),
    requireTls: pgl?.requireTls ?? false,
    authTimeoutMs: toMs(pgl?.authTimeout ?? '10s'),
    idleTimeoutMs: toMs(pgl?.idleTimeout ?? 0),
    maxMessageBytes: pgl?.maxMessageBytes ?? 64 * 1024 * 1024,
  };
  const policy = createPolicyDecider({ policies: config.policies, ...(config.policyDefaults ? { defaults: config.policyDefaults } : {}) });
  return { policy, targets, listener };
}

function parseHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

export async function startGateway(loaded: LoadedConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const env = options.env ?? process.env;
  const config: GatehouseConfig = loaded.config;
  const logger = options.logger ?? createLogger(config.log.level);
  let snapshot = await buildSnapshot(loaded, env);
  let currentConfig = config;
  const store = await openStore(config.store, config.dataDir, async (ref) => (await resolveSecret(absoluteRef(ref, loaded.baseDir), env)).reveal());
  const identity = await createAuthenticator(config.identity, { dataDir: config.dataDir, tokenStore: store, logger });
  const classifier = await createPostgresClassifier();
  const gate = new Gate({
    authenticator: identity.authenticator,
    policy: () => snapshot.policy,
    approver: unavailableApprover,
    store,
    masking: passThroughMaskerFactory,
    logger,
  });

  let postgres: PostgresEngine | undefined;
  let postgresAddress: ListeningAddress | undefined;
  const pgl = config.listeners.postgres;
  if (pgl) {
    const { host, port } = parseHostPort(pgl.address);
    postgres = new PostgresEngine({
      host,
      port,
      maxConnections: pgl.maxConnections,
      gate,
      classifier,
      logger,
      settings: () => snapshot.listener,
      resolveConnection: (name) => snapshot.targets.get(name),
    });
    postgresAddress = await postgres.start();
    logger.info({ address: `${postgresAddress.host}:${postgresAddress.port}` }, 'postgres listener started');
  }

  let http: RunningHttp | undefined;
  const httpl = config.listeners.http;
  if (httpl) {
    const { host, port } = parseHostPort(httpl.address);
    // Feature routes (approvals, context API, MCP) are added here as they are wired.
    const plugins: RoutePlugin[] = [];
    const app = buildHttpApi({
      authenticator: identity.authenticator,
      store,
      logger,
      adminGroups: () => currentConfig.api.adminGroups,
      liveSessions: () => postgres?.liveSessions ?? 0,
    }, plugins);
    http = await startHttpServer(app, host, port);
    logger.info({ address: `${host}:${http.port}` }, 'http listener started');
  }

  const reload = async (): Promise<{ ok: true } | { ok: false; error: string }> => {
    try {
      const next = await loadConfig(loaded.path, env);
      snapshot = await buildSnapshot(next, env);
      currentConfig = next.config;
      logger.info({ config: loaded.path, policyVersion: snapshot.policy.version }, 'configuration reloaded');
      return { ok: true };
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      logger.error({ config: loaded.path, err: error }, 'configuration reload refused; keeping the running configuration');
      return { ok: false, error };
    }
  };

  let watcher: FSWatcher | undefined;
  if (options.watchConfig) {
    let timer: NodeJS.Timeout | undefined;
    watcher = watch(loaded.path, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), 200);
    });
  }

  return {
    ...(postgresAddress ? { postgres: postgresAddress } : {}),
    ...(http && httpl ? { http: { host: parseHostPort(httpl.address).host, port: http.port } } : {}),
    store,
    identity,
    logger,
    reload,
    async stop() {
      watcher?.close();
      await postgres?.stop();
      await http?.close();
      await store.close();
    },
  };
}
