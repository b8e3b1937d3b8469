// node-postgres's own integration suite (packages/pg/test/integration), run file by file directly
// against a PostgreSQL and then through Gatehouse (a person's token, a policy that allows
// everything), to find where Gatehouse behaves differently from the server. Not part of `npm test`:
// the suite is someone else's code, fetched onto the machine and never committed. docs/postgres-fidelity.md
// says how to get it and what the known, by-design differences are.
//
//   npx tsx scripts/pg-client-suite.ts --suite /tmp/node-postgres/packages/pg \
//     [--pg-bin /usr/lib/postgresql/15/bin] [--only <substring>] [--mode both|direct|gateway] [--out DIR]

import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { generate } from 'selfsigned';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load-config.js';
import { startEmbeddedPostgres } from '../src/demo/embedded-postgres.js';
import { freeLoopbackPort } from '../src/demo/free-loopback-port.js';
import { startGateway } from '../src/main.js';

const { values: args } = parseArgs({
  options: {
    suite: { type: 'string' },
    'pg-bin': { type: 'string' },
    only: { type: 'string' },
    mode: { type: 'string', default: 'both' },
    out: { type: 'string' },
    timeout: { type: 'string', default: '120000' },
    keep: { type: 'boolean', default: false },
  },
});

const PASSWORD = 'suite-superuser-password';
const DATABASE = 'pgsuite';

/** A self-signed certificate for 127.0.0.1 (the suite's SSL tests connect with rejectUnauthorized false). */
async function certificate(
  dir: string,
  owner?: { uid: number; gid: number },
): Promise<{ cert: string; key: string }> {
  mkdirSync(dir, { recursive: true });
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const cert = path.join(dir, 'server.crt');
  const key = path.join(dir, 'server.key');
  writeFileSync(cert, pems.cert);
  writeFileSync(key, pems.private, { mode: 0o600 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(cert, owner.uid, owner.gid);
    chownSync(key, owner.uid, owner.gid);
  }
  return { cert, key };
}

/** The `postgres` OS user when running as root (PostgreSQL refuses to run as root). */
function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

interface Server {
  readonly port: number;
  stop(): Promise<void>;
}

/** Every *-tests.js under test/integration, as the suite's own Makefile finds them. */
function testFiles(suite: string): string[] {
  const root = path.join(suite, 'test', 'integration');
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('-tests.js')) found.push(path.relative(suite, p));
    }
  };
  walk(root);
  return found.filter((f) => !args.only || f.includes(args.only));
}

/** Server settings for both kinds of server: room for the suite, and SSL (ssl-tests, gh-issues/2085). */
function serverSettings(tlsFiles: { cert: string; key: string }): Record<string, string> {
  return {
    max_connections: '200',
    fsync: 'off',
    ssl: 'on',
    ssl_cert_file: tlsFiles.cert,
    ssl_key_file: tlsFiles.key,
  };
}

