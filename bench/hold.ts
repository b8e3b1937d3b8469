// Starts what `npm run bench` measures — an embedded PostgreSQL (pgbench -i -s 10) and the gateway in
// its own process with the bench's policy (default agent policy, masking on) — and keeps them up until
// Ctrl-C, printing the environment for pgbench and the gateway's pid: for attaching `perf record -p`,
// `strace -c -p` or a debugger to a gateway under a load you drive yourself.
// Run: npx tsx bench/hold.ts   then e.g.   env $(cat /tmp/gatehouse-hold.env) pgbench -n -S -c 8 -j 2 -T 10

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freeLoopbackPort } from '../src/demo/free-loopback-port.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { benchPostgresConnection, gatewayBuild, issueToken, startGatewayProcess } from './gateway-process.js';
import { API_BODY } from './http-api-body.js';
import { startPgbenchUpstream } from './pgbench-upstream.js';
import { startPgbouncer } from './pgbouncer.js';

const envFile = process.env.HOLD_ENV_FILE ?? path.join(os.tmpdir(), 'gatehouse-hold.env');
// HOLD_WITHOUT_RECORD=1 preloads bench/without-record.mjs into each gateway: its store writes nothing
// (the floor without the record, for finding out what the record costs; never a result).
const withoutRecord = process.env.HOLD_WITHOUT_RECORD === '1';
function withoutRecordOptions(): string {
  if (gatewayBuild() !== 'dist') throw new Error('HOLD_WITHOUT_RECORD needs a current build: npm run build');
  const preload = fileURLToPath(new URL('./without-record.mjs', import.meta.url));
  return [process.env.NODE_OPTIONS, `--import=${preload}`].filter(Boolean).join(' ');
}
// Checked before anything starts (a missing build must not leave a PostgreSQL running).
const withoutRecordNodeOptions = withoutRecord ? withoutRecordOptions() : undefined;
const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-hold-'));
const password = 'bench-password';
const upstream = await startPgbenchUpstream(dir, password);
const pgPort = upstream.port;
writeFileSync(path.join(dir, 'upstream-password'), password);
// HOLD_GATEWAYS=<n> starts n independent gateway processes (each its own data dir, store and port) on
// the same PostgreSQL: the first one's pgbench environment is in the env file, the others' in
// `<env file>.2`, `.3`, … (what one gateway process per core would give at best, with nothing shared).
const count = Math.max(1, Number(process.env.HOLD_GATEWAYS ?? 1) || 1);
// Both hold a credential (the gateway token, the upstream password): owner-only, also when an
// earlier run left the file behind (writeFileSync's mode applies only to a file it creates).
const writePrivate = (file: string, text: string) => {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
};
// HOLD_HTTP=1 also puts a small JSON API (bench/http-upstreams.ts's answer, node:http in this
// process) behind a generic HTTP connection of the first gateway, as `npm run bench` measures it: its
// address and the agent's token are in `<env file>.http`, for wrk (`wrk -c 8 -H "authorization:
// Bearer $TOKEN" $URL`).
const httpApi = process.env.HOLD_HTTP === '1' ? await startApi() : undefined;
async function startApi(): Promise<{ url: string; port: number; close: () => void }> {
  const body = Buffer.from(API_BODY);
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, port: await freeLoopbackPort(), close: () => server.close() };
}
const gateways: Awaited<ReturnType<typeof startGatewayProcess>>[] = [];
const described: string[] = [];
for (let i = 1; i <= count; i++) {
  const suffix = i === 1 ? '' : String(i);
  const gwPort = await freeLoopbackPort();
  const metricsPort = await freeLoopbackPort();
  const configFile = path.join(dir, `gatehouse${suffix}.yaml`);
  writeFileSync(
    configFile,
    stringify({
      dataDir: path.join(dir, `gw${suffix}`),
      log: { level: 'warn' },
      listeners: { postgres: { address: `127.0.0.1:${gwPort}` } },
      connections: {
        bench: benchPostgresConnection(pgPort, path.join(dir, 'upstream-password')),
        ...(httpApi && i === 1
          ? {
              api: {
                protocol: 'http',
                listen: `127.0.0.1:${httpApi.port}`,
                upstream: httpApi.url,
                auth: { type: 'none' },
              },
            }
          : {}),
      },
      policies: [
        ...defaultAgentPolicies(['bench'], { mask: true }),
        ...(httpApi && i === 1
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
            ]
          : []),
      ],
      metrics: { listen: `127.0.0.1:${metricsPort}` },
      // HOLD_STORE_FOLD=thread folds the record journal on a thread of its own (an A/B of the fold thread).
      ...(process.env.HOLD_STORE_FOLD
        ? { store: { kind: 'sqlite', fold: process.env.HOLD_STORE_FOLD } }
        : {}),
    }),
  );
  const { issued } = issueToken(configFile, { subject: 'bench-agent', groups: 'ai-agents', agent: true });
  const gw = await startGatewayProcess({
    configFile,
    ...(withoutRecordNodeOptions ? { env: { NODE_OPTIONS: withoutRecordNodeOptions } } : {}),
    ports: [gwPort, ...(httpApi && i === 1 ? [httpApi.port] : [])],
    logFile: path.join(dir, `gateway${suffix}.log`),
    ...(process.env.BENCH_CPU_PROF ? { cpuProfDir: path.resolve(process.env.BENCH_CPU_PROF) } : {}),
  });
  gateways.push(gw);
  const file = i === 1 ? envFile : `${envFile}.${i}`;
  writePrivate(
    file,
    `PGHOST=127.0.0.1 PGPORT=${gwPort} PGUSER=postgres PGPASSWORD=${issued.token} PGDATABASE=bench PGSSLMODE=disable\n`,
  );
  if (httpApi && i === 1) {
    writePrivate(
      `${file}.http`,
      `URL=http://127.0.0.1:${httpApi.port}/v1/items/1142 TOKEN=${issued.token} DIRECT=${httpApi.url}/v1/items/1142\n`,
    );
    described.push(`generic HTTP connection in ${file}.http`);
  }
  described.push(
    `gateway pid ${gw.pid} (pgbench environment in ${file}; metrics at http://127.0.0.1:${metricsPort}/metrics)` +
      (withoutRecord ? ' WITHOUT ITS RECORD (bench/without-record.mjs: a floor, not a result)' : ''),
  );
}
// HOLD_BARE_RELAY=1 also starts bench/bare-relay.mjs in its own process, a bare Node relay to the same
// PostgreSQL (nothing parsed, decided, recorded or masked): the ceiling a Node gateway starts from.
let relay: ChildProcess | undefined;
if (process.env.HOLD_BARE_RELAY === '1') {
  const relayPort = await freeLoopbackPort();
  relay = spawn(
    process.execPath,
    [fileURLToPath(new URL('./bare-relay.mjs', import.meta.url)), String(relayPort), String(pgPort)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    relay!.once('exit', (code) => reject(new Error(`bench/bare-relay.mjs exited (${code})`)));
    relay!.stdout!.once('data', () => resolve());
  });
  writePrivate(
    `${envFile}.relay`,
    `PGHOST=127.0.0.1 PGPORT=${relayPort} PGUSER=postgres PGPASSWORD=${password} PGDATABASE=postgres PGSSLMODE=disable\n`,
  );
  described.push(`bare Node relay pid ${relay.pid} (${envFile}.relay; a ceiling, not a result)`);
}
// HOLD_PGBOUNCER=1 also starts PgBouncer (bench/pgbouncer.ts, as `npm run bench` does) in front of the
// same PostgreSQL, its pgbench environment in `<env file>.pgbouncer`.
const bouncer = process.env.HOLD_PGBOUNCER === '1' ? await startPgbouncer(dir, pgPort, password) : undefined;
if (bouncer) {
  writePrivate(
    `${envFile}.pgbouncer`,
    `PGHOST=127.0.0.1 PGPORT=${bouncer.port} PGUSER=postgres PGPASSWORD=${password} PGDATABASE=postgres PGSSLMODE=disable\n`,
  );
  described.push(`PgBouncer on port ${bouncer.port} (${envFile}.pgbouncer)`);
}
writePrivate(
  `${envFile}.direct`,
  `PGHOST=127.0.0.1 PGPORT=${pgPort} PGUSER=postgres PGPASSWORD=${password} PGDATABASE=postgres PGSSLMODE=disable\n`,
);
console.log(`${described.join('; ')}; direct: ${envFile}.direct; Ctrl-C stops`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  for (const gw of gateways) await gw.stop();
  relay?.kill();
  httpApi?.close();
  bouncer?.stop();
  await upstream.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
