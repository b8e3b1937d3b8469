// The gateway as an operator runs it, for the benchmarks: `bin/gatehouse.js start` in its own process
// (compiled dist/ when `npm run build` made it current, else the sources through tsx), so its CPU
// time can be read from /proc and profiled on its own. Also times CLI commands (start-up latency).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'gatehouse.js');
/**
 * The Node flags the entry point starts Node with when run as a command (its first lines are a shell
 * script: bin/gatehouse.js), for a run that must name node itself (profiling flags); without such
 * flags the benchmarks run the entry point as a command, as an operator does.
 */
export const BIN_NODE_FLAGS = (
  /exec node ((?:--\S+ )*)"\$0" "\$@"\s*$/.exec(readFileSync(BIN, 'utf8').split('\n', 3)[1] ?? '')?.[1] ?? ''
)
  .split(' ')
  .filter((f) => f !== '');
/** The kernel's clock ticks per second (USER_HZ), the unit of /proc's CPU times. */
export const CLOCK_TICKS =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Whether bin/gatehouse.js will run dist/ (a build newer than every source file) or the sources. */
/** The `bench` connection the benchmarks give their gateway: an embedded PostgreSQL on loopback. */
export function benchPostgresConnection(pgPort: number, passwordFile: string) {
  return {
    protocol: 'postgres',
    upstream: {
      host: '127.0.0.1',
      port: pgPort,
      database: 'postgres',
      user: 'postgres',
      password: { file: passwordFile },
      tls: { mode: 'disable' },
    },
  } as const;
}

export function gatewayBuild(): 'dist' | 'src' {
  if (process.env.GATEHOUSE_FROM_SOURCE) return 'src';
  let built: number;
  try {
    built = statSync(path.join(ROOT, 'dist', '.built')).mtimeMs;
  } catch {
    return 'src';
  }
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) =>
      e.isDirectory() ? newer(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs > built,
    );
  return newer(path.join(ROOT, 'src')) ? 'src' : 'dist';
}

/** Runs `gatehouse <args>` and returns its stdout and wall time. Throws on a non-zero exit. */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): { stdout: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(BIN, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`gatehouse ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { stdout: r.stdout, ms };
}

/**
 * Issues a service token through the CLI (`gatehouse token issue … --ttl 8h --json`, a cold CLI
 * start): its JSON answer and the command's wall time.
 */
export function issueToken<T = { token: string }>(
  configFile: string,
  o: { readonly subject: string; readonly groups: string; readonly agent?: boolean; readonly aws?: boolean },
): { issued: T; ms: number } {
  const r = cli([
    '-c',
    configFile,
    'token',
    'issue',
    '--subject',
    o.subject,
    '--groups',
    o.groups,
    ...(o.agent ? ['--agent'] : []),
    '--ttl',
    '8h',
    ...(o.aws ? ['--aws'] : []),
    '--json',
  ]);
  return { issued: JSON.parse(r.stdout) as T, ms: r.ms };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Resolves once something accepts connections on 127.0.0.1:<port> (at most 30 s). */
export async function waitForPort(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface GatewayProcess {
  readonly pid: number;
  /** Wall time from spawn until every listed port accepted a connection. */
  readonly startMs: number;
  /** User + system CPU seconds the gateway process has used so far (/proc/<pid>/stat). */
  cpuSeconds(): number;
  /**
   * The main thread's (the event loop's) time on a CPU and waiting for one, in seconds so far
   * (/proc/<pid>/task/<pid>/schedstat, in nanoseconds; undefined where the kernel does not keep it).
   */
  mainThreadSchedule(): { onCpu: number; waiting: number } | undefined;
  /** SIGINT (a clean stop, which also writes a CPU profile when asked for) and wait for exit. */
  stop(): Promise<void>;
}

export interface GatewayProcessOptions {
  readonly configFile: string;
  /** Ports the gateway listens on once ready (its listeners, fixed in the config). */
  readonly ports: readonly number[];
  /** Writes a V8 CPU profile of the gateway into this directory when it stops. */
  readonly cpuProfDir?: string;
  /** Where the gateway's stdout and stderr go. */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
}

export async function startGatewayProcess(opts: GatewayProcessOptions): Promise<GatewayProcess> {
  const t0 = performance.now();
  const log = openSync(opts.logFile, 'a');
  const prof = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  // BENCH_NODE_FLAGS: V8 and Node flags NODE_OPTIONS refuses (--trace-deopt, --trace-opt), for looking at
  // a held gateway; never for a figure.
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const args = ['start', '-c', opts.configFile, '--no-watch'];
  const extra = [...flags, ...prof];
  const child: ChildProcess =
    extra.length === 0
      ? spawn(BIN, args, { stdio: ['ignore', log, log], env: { ...process.env, ...opts.env } })
      : spawn(process.execPath, [...extra, ...BIN_NODE_FLAGS, BIN, ...args], {
          stdio: ['ignore', log, log],
          env: { ...process.env, ...opts.env },
        });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => (dead = true));
  for (const port of opts.ports) {
    const deadline = Date.now() + 60_000;
    while (!(await canConnect(port))) {
      if (dead) throw new Error(`the gateway exited during start-up; see ${opts.logFile}`);
      if (Date.now() > deadline)
        throw new Error(`the gateway did not listen on ${port}; see ${opts.logFile}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const startMs = performance.now() - t0;
  const pid = child.pid!;
  return {
    pid,
    startMs,
    cpuSeconds() {
      // Fields 14 and 15 (utime, stime) after the parenthesised command name.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
    },
    mainThreadSchedule() {
      try {
        const [onCpu, waiting] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8')
          .split(' ')
          .map(Number);
        return Number.isFinite(onCpu) && Number.isFinite(waiting)
          ? { onCpu: onCpu! / 1e9, waiting: waiting! / 1e9 }
          : undefined;
      } catch {
        return undefined;
      }
    },
    async stop() {
      if (dead) return;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
