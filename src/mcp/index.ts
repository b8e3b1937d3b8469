// Public surface of the MCP server: one endpoint object the composition root registers on the HTTP
// listener, built from the current config and the gateway's own parts. It opens no upstream itself.

import type { PreauthSignals } from '../core/preauth.js';
import type { RoutePlugin } from '../api/http-server.js';
import { toMs, type GatehouseConfig } from '../config/schema.js';
import type { Authenticator, Logger, PolicyDecider } from '../core/ports.js';
import type { SqlClassifier } from '../core/sql-statement.js';
import type { MaskingConfig } from '../masking/index.js';
import type { ApprovalService } from '../approvals/approval-service.js';
import type { ApprovalDesk } from './approval-desk.js';
import { approvalServiceDesk } from './approval-service-desk.js';
import { HeldStatements } from './held-statements.js';
import { LoopbackSessions, type LoopbackAddress } from './loopback-sessions.js';
import type { KubernetesLoopback } from './kubernetes-tool.js';
import type { SshLoopback } from './ssh-tool.js';
import { mcpRoutes, type McpHttpSettings } from './mcp-routes.js';

export type { ApprovalDesk, AccessRequestInput, GrantInfo } from './approval-desk.js';
export { approvalServiceDesk } from './approval-service-desk.js';
export { MCP_APPLICATION_NAME } from './loopback-sessions.js';
export { MCP_PATH, PRM_PREFIX } from './resource-metadata.js';
export type { KubernetesLoopback } from './kubernetes-tool.js';
export type { SshLoopback } from './ssh-tool.js';

export interface McpEndpointDeps {
  readonly authenticator: Authenticator;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
  readonly policy: () => PolicyDecider;
  readonly classifier: SqlClassifier;
  readonly logger: Logger;
  /** The running configuration (replaced on reload). */
  readonly config: () => GatehouseConfig;
  /** The gateway's PostgreSQL listener: the tools' SQL goes through it. */
  readonly postgresAddress: () => LoopbackAddress | undefined;
  /** The approvals service when `approvals:` is configured. */
  readonly approvals?: () => ApprovalService | undefined;
  /** The masking config for describe_schema's column flags; default: the running config's `masking:`. */
  readonly masking?: () => MaskingConfig | undefined;
  /** The gateway's own listener of each kubernetes connection, for the `kubernetes` tool. */
  readonly kubernetes?: (connection: string) => KubernetesLoopback | undefined;
  /** The gateway's SSH listener, for the `ssh_exec` tool. */
  readonly ssh?: (connection: string) => SshLoopback | undefined;
}

export interface McpEndpoint {
  readonly routes: RoutePlugin;
  /** Closes the loopback sessions (held statements are withdrawn); call before stopping the PostgreSQL listener. */
  close(): Promise<void>;
}

function list(v: string | readonly string[] | undefined): readonly string[] | undefined {
  return v === undefined ? undefined : typeof v === 'string' ? [v] : v;
}

export function createMcpEndpoint(deps: McpEndpointDeps): McpEndpoint {
  const loopback = new LoopbackSessions({
    address: deps.postgresAddress,
    // Read once: pg pools take their idle timeout at creation; new pools see a reloaded value.
    get idleTimeoutMs() {
      return toMs(deps.config().mcp.idleTimeout);
    },
  });
  const held = new HeldStatements();
  const desks = new WeakMap<ApprovalService, ApprovalDesk>();
  const approvals = deps.approvals;
  const desk = approvals
    ? (): ApprovalDesk | undefined => {
        const service = approvals();
        if (!service) return undefined;
        let d = desks.get(service);
        if (!d) desks.set(service, (d = approvalServiceDesk(service, () => deps.config().approvals)));
        return d;
      }
    : undefined;
  const settings = (): McpHttpSettings => {
    const c = deps.config();
    const audience = list(c.mcp.audience);
    return {
      ...(c.mcp.resource ? { resource: c.mcp.resource } : {}),
      ...(c.listeners.http?.publicUrl ? { publicUrl: c.listeners.http.publicUrl } : {}),
      authorizationServers: c.identity.oidc.map((o) => o.issuer),
      ...(audience ? { audience } : {}),
      ...(c.mcp.scopes ? { scopes: c.mcp.scopes } : {}),
      allowedOrigins: c.mcp.allowedOrigins,
    };
  };
  const routes = mcpRoutes({
    authenticator: deps.authenticator,
    ...(deps.preauth ? { preauth: deps.preauth } : {}),
    settings,
    policy: deps.policy,
    classifier: deps.classifier,
    connections: () =>
      Object.entries(deps.config().connections).map(([name, conn]) => ({
        name,
        protocol: conn.protocol,
        ...(conn.description ? { description: conn.description } : {}),
      })),
    loopback,
    held,
    maxRows: () => deps.config().mcp.maxRows,
    ...(desk ? { approvals: desk } : {}),
    masking: deps.masking ?? (() => deps.config().masking),
    ...(deps.kubernetes ? { kubernetes: deps.kubernetes } : {}),
    ...(deps.ssh ? { ssh: deps.ssh } : {}),
    logger: deps.logger,
  });
  return {
    routes,
    async close() {
      held.close();
      await loopback.close();
    },
  };
}
