// `npm run bench`: the full pipeline against PgBouncer and direct access, in one run, alternating
// rounds, medians and ratios (docs/performance.md). `npm run bench -- --quick` is a shorter run to
// check a change. Everything shares this machine's cores: compare ratios, not absolute numbers.
//
//   1. pgbench -S -c 8 -j 2, simple and prepared: direct, PgBouncer (session mode, when installed),
//      Gatehouse (the default agent policy with masking on, the SQLite record, hash-chained events);
//   2. pgbench -S -c 1: the latency each adds to a statement;
//   3. a small GET through a generic HTTP connection and through an S3 connection (wrk), against the
//      same upstreams directly: requests/s with 8 connections, added latency with 1;
//   4. 1M rows × 6 columns streamed with masking on (bench/masking-stream.bench.ts);
//   5. start-up: the gateway until it listens, and CLI commands.
// The gateway runs as `bin/gatehouse.js start` in its own process (compiled dist/ after `npm run
// build`), so its CPU time per statement is read from /proc as well.
//
// Environment: BENCH_DURATION (s per pgbench/wrk run), BENCH_ROUNDS, BENCH_PARTS (any of
// pg,latency,http,stream,startup), BENCH_MODES (simple,prepared), BENCH_STREAM_ROWS, and
// BENCH_CPU_PROF=<dir> (a CPU profile of the gateway, summarised at the end).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freeLoopbackPort } from '../src/demo/free-loopback-port.js';
import { defaultAgentPolicies, defaultAwsPolicies } from '../src/policy/index.js';
import { signUpstreamRequest } from '../src/wire/aws/sigv4-signer.js';
import { newestProfile, summarise } from './cpu-profile-top.js';
import { startPgbenchUpstream } from './pgbench-upstream.js';
import { startPgbouncer } from './pgbouncer.js';
import {
  benchPostgresConnection,
  CLOCK_TICKS,
  cli,
  issueToken,
  gatewayBuild,
  startGatewayProcess,
  type GatewayProcess,
} from './gateway-process.js';

const QUICK = process.argv.includes('--quick');
const DURATION = Number(process.env.BENCH_DURATION ?? (QUICK ? 4 : 15));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MODES = (process.env.BENCH_MODES ?? 'simple,prepared').split(',');
const PARTS = new Set((process.env.BENCH_PARTS ?? 'pg,latency,http,stream,startup').split(','));
const STREAM_ROWS = Number(process.env.BENCH_STREAM_ROWS ?? (QUICK ? 200_000 : 1_000_000));
const CPU_PROF = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
const HERE = path.dirname(fileURLToPath(import.meta.url));

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

interface Target {
  readonly name: string;
  readonly env: NodeJS.ProcessEnv;
  readonly gateway?: GatewayProcess;
}

interface RunResult {
  readonly tps: number;
  readonly latencyMs: number;
  readonly transactions: number;
  /** Gateway CPU µs per transaction, when the target is the gateway. */
  readonly cpuUs?: number;
  /** The whole machine's busy CPU µs per transaction (every process and the kernel: /proc/stat). */
  readonly machineUs?: number;
  /** The share of the machine's CPU time left idle during the run. */
  readonly idle?: number;
  /**
   * The gateway's main thread: the share of the run it spent on a CPU, and waiting for one (runnable,
   * while other processes had the cores: schedstat).
   */
  readonly main?: { readonly onCpu: number; readonly waiting: number };
}

/** The machine's CPU time so far, in seconds, busy and idle (Linux /proc/stat; undefined elsewhere). */
function machineCpu(): { busy: number; idle: number } | undefined {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
  } catch {
    return undefined;
  }
  // cpu  user nice system idle iowait irq softirq steal (guest time is already in user and nice)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  return { busy: busy / CLOCK_TICKS, idle: (idle! + iowait!) / CLOCK_TICKS };
}

