// Composition root: the only file that picks concrete adapters (store, identity providers,
// classifier, policy, approver, masker) and wires them into the gate and the engines.

import { watch, type FSWatcher } from 'node:fs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { hostAllowed } from './api/host-allow-list.js';
import { buildHttpApi, startHttpServer, type RoutePlugin, type RunningHttp } from './api/http-server.js';
import { unavailableApprover } from './approvals/unavailable-approver.js';
import { createApprovals, type Approvals } from './approvals/create-approvals.js';
import { approvalRoutes } from './api/approval-routes.js';
import { ImpactPreviewer } from './engines/postgres/impact-preview.js';
import { loadConfig, type LoadedConfig } from './config/load-config.js';
import { toMs, type GatehouseConfig, type SecretRef } from './config/schema.js';
import { GatewayError, ERROR_CODES } from './core/errors.js';
import {
  createSqlMaskerFactory,
  unknownMaskingProfiles,
  type SqlMaskerFactory,
} from './masking/result-masker.js';
import { ResourceFailureBudget } from './masking/failure-budget.js';
import { loadMaskingInputs } from './masking/masking-inputs.js';

import type { Approver, DialTarget, Logger, UpstreamDialer } from './core/ports.js';
import type { ListeningAddress } from './engines/engine.js';
import type { ListenerSettings } from './engines/postgres/client-connection.js';
import { PostgresEngine } from './engines/postgres/postgres-engine.js';
import { buildHttpConnectionSettings, listenerTls } from './engines/http/connection-settings.js';
import { HttpEngine } from './engines/http/http-engine.js';
import type { HttpConnectionSettings } from './engines/http/http-settings.js';
import type { UpstreamTarget } from './engines/postgres/upstream-connection.js';
import { KubernetesEngine } from './engines/kubernetes/kubernetes-engine.js';
import {
  buildKubeConnectionSettings,
  kubeListenerTls,
  type KubeConnectionSettings,
} from './engines/kubernetes/kube-settings.js';
import { assertEnginesFor } from './engines/registry.js';
import { SshEngine } from './engines/ssh/ssh-engine.js';
import { SshKeyRegistry, sshKeyLogin } from './engines/ssh/key-registry.js';
import { loadOrCreateHostKey } from './engines/ssh/ssh-keys.js';
import { buildSshConnectionSettings, type SshConnectionSettings } from './engines/ssh/ssh-settings.js';
import { createPrivateKeyFile } from './secrets/private-key-file.js';
import { Gate } from './gate/gate.js';
import { agentAudienceOf } from './identity/agent-audiences.js';
import { AwsAccessKeyResolver, createAuthenticator, type BuiltAuthenticator } from './identity/index.js';
import { createLogger } from './logger.js';
import { createPolicyDecider } from './policy/index.js';
import { subjectMatches } from './policy/compiled-policy.js';
import type { Identity } from './core/identity.js';
import { resolveSecret, type Secret } from './secrets/secret-ref.js';
import { createMcpEndpoint, type McpEndpoint } from './mcp/index.js';
import { createPostgresClassifier, createPostgresLineageAnalyzer } from './sql/postgres/index.js';
import { openStore, type OpenedStore } from './store/index.js';
import { contextRoutes } from './api/context-routes.js';
import { recordingStatusRoutes } from './api/recording-status-routes.js';
import { createRecording, type Recording } from './recording/index.js';
import type { WebConsole } from './console/index.js';
import type { ExplainingPolicyDecider } from './policy/policy-decider.js';
import { RoutingDialer, startAgentGateway, type AgentGateway } from './tunnel/gateway/index.js';
import { metricsRoutes } from './api/metrics-routes.js';
import { noMetrics, type MetricRegistry } from './core/metrics.js';
import { noTracer, type Tracer } from './core/tracing.js';
import {
  instrumentedApprover,
  instrumentedStore,
  tracedAuthenticator,
  tracedPolicySource,
} from './telemetry/instrumented-ports.js';
import { startMetricsListener, type RunningMetricsListener } from './telemetry/metrics-listener.js';
import { PreauthRefusalLog } from './telemetry/preauth-signals.js';
import { PROMETHEUS_CONTENT_TYPE, PrometheusRegistry } from './telemetry/prometheus-registry.js';
import type { RunningTracer } from './telemetry/otlp-tracer.js';
import { gatehouseVersion } from './version.js';

export interface GatewayOptions {
  readonly logger?: Logger;
  /** Watch the config file and reload on change (SIGHUP always reloads when the CLI runs). */
  readonly watchConfig?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  /** Replaces the approval service (tests that decide reviews themselves). */
  readonly approver?: Approver;
  /** Told after every reload, from SIGHUP or the file watcher (the demo prints it). */
  readonly onReload?: (result: { ok: true } | { ok: false; error: string }) => void;
}

