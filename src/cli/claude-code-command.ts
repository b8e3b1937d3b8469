// `gatehouse claude-code setup`: the Claude Code settings that route an agent through Gatehouse —
// http hooks (UserPromptSubmit, PreToolUse) posting to the context API for prompt lineage, `env`
// pointing libpq and DATABASE_URL at the gateway, and the MCP server entry (docs/claude-code.md).
// It must never write a token into a file: headers name an environment variable Claude Code expands,
// libpq reads the token from PGPASSWORD (or ~/.pgpass), and TLS is verified (verify-full).

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { GatehouseConfig } from '../config/schema.js';
import { processIo, type CliIo } from './cli-io.js';
import { configPath } from './config-file.js';

export interface ClaudeCodeCommandDeps {
  /** The gateway's config, when one is found (defaults come from its listeners and connections). */
  loadConfig?(configPath?: string): Promise<GatehouseConfig | undefined>;
  readonly io?: CliIo;
  readonly cwd?: () => string;
}

export interface SetupOptions {
  /** Base URL of the gateway's HTTP listener, e.g. https://gatehouse.example.com. */
  readonly gatewayUrl: string;
  /** host:port of the PostgreSQL listener as the agent reaches it. */
  readonly postgres?: { readonly host: string; readonly port: number };
  /** The Gatehouse connection name (the database name clients use). */
  readonly connection?: string;
  readonly user: string;
  readonly tokenEnv: string;
  readonly mcp: boolean;
  /** PreToolUse matcher: which tools' calls are posted (default Bash and the gateway's MCP tools). */
  readonly matcher: string;
  /**
   * The CA (PEM) that signed the gateway's PostgreSQL certificate, as a path on the agent's machine:
   * libpq verifies the gateway against it (sslmode=verify-full). Absent: libpq's default root
   * certificate (~/.postgresql/root.crt).
   */
  readonly ca?: string;
}

export const HOOK_TIMEOUT_SECONDS = 5;
export const MCP_SERVER_NAME = 'gatehouse';

type Json = Record<string, unknown>;

function contextHook(o: SetupOptions): Json {
  return {
    type: 'http',
    url: `${o.gatewayUrl}/api/context`,
    // Claude Code expands $VAR in http hook headers only for names listed in allowedEnvVars.
    headers: { Authorization: `Bearer $${o.tokenEnv}` },
    allowedEnvVars: [o.tokenEnv],
    timeout: HOOK_TIMEOUT_SECONDS,
  };
}

export function settingsFor(o: SetupOptions): Json {
  const env: Record<string, string> = {};
  if (o.postgres) {
    env.PGHOST = o.postgres.host;
    env.PGPORT = String(o.postgres.port);
    env.PGUSER = o.user;
    // The token travels as the password: only to a gateway whose certificate checks out.
    env.PGSSLMODE = 'verify-full';
    if (o.ca) env.PGSSLROOTCERT = o.ca;
  }
  if (o.postgres && o.connection) {
    env.PGDATABASE = o.connection;
    const tls = new URLSearchParams({ sslmode: 'verify-full', ...(o.ca ? { sslrootcert: o.ca } : {}) });
    env.DATABASE_URL = `postgresql://${encodeURIComponent(o.user)}@${o.postgres.host.includes(':') ? `[${o.postgres.host}]` : o.postgres.host}:${o.postgres.port}/${encodeURIComponent(o.connection)}?${tls.toString()}`;
  }
  // No PGPASSWORD here: settings files are committed; the token comes from the environment Claude
  // Code is started in (or a ~/.pgpass file), never from a file in the project.

  return {
    hooks: {
      UserPromptSubmit: [{ hooks: [contextHook(o)] }],
      PreToolUse: [{ matcher: o.matcher, hooks: [contextHook(o)] }],
    },
    ...(Object.keys(env).length > 0 ? { env } : {}),
  };
}