/** A PostgreSQL from another installation's binaries (initdb, pg_ctl), e.g. Debian's PostgreSQL 15. */
async function startFromBin(bin: string, dir: string): Promise<Server> {
  const owner = postgresOwner();
  const data = path.join(dir, 'pg-bin');
  mkdirSync(data, { recursive: true });
  const pwfile = path.join(dir, 'pwfile');
  writeFileSync(pwfile, `${PASSWORD}\n`);
  if (owner) {
    chownSync(data, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  const as = (cmd: string, argv: string[]) =>
    owner
      ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...argv], { encoding: 'utf8' })
      : spawnSync(cmd, argv, { encoding: 'utf8' });
  const init = as(path.join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=scram-sha-256',
    `--pwfile=${pwfile}`,
    '--encoding=UTF8',
  ]);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freeLoopbackPort();
  const settings = {
    port: String(port),
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    ...serverSettings(await certificate(path.join(dir, 'pg-tls'), owner)),
  };
  const opts = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v === '' ? "''" : v}`)
    .join(' ');
  const pgCtl = path.join(bin, 'pg_ctl');
  const start = as(pgCtl, ['-D', data, '-o', opts, '-l', path.join(data, 'server.log'), '-w', 'start']);
  if (start.status !== 0) throw new Error(`pg_ctl start failed: ${start.stderr}${start.stdout}`);
  return {
    port,
    stop: async () => {
      as(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
  };
}

async function startServer(dir: string): Promise<Server> {
  if (args['pg-bin']) return startFromBin(args['pg-bin'], dir);
  const port = await freeLoopbackPort();
  const s = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    port,
    password: PASSWORD,
    settings: serverSettings(await certificate(path.join(dir, 'pg-tls'), postgresOwner())),
  });
  return { port, stop: () => s.stop() };
}

interface Outcome {
  readonly file: string;
  readonly ok: boolean;
  readonly ms: number;
}

/** Runs one test file as the suite's Makefile does (`node file`), with PG* pointing at the target. */
function runFile(suite: string, file: string, env: NodeJS.ProcessEnv, log: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const out = createWriteStream(log);
    const p = spawn(process.execPath, [file], { cwd: suite, env: { ...process.env, ...env } });
    p.stdout.pipe(out, { end: false });
    p.stderr.pipe(out, { end: false });
    const timer = setTimeout(() => {
      out.write(`\n[pg-client-suite] killed after ${args.timeout} ms\n`);
      p.kill('SIGKILL');
    }, Number(args.timeout));
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      out.end(`\n[pg-client-suite] exit ${code ?? signal}\n`);
      resolve({ file, ok: code === 0, ms: Date.now() - started });
    });
  });
}

async function runAll(
  label: string,
  suite: string,
  files: string[],
  env: NodeJS.ProcessEnv,
  outDir: string,
): Promise<Map<string, Outcome>> {
  const dir = path.join(outDir, label);
  mkdirSync(dir, { recursive: true });
  const results = new Map<string, Outcome>();
  for (const file of files) {
    const r = await runFile(suite, file, env, path.join(dir, `${file.replace(/[/\\]/g, '__')}.log`));
    results.set(file, r);
    process.stdout.write(
      `${label.padEnd(8)} ${r.ok ? 'pass' : 'FAIL'} ${String(r.ms).padStart(6)} ms  ${file}\n`,
    );
  }
  return results;
}

async function main(): Promise<void> {
  const suite = args.suite ? path.resolve(args.suite) : undefined;
  if (!suite || !existsSync(path.join(suite, 'test', 'integration')))
    throw new Error(
      '--suite must name node-postgres packages/pg (with test/integration and its dependencies installed)',
    );
  const files = testFiles(suite);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-pg-suite-'));
  chmodSync(dir, 0o755);
  const outDir = path.resolve(args.out ?? path.join(dir, 'logs'));
  mkdirSync(outDir, { recursive: true });
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const server = await startServer(dir);
    cleanups.unshift(() => server.stop());
    const admin = new pg.Client({
      host: '127.0.0.1',
      port: server.port,
      user: 'postgres',
      password: PASSWORD,
      database: 'postgres',
    });
    await admin.connect();
    const version = (await admin.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    await admin.end();
    console.log(`${version}\n${files.length} files; logs in ${outDir}\n`);
    const direct = {
      PGHOST: '127.0.0.1',
      PGPORT: String(server.port),
      PGUSER: 'postgres',
      PGPASSWORD: PASSWORD,
      PGDATABASE: DATABASE,
    };

    const results: Record<string, Map<string, Outcome>> = {};
    if (args.mode !== 'gateway') results.direct = await runAll('direct', suite, files, direct, outDir);
    if (args.mode !== 'direct') {
      writeFileSync(path.join(dir, 'upstream-password'), PASSWORD, { mode: 0o600 });
      // The connection has the database's own name, and the upstream login is the same superuser
      // as the direct run: the only difference between the two runs is Gatehouse. A Gatehouse
      // connection is what a client's database name means, so the one other database the suite
      // names (gh-issues/130 runs psql against template1) gets a connection of its own.
      const upstream = (database: string) => ({
        host: '127.0.0.1',
        port: server.port,
        database,
        user: 'postgres',
        password: { file: path.join(dir, 'upstream-password') },
      });
      const config = {
        dataDir: path.join(dir, 'gw'),
        listeners: {
          postgres: { address: '127.0.0.1:0', tls: await certificate(path.join(dir, 'gw-tls')) },
        },
        connections: {
          [DATABASE]: { protocol: 'postgres', upstream: upstream(DATABASE) },
          template1: { protocol: 'postgres', upstream: upstream('template1') },
        },
        policies: [
          {
            id: 'suite-runner-all',
            subjects: { groups: ['suite-runners'] },
            connections: ['*'],
            rules: [{ id: 'allow-everything', effect: 'allow', match: {} }],
          },
        ],
      };
      writeFileSync(path.join(dir, 'gatehouse.yaml'), stringify(config));
      const logFile = path.join(outDir, 'gatehouse.log');
      const gw = await startGateway(await loadConfig(path.join(dir, 'gatehouse.yaml')), {
        logger: pino({ level: 'info' }, pino.destination({ dest: logFile, sync: false })),
      });
      cleanups.unshift(() => gw.stop());
      const token = (
        await gw.identity.issuer!.issue({
          subject: 'suite-runner',
          groups: ['suite-runners'],
          agent: false,
          ttlMs: 6 * 3_600_000,
        })
      ).token;
      results.gateway = await runAll(
        'gateway',
        suite,
        files,
        { ...direct, PGPORT: String(gw.postgres!.port), PGPASSWORD: token },
        outDir,
      );
    }

    console.log('');
    for (const [label, r] of Object.entries(results)) {
      const passed = [...r.values()].filter((o) => o.ok).length;
      console.log(`${label}: ${passed} of ${r.size} files pass`);
    }
    if (results.direct && results.gateway) {
      const differ = files.filter((f) => results.direct!.get(f)?.ok && !results.gateway!.get(f)?.ok);
      console.log(
        differ.length === 0
          ? 'every file that passes directly passes through Gatehouse'
          : `pass directly, fail through Gatehouse:\n  ${differ.join('\n  ')}`,
      );
      const directOnly = files.filter((f) => !results.direct!.get(f)?.ok);
      if (directOnly.length) console.log(`fail directly:\n  ${directOnly.join('\n  ')}`);
    }
  } finally {
    for (const c of cleanups) await c();
    // The logs stay (in --out, or the temp dir's logs/); the servers' data goes.
    if (!args.keep)
      for (const d of ['pg', 'pg-bin', 'gw']) rmSync(path.join(dir, d), { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