function pgbench(target: Target, mode: string, clients: number, seconds: number): Promise<RunResult> {
  const before = target.gateway?.cpuSeconds();
  const machineBefore = machineCpu();
  const mainBefore = target.gateway?.mainThreadSchedule();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(
      'pgbench',
      [
        '-n',
        '-S',
        '-M',
        mode,
        '-c',
        String(clients),
        '-j',
        String(Math.min(2, clients)),
        '-T',
        String(seconds),
      ],
      { env: { ...process.env, ...target.env } },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      const tps = /tps = ([\d.]+)/.exec(out);
      const lat = /latency average = ([\d.]+) ms/.exec(out);
      const txns = /number of transactions actually processed: (\d+)/.exec(out);
      if (code !== 0 || !tps || !lat || !txns) {
        reject(new Error(`pgbench against ${target.name} failed (${code}): ${err || out}`));
        return;
      }
      const transactions = Number(txns[1]);
      const cpu = before === undefined ? undefined : target.gateway!.cpuSeconds() - before;
      const machineAfter = machineCpu();
      const mainAfter = target.gateway?.mainThreadSchedule();
      const wall = (performance.now() - t0) / 1000;
      const machine =
        machineBefore && machineAfter
          ? { busy: machineAfter.busy - machineBefore.busy, idle: machineAfter.idle - machineBefore.idle }
          : undefined;
      resolve({
        tps: Number(tps[1]),
        latencyMs: Number(lat[1]),
        transactions,
        ...(cpu !== undefined ? { cpuUs: (cpu * 1e6) / transactions } : {}),
        ...(machine && machine.busy + machine.idle > 0
          ? {
              machineUs: (machine.busy * 1e6) / transactions,
              idle: machine.idle / (machine.busy + machine.idle),
            }
          : {}),
        ...(mainBefore && mainAfter
          ? {
              main: {
                onCpu: (mainAfter.onCpu - mainBefore.onCpu) / wall,
                waiting: (mainAfter.waiting - mainBefore.waiting) / wall,
              },
            }
          : {}),
      });
    });
  });
}

interface WrkTarget {
  readonly name: string;
  readonly url: string;
  /** Headers for this run (SigV4 signatures are made afresh for each run: they expire). */
  headers(): Promise<Record<string, string>>;
  readonly gateway?: GatewayProcess;
}

interface WrkResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly avgMs: number;
  readonly requests: number;
  readonly cpuUs?: number;
}

function wrkMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

async function wrk(t: WrkTarget, connections: number, seconds: number): Promise<WrkResult> {
  const headers = await t.headers();
  const before = t.gateway?.cpuSeconds();
  const args = [
    '-t',
    String(Math.min(2, connections)),
    '-c',
    String(connections),
    '-d',
    `${seconds}s`,
    '--latency',
  ];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(t.url);
  const r = spawnSync('wrk', args, { encoding: 'utf8' });
  const out = r.stdout;
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const avg = /Latency\s+([\d.]+)(us|ms|s|m)/.exec(out);
  const p50 = /50%\s+([\d.]+)(us|ms|s|m)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (r.status !== 0 || !rps || !avg || !p50 || !total)
    throw new Error(`wrk ${t.name} failed: ${r.stderr || out}`);
  if (bad) throw new Error(`wrk ${t.name}: ${bad[1]} responses were not 2xx (${t.url})`);
  const requests = Number(total[1]);
  const cpu = before === undefined ? undefined : t.gateway!.cpuSeconds() - before;
  return {
    rps: Number(rps[1]),
    avgMs: wrkMs(avg[1]!, avg[2]!),
    p50Ms: wrkMs(p50[1]!, p50[2]!),
    requests,
    ...(cpu !== undefined ? { cpuUs: (cpu * 1e6) / requests } : {}),
  };
}

/** Alternating rounds over targets; returns every round's results per target name. */
async function rounds<T, R>(
  label: string,
  targets: readonly T[],
  name: (t: T) => string,
  run: (t: T) => Promise<R>,
  show: (r: R) => string,
): Promise<Map<string, R[]>> {
  const out = new Map<string, R[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const r = await run(t);
      (out.get(name(t)) ?? out.set(name(t), []).get(name(t))!).push(r);
      console.log(`  ${label} round ${round + 1} ${name(t).padEnd(22)} ${show(r)}`);
    }
  }
  return out;
}

const summary: string[] = [];
/** What issue 13's `-c 8` goal leaves the gateway on this machine (cpuBudget), one line per mode. */
const budgets: string[] = [];