export function mcpJsonFor(o: SetupOptions): Json {
  return {
    mcpServers: {
      [MCP_SERVER_NAME]: {
        type: 'http',
        url: `${o.gatewayUrl}/mcp`,
        // .mcp.json expands ${VAR} from the environment.
        headers: { Authorization: `Bearer \${${o.tokenEnv}}` },
      },
    },
  };
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Our hook entries, recognised by their URL so a re-run replaces them instead of adding twins. */
function withoutOurHooks(groups: unknown, url: string): unknown[] {
  if (!Array.isArray(groups)) return [];
  const out: unknown[] = [];
  for (const g of groups) {
    if (!isObject(g) || !Array.isArray(g.hooks)) {
      out.push(g);
      continue;
    }
    const kept = g.hooks.filter((h) => !(isObject(h) && h.type === 'http' && h.url === url));
    if (kept.length > 0) out.push({ ...g, hooks: kept });
  }
  return out;
}

/** Merges our settings into existing ones, keeping every key and hook that is not ours. */
export function mergeSettings(existing: Json, ours: Json, hookUrl: string): Json {
  const out: Json = { ...existing };
  const hooks: Json = isObject(existing.hooks) ? { ...existing.hooks } : {};
  for (const [event, groups] of Object.entries(ours.hooks as Json)) {
    hooks[event] = [...withoutOurHooks(hooks[event], hookUrl), ...(groups as unknown[])];
  }
  out.hooks = hooks;
  if (isObject(ours.env)) out.env = { ...(isObject(existing.env) ? existing.env : {}), ...ours.env };
  return out;
}

export function mergeMcpJson(existing: Json, ours: Json): Json {
  return {
    ...existing,
    mcpServers: {
      ...(isObject(existing.mcpServers) ? existing.mcpServers : {}),
      ...(ours.mcpServers as Json),
    },
  };
}

function readJson(file: string): Json {
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); fix or remove it first`);
  }
  if (!isObject(v)) throw new Error(`${file} does not hold a JSON object`);
  return v;
}

function writeJson(file: string, value: Json): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.gatehouse.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

function hostPort(v: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected host:port');
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function defaultsFrom(
  config: GatehouseConfig | undefined,
  baseDir: string,
): {
  gatewayUrl?: string;
  postgres?: { host: string; port: number };
  connection?: string;
  ca?: string;
} {
  if (!config) return {};
  const http = config.listeners.http;
  const loopback = (h: string) => (h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h);
  let gatewayUrl: string | undefined;
  if (http?.publicUrl) gatewayUrl = http.publicUrl;
  else if (http) {
    const hp = hostPort(http.address);
    gatewayUrl = `http://${loopback(hp.host)}:${hp.port}`;
  }
  const pg = config.listeners.postgres ? hostPort(config.listeners.postgres.address) : undefined;
  const connection = Object.entries(config.connections).find(([, c]) => c.protocol === 'postgres')?.[0];
  // A self-signed listener certificate (the demo's) is its own CA; a CA-signed one needs --ca.
  const cert = config.listeners.postgres?.tls?.cert;
  return {
    ...(cert ? { ca: path.resolve(baseDir, cert) } : {}),
    ...(gatewayUrl ? { gatewayUrl } : {}),
    ...(pg ? { postgres: { host: loopback(pg.host), port: pg.port } } : {}),
    ...(connection ? { connection } : {}),
  };
}