export interface Gateway {
  readonly postgres?: ListeningAddress;
  readonly http?: ListeningAddress;
  readonly store: OpenedStore;
  readonly identity: BuiltAuthenticator;
  /** Listening address of each `http` connection (docs/aws.md). */
  readonly httpConnections: Readonly<Record<string, ListeningAddress>>;
  /** Listening address of each `kubernetes` connection (docs/kubernetes.md). */
  readonly kubernetesConnections: Readonly<Record<string, ListeningAddress>>;
  /** The SSH listener (docs/ssh.md), when `listeners.ssh` is configured. */
  readonly ssh?: ListeningAddress;
  /** Session recording: recorder, contexts, samplers, SIEM export (docs/recording.md). */
  readonly recording: Recording;
  /** The web console on the HTTP listener (docs/console.md), when it is on. */
  readonly console?: WebConsole;
  /** Network-resident agents (docs/agent.md), when `agents:` is configured. */
  readonly agents?: AgentGateway;
  readonly logger: Logger;
  /** The separate metrics listener (`metrics.listen`), when configured. */
  readonly metricsListener?: ListeningAddress;
  /**
   * Live PostgreSQL sessions, open sockets on the listener, and the bytes the sessions hold on
   * their way to clients (health, tests).
   */
  connectionStats(): Promise<{
    sessions: number;
    sockets: number;
    buffered: number;
    /** PostgreSQL: bytes held for answers the upstream has not given yet (ResponseTracker.heldBytes). */
    awaited: number;
    /** PostgreSQL: connections reading nothing from their client until the upstream answers. */
    readsHeld: number;
  }>;
  /** Re-reads the config file; a bad config is refused and the running one kept. */
  reload(): Promise<{ ok: true } | { ok: false; error: string }>;
  stop(): Promise<void>;
}

/** Relative paths in a secret ref resolve against the config file's directory. */
function absoluteRef(ref: SecretRef, baseDir: string): SecretRef {
  return 'file' in ref ? { file: path.resolve(baseDir, ref.file) } : ref;
}

interface RuntimeSnapshot {
  readonly policy: ExplainingPolicyDecider;
  readonly targets: ReadonlyMap<string, UpstreamTarget>;
  readonly listener: ListenerSettings;
  readonly http: ReadonlyMap<string, HttpConnectionSettings>;
  readonly kubernetes: ReadonlyMap<string, KubeConnectionSettings>;
  readonly ssh: ReadonlyMap<string, SshConnectionSettings>;
  /** The mask step (docs/masking.md), rebuilt with the rest on reload. */
  readonly masking: SqlMaskerFactory;
  /** What each agent may dial: the upstreams of the connections whose `via` names it (docs/agent.md). */
  readonly agentTargets: ReadonlyMap<string, readonly DialTarget[]>;
}