/**
 * The most gateway CPU per transaction `0.5 × PgBouncer` leaves on this machine, were every core
 * busy: the cores' time at that rate, less what the rest of the machine (pgbench, PostgreSQL, the
 * kernel's share of their hops) spent per transaction through the gateway. A ceiling, not a forecast:
 * the gateway's event loop is serial, so the machine is never fully used.
 */
function cpuBudget(
  mode: string,
  pgbouncerTps: number,
  gatewayUs: number,
  machineUs: number,
  idle: number,
  loop: { onCpu: number; waiting: number },
): string {
  const cores = os.cpus().length;
  const goalTps = pgbouncerTps / 2;
  const rest = machineUs - gatewayUs;
  const budget = (cores * 1e6) / goalTps - rest;
  return (
    `  ${mode.padEnd(8)} 0.5 × PgBouncer = ${fmt(goalTps)} TPS: ${cores} cores give ${fmt((cores * 1e6) / goalTps)} µs/txn, ` +
    `the rest of the machine takes ${fmt(rest)} through the gateway, so the gateway may take at most ` +
    `${fmt(budget)} µs/txn; it took ${fmt(gatewayUs)} (the machine ${(100 * idle).toFixed(0)} % idle` +
    (Number.isFinite(loop.onCpu)
      ? `; the event loop ${(100 * loop.onCpu).toFixed(0)} % on a CPU, ${(100 * loop.waiting).toFixed(0)} % waiting for one)`
      : ')')
  );
}