export function claudeCodeCommand(deps: ClaudeCodeCommandDeps = {}): Command {
  const io = deps.io ?? processIo();
  const cmd = new Command('claude-code').description(
    'integrate Claude Code with Gatehouse (docs/claude-code.md)',
  );
  cmd
    .command('setup')
    .description('print (or --write) Claude Code settings: context hooks, database env, MCP server')
    .option('-c, --config <file>', 'gatehouse.yaml to take defaults from')
    .option('--gateway-url <url>', 'base URL of the gateway HTTP listener (default: from the config)')
    .option(
      '--postgres <host:port>',
      'PostgreSQL listener as the agent reaches it (default: from the config)',
      hostPort,
    )
    .option(
      '--connection <name>',
      'Gatehouse connection (database name) for DATABASE_URL (default: the first postgres one)',
    )
    .option(
      '--ca <file>',
      "CA (PEM) that signed the gateway's certificate, as a path on the agent's machine (default: the listener certificate in the config)",
    )
    .option('--user <name>', 'user name the agent presents (recorded; the token decides who it is)', 'claude')
    .option('--token-env <NAME>', 'environment variable holding the agent token', 'GATEHOUSE_TOKEN')
    .option(
      '--matcher <regex>',
      'PreToolUse matcher: tool calls whose context is posted',
      `Bash|mcp__${MCP_SERVER_NAME}__.*`,
    )
    .option('--no-mcp', 'leave out the MCP server entry')
    .option('--write', 'merge into .claude/settings.json and .mcp.json instead of printing')
    .option('--dir <dir>', 'project directory for --write (default: the current directory)')
    .option('--json', 'print one JSON object {settings, mcpJson}')
    .action(
      async (
        opts: {
          config?: string;
          gatewayUrl?: string;
          postgres?: { host: string; port: number };
          connection?: string;
          ca?: string;
          user: string;
          tokenEnv: string;
          matcher: string;
          mcp: boolean;
          write?: boolean;
          dir?: string;
          json?: boolean;
        },
        sub: Command,
      ) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.tokenEnv)) {
          sub.error('error: --token-env must be an environment variable name', {
            exitCode: 2,
            code: 'gatehouse.claude-code',
          });
        }
        // `gatehouse --config x claude-code setup` and `gatehouse claude-code setup --config x` both work.
        const configFile = opts.config ?? sub.optsWithGlobals<{ config?: string }>().config;
        let config: GatehouseConfig | undefined;
        try {
          config = await deps.loadConfig?.(configFile);
        } catch (e) {
          if (configFile)
            sub.error(`error: ${(e as Error).message}`, { exitCode: 2, code: 'gatehouse.claude-code' });
        }
        const d = defaultsFrom(config, path.dirname(path.resolve(configPath(configFile, io.env))));
        const gatewayUrl = (opts.gatewayUrl ?? d.gatewayUrl ?? 'http://127.0.0.1:8780').replace(/\/+$/, '');
        try {
          new URL(gatewayUrl);
        } catch {
          sub.error(`error: --gateway-url ${gatewayUrl} is not a URL`, {
            exitCode: 2,
            code: 'gatehouse.claude-code',
          });
        }
        const postgres = opts.postgres ?? d.postgres ?? { host: '127.0.0.1', port: 15432 };
        const connection = opts.connection ?? d.connection;
        const ca = opts.ca ?? d.ca;
        const o: SetupOptions = {
          gatewayUrl,
          postgres,
          ...(connection ? { connection } : {}),
          ...(ca ? { ca } : {}),
          user: opts.user,
          tokenEnv: opts.tokenEnv,
          mcp: opts.mcp,
          matcher: opts.matcher,
        };
        const settings = settingsFor(o);
        const mcpJson = o.mcp ? mcpJsonFor(o) : undefined;

        if (opts.write) {
          const dir = path.resolve(opts.dir ?? deps.cwd?.() ?? process.cwd());
          const settingsFile = path.join(dir, '.claude', 'settings.json');
          const mcpFile = path.join(dir, '.mcp.json');
          try {
            writeJson(
              settingsFile,
              mergeSettings(readJson(settingsFile), settings, `${gatewayUrl}/api/context`),
            );
            if (mcpJson) writeJson(mcpFile, mergeMcpJson(readJson(mcpFile), mcpJson));
          } catch (e) {
            sub.error(`error: ${(e as Error).message}`, { exitCode: 1, code: 'gatehouse.claude-code' });
          }
          io.stdout.write(`updated ${settingsFile}${mcpJson ? ` and ${mcpFile}` : ''}\n`);
        } else if (opts.json) {
          io.stdout.write(`${JSON.stringify({ settings, ...(mcpJson ? { mcpJson } : {}) }, null, 2)}\n`);
        } else {
          io.stdout.write(`// .claude/settings.json\n${JSON.stringify(settings, null, 2)}\n`);
          if (mcpJson) io.stdout.write(`\n// .mcp.json\n${JSON.stringify(mcpJson, null, 2)}\n`);
        }
        io.stderr.write(
          'No token is written to any file. Start Claude Code with the agent token in the environment:\n' +
            `  export ${o.tokenEnv}=$(gatehouse token issue --subject claude-$USER --groups ai-agents --agent --ttl 8h --json | jq -r .token)\n` +
            `  export PGPASSWORD=$${o.tokenEnv}    # libpq's password; or a ~/.pgpass line (chmod 600)\n` +
            '  claude\n' +
            (o.ca
              ? `libpq verifies the gateway's certificate against ${o.ca} (sslmode=verify-full).\n`
              : "libpq verifies the gateway's certificate (sslmode=verify-full) against ~/.postgresql/root.crt; pass --ca FILE to name the CA.\n"),
        );
      },
    );
  return cmd;
}
