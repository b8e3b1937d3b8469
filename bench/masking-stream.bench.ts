// Streams a large SELECT (default 1,000,000 rows × 6 columns) directly, through Gatehouse with masking
// off, and through Gatehouse with masking on; prints rows/s, ratios to direct and the gateway's RSS
// growth and CPU time per row while streaming. Run: npx tsx bench/masking-stream.bench.ts
// (env: BENCH_ROWS, BENCH_ROUNDS, BENCH_PATHS, BENCH_COLUMN_RULE, BENCH_CPU_PROF, BENCH_NODE_ARGS)
//
// The client is a minimal protocol reader that only counts DataRow frames, so its own cost stays
// small; the gateway runs in a child process so its memory can be measured on its own.

import { fork, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load-config.js';
import { startEmbeddedPostgres } from '../src/demo/embedded-postgres.js';
import { freeLoopbackPort } from '../src/demo/free-loopback-port.js';
import { startGateway } from '../src/main.js';
import { encode } from '../src/wire/postgres/index.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const QUERY = 'SELECT id, customer, email, amount, created_at, note FROM bench_rows';

/** Connects, logs in with a cleartext password, sends one Query and counts DataRows until ReadyForQuery. */
function streamOnce(
  port: number,
  user: string,
  database: string,
  password: string,
): Promise<{ rows: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buf: Buffer = Buffer.alloc(0);
    let phase: 'login' | 'query' = 'login';
    let rows = 0;
    let t0 = 0;
    socket.on('error', reject);
    socket.on('connect', () => socket.write(encode.startupMessage({ user, database })));
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let pos = 0;
      while (buf.length - pos >= 5) {
        const type = buf[pos]!;
        const len = buf.readInt32BE(pos + 1);
        if (buf.length - pos < len + 1) break;
        if (type === 0x44) rows++;
        else if (type === 0x45)
          reject(new Error(`server error: ${buf.toString('utf8', pos + 5, pos + 1 + len)}`));
        else if (type === 0x52 && buf.readInt32BE(pos + 5) === 3)
          socket.write(encode.passwordMessage(password));
        else if (type === 0x5a) {
          if (phase === 'login') {
            phase = 'query';
            t0 = performance.now();
            socket.write(encode.query(QUERY));
          } else {
            const ms = performance.now() - t0;
            socket.end(encode.terminate());
            resolve({ rows, ms });
            return;
          }
        }
        pos += len + 1;
      }
      buf = buf.subarray(pos);
    });
  });
}

// ---------------------------------------------------------------- the gateway, in a child process

async function gatewayChild(configFile: string): Promise<void> {
  const gw = await startGateway(await loadConfig(configFile));
  const issue = async (subject: string, groups: string[], agent: boolean) =>
    (await gw.identity.issuer!.issue({ subject, groups, agent, ttlMs: 3_600_000 })).token;
  const tokens = {
    plain: await issue('bench-plain', ['plain'], false),
    masked: await issue('bench-agent', ['masked'], true),
  };
  let sampling: NodeJS.Timeout | undefined;
  let peak = 0;
  let cpu0 = process.cpuUsage();
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'sample-start') {
      // process.memoryUsage.rss() reads the RSS alone: process.memoryUsage() also walks the heap's
      // spaces, which every 20 ms took 3–4 % of the gateway's busy time while it streamed.
      peak = process.memoryUsage.rss();
      const base = peak;
      cpu0 = process.cpuUsage();
      sampling = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
      process.send!({ cmd: 'sampling', base });
    } else if (m.cmd === 'sample-stop') {
      clearInterval(sampling);
      const cpu = process.cpuUsage(cpu0);
      process.send!({
        cmd: 'peak',
        peak: Math.max(peak, process.memoryUsage.rss()),
        cpuMicros: cpu.user + cpu.system,
      });
    } else if (m.cmd === 'stop') {
      void gw.stop().then(() => process.exit(0));
    }
  });
  process.send!({ cmd: 'ready', port: gw.postgres!.port, tokens });
}

function ask<T>(child: ChildProcess, msg: object, answer: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { cmd: string }) => {
      if (m.cmd !== answer) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
    child.send(msg);
  });
}