async function buildSnapshot(
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv,
  dialer: UpstreamDialer,
): Promise<RuntimeSnapshot> {
  const { config, baseDir } = loaded;
  assertEnginesFor(config.connections);
  const agentTargets = new Map<string, DialTarget[]>();
  const routeVia = (name: string, via: { agent: string } | undefined, dial: DialTarget[]) => {
    if (!via) return;
    if (!config.agents)
      throw new GatewayError(
        ERROR_CODES.CONFIG_INVALID,
        `connection "${name}" goes through agent "${via.agent}" but there is no agents: section (docs/agent.md)`,
      );
    agentTargets.set(via.agent, [...(agentTargets.get(via.agent) ?? []), ...dial]);
  };
  const targets = new Map<string, UpstreamTarget>();
  for (const [name, conn] of Object.entries(config.connections)) {
    if (conn.protocol !== 'postgres') continue;
    routeVia(name, conn.via, [{ host: conn.upstream.host, port: conn.upstream.port }]);
    const u = conn.upstream;
    const secret: Secret | undefined = u.password
      ? await resolveSecret(absoluteRef(u.password, baseDir), env)
      : undefined;
    const logins = [];
    for (const l of u.logins) {
      const pw: Secret | undefined = l.password
        ? await resolveSecret(absoluteRef(l.password, baseDir), env)
        : undefined;
      const matchers = Array.isArray(l.subjects) ? l.subjects : [l.subjects];
      logins.push({
        user: l.user,
        ...(pw ? { password: () => pw.reveal() } : {}),
        matches: (identity: Identity) => matchers.some((m) => subjectMatches(m, identity)),
      });
    }
    targets.set(name, {
      host: u.host,
      port: u.port,
      database: u.database,
      user: u.user,
      ...(secret ? { password: () => secret.reveal() } : {}),
      ...(logins.length > 0 ? { logins } : {}),
      tls: {
        mode: u.tls.mode,
        ...(u.tls.ca ? { ca: path.resolve(baseDir, u.tls.ca) } : {}),
        ...(u.tls.serverName ? { serverName: u.tls.serverName } : {}),
      },
      connectTimeoutMs: toMs(u.connectTimeout),
      dialer,
      connection: name,
      ...(conn.via ? { via: conn.via } : {}),
      lineage: conn.masking,
      readOnlyReads: conn.readOnlyReads,
      agentTransactionTimeoutMs: toMs(conn.agentTransactionTimeout),
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
    writeStallTimeoutMs: toMs(pgl?.writeStallTimeout ?? '60s'),
    maxMessageBytes: pgl?.maxMessageBytes ?? 64 * 1024 * 1024,
    maxStatementsPerQuery: pgl?.maxStatementsPerQuery ?? 1000,
    messageBytesPerPrincipal: pgl?.messageBytesPerPrincipal ?? 256 * 1024 * 1024,
    state: {
      maxStatements: pgl?.maxPreparedStatements ?? 1000,
      maxStatementBytes: pgl?.maxPreparedBytes ?? 16 * 1024 * 1024,
      maxPortals: pgl?.maxPortals ?? 1000,
    },
  };
  const policy = createPolicyDecider({
    policies: config.policies,
    ...(config.policyDefaults ? { defaults: config.policyDefaults } : {}),
  });
  const http = new Map<string, HttpConnectionSettings>();
  for (const [name, conn] of Object.entries(config.connections)) {
    if (conn.protocol !== 'http') continue;
    refuseReadableCredentialVia(name, conn);
    const settings = await buildHttpConnectionSettings(name, conn, {
      resolveSecret: (ref) => resolveSecret(absoluteRef(ref, baseDir), env),
      baseDir,
      env,
      dialer,
    });
    http.set(name, settings);
    routeVia(name, conn.via, httpDialTargets(name, conn, settings));
  }
  const kubernetes = new Map<string, KubeConnectionSettings>();
  for (const [name, conn] of Object.entries(config.connections)) {
    if (conn.protocol !== 'kubernetes') continue;
    kubernetes.set(
      name,
      await buildKubeConnectionSettings(name, conn, {
        resolveSecret: (ref) => resolveSecret(absoluteRef(ref, baseDir), env),
        baseDir,
        env,
      }),
    );
  }
  const ssh = new Map<string, SshConnectionSettings>();
  for (const [name, conn] of Object.entries(config.connections)) {
    if (conn.protocol !== 'ssh') continue;
    if (!config.listeners.ssh)
      throw new GatewayError(
        ERROR_CODES.CONFIG_INVALID,
        `connection "${name}" is an ssh connection but listeners.ssh is not configured (docs/ssh.md)`,
      );
    routeVia(name, conn.via, [{ host: conn.upstream.host, port: conn.upstream.port }]);
    ssh.set(
      name,
      await buildSshConnectionSettings(name, conn, {
        resolveSecret: (ref) => resolveSecret(absoluteRef(ref, baseDir), env),
      }),
    );
  }
  const badProfiles = unknownMaskingProfiles(config.policies, config.masking);
  if (badProfiles.length > 0) {
    throw new GatewayError(
      ERROR_CODES.CONFIG_INVALID,
      `masking profiles not defined under masking.profiles: ${badProfiles.join('; ')}`,
    );
  }
  const masking = createSqlMaskerFactory(
    config.masking,
    await loadMaskingInputs(config.masking, {
      dataDir: config.dataDir,
      baseDir,
      resolveSecret: async (ref) => (await resolveSecret(absoluteRef(ref, baseDir), env)).reveal(),
    }),
  );
  return { policy, targets, listener, http, kubernetes, ssh, masking, agentTargets };
}

/**
 * An agent relays what it is given: a credential the gateway adds (bearer, basic, a secret header)
 * must cross it inside TLS the gateway verifies, or the agent — or anything on its path — reads it
 * and can use it without Gatehouse (docs/security.md). A SigV4 signature is not the key: allowed.
 */
function refuseReadableCredentialVia(
  name: string,
  conn: Extract<GatehouseConfig['connections'][string], { protocol: 'http' }>,
): void {
  if (!conn.via || conn.auth.type === 'none' || conn.auth.type === 'aws-sigv4') return;
  const plain = conn.upstream !== undefined && new URL(conn.upstream).protocol !== 'https:';
  if (plain || !conn.tls.rejectUnauthorized)
    throw new GatewayError(
      ERROR_CODES.CONFIG_INVALID,
      `connection "${name}" would send its ${conn.auth.type} credential through agent "${conn.via.agent}" ${plain ? 'over plain HTTP' : 'over TLS it does not verify'}: the agent could read it. Use an https:// upstream with tls.rejectUnauthorized on (docs/agent.md)`,
    );
}

/** The host:port pairs an http connection dials: its base URL, or its AWS service endpoints. */
function httpDialTargets(
  name: string,
  conn: Extract<GatehouseConfig['connections'][string], { protocol: 'http' }>,
  settings: HttpConnectionSettings,
): DialTarget[] {
  const hostPort = (u: URL): DialTarget => ({
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
  });
  if (settings.generic) return [hostPort(settings.generic.base)];
  const aws = settings.aws!;
  const auth = conn.auth.type === 'aws-sigv4' ? conn.auth : undefined;
  const services = [...new Set([...(auth?.services ?? []), ...Object.keys(auth?.endpoints ?? {})])];
  if (services.length === 0)
    throw new GatewayError(
      ERROR_CODES.CONFIG_INVALID,
      `connection "${name}" goes through an agent: list auth.services (or auth.endpoints) so the agent's targets are known`,
    );
  return services.map((s) => hostPort(aws.endpointFor(s)));
}

function parseHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

export async function startGateway(loaded: LoadedConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const env = options.env ?? process.env;
  const config: GatehouseConfig = loaded.config;
  const logger = options.logger ?? createLogger(config.log.level);
  // Every upstream socket is opened through this (directly, or through an agent: docs/agent.md).
  let agents: AgentGateway | undefined;
  const dialer = new RoutingDialer(() => agents?.hub);
  let snapshot = await buildSnapshot(loaded, env, dialer);
  let currentConfig = config;
  const store = await openStore(
    config.store,
    config.dataDir,
    async (ref) => (await resolveSecret(absoluteRef(ref, loaded.baseDir), env)).reveal(),
    {
      onCheckpointError: (message) =>
        logger.warn({ err: message }, 'SQLite WAL checkpoint failed (the writer checkpoints instead)'),
      onStagingError: (message) =>
        logger.error(
          { err: message },
          'the record could not fold its journal into its tables; reads of the record fail, and statements are refused unless a lock held elsewhere is the cause, until it can',
        ),
    },
  );
  const identity = await createAuthenticator(config.identity, {
    dataDir: config.dataDir,
    tokenStore: store,
    logger,
    // A token issued for the MCP resource is held by an MCP client: an agent's (class 72).
    oidc: {
      agentAudience: agentAudienceOf(() => currentConfig),
      // The console's and approval page's own OIDC clients sign people in (class 123).
      signInClients: (iss) =>
        [currentConfig.console.oidc, currentConfig.approvals?.oidc]
          .filter((o) => o !== undefined && o.issuer.replace(/\/+$/, '') === iss.replace(/\/+$/, ''))
          .map((o) => o!.clientId),
    },
  });
  // Metrics (docs/operations.md): the gate, its ports and the listeners record through these; the
  // do-nothing registry stands in when they are off.
  const promRegistry = config.metrics.enabled || config.metrics.listen ? new PrometheusRegistry() : undefined;
  const metrics: MetricRegistry = promRegistry ?? noMetrics;
  // Refusals before authentication, on every listener: counted, and logged rate-limited.
  const preauth = new PreauthRefusalLog(metrics, logger);
  if (config.agents) {
    agents = await startAgentGateway({
      preauth,
      config: config.agents,
      dataDir: config.dataDir,
      baseDir: loaded.baseDir,
      db: store,
      logger,
      targets: snapshot.agentTargets,
    });
  }
  const classifier = await createPostgresClassifier({
    offThread: { timeoutMs: toMs(config.listeners.postgres?.parseTimeout ?? '10s') },
  });
  // Recording (docs/recording.md): the gate writes through the recorder, which redacts passwords,
  // moves large samples to the blob store and links prompts; the store chains and seals the events.
  const recording = await createRecording(store, config.recording, {
    dataDir: config.dataDir,
    baseDir: loaded.baseDir,
    logger,
    resolveSecret: async (ref) => (await resolveSecret(absoluteRef(ref, loaded.baseDir), env)).reveal(),
    // Replicas sharing a PostgreSQL store pick up each other's prompt contexts.
    contextRefreshMs: config.store.kind === 'postgres' ? 2000 : 0,
  });
  const revealRef = async (ref: SecretRef) =>
    (await resolveSecret(absoluteRef(ref, loaded.baseDir), env)).reveal();
  // Approvals (docs/approvals.md): on when `approvals:` is configured; without it reviews are refused.
  let httpPortForLinks = 0;
  /** Base URL for links when no publicUrl is configured: the HTTP listener's own address. */
  const linkBase = () => {
    const h = config.listeners.http ? parseHostPort(config.listeners.http.address).host : '127.0.0.1';
    return `http://${h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h}:${httpPortForLinks}`;
  };
  const approvals: Approvals | undefined = config.approvals
    ? await createApprovals({
        config: () => currentConfig,
        store,
        ...(config.store.kind === 'postgres' ? { listenUrl: await revealRef(config.store.url) } : {}),
        previewer: new ImpactPreviewer({ resolveConnection: (name) => snapshot.targets.get(name) }),
        resolveSecret: revealRef,
        logger,
        // Each approval step is also an event of the session's hash-chained record.
        sink: {
          record: (sessionId, e) =>
            recording.recorder.appendEvent(sessionId, {
              type: e.type,
              at: e.at,
              ...(e.statementId ? { statementId: e.statementId } : {}),
              data: { requestId: e.requestId, ...e.data },
            }),
        },
        fallbackUrl: () => linkBase(),
      })
    : undefined;
  // Time-bound access grants are layered on the policy snapshot for the principals that hold one.
  const currentPolicy = () => (approvals ? approvals.layer(snapshot.policy, currentConfig) : snapshot.policy);
  // Traces (docs/operations.md): the gate and its ports record through this; the do-nothing tracer
  // stands in when they are off.
  const otlp: RunningTracer | undefined = config.tracing.otlpEndpoint
    ? await (
        await import('./telemetry/otlp-tracer.js')
      ).startOtlpTracer({
        endpoint: config.tracing.otlpEndpoint,
        serviceName: config.tracing.serviceName,
        serviceVersion: gatehouseVersion(),
        sampleRatio: config.tracing.sampleRatio,
        headers: Object.fromEntries(
          await Promise.all(
            Object.entries(config.tracing.headers).map(
              async ([k, v]) => [k, typeof v === 'string' ? v : await revealRef(v)] as const,
            ),
          ),
        ),
      })
    : undefined;
  const tracer: Tracer = otlp ?? noTracer;
  const gate = new Gate({
    authenticator: tracedAuthenticator(identity.authenticator, tracer),
    policy: tracedPolicySource(currentPolicy, tracer),
    approver: instrumentedApprover(
      options.approver ?? approvals?.service ?? unavailableApprover,
      metrics,
      tracer,
    ),
    store: instrumentedStore(recording.recorder, metrics, tracer),
    metrics,
    preauth,
    tracer,
    sampler: recording.sampler,
    lineage: recording.lineage,
    // Read through the snapshot so a reload's masking config applies to the next statement.
    masking: {
      forAction: (identity, action, obligations) => snapshot.masking.forAction(identity, action, obligations),
    },
    limits: () => ({
      sessionsPerPrincipal: currentConfig.limits.sessionsPerPrincipal,
      connection: (name) => {
        const c = currentConfig.connections[name];
        return c && 'limits' in c ? c.limits : undefined;
      },
    }),
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
      unauthenticatedPerAddress: pgl.unauthenticatedPerAddress,
      gate,
      preauth,
      classifier,
      logger,
      settings: () => snapshot.listener,
      resolveConnection: (name) => snapshot.targets.get(name),
      // Column lineage: result columns fed by masked columns are masked too (docs/masking.md).
      lineage: {
        analyzer: await createPostgresLineageAnalyzer(),
        rules: (obligations, statements) => snapshot.masking.lineageRules(obligations, statements),
        builtinRules: (obligations) => snapshot.masking.builtinLineageRules(obligations),
        failures: new ResourceFailureBudget(),
      },
    });
    postgresAddress = await postgres.start();
    logger.info({ address: `${postgresAddress.host}:${postgresAddress.port}` }, 'postgres listener started');
  }

  // HTTP and AWS API connections (docs/aws.md): one listener per connection, at its `listen` address.
  const httpEngines: HttpEngine[] = [];
  const httpConnections: Record<string, ListeningAddress> = {};
  const awsKeys = identity.issuer
    ? new AwsAccessKeyResolver({ issuer: identity.issuer, tokenStore: store })
    : undefined;
  for (const [name, conn] of Object.entries(config.connections)) {
    if (conn.protocol !== 'http') continue;
    const { host, port } = parseHostPort(conn.listen);
    const tls = listenerTls(conn, loaded.baseDir);
    const engine = new HttpEngine({
      connection: name,
      host,
      port,
      gate,
      logger,
      preauth,
      settings: () => snapshot.http.get(name),
      ...(awsKeys ? { awsKeys } : {}),
      ...(tls ? { tls } : {}),
    });
    httpEngines.push(engine);
    httpConnections[name] = await engine.start();
    logger.info(
      { connection: name, address: `${host}:${httpConnections[name].port}` },
      'http connection listener started',
    );
  }

  // Kubernetes connections (docs/kubernetes.md): one TLS listener per connection.
  const kubernetesEngines: KubernetesEngine[] = [];
  const kubernetesConnections: Record<string, ListeningAddress> = {};
  // The shell classifier (its bash grammar is WebAssembly) loads only when a connection needs it.
  const shell = Object.values(config.connections).some(
    (c) => c.protocol === 'kubernetes' || c.protocol === 'ssh',
  )
    ? await import('./shell/index.js')
    : undefined;
  for (const [name, conn] of Object.entries(config.connections)) {
    if (conn.protocol !== 'kubernetes') continue;
    const { host, port } = parseHostPort(conn.listen);
    const engine = new KubernetesEngine({
      connection: name,
      host,
      port,
      gate,
      logger,
      preauth,
      settings: () => snapshot.kubernetes.get(name),
      tls: kubeListenerTls(conn, loaded.baseDir),
      // exec commands are judged by the shared shell-command classifier (docs/shell.md).
      ...(shell ? { classifyCommand: (argv) => shell.classifyShellCommand({ argv }).categories } : {}),
    });
    kubernetesEngines.push(engine);
    kubernetesConnections[name] = await engine.start();
    logger.info(
      { connection: name, address: `${host}:${kubernetesConnections[name].port}` },
      'kubernetes connection listener started',
    );
  }

  // SSH connections (docs/ssh.md): one listener; the user name picks the connection.
  let sshEngine: SshEngine | undefined;
  let sshAddress: ListeningAddress | undefined;
  let sshHostKey: Buffer | undefined;
  const sshl = config.listeners.ssh;
  if (sshl) {
    const { host, port } = parseHostPort(sshl.address);
    const hostKey = await loadOrCreateHostKey(
      path.resolve(loaded.baseDir, sshl.hostKeyFile ?? path.join(config.dataDir, 'keys', 'ssh-host-ed25519')),
      createPrivateKeyFile,
    );
    sshHostKey = hostKey.blob;
    const classifyShell = shell ?? (await import('./shell/index.js'));
    const tokenIssuer = identity.issuer;
    sshEngine = new SshEngine({
      host,
      port,
      gate,
      dialer,
      logger,
      hostKey: hostKey.privateKey,
      settings: (name) => snapshot.ssh.get(name),
      classify: (line, context) => classifyShell.classifyShellCommand({ line, ...context }),
      authTimeoutMs: toMs(sshl.authTimeout),
      writeStallTimeoutMs: toMs(sshl.writeStallTimeout),
      maxConnections: sshl.maxConnections,
      unauthenticatedPerAddress: sshl.unauthenticatedPerAddress,
      maxChannels: sshl.maxChannels,
      preauth,
      // Keys registered to principals (`gatehouse ssh add-key`) log in as their service token's principal.
      ...(tokenIssuer
        ? {
            keys: sshKeyLogin({
              registry: new SshKeyRegistry(store.getKysely()),
              tokens: store,
              signFor: (record) => tokenIssuer.signFor(record),
            }),
          }
        : {}),
    });
    sshAddress = await sshEngine.start();
    logger.info({ address: `${host}:${sshAddress.port}` }, 'ssh listener started');
  }

  let http: RunningHttp | undefined;
  let mcp: McpEndpoint | undefined;
  let webConsole: WebConsole | undefined;
  const httpl = config.listeners.http;
  if (httpl) {
    const { host, port } = parseHostPort(httpl.address);
    // Feature routes (approvals, context API, MCP) are added here as they are wired.
    const plugins: RoutePlugin[] = [];
    plugins.push(contextRoutes({ registry: recording.contexts }));
    plugins.push(
      recordingStatusRoutes({
        status: () => recording.status(),
        adminGroups: () => currentConfig.api.adminGroups,
      }),
    );
    if (approvals) {
      plugins.push(
        approvalRoutes({
          service: approvals.service,
          authenticator: identity.authenticator,
          logger,
          config: () => currentConfig.approvals ?? config.approvals!,
          resolveSecret: revealRef,
          publicUrl: approvals.publicUrl,
          preauth,
        }),
      );
    }
    if (promRegistry && config.metrics.enabled) {
      plugins.push(
        metricsRoutes({
          authenticator: identity.authenticator,
          adminGroups: () => currentConfig.api.adminGroups,
          preauth,
          render: () => promRegistry.render(),
          contentType: PROMETHEUS_CONTENT_TYPE,
        }),
      );
    }
    // The MCP server (docs/mcp.md): its tools' SQL goes through the PostgreSQL listener above.
    if (config.mcp.enabled) {
      mcp = createMcpEndpoint({
        authenticator: identity.authenticator,
        preauth,
        // The same decider as the gate's (grants layered on), so the tools foresee what the gate decides.
        policy: currentPolicy,
        classifier,
        logger,
        config: () => currentConfig,
        postgresAddress: () => postgresAddress,
        ...(approvals ? { approvals: () => approvals.service } : {}),
        // The `ssh_exec` tool goes through the SSH listener, its host key pinned (docs/ssh.md).
        ...(sshAddress && sshHostKey
          ? {
              ssh: (name: string) => {
                const conn = currentConfig.connections[name];
                if (!sshAddress || !sshHostKey || conn?.protocol !== 'ssh') return undefined;
                const h = sshAddress.host;
                return {
                  host: h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '::1' : h,
                  port: sshAddress.port,
                  hostKey: sshHostKey,
                };
              },
            }
          : {}),
        // The `kubernetes` tool goes through each connection's own listener (docs/kubernetes.md).
        kubernetes: (name) => {
          const address = kubernetesConnections[name];
          const conn = currentConfig.connections[name];
          if (!address || conn?.protocol !== 'kubernetes') return undefined;
          const host = address.host === '0.0.0.0' || address.host === '::' ? '127.0.0.1' : address.host;
          return {
            url: `https://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
            certPem: readFileSync(path.resolve(loaded.baseDir, conn.listenTls.cert), 'utf8'),
          };
        },
      });
      plugins.push(mcp.routes);
    }
    // The web console (docs/console.md) at /: sessions, approvals inbox, connections, tokens, playground.
    if (config.console.enabled) {
      // Loaded only when served (the CLI's other commands and console-less gateways skip it).
      const { createConsole } = await import('./console/index.js');
      webConsole = createConsole({
        authenticator: identity.authenticator,
        preauth,
        store,
        recording: { key: recording.key, blobs: recording.blobs },
        ...(approvals ? { approvals: approvals.service } : {}),
        ...(identity.issuer && identity.serviceTokens
          ? {
              tokens: {
                issuer: identity.issuer,
                store,
                noteRevoked: (id: string) => identity.serviceTokens?.noteRevoked(id),
              },
            }
          : {}),
        config: () => currentConfig,
        baseDir: loaded.baseDir,
        policy: () => snapshot.policy,
        classifier,
        live: {
          live: () =>
            gate.sessions().map((s) => ({
              id: s.id,
              subject: s.identity.subject,
              connection: s.connection,
              protocol: s.record.protocol,
            })),
          endSession: (id, reason) => gate.endSession(id, reason),
        },
        resolveSecret: revealRef,
        publicUrl: () =>
          (
            currentConfig.listeners.http?.publicUrl ??
            (approvals ? approvals.publicUrl() : undefined) ??
            linkBase()
          ).replace(/\/+$/, ''),
        logger,
      });
      plugins.push(webConsole.routes);
    }
    const app = buildHttpApi(
      {
        // DNS rebinding (docs/security.md, class 121): only this listener's own names are answered.
        hosts: () => ({
          bound: parseHostPort(currentConfig.listeners.http?.address ?? httpl.address).host,
          urls: [
            currentConfig.listeners.http?.publicUrl,
            currentConfig.approvals?.publicUrl,
            currentConfig.mcp.enabled ? currentConfig.mcp.resource : undefined,
          ],
          allowed: currentConfig.listeners.http?.allowedHosts ?? httpl.allowedHosts,
        }),
        authenticator: identity.authenticator,
        store,
        logger,
        preauth,
        adminGroups: () => currentConfig.api.adminGroups,
        liveSessions: () =>
          (postgres?.liveSessions ?? 0) +
          httpEngines.reduce((n, e) => n + e.liveSessions, 0) +
          kubernetesEngines.reduce((n, e) => n + e.liveSessions, 0) +
          (sshEngine?.liveSessions ?? 0),
      },
      plugins,
    );
    http = await startHttpServer(app, host, port, preauth);
    httpPortForLinks = http.port;
    logger.info({ address: `${host}:${http.port}` }, 'http listener started');
  }

  // Readings taken at scrape time: store queue, upstream connections, pending approvals, SIEM drops.
  metrics.gaugeFrom(
    { name: 'gatehouse_build_info', help: 'The running Gatehouse version (always 1)', labels: ['version'] },
    () => [{ labels: { version: gatehouseVersion() }, value: 1 }],
  );
  metrics.gaugeFrom(
    {
      name: 'gatehouse_store_queue_depth',
      help: 'Record writes waiting for a group commit (in flight included)',
    },
    () => [{ value: store.stats().queued ?? 0 }],
  );
  metrics.counterFrom(
    { name: 'gatehouse_store_commits_total', help: 'Group commits of the record store' },
    () => [{ value: store.stats().commits }],
  );
  metrics.counterFrom(
    {
      name: 'gatehouse_store_wal_checkpoints_total',
      help: 'WAL checkpoints of the SQLite store on its background thread, by result (ok, failed)',
      labels: ['result'],
    },
    () => {
      const c = 'checkpointStats' in store ? store.checkpointStats() : undefined;
      return c
        ? [
            { labels: { result: 'ok' }, value: c.checkpoints },
            { labels: { result: 'failed' }, value: c.failures },
          ]
        : [];
    },
  );
  const journal = () => ('journalStats' in store ? store.journalStats() : undefined);
  metrics.counterFrom(
    {
      name: 'gatehouse_store_folds_total',
      help: "Folds of the SQLite store's record journal into its tables, by result (ok, failed)",
      labels: ['result'],
    },
    () => {
      const f = journal();
      return f
        ? [
            { labels: { result: 'ok' }, value: f.folds },
            { labels: { result: 'failed' }, value: f.failedFolds },
          ]
        : [];
    },
  );
  metrics.gaugeFrom(
    {
      name: 'gatehouse_store_staged_rows',
      help: "Rows of the SQLite store's record journal not yet folded into its tables",
    },
    () => {
      const f = journal();
      return f ? [{ value: f.pending }] : [];
    },
  );
  metrics.gaugeFrom(
    {
      name: 'gatehouse_store_longest_fold_seconds',
      help: "The longest fold of the SQLite store's record journal so far (on the event loop, or on its own thread with store.fold: thread)",
    },
    () => {
      const f = journal();
      return f ? [{ value: f.longestFoldMs / 1000 }] : [];
    },
  );
  metrics.gaugeFrom(
    {
      name: 'gatehouse_upstream_connections',
      help: 'Upstream connections in use (PostgreSQL: one per client session; HTTP: live client sessions)',
      labels: ['protocol'],
    },
    () => [
      { labels: { protocol: 'postgres' }, value: postgres?.liveSessions ?? 0 },
      { labels: { protocol: 'http' }, value: httpEngines.reduce((n, e) => n + e.liveSessions, 0) },
    ],
  );
  metrics.gaugeFrom(
    {
      name: 'gatehouse_upstream_connections_max',
      help: 'Most client connections the PostgreSQL listener accepts (listeners.postgres.maxConnections)',
      labels: ['protocol'],
    },
    () => (pgl ? [{ labels: { protocol: 'postgres' }, value: pgl.maxConnections }] : []),
  );
  if (approvals) {
    metrics.gaugeFrom(
      {
        name: 'gatehouse_approvals_pending',
        help: 'Approval requests waiting for a decision (all replicas)',
      },
      async () => [
        {
          value: (await approvals.service.repository.listRequests({ status: 'pending', limit: 10_000 }))
            .length,
        },
      ],
    );
  }
  metrics.counterFrom(
    {
      name: 'gatehouse_siem_dropped_events_total',
      help: 'Events a SIEM sink dropped (queue full or refused)',
      labels: ['sink'],
    },
    () => recording.status().siem.map((x) => ({ labels: { sink: x.sink }, value: x.dropped })),
  );
  metrics.gaugeFrom(
    {
      name: 'gatehouse_siem_queued_events',
      help: 'Events waiting to be sent to a SIEM sink',
      labels: ['sink'],
    },
    () => recording.status().siem.map((x) => ({ labels: { sink: x.sink }, value: x.queued })),
  );
  let metricsListener: RunningMetricsListener | undefined;
  if (promRegistry && config.metrics.listen) {
    const { host, port } = parseHostPort(config.metrics.listen);
    metricsListener = await startMetricsListener(
      promRegistry,
      host,
      port,
      (hostHeader) =>
        hostAllowed(hostHeader, {
          bound: host,
          urls: [currentConfig.listeners.http?.publicUrl],
          allowed: currentConfig.metrics.allowedHosts,
        }),
      preauth,
    );
    logger.info({ address: `${host}:${metricsListener.port}` }, 'metrics listener started');
  }

  const reload = async (): Promise<{ ok: true } | { ok: false; error: string }> => {
    try {
      const next = await loadConfig(loaded.path, env);
      snapshot = await buildSnapshot(next, env, dialer);
      currentConfig = next.config;
      agents?.setTargets(snapshot.agentTargets);
      logger.info({ config: loaded.path, policyVersion: snapshot.policy.version }, 'configuration reloaded');
      return { ok: true };
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      logger.error(
        { config: loaded.path, err: error },
        'configuration reload refused; keeping the running configuration',
      );
      return { ok: false, error };
    }
  };

  let watcher: FSWatcher | undefined;
  if (options.watchConfig) {
    let timer: NodeJS.Timeout | undefined;
    watcher = watch(loaded.path, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void reload().then((r) => options.onReload?.(r)), 200);
    });
  }

  return {
    ...(postgresAddress ? { postgres: postgresAddress } : {}),
    ...(http && httpl ? { http: { host: parseHostPort(httpl.address).host, port: http.port } } : {}),
    store,
    identity,
    httpConnections,
    kubernetesConnections,
    ...(sshAddress ? { ssh: sshAddress } : {}),
    recording,
    ...(webConsole ? { console: webConsole } : {}),
    ...(agents ? { agents } : {}),
    logger,
    ...(metricsListener && config.metrics.listen
      ? { metricsListener: { host: parseHostPort(config.metrics.listen).host, port: metricsListener.port } }
      : {}),
    reload,
    async connectionStats() {
      return {
        sessions: postgres?.liveSessions ?? 0,
        sockets: (await postgres?.openSockets()) ?? 0,
        buffered: postgres?.bufferedBytes() ?? 0,
        awaited: postgres?.awaited().bytes ?? 0,
        readsHeld: postgres?.awaited().readsHeld ?? 0,
      };
    },
    async stop() {
      watcher?.close();
      gate.stop();
      await mcp?.close();
      for (const e of httpEngines) await e.stop();
      for (const e of kubernetesEngines) await e.stop();
      await sshEngine?.stop();
      await postgres?.stop();
      await classifier.close(); // its parser thread, if a long statement started one
      await agents?.stop();
      await http?.close();
      await approvals?.close();
      await recording.close(); // closes the store after the recorder's last writes
      await metricsListener?.close();
      preauth.flush(); // the summaries of windows still open
      await otlp?.shutdown();
    },
  };
}
