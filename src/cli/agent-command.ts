// `gatehouse agent register|list|revoke|run` (docs/agent.md). register/list/revoke run beside the
// gateway and use its store; `run` is the network-resident agent itself and needs no gatehouse.yaml:
// every flag has an environment variable, for a container or a systemd unit.
// A join token is printed once, at register; nothing else ever prints one.

import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { toMs } from '../config/duration.js';
import type { Logger } from '../core/ports.js';
import type {
  AgentConnectionRow,
  AgentRegistry,
  PendingJoinToken,
  RegisteredAgent,
} from '../tunnel/gateway/agent-registry.js';
import { processIo, type CliIo } from './cli-io.js';
import { textTable } from './text-table.js';

export interface AgentAdminHandle {
  readonly registry: AgentRegistry;
  /** Pin of the gateway's agent listener certificate (goes into join tokens). */
  pin(): Promise<string>;
  readonly joinTokenTtlMs: number;
  readonly heartbeatTimeoutMs: number;
  close(): Promise<void>;
}

export interface AgentCommandDeps {
  /** Loads gatehouse.yaml (which must have an agents: section) and opens the store. */
  openAdmin(configPath?: string): Promise<AgentAdminHandle>;
  readonly io?: CliIo;
  /** Replaces process exit for `run` (tests). */
  readonly exit?: (code: number) => void;
  readonly createLogger?: (level: string) => Logger;
}

function parseDuration(v: string): number {
  try {
    return toMs(v);
  } catch {
    throw new InvalidArgumentError('expected a duration such as 15m or 1h');
  }
}

const collect = (v: string, prev: string[] = []): string[] => [
  ...prev,
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

export function packageVersion(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '0.0.0';
  }
}

interface ListedRow {
  name: string;
  id: string;
  status: 'connected' | 'disconnected' | 'revoked';
  version: string;
  hostname: string;
  address: string | null;
  replica: string | null;
  connectedSince: string | null;
  lastHeartbeat: string | null;
  activeSessions: number;
  totalSessions: number;
}

function listRows(agents: RegisteredAgent[], connections: AgentConnectionRow[]): ListedRow[] {
  const rows: ListedRow[] = [];
  for (const a of agents) {
    const mine = connections.filter((c) => c.agentId === a.id);
    const base = { name: a.name, id: a.id, hostname: a.hostname };
    if (a.revokedAt || mine.length === 0) {
      rows.push({
        ...base,
        status: a.revokedAt ? 'revoked' : 'disconnected',
        version: a.version,
        address: null,
        replica: null,
        connectedSince: null,
        lastHeartbeat: a.lastSeenAt?.toISOString() ?? null,
        activeSessions: 0,
        totalSessions: 0,
      });
      continue;
    }
    for (const c of mine)
      rows.push({
        ...base,
        status: 'connected',
        version: c.version,
        address: c.address,
        replica: c.replica,
        connectedSince: c.connectedAt.toISOString(),
        lastHeartbeat: c.heartbeatAt.toISOString(),
        activeSessions: c.activeStreams,
        totalSessions: c.totalStreams,
      });
  }
  return rows;
}