// ---------------------------------------------------------------- main

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-mask-bench-'));
  chmodSync(dir, 0o755);
  const password = 'bench-password';
  const pgPort = await freeLoopbackPort();
  const upstream = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    port: pgPort,
    password,
    authMethod: 'password',
    settings: { shared_buffers: '256MB', fsync: 'off' },
  });
  let child: ChildProcess | undefined;
  try {
    const admin = new pg.Client({ connectionString: upstream.url() });
    await admin.connect();
    // 6 columns: an int8 id, two text columns (one under a column rule), numeric, timestamptz, and a
    // free-text note in which 1 row in 100 carries a card number for the content detectors to find.
    await admin.query(
      `CREATE UNLOGGED TABLE bench_rows (id bigint, customer text, email text, amount numeric(10,2), created_at timestamptz, note text)`,
    );
    await admin.query(
      `INSERT INTO bench_rows SELECT g, 'customer ' || g, 'user' || g || '@example.com', (g % 100000) / 100.0,
              timestamptz '2024-01-01' + g * interval '1 second',
              CASE WHEN g % 100 = 0 THEN 'paid with 4111 1111 1111 1111' ELSE 'order shipped to warehouse ' || (g % 17) END
       FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    await admin.query('VACUUM ANALYZE bench_rows');
    await admin.end();

    writeFileSync(path.join(dir, 'upstream-password'), password);
    const config = {
      dataDir: path.join(dir, 'gh'),
      log: { level: 'silent' },
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
      policies: [
        {
          id: 'plain',
          subjects: { groups: ['plain'] },
          connections: ['bench'],
          rules: [{ id: 'plain-all', effect: 'allow', match: {} }],
        },
        {
          id: 'masked',
          subjects: { groups: ['masked'] },
          connections: ['bench'],
          rules: [{ id: 'masked-all', effect: 'allow', match: {}, mask: true }],
        },
      ],
      // BENCH_COLUMN_RULE=0: content detectors only (rows change only where something is found).
      masking: {
        columns:
          process.env.BENCH_COLUMN_RULE === '0'
            ? []
            : [{ column: 'public.bench_rows.email', tag: 'email_column' }],
      },
    };
    const configFile = path.join(dir, 'gatehouse.yaml');
    writeFileSync(configFile, stringify(config));
    // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the gateway process there.
    const prof = process.env.BENCH_CPU_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
      : [];
    child = fork(fileURLToPath(import.meta.url), ['--gateway', configFile], {
      // BENCH_NODE_ARGS: more flags for the gateway's node (--trace-gc, --max-semi-space-size=…).
      execArgv: [
        '--import',
        'tsx',
        ...prof,
        ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await ask<{ port: number; tokens: { plain: string; masked: string } }>(
      child,
      { cmd: 'noop' },
      'ready',
    );

    const all = [
      {
        key: 'direct',
        name: 'direct',
        run: () => streamOnce(pgPort, 'postgres', 'postgres', password),
        gateway: false,
      },
      {
        key: 'off',
        name: 'gatehouse, masking off',
        run: () => streamOnce(ready.port, 'bench', 'bench', ready.tokens.plain),
        gateway: true,
      },
      {
        key: 'on',
        name: 'gatehouse, masking on',
        run: () => streamOnce(ready.port, 'bench', 'bench', ready.tokens.masked),
        gateway: true,
      },
    ];
    // BENCH_PATHS=on (for instance, with BENCH_CPU_PROF) runs only some of the paths.
    const paths = (process.env.BENCH_PATHS ?? 'direct,off,on').split(',');
    const targets = all.filter((t) => paths.includes(t.key));
    console.log(
      `node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]?.toFixed(2)}; ${ROWS.toLocaleString('en')} rows × 6 columns, ${ROUNDS} rounds (median)`,
    );
    const rates = new Map<string, number[]>();
    const growth = new Map<string, number[]>();
    const cpuPerRow = new Map<string, number[]>();
    await all[0]!.run(); // warm the buffer cache
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const sampling = t.gateway
          ? await ask<{ base: number }>(child, { cmd: 'sample-start' }, 'sampling')
          : undefined;
        const r = await t.run();
        if (r.rows !== ROWS) throw new Error(`${t.name}: expected ${ROWS} rows, got ${r.rows}`);
        if (sampling) {
          const { peak, cpuMicros } = await ask<{ peak: number; cpuMicros: number }>(
            child,
            { cmd: 'sample-stop' },
            'peak',
          );
          (growth.get(t.name) ?? growth.set(t.name, []).get(t.name)!).push((peak - sampling.base) / 2 ** 20);
          (cpuPerRow.get(t.name) ?? cpuPerRow.set(t.name, []).get(t.name)!).push(cpuMicros / ROWS);
        }
        (rates.get(t.name) ?? rates.set(t.name, []).get(t.name)!).push(r.rows / (r.ms / 1000));
      }
    }
    const direct = median(rates.get('direct') ?? [NaN]);
    console.log(
      '\n| path | rows/s (median) | × direct | gateway RSS growth (max of rounds) | gateway CPU µs/row (median) |',
    );
    console.log('|---|---|---|---|---|');
    for (const t of targets) {
      const rate = median(rates.get(t.name)!);
      const g = growth.get(t.name);
      const c = cpuPerRow.get(t.name);
      console.log(
        `| ${t.name} | ${Math.round(rate).toLocaleString('en')} | ${(rate / direct).toFixed(2)} | ${g ? `${Math.max(...g).toFixed(1)} MB` : '—'} | ${c ? median(c).toFixed(2) : '—'} |`,
      );
    }
    const off = median(rates.get('gatehouse, masking off') ?? [NaN]);
    const on = median(rates.get('gatehouse, masking on') ?? [NaN]);
    console.log(`\nmasking on / masking off: ${(on / off).toFixed(2)}`);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.send({ cmd: 'stop' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      child.kill();
    }
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--gateway') await gatewayChild(process.argv[3]!);
else {
  await main();
  process.exit(0);
}
