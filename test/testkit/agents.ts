// Network-resident agents in tests: a gateway with an `agents:` section and a connection routed
// through an agent, join tokens, and agents run in-process (AgentRuntime) or as a real
// `gatehouse agent run` child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../src/core/ports.js';
import { AgentRuntime, type AgentOptions } from '../../src/tunnel/agent/agent-runtime.js';
import type { AgentGateway } from '../../src/tunnel/gateway/index.js';
import { formatJoinToken, newJoinToken } from '../../src/tunnel/join-token.js';
import { memoryLogger } from './gateway.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The `agents:` section for tests: fast heartbeats, loopback listener. */
export function agentsSection(port = 0, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    listen: `127.0.0.1:${port}`,
    heartbeatInterval: '300ms',
    heartbeatTimeout: '1200ms',
    dialTimeout: '3s',
    ...extra,
  };
}

export async function joinToken(agents: AgentGateway, name: string, ttlMs = 600_000): Promise<string> {
  const t = newJoinToken(agents.pin);
  await agents.registry.createJoinToken(name, t, ttlMs);
  return formatJoinToken(t);
}

export interface TestAgent {
  readonly runtime: AgentRuntime;
  readonly stateDir: string;
  readonly logs: string[];
  /** Resolves once the agent holds a link whose target list includes `target` (if given). */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

export function gatewayUrl(agents: AgentGateway, scheme: 'tls' | 'ws' = 'tls'): URL {
  return new URL(`${scheme}://127.0.0.1:${agents.address.port}`);
}

export async function startAgent(
  agents: AgentGateway,
  opts: Partial<AgentOptions> & { joinToken?: string; stateDir?: string; scheme?: 'tls' | 'ws' } = {},
): Promise<TestAgent> {
  const stateDir = opts.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'gatehouse-agent-'));
  const logs: string[] = [];
  const logger: Logger = memoryLogger(logs);
  const runtime = new AgentRuntime({
    gateways: [gatewayUrl(agents, opts.scheme)],
    stateDir,
    logger,
    version: 'test',
    backoff: { initialMs: 50, maxMs: 400 },
    connectTimeoutMs: 3000,
    drainTimeoutMs: 200,
    ...opts,
  });
  const targets = new Promise<void>((resolve) => runtime.once('targets', () => resolve()));
  await runtime.start();
  return {
    runtime,
    stateDir,
    logs,
    ready: () => targets,
    async stop() {
      await runtime.stop();
      if (!opts.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `check` holds (polling), or fails after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `gatehouse agent run` as a child process (JSON logs on stderr). */
export function spawnAgentProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/gatehouse.js'), 'agent', 'run', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => (err += d.toString()));
  return { child, stderr: () => err };
}