export function agentCommand(deps: AgentCommandDeps): Command {
  const io = deps.io ?? processIo();
  const cmd = new Command('agent')
    .description('network-resident agents: register, list, revoke, and run one (docs/agent.md)')
    .option('-c, --config <file>', 'gatehouse.yaml to use');

  async function withAdmin<T>(sub: Command, fn: (h: AgentAdminHandle) => Promise<T>): Promise<T> {
    const { config } = sub.optsWithGlobals<{ config?: string }>();
    const handle = await deps.openAdmin(config);
    try {
      return await fn(handle);
    } finally {
      await handle.close();
    }
  }

  cmd
    .command('register')
    .description('print a one-time join token for a new agent NAME (several agents may share a name)')
    .argument('<name>', 'agent name, as connections say it in `via: { agent: NAME }`')
    .addOption(
      new Option(
        '--ttl <duration>',
        'how long the token may be used (default agents.joinTokenTtl)',
      ).argParser(parseDuration),
    )
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { ttl?: number; json?: boolean }, sub: Command) => {
      const { formatJoinToken, newJoinToken } = await import('../tunnel/join-token.js');
      const out = await withAdmin(sub, async (h) => {
        const ttl = opts.ttl ?? h.joinTokenTtlMs;
        if (ttl > 7 * 86_400_000) throw new InvalidArgumentError('--ttl may be at most 7d');
        const token = newJoinToken(await h.pin());
        const pending: PendingJoinToken = await h.registry.createJoinToken(name, token, ttl);
        return { token: formatJoinToken(token), pending };
      });
      if (opts.json) {
        io.stdout.write(
          JSON.stringify({
            name,
            joinToken: out.token,
            tokenId: out.pending.id,
            expiresAt: out.pending.expiresAt.toISOString(),
          }) + '\n',
        );
      } else {
        io.stdout.write(
          `join token: ${out.token}\nagent:      ${name}\nexpires:    ${out.pending.expiresAt.toISOString()}\n`,
        );
      }
      io.stderr.write(
        'The token is shown only now and works once. In the private network run:\n' +
          '  GATEHOUSE_AGENT_JOIN_TOKEN=<token> gatehouse agent run --gateway <url of the agents listener>\n',
      );
    });

  cmd
    .command('list')
    .description('list agents: name, version, address, connected since, last heartbeat, sessions carried')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, sub: Command) => {
      const { agents, connections, tokens } = await withAdmin(sub, async (h) => ({
        agents: await h.registry.listAgents(),
        connections: await h.registry.liveConnections(new Date(Date.now() - h.heartbeatTimeoutMs * 2)),
        tokens: await h.registry.listPendingJoinTokens(),
      }));
      const rows = listRows(agents, connections);
      if (opts.json) {
        io.stdout.write(
          JSON.stringify(
            {
              agents: rows,
              pendingJoinTokens: tokens.map((t) => ({
                id: t.id,
                name: t.name,
                expiresAt: t.expiresAt.toISOString(),
              })),
            },
            null,
            2,
          ) + '\n',
        );
        return;
      }
      if (rows.length === 0) io.stdout.write('no agents\n');
      else
        io.stdout.write(
          textTable([
            [
              'NAME',
              'ID',
              'STATUS',
              'VERSION',
              'HOST',
              'ADDRESS',
              'CONNECTED SINCE',
              'LAST HEARTBEAT',
              'SESSIONS',
            ],
            ...rows.map((r) => [
              r.name,
              r.id,
              r.status,
              r.version,
              r.hostname,
              r.address ?? '-',
              r.connectedSince ?? '-',
              r.lastHeartbeat ?? '-',
              r.status === 'connected' ? `${r.activeSessions} open, ${r.totalSessions} total` : '-',
            ]),
          ]),
        );
      if (tokens.length > 0)
        io.stdout.write(
          `\npending join tokens:\n${textTable([
            ['TOKEN ID', 'NAME', 'EXPIRES'],
            ...tokens.map((t) => [t.id, t.name, t.expiresAt.toISOString()]),
          ])}`,
        );
    });

  cmd
    .command('revoke')
    .description('revoke every agent named NAME (or one agent by its agt_ id) and its unused join tokens')
    .argument('<name-or-id>', 'agent name, or an agent id from `agent list`')
    .action(async (nameOrId: string, _opts: unknown, sub: Command) => {
      const r = await withAdmin(sub, (h) => h.registry.revoke(nameOrId));
      if (r.agents === 0 && r.tokens === 0)
        sub.error(`error: no active agent or join token named ${nameOrId}`, {
          exitCode: 1,
          code: 'gatehouse.agent',
        });
      io.stdout.write(
        `revoked ${r.agents} agent(s) and ${r.tokens} join token(s) for ${nameOrId}; gateways end their connections within a second\n`,
      );
    });

  const env = io.env;
  cmd
    .command('run')
    .description('run the agent: connect out to the gateway and carry its upstream connections')
    .addOption(
      new Option(
        '--gateway <url>',
        'gateway agents listener: tls://host:port, or https://host (WebSocket); repeat for replicas',
      )
        .env('GATEHOUSE_AGENT_GATEWAY')
        .argParser(collect),
    )
    .addOption(
      new Option(
        '--join-token <token>',
        'one-time token from `gatehouse agent register` (first run only)',
      ).env('GATEHOUSE_AGENT_JOIN_TOKEN'),
    )
    .addOption(
      new Option('--join-token-file <file>', 'read the join token from this file').env(
        'GATEHOUSE_AGENT_JOIN_TOKEN_FILE',
      ),
    )
    .addOption(
      new Option('--state-dir <dir>', 'where the agent keeps its key and id (keep it across restarts)')
        .env('GATEHOUSE_AGENT_STATE_DIR')
        .default(env.STATE_DIRECTORY ?? '.gatehouse-agent'),
    )
    .addOption(
      new Option('--ca <file>', "verify the gateway with this CA bundle instead of the join token's pin").env(
        'GATEHOUSE_AGENT_CA',
      ),
    )
    .addOption(
      new Option('--proxy <url>', 'reach the gateway through this HTTP proxy (CONNECT)').env(
        'GATEHOUSE_AGENT_PROXY',
      ),
    )
    .addOption(
      new Option(
        '--allow <rule>',
        "this side's own limit: HOST:PORT (name, *.suffix, IP or CIDR; port or *); repeatable",
      )
        .env('GATEHOUSE_AGENT_ALLOW')
        .argParser(collect),
    )
    .addOption(
      new Option('--max-streams <n>', 'upstream connections carried at most per gateway connection')
        .env('GATEHOUSE_AGENT_MAX_STREAMS')
        .default('512'),
    )
    .addOption(
      new Option('--drain-timeout <duration>', 'on SIGTERM, how long open connections may finish')
        .env('GATEHOUSE_AGENT_DRAIN_TIMEOUT')
        .default('30s'),
    )
    .addOption(
      new Option('--log-level <level>', 'debug, info, warn or error')
        .env('GATEHOUSE_AGENT_LOG_LEVEL')
        .choices(['debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .action(
      async (opts: {
        gateway?: string[];
        joinToken?: string;
        joinTokenFile?: string;
        stateDir: string;
        ca?: string;
        proxy?: string;
        allow?: string[];
        maxStreams: string;
        drainTimeout: string;
        logLevel: string;
      }) => {
        const { AgentRuntime } = await import('../tunnel/agent/agent-runtime.js');
        const { parseGatewayUrl, parseProxyUrl } = await import('../tunnel/agent/gateway-connection.js');
        const { createLogger } = await import('../logger.js');
        if (!opts.gateway || opts.gateway.length === 0)
          throw new InvalidArgumentError('--gateway (or GATEHOUSE_AGENT_GATEWAY) is required');
        const gateways = opts.gateway.map(parseGatewayUrl);
        const joinToken =
          opts.joinToken ??
          (opts.joinTokenFile ? readFileSync(opts.joinTokenFile, 'utf8').trim() : undefined);
        const proxy = opts.proxy ?? env.HTTPS_PROXY ?? env.https_proxy;
        let proxyUrl: URL | undefined;
        try {
          proxyUrl = proxy ? parseProxyUrl(proxy) : undefined;
        } catch (e) {
          throw new InvalidArgumentError(`--proxy: ${(e as Error).message}`);
        }
        const maxStreams = Number(opts.maxStreams);
        if (!Number.isInteger(maxStreams) || maxStreams < 1)
          throw new InvalidArgumentError('--max-streams must be a positive integer');
        const logger =
          deps.createLogger?.(opts.logLevel) ?? createLogger(opts.logLevel as 'info', 'gatehouse-agent');
        const runtime = new AgentRuntime({
          gateways,
          stateDir: opts.stateDir,
          ...(joinToken ? { joinToken } : {}),
          ...(opts.ca ? { ca: readFileSync(opts.ca) } : {}),
          ...(proxyUrl ? { proxy: proxyUrl } : {}),
          allow: opts.allow ?? [],
          maxStreams,
          drainTimeoutMs: parseDuration(opts.drainTimeout),
          logger,
          version: packageVersion(),
        });
        const stop = () => void runtime.stop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          await runtime.start();
        } catch (e) {
          logger.error({ err: (e as Error).message }, 'agent cannot start');
          (deps.exit ?? ((c: number) => process.exit(c)))(3);
          return;
        }
        logger.info(
          {
            gateways: gateways.map((g) => `${g.protocol}//${g.host}`),
            stateDir: opts.stateDir,
            version: packageVersion(),
          },
          'agent started',
        );
        const result = await runtime.done;
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        // Give pino's asynchronous destination a moment to flush the last lines.
        await new Promise((r) => setTimeout(r, 100));
        (deps.exit ?? ((c: number) => process.exit(c)))(result.code);
      },
    );

  return cmd;
}
