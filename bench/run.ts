// `npm run bench`: pgbench -S through Gatehouse (demo policy on), directly, and through PgBouncer
// (session mode) when it is installed — in one run, alternating rounds, medians and ratios.
// Everything runs on this machine and shares its cores: compare the ratios, not the absolute TPS.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load-config.js';
import { startEmbeddedPostgres } from '../src/demo/embedded-postgres.js';
import { freeLoopbackPort } from '../src/demo/free-loopback-port.js';
import { createLogger } from '../src/logger.js';
import { startGateway } from '../src/main.js';
import { defaultAgentPolicies } from '../src/policy/index.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 15);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const MODES = (process.env.BENCH_MODES ?? 'simple,prepared').split(',');

interface Target {
  readonly name: string;
  readonly env: NodeJS.ProcessEnv;
}

function pgbench(target: Target, mode: string): Promise<{ tps: number; latencyMs: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'pgbench',
      ['-n', '-S', '-M', mode, '-c', String(CLIENTS), '-j', '2', '-T', String(DURATION)],
      {
        env: { ...process.env, ...target.env },
      },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      const tps = /tps = ([\d.]+)/.exec(out);
      const lat = /latency average = ([\d.]+) ms/.exec(out);
      if (code !== 0 || !tps || !lat)
        reject(new Error(`pgbench against ${target.name} failed (${code}): ${err || out}`));
      else resolve({ tps: Number(tps[1]), latencyMs: Number(lat[1]) });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v pgbench']).status !== 0)
    throw new Error('pgbench is not installed (apt-get install postgresql-client)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  chmodSync(dir, 0o755);
  const password = 'bench-password';
  const pgPort = await freeLoopbackPort();
  const upstream = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    port: pgPort,
    password,
    settings: { max_connections: '200', shared_buffers: '256MB' },
  });
  const cleanups: (() => Promise<void> | void)[] = [
    () => upstream.stop(),
    () => rmSync(dir, { recursive: true, force: true }),
  ];
  try {
    const init = spawnSync('pgbench', ['-i', '-s', '10', '-q', upstream.url('postgres')], {
      encoding: 'utf8',
    });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);

    const targets: Target[] = [
      {
        name: 'direct',
        env: {
          PGHOST: '127.0.0.1',
          PGPORT: String(pgPort),
          PGUSER: 'postgres',
          PGPASSWORD: password,
          PGDATABASE: 'postgres',
          PGSSLMODE: 'disable',
        },
      },
    ];

    if (spawnSync('sh', ['-c', 'command -v pgbouncer']).status === 0) {
      const bPort = await freeLoopbackPort();
      const ini = path.join(dir, 'pgbouncer.ini');
      writeFileSync(path.join(dir, 'userlist.txt'), `"postgres" "${password}"\n`);
      writeFileSync(
        ini,
        `[databases]\npostgres = host=127.0.0.1 port=${pgPort} dbname=postgres\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${bPort}\nunix_socket_dir =\nauth_type = plain\nauth_file = ${dir}/userlist.txt\npool_mode = session\nmax_client_conn = 200\ndefault_pool_size = 50\n`,
      );
      const asRoot = process.getuid?.() === 0;
      const bouncer = spawn('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), ini], { stdio: 'ignore' });
      cleanups.unshift(() => void bouncer.kill('SIGINT'));
      await new Promise((r) => setTimeout(r, 700));
      targets.push({ name: 'pgbouncer', env: { ...targets[0]!.env, PGPORT: String(bPort) } });
    } else {
      console.log('pgbouncer not installed: skipping the PgBouncer comparison (apt-get install pgbouncer)');
    }

    writeFileSync(path.join(dir, 'upstream-password'), password);
    const config = {
      dataDir: path.join(dir, 'gw'),
      listeners: { postgres: { address: '127.0.0.1:0' } },
      connections: {
        bench: {
          protocol: 'postgres',
          upstream: {
            host: '127.0.0.1',
            port: pgPort,
            database: 'postgres',
            user: 'postgres',
            password: { file: path.join(dir, 'upstream-password') },
          },
        },
      },
      policies: defaultAgentPolicies(['bench']),
    };
    writeFileSync(path.join(dir, 'gatehouse.yaml'), stringify(config));
    const gw = await startGateway(await loadConfig(path.join(dir, 'gatehouse.yaml')), {
      logger: createLogger('warn'),
    });
    cleanups.unshift(() => gw.stop());
    const token = (
      await gw.identity.issuer!.issue({
        subject: 'bench-agent',
        groups: ['ai-agents'],
        agent: true,
        ttlMs: 3_600_000,
      })
    ).token;
    targets.push({
      name: 'gatehouse',
      env: { ...targets[0]!.env, PGPORT: String(gw.postgres!.port), PGPASSWORD: token, PGDATABASE: 'bench' },
    });

    console.log(
      `pgbench -S -c ${CLIENTS} -j 2 -T ${DURATION}, ${ROUNDS} alternating rounds, median; node ${process.version}, ${os.cpus().length} cores`,
    );
    const results: Record<string, Record<string, { tps: number[]; lat: number[] }>> = {};
    for (const mode of MODES) {
      results[mode] = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const t of targets) {
          const r = await pgbench(t, mode);
          const slot = (results[mode][t.name] ??= { tps: [], lat: [] });
          slot.tps.push(r.tps);
          slot.lat.push(r.latencyMs);
          console.log(
            `  ${mode.padEnd(9)} round ${round + 1} ${t.name.padEnd(10)} ${r.tps.toFixed(0).padStart(7)} tps  ${r.latencyMs.toFixed(3)} ms`,
          );
        }
      }
    }
    console.log('\n| mode | target | TPS (median) | latency ms | vs direct | vs PgBouncer |');
    console.log('|---|---|---|---|---|---|');
    for (const mode of MODES) {
      const direct = median(results[mode]!.direct!.tps);
      const bouncer = results[mode]!.pgbouncer ? median(results[mode]!.pgbouncer.tps) : undefined;
      for (const t of targets) {
        const s = results[mode]![t.name]!;
        const tps = median(s.tps);
        console.log(
          `| ${mode} | ${t.name} | ${tps.toFixed(0)} | ${median(s.lat).toFixed(3)} | ${((tps / direct) * 100).toFixed(0)}% | ${bouncer ? `${((tps / bouncer) * 100).toFixed(0)}%` : 'n/a'} |`,
        );
      }
    }
  } finally {
    for (const c of cleanups) await c();
  }
}

await main();
