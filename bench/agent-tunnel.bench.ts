// What the network-resident agent costs (docs/performance.md, "Through an agent").
// Run: npx tsx bench/agent-tunnel.bench.ts
// One embedded PostgreSQL on loopback; pgbench against it three ways, alternating rounds, medians:
//   `direct`  — pgbench → PostgreSQL;
//   `gateway` — pgbench → Gatehouse → PostgreSQL (the gateway's own TCP connection);
//   `agent`   — pgbench → Gatehouse → HTTP/2 stream over TLS → agent (in this process) → PostgreSQL.
// BENCH_DURATION (s, default 10), BENCH_ROUNDS (3), BENCH_CLIENTS (4), BENCH_SCRIPTS (select,tpcb).

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logger.js';
import { startGateway } from '../src/main.js';
import { AgentRuntime } from '../src/tunnel/agent/agent-runtime.js';
import { formatJoinToken, newJoinToken } from '../src/tunnel/join-token.js';
import { startPgbenchUpstream } from './pgbench-upstream.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const SCRIPTS = (process.env.BENCH_SCRIPTS ?? 'select,tpcb').split(',');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function pgbench(args: string[], env: NodeJS.ProcessEnv): Promise<{ tps: number; latencyMs: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn('pgbench', args, { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      const tps = /tps = ([\d.]+)/.exec(out);
      const lat = /latency average = ([\d.]+) ms/.exec(out);
      if (code !== 0 || !tps || !lat) reject(new Error(`pgbench failed (${code}): ${err || out}`));
      else resolve({ tps: Number(tps[1]), latencyMs: Number(lat[1]) });
    });
  });
}

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v pgbench']).status !== 0) {
    console.log('pgbench is not installed');
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-agent-bench-'));
  chmodSync(dir, 0o755);
  const upstream = await startPgbenchUpstream(dir, 'bench-password', {
    max_connections: '100',
    fsync: 'off',
  });
  try {
    writeFileSync(path.join(dir, 'pw'), 'bench-password', { mode: 0o600 });
    const upstreamConfig = {
      host: '127.0.0.1',
      port: upstream.port,
      database: 'postgres',
      user: 'postgres',
      password: { file: 'pw' },
    };
    const config = {
      dataDir: '.',
      log: { level: 'warn' },
      listeners: { postgres: { address: '127.0.0.1:0' } },
      agents: { listen: '127.0.0.1:0' },
      connections: {
        gateway: {
          protocol: 'postgres',
          limits: { maxSessions: 100, reservedForPeople: 0 },
          upstream: upstreamConfig,
        },
        agent: {
          protocol: 'postgres',
          limits: { maxSessions: 100, reservedForPeople: 0 },
          via: { agent: 'bench' },
          upstream: upstreamConfig,
        },
      },
      policies: [
        {
          id: 'all',
          subjects: { groups: ['bench'] },
          connections: ['*'],
          rules: [{ id: 'allow', effect: 'allow', match: {} }],
        },
      ],
    };
    writeFileSync(path.join(dir, 'gatehouse.yaml'), stringify(config));
    const gw = await startGateway(await loadConfig(path.join(dir, 'gatehouse.yaml')), {
      logger: createLogger('warn'),
    });
    const t = newJoinToken(gw.agents!.pin);
    await gw.agents!.registry.createJoinToken('bench', t, 60_000);
    const agent = new AgentRuntime({
      gateways: [new URL(`tls://127.0.0.1:${gw.agents!.address.port}`)],
      stateDir: path.join(dir, 'agent'),
      joinToken: formatJoinToken(t),
      logger: createLogger('warn', 'gatehouse-agent'),
      version: 'bench',
    });
    const ready = new Promise((r) => agent.once('targets', r));
    await agent.start();
    await ready;
    const issued = await gw.identity.issuer!.issue({
      subject: 'bench',
      groups: ['bench'],
      agent: false,
      ttlMs: 3_600_000,
    });
    const targets = {
      direct: {
        PGHOST: '127.0.0.1',
        PGPORT: String(upstream.port),
        PGUSER: 'postgres',
        PGPASSWORD: 'bench-password',
        PGDATABASE: 'postgres',
      },
      gateway: {
        PGHOST: '127.0.0.1',
        PGPORT: String(gw.postgres!.port),
        PGUSER: 'bench',
        PGPASSWORD: issued.token,
        PGDATABASE: 'gateway',
      },
      agent: {
        PGHOST: '127.0.0.1',
        PGPORT: String(gw.postgres!.port),
        PGUSER: 'bench',
        PGPASSWORD: issued.token,
        PGDATABASE: 'agent',
      },
    } as const;
    console.log(
      `load before: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; ${DURATION}s × ${ROUNDS} rounds, ${CLIENTS} clients, -M prepared`,
    );
    for (const script of SCRIPTS) {
      const results: Record<string, { tps: number[]; lat: number[] }> = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, env] of Object.entries(targets)) {
          const args = ['-n', '-c', String(CLIENTS), '-j', '2', '-T', String(DURATION), '-M', 'prepared'];
          if (script === 'select') args.push('-S');
          const r = await pgbench(args, { ...env, PGSSLMODE: 'disable' });
          (results[name] ??= { tps: [], lat: [] }).tps.push(r.tps);
          results[name].lat.push(r.latencyMs);
        }
      }
      const base = median(results.direct!.tps);
      for (const [name, r] of Object.entries(results)) {
        console.log(
          `${script.padEnd(6)} ${name.padEnd(8)} tps ${median(r.tps).toFixed(0).padStart(6)}  latency ${median(r.lat).toFixed(3)} ms  (${((median(r.tps) / base) * 100).toFixed(0)}% of direct)`,
        );
      }
    }
    console.log(
      `load after: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    await agent.stop();
    await gw.stop();
  } finally {
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
