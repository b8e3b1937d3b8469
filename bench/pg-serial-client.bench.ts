// Serial-client latency: one `pg` client connection sends N statements one after another (each
// waits for the previous answer), directly to PostgreSQL and through Gatehouse, in alternating
// rounds. This is what a client's test suite, an ORM's migration loop or node-postgres's
// gh-issues/1105 test (5,000 INSERTs in 5 s) pays per round trip. The gateway runs in its own
// process (bin/gatehouse.js start) with the configuration scripts/pg-client-suite.ts uses: a
// person's token and a policy that allows everything (every statement still parsed, decided and
// recorded durably before it is forwarded; no masking).
//
//   npx tsx bench/pg-serial-client.bench.ts            # 2000 statements a round, 3 rounds
//   N=5000 ROUNDS=5 npx tsx bench/pg-serial-client.bench.ts

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { startEmbeddedPostgres } from '../src/demo/embedded-postgres.js';
import { freeLoopbackPort } from '../src/demo/free-loopback-port.js';
import {
  benchPostgresConnection,
  issueToken,
  gatewayBuild,
  startGatewayProcess,
  type GatewayProcess,
} from './gateway-process.js';

const N = Number(process.env.N ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

interface Target {
  readonly name: string;
  readonly config: pg.ClientConfig;
  readonly gateway?: GatewayProcess;
}

interface Workload {
  readonly name: string;
  readonly run: (c: pg.Client, i: number) => Promise<unknown>;
}

const WORKLOADS: readonly Workload[] = [
  { name: "simple   'SELECT 1'", run: (c) => c.query('SELECT 1') },
  // pg sends a query with values as Parse/Bind/Describe/Execute/Sync (the unnamed statement).
  { name: "extended 'SELECT $1::int'", run: (c, i) => c.query('SELECT $1::int AS n', [i]) },
  // node-postgres's gh-issues/1105: an INSERT with a parameter into a temporary table, autocommit.
  {
    name: "extended 'INSERT … ($1)'",
    run: async (c, i) => {
      if (i === 0) await c.query('CREATE TEMP TABLE IF NOT EXISTS bench_ins (name text NOT NULL, id serial)');
      return c.query('INSERT INTO bench_ins(name) VALUES ($1)', [String(i)]);
    },
  },
];

/** µs per statement over one connection, and the gateway's CPU µs per statement when it is one. */
async function round(t: Target, w: Workload): Promise<{ us: number; cpuUs?: number }> {
  const c = new pg.Client(t.config);
  await c.connect();
  try {
    for (let i = 0; i < 100; i++) await w.run(c, i); // warm: JIT, caches, the session's first writes
    const cpu0 = t.gateway?.cpuSeconds();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await w.run(c, i);
    const ms = performance.now() - t0;
    const cpu = cpu0 === undefined ? undefined : t.gateway!.cpuSeconds() - cpu0;
    return { us: (ms * 1000) / N, ...(cpu === undefined ? {} : { cpuUs: (cpu * 1e6) / N }) };
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  console.log(
    `serial pg client: ${N} statements a round, ${ROUNDS} alternating rounds, medians; node ${process.version}, ${os.cpus().length} cores, gateway from ${gatewayBuild() === 'dist' ? 'dist/' : 'src/ through tsx'}; load average at start ${load()}\n`,
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-serial-'));
  chmodSync(dir, 0o755);
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const password = 'serial-bench-password';
  try {
    const pgPort = await freeLoopbackPort();
    const upstream = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: pgPort, password });
    cleanups.unshift(() => upstream.stop());
    writeFileSync(path.join(dir, 'upstream-password'), password);
    const gwPort = await freeLoopbackPort();
    const config = {
      dataDir: path.join(dir, 'gw'),
      log: { level: 'warn' },
      listeners: { postgres: { address: `127.0.0.1:${gwPort}` } },
      connections: {
        bench: benchPostgresConnection(pgPort, path.join(dir, 'upstream-password')),
      },
      policies: [
        {
          id: 'people-all',
          subjects: { groups: ['people'] },
          connections: ['*'],
          rules: [{ id: 'allow-everything', effect: 'allow', match: {} }],
        },
      ],
    };
    const configFile = path.join(dir, 'gatehouse.yaml');
    writeFileSync(configFile, stringify(config));
    const { issued } = issueToken(configFile, { subject: 'serial-bench', groups: 'people' });
    // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the gateway there (bench/cpu-profile-top.ts reads it).
    const gw = await startGatewayProcess({
      configFile,
      ports: [gwPort],
      logFile: path.join(dir, 'gw.log'),
      ...(process.env.BENCH_CPU_PROF ? { cpuProfDir: path.resolve(process.env.BENCH_CPU_PROF) } : {}),
    });
    cleanups.unshift(() => gw.stop());
    const base = { host: '127.0.0.1', user: 'postgres', ssl: false } as const;
    const targets: Target[] = [
      { name: 'direct', config: { ...base, port: pgPort, password, database: 'postgres' } },
      {
        name: 'gatehouse',
        config: { ...base, port: gwPort, password: issued.token, database: 'bench' },
        gateway: gw,
      },
    ];
    // ONLY=<substring> runs the workloads whose name holds it (for a CPU profile of one).
    for (const w of WORKLOADS.filter((x) => !process.env.ONLY || x.name.includes(process.env.ONLY))) {
      const results = new Map<string, { us: number; cpuUs?: number }[]>();
      for (let r = 0; r < ROUNDS; r++)
        for (const t of targets) {
          const x = await round(t, w);
          results.set(t.name, [...(results.get(t.name) ?? []), x]);
          console.log(
            `  ${w.name} round ${r + 1} ${t.name.padEnd(9)} ${x.us.toFixed(0).padStart(6)} µs/statement${x.cpuUs === undefined ? '' : `  gateway CPU ${x.cpuUs.toFixed(0)} µs/statement`}`,
          );
        }
      const d = median(results.get('direct')!.map((x) => x.us));
      const g = median(results.get('gatehouse')!.map((x) => x.us));
      const cpu = median(results.get('gatehouse')!.map((x) => x.cpuUs!));
      console.log(
        `${w.name}: direct ${d.toFixed(0)} µs, through Gatehouse ${g.toFixed(0)} µs (+${(g - d).toFixed(0)} µs, ${(g / d).toFixed(1)}×), gateway CPU ${cpu.toFixed(0)} µs per statement; ${N} statements take ${((d * N) / 1e6).toFixed(2)} s directly, ${((g * N) / 1e6).toFixed(2)} s through Gatehouse\n`,
      );
    }
    console.log(`load average at end ${load()}`);
  } finally {
    for (const c of cleanups) await c();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