async function main(): Promise<void> {
  for (const tool of ['pgbench', ...(PARTS.has('http') ? ['wrk'] : [])])
    if (!has(tool))
      throw new Error(
        `${tool} is not installed (apt-get install ${tool === 'pgbench' ? 'postgresql-client' : tool})`,
      );
  const started = Date.now();
  const build = gatewayBuild();
  console.log(
    `Gatehouse bench${QUICK ? ' (--quick)' : ''}: node ${process.version}, ${os.cpus().length} cores, gateway from ${build === 'dist' ? 'dist/ (compiled)' : 'src/ through tsx'}; load average at start ${load()}`,
  );
  console.log(`${ROUNDS} alternating rounds of ${DURATION} s per run; medians\n`);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  chmodSync(dir, 0o755);
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const password = 'bench-password';
  try {
    // ------------------------------------------------------------ upstreams
    const upstream = await startPgbenchUpstream(dir, password);
    cleanups.unshift(() => upstream.stop());
    const pgPort = upstream.port;
    const direct: Target = {
      name: 'direct',
      env: {
        PGHOST: '127.0.0.1',
        PGPORT: String(pgPort),
        PGUSER: 'postgres',
        PGPASSWORD: password,
        PGDATABASE: 'postgres',
        PGSSLMODE: 'disable',
      },
    };
    const pgTargets: Target[] = [direct];
    if (has('pgbouncer')) {
      const bouncer = await startPgbouncer(dir, pgPort, password);
      cleanups.unshift(() => bouncer.stop());
      pgTargets.push({ name: 'pgbouncer', env: { ...direct.env, PGPORT: String(bouncer.port) } });
    } else {
      console.log('pgbouncer is not installed: no PgBouncer column (apt-get install pgbouncer)');
    }

    let http: ChildProcess | undefined;
    let upstreams:
      | { api: string; s3: { url: string; accessKeyId: string; secretFile: string; secretAccessKey: string } }
      | undefined;
    if (PARTS.has('http')) {
      http = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(HERE, 'http-upstreams.ts'), path.join(dir, 's3')],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const child = http;
      cleanups.unshift(async () => {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      });
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`http upstreams exited (${code})`)));
      });
      upstreams = JSON.parse(line) as typeof upstreams;
    }

    // ------------------------------------------------------------ the gateway
    writeFileSync(path.join(dir, 'upstream-password'), password);
    const gwPgPort = await freeLoopbackPort();
    const apiPort = await freeLoopbackPort();
    const awsPort = await freeLoopbackPort();
    const config = {
      dataDir: path.join(dir, 'gw'),
      log: { level: 'warn' },
      listeners: { postgres: { address: `127.0.0.1:${gwPgPort}` } },
      connections: {
        bench: benchPostgresConnection(pgPort, path.join(dir, 'upstream-password')),
        ...(upstreams
          ? {
              api: {
                protocol: 'http',
                listen: `127.0.0.1:${apiPort}`,
                upstream: upstreams.api,
                auth: { type: 'none' },
              },
              aws: {
                protocol: 'http',
                listen: `127.0.0.1:${awsPort}`,
                auth: {
                  type: 'aws-sigv4',
                  region: 'us-east-1',
                  credentials: {
                    accessKeyId: upstreams.s3.accessKeyId,
                    secretAccessKey: { file: upstreams.s3.secretFile },
                  },
                  endpoints: { s3: upstreams.s3.url },
                  services: ['s3'],
                },
              },
            }
          : {}),
      },
      // The default agent policy with masking on, as the demo runs it: every statement parsed,
      // decided, recorded (hash-chained) before it is forwarded, every result masked.
      policies: [
        ...defaultAgentPolicies(['bench'], { mask: true }),
        ...(upstreams
          ? [
              {
                id: 'api-agents',
                subjects: { agent: true },
                connections: ['api'],
                rules: [
                  {
                    id: 'api-read',
                    effect: 'allow',
                    match: { methods: ['GET'], paths: ['/v1/**'] },
                    mask: true,
                  },
                ],
              },
              ...defaultAwsPolicies(['aws'], { mask: true }),
            ]
          : []),
      ],
    };
    const configFile = path.join(dir, 'gatehouse.yaml');
    writeFileSync(configFile, stringify(config));

    // The token, through the CLI (a cold CLI start, measured below with the others).
    const issue = issueToken<{ token: string; awsAccessKeyId: string; awsSecretAccessKey: string }>(
      configFile,
      { subject: 'bench-agent', groups: 'ai-agents', agent: true, aws: true },
    );
    const issued = issue.issued;

    if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
    const gw = await startGatewayProcess({
      configFile,
      ports: [gwPgPort, ...(upstreams ? [apiPort, awsPort] : [])],
      logFile: path.join(dir, 'gateway.log'),
      ...(CPU_PROF ? { cpuProfDir: CPU_PROF } : {}),
    });
    cleanups.unshift(() => gw.stop());
    const gatehouse: Target = {
      name: 'gatehouse',
      env: { ...direct.env, PGPORT: String(gwPgPort), PGPASSWORD: issued.token, PGDATABASE: 'bench' },
      gateway: gw,
    };
    pgTargets.push(gatehouse);
    const cell = (xs: Map<string, RunResult[]>, n: string, f: (r: RunResult) => number) =>
      xs.get(n) ? median(xs.get(n)!.map(f)) : undefined;

    // ------------------------------------------------------------ 1. throughput
    if (PARTS.has('pg')) {
      await pgbench(direct, 'simple', 8, 2); // warm the buffer cache
      await pgbench(gatehouse, 'simple', 8, 2); // and the gateway's JIT
      console.log(`pgbench -S -c 8 -j 2 -T ${DURATION}`);
      for (const mode of MODES) {
        const r = await rounds(
          mode.padEnd(8),
          pgTargets,
          (t) => t.name,
          (t) => pgbench(t, mode, 8, DURATION),
          (x) =>
            `${fmt(x.tps).padStart(7)} tps  ${x.latencyMs.toFixed(3)} ms${x.cpuUs !== undefined ? `  gateway CPU ${x.cpuUs.toFixed(0)} µs/txn` : ''}${x.machineUs !== undefined ? `  machine ${x.machineUs.toFixed(0)} µs/txn, ${(100 * x.idle!).toFixed(0)} % idle` : ''}${x.main ? `  event loop ${(100 * x.main.onCpu).toFixed(0)} % on a CPU, ${(100 * x.main.waiting).toFixed(0)} % waiting for one` : ''}`,
        );
        const tps = (n: string) => cell(r, n, (x) => x.tps);
        const g = tps('gatehouse')!;
        const b = tps('pgbouncer');
        summary.push(
          `| pgbench -S -c 8 -j 2, ${mode}, TPS | ${fmt(tps('direct')!)} | ${b ? fmt(b) : '—'} | ${fmt(g)} | ${b ? (g / b).toFixed(3) : '—'} | ${cell(r, 'gatehouse', (x) => x.cpuUs!)!.toFixed(0)} µs |`,
        );
        const machineUs = cell(r, 'gatehouse', (x) => x.machineUs ?? Number.NaN);
        const gatewayUs = cell(r, 'gatehouse', (x) => x.cpuUs!)!;
        if (b && machineUs !== undefined && Number.isFinite(machineUs))
          budgets.push(
            cpuBudget(
              mode,
              b,
              gatewayUs,
              machineUs,
              cell(r, 'gatehouse', (x) => x.idle!)!,
              {
                onCpu: cell(r, 'gatehouse', (x) => x.main?.onCpu ?? Number.NaN)!,
                waiting: cell(r, 'gatehouse', (x) => x.main?.waiting ?? Number.NaN)!,
              },
            ),
          );
      }
    }

    // ------------------------------------------------------------ 2. latency
    if (PARTS.has('latency')) {
      console.log(`\npgbench -S -c 1 -T ${DURATION} (simple)`);
      const r = await rounds(
        'c=1     ',
        pgTargets,
        (t) => t.name,
        (t) => pgbench(t, 'simple', 1, DURATION),
        (x) =>
          `${x.latencyMs.toFixed(3)} ms  ${fmt(x.tps).padStart(6)} tps${x.cpuUs !== undefined ? `  gateway CPU ${x.cpuUs.toFixed(0)} µs/txn` : ''}`,
      );
      const lat = (n: string) => cell(r, n, (x) => x.latencyMs);
      const d = lat('direct')!;
      const b = lat('pgbouncer');
      const g = lat('gatehouse')!;
      summary.push(
        `| pgbench -S -c 1, latency average | ${d.toFixed(3)} ms | ${b ? `+${(b - d).toFixed(3)} ms` : '—'} | +${(g - d).toFixed(3)} ms | ${b ? `${((g - d) / (b - d)).toFixed(1)}× the added latency` : '—'} | ${cell(r, 'gatehouse', (x) => x.cpuUs!)!.toFixed(0)} µs |`,
      );
    }

    // ------------------------------------------------------------ 3. HTTP and S3
    if (upstreams) {
      const s3Path = '/demo-shop/reports/orders-2026-q1.csv';
      const sign = async (base: string, creds: { accessKeyId: string; secretAccessKey: string }) => {
        const target = new URL(base + s3Path);
        const h = await signUpstreamRequest({
          method: 'GET',
          target,
          rawPath: s3Path,
          query: {},
          headers: {
            'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          },
          region: 'us-east-1',
          service: 's3',
          credentials: creds,
        });
        const { host: _host, ...rest } = h;
        void _host;
        return rest;
      };
      const s3Direct = {
        accessKeyId: upstreams.s3.accessKeyId,
        secretAccessKey: upstreams.s3.secretAccessKey,
      };
      const s3Gw = { accessKeyId: issued.awsAccessKeyId, secretAccessKey: issued.awsSecretAccessKey };
      const targets: WrkTarget[] = [
        { name: 'http direct', url: `${upstreams.api}/v1/items/1142`, headers: async () => ({}) },
        {
          name: 'http gatehouse',
          url: `http://127.0.0.1:${apiPort}/v1/items/1142`,
          headers: async () => ({ authorization: `Bearer ${issued.token}` }),
          gateway: gw,
        },
        {
          name: 's3 direct',
          url: upstreams.s3.url + s3Path,
          headers: () => sign(upstreams.s3.url, s3Direct),
        },
        {
          name: 's3 gatehouse',
          url: `http://127.0.0.1:${awsPort}${s3Path}`,
          headers: () => sign(`http://127.0.0.1:${awsPort}`, s3Gw),
          gateway: gw,
        },
      ];
      for (const t of targets) await wrk(t, 4, 1); // warm up (and check every target answers 2xx)
      for (const c of [8, 1]) {
        console.log(`\nwrk -c ${c} -d ${DURATION}s, one small GET`);
        const r = await rounds(
          `c=${c}`.padEnd(8),
          targets,
          (t) => t.name,
          (t) => wrk(t, c, DURATION),
          (x) =>
            `${fmt(x.rps).padStart(7)} req/s  p50 ${x.p50Ms.toFixed(3)} ms  avg ${x.avgMs.toFixed(3)} ms${x.cpuUs !== undefined ? `  gateway CPU ${x.cpuUs.toFixed(0)} µs/req` : ''}`,
        );
        const m = (n: string, f: (x: WrkResult) => number) => median(r.get(n)!.map(f));
        for (const kind of ['http', 's3']) {
          const label = kind === 'http' ? 'generic HTTP connection' : 'S3 connection (SigV4 in and out)';
          if (c === 8) {
            const d = m(`${kind} direct`, (x) => x.rps);
            const g = m(`${kind} gatehouse`, (x) => x.rps);
            summary.push(
              `| GET through a ${label}, wrk -c 8, req/s | ${fmt(d)} | — | ${fmt(g)} | ${(g / d).toFixed(2)} × direct | ${m(`${kind} gatehouse`, (x) => x.cpuUs!).toFixed(0)} µs |`,
            );
          } else {
            const d = m(`${kind} direct`, (x) => x.p50Ms);
            const g = m(`${kind} gatehouse`, (x) => x.p50Ms);
            summary.push(
              `| GET through a ${label}, wrk -c 1, p50 latency | ${d.toFixed(3)} ms | — | +${(g - d).toFixed(3)} ms | — | ${m(`${kind} gatehouse`, (x) => x.cpuUs!).toFixed(0)} µs |`,
            );
          }
        }
      }
    }

    // ------------------------------------------------------------ 5. start-up and CLI
    if (PARTS.has('startup')) {
      const version = median([0, 1, 2].map(() => cli(['--version']).ms));
      const list = median([0, 1, 2].map(() => cli(['-c', configFile, 'token', 'list', '--json']).ms));
      summary.push(
        `| gateway start (spawn until every listener accepts) | | | ${gw.startMs.toFixed(0)} ms | | |`,
      );
      summary.push(
        `| CLI: gatehouse --version / token list / token issue (cold) | | | ${version.toFixed(0)} / ${list.toFixed(0)} / ${issue.ms.toFixed(0)} ms | | |`,
      );
    }

    await gw.stop();
    if (CPU_PROF) {
      console.log(`\nCPU profile of the gateway (${CPU_PROF}):\n`);
      console.log(summarise(newestProfile(CPU_PROF), 30));
    }

    // ------------------------------------------------------------ 4. streaming (its own gateway)
    if (PARTS.has('stream')) {
      console.log(`\nstreaming ${STREAM_ROWS.toLocaleString('en')} rows (bench/masking-stream.bench.ts)`);
      const s = spawnSync(process.execPath, ['--import', 'tsx', path.join(HERE, 'masking-stream.bench.ts')], {
        encoding: 'utf8',
        env: {
          ...process.env,
          BENCH_ROWS: String(STREAM_ROWS),
          BENCH_ROUNDS: String(ROUNDS),
          BENCH_CPU_PROF: '',
        },
      });
      if (s.status !== 0) throw new Error(`masking-stream failed: ${s.stderr}`);
      process.stdout.write(s.stdout.replace(/^/gm, '  '));
      const on = /\| gatehouse, masking on[^|]*\| ([\d,]+) \| ([\d.]+) \| ([^|]+)\|(?: ([\d.]+) \|)?/.exec(
        s.stdout,
      );
      const d = /\| direct \| ([\d,]+) \|/.exec(s.stdout);
      if (on && d)
        summary.push(
          `| ${(STREAM_ROWS / 1e6).toLocaleString('en')}M rows × 6 columns streamed, masking on, rows/s | ${d[1]} | — | ${on[1]} | ${on[2]} × direct (RSS +${on[3]!.trim()}) | ${on[4] ? `${on[4]} µs per row` : ''} |`,
        );
    }

    console.log(`\nload average at end ${load()}; ${((Date.now() - started) / 60_000).toFixed(1)} min\n`);
    console.log('| measure | direct | PgBouncer | Gatehouse | Gatehouse vs | gateway CPU per txn/req |');
    console.log('|---|---|---|---|---|---|');
    for (const line of summary) console.log(line);
    if (budgets.length > 0) {
      console.log('\nwhat -c 8 at 0.5 × PgBouncer leaves the gateway on this machine (medians; /proc/stat):');
      for (const line of budgets) console.log(line);
    }
  } finally {
    for (const c of cleanups) await c();
  }
}

await main();
process.exit(0);
