// What the tamper-evident record costs (docs/performance.md, "Recording overhead").
// Run: npx tsx bench/recording-overhead.bench.ts
//   1. store: recordStatement + completeStatement from 8 sessions into SQLite, with the hash-chained
//      events (2 event rows and 2 SHA-256 per statement, same transaction) and without them.
//   2. end to end: pgbench through three gateways in this process, alternating rounds, medians:
//      `record`  — the full record: events, hash chain, result samples (default caps);
//      `no-samples` — events and chain, `recording.sample.rows: 0`;
//      `no-events` — no event rows, no samples. Since schema 8 the SQLite store writes a statement
//      only as its events, so without them it records nothing: the floor (as HOLD_WITHOUT_RECORD=1
//      with bench/hold.ts), where before it was the statement rows alone (the record before issue 6).
//   BENCH_DURATION (s, default 10), BENCH_ROUNDS (3), BENCH_CLIENTS (8), BENCH_SCRIPTS (select,tpcb),
//   BENCH_STATEMENTS (store part, default 30000; 0 skips it).

import { randomUUID } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load-config.js';
import type { StatementRecord } from '../src/core/records.js';
import { createLogger } from '../src/logger.js';
import { startGateway, type Gateway } from '../src/main.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { startPgbenchUpstream } from './pgbench-upstream.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const SCRIPTS = (process.env.BENCH_SCRIPTS ?? 'select,tpcb').split(',');
const STATEMENTS = Number(process.env.BENCH_STATEMENTS ?? 30_000);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function storeBench(
  dir: string,
  events: boolean,
): Promise<{ perSecond: number; p50: number; cpu: number }> {
  const store = await SqliteStore.open({
    path: path.join(dir, `store-${events ? 'on' : 'off'}-${randomUUID()}.db`),
  });
  if (!events) store.disableEventsForBenchmark();
  const sessions = 8;
  const per = Math.ceil(STATEMENTS / sessions);
  const ids = Array.from({ length: sessions }, () => randomUUID());
  await Promise.all(
    ids.map((id) =>
      store.startSession({
        id,
        startedAt: new Date(),
        subject: 'b',
        groups: [],
        tokenKind: 'service',
        agent: true,
        issuer: 'g',
        clientAddress: '127.0.0.1:1',
        connection: 'b',
        protocol: 'postgres',
      }),
    ),
  );
  const lat: number[] = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    ids.map(async (sessionId) => {
      let last: Promise<void> = Promise.resolve();
      for (let seq = 1; seq <= per; seq++) {
        const id = `${sessionId}:${String(seq).padStart(8, '0')}`;
        const record: StatementRecord = {
          id,
          sessionId,
          seq,
          at: new Date(),
          via: 'simple-query',
          text: `SELECT abalance FROM pgbench_accounts WHERE aid = ${(seq * 7919) % 100000}`,
          kind: 'select',
          categories: ['read'],
          effect: 'allow',
          ruleId: 'bench',
        };
        const s = performance.now();
        await store.recordStatement(record);
        lat.push(performance.now() - s);
        last = store.completeStatement(id, {
          durationMs: 0.1,
          rows: 1,
          sample: { columns: ['abalance'], rows: [['0']], truncated: false },
        });
      }
      await last;
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  await store.close();
  return {
    perSecond: (per * sessions) / seconds,
    p50: median(lat),
    cpu: (c.user + c.system) / (per * sessions),
  };
}

function pgbench(
  env: NodeJS.ProcessEnv,
  script: string,
): Promise<{ tps: number; latencyMs: number; transactions: number }> {
  const args = [
    '-n',
    ...(script === 'select' ? ['-S'] : []),
    '-c',
    String(CLIENTS),
    '-j',
    '2',
    '-T',
    String(DURATION),
  ];
  return new Promise((resolve, reject) => {
    const p = spawn('pgbench', args, { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      const tps = /tps = ([\d.]+)/.exec(out);
      const lat = /latency average = ([\d.]+) ms/.exec(out);
      const txns = /number of transactions actually processed: (\d+)/.exec(out);
      if (code !== 0 || !tps || !lat || !txns) reject(new Error(`pgbench failed (${code}): ${err || out}`));
      else resolve({ tps: Number(tps[1]), latencyMs: Number(lat[1]), transactions: Number(txns[1]) });
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-recbench-'));
  chmodSync(dir, 0o755);
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    console.log(
      `node ${process.version}, ${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    if (STATEMENTS > 0) {
      console.log(
        `\nstore: ${STATEMENTS} statements (record + complete with a 1-row sample) from 8 sessions, SQLite NORMAL, alternating`,
      );
      const r: Record<string, { ps: number[]; p50: number[]; cpu: number[] }> = {
        on: { ps: [], p50: [], cpu: [] },
        off: { ps: [], p50: [], cpu: [] },
      };
      for (let round = 0; round < ROUNDS; round++) {
        for (const events of [true, false]) {
          const x = await storeBench(dir, events);
          r[events ? 'on' : 'off']!.ps.push(x.perSecond);
          r[events ? 'on' : 'off']!.p50.push(x.p50);
          r[events ? 'on' : 'off']!.cpu.push(x.cpu);
        }
      }
      for (const k of ['on', 'off']) {
        console.log(
          `| events ${k.padEnd(3)} | ${Math.round(median(r[k]!.ps)).toLocaleString('en-US')} statements/s | record p50 ${median(r[k]!.p50).toFixed(3)} ms | ${median(r[k]!.cpu).toFixed(0)} µs CPU/statement |`,
        );
      }
    }

    if (spawnSync('sh', ['-c', 'command -v pgbench']).status !== 0) {
      console.log('pgbench is not installed: skipping the end-to-end part');
      return;
    }
    const password = 'bench-password';
    const upstream = await startPgbenchUpstream(dir, password);
    cleanups.unshift(() => upstream.stop());
    const pgPort = upstream.port;
    writeFileSync(path.join(dir, 'upstream-password'), password);

    const variants = [
      { name: 'record', sample: { rows: 100, bytes: 65536 }, events: true },
      { name: 'no-samples', sample: { rows: 0, bytes: 65536 }, events: true },
      { name: 'no-events', sample: { rows: 0, bytes: 65536 }, events: false },
    ];
    const targets: { name: string; env: NodeJS.ProcessEnv }[] = [];
    for (const v of variants) {
      const file = path.join(dir, `${v.name}.yaml`);
      writeFileSync(
        file,
        stringify({
          dataDir: path.join(dir, `gw-${v.name}`),
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
              id: 'bench',
              subjects: { groups: ['bench'] },
              connections: ['*'],
              rules: [{ id: 'all', effect: 'allow', match: {} }],
            },
          ],
          recording: { sample: v.sample },
        }),
      );
      const gw: Gateway = await startGateway(await loadConfig(file), { logger: createLogger('warn') });
      cleanups.unshift(() => gw.stop());
      if (!v.events) (gw.store as SqliteStore).disableEventsForBenchmark();
      const token = (
        await gw.identity.issuer!.issue({
          subject: `bench-${v.name}`,
          groups: ['bench'],
          agent: true,
          ttlMs: 3_600_000,
        })
      ).token;
      targets.push({
        name: v.name,
        env: {
          PGHOST: '127.0.0.1',
          PGPORT: String(gw.postgres!.port),
          PGUSER: 'bench',
          PGPASSWORD: token,
          PGDATABASE: 'bench',
          PGSSLMODE: 'disable',
        },
      });
    }

    console.log(
      `\npgbench -c ${CLIENTS} -j 2 -T ${DURATION} through the gateway (simple protocol), ${ROUNDS} alternating rounds, median`,
    );
    // The gateways run in this process, pgbench in children: this process's CPU time per
    // transaction is the gateway's cost, and holds up better than TPS on a loaded machine.
    const results: Record<string, Record<string, { tps: number[]; lat: number[]; cpu: number[] }>> = {};
    for (const script of SCRIPTS) {
      results[script] = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const t of targets) {
          const c0 = process.cpuUsage();
          const r = await pgbench(t.env, script);
          const c = process.cpuUsage(c0);
          const cpu = (c.user + c.system) / r.transactions;
          const slot = (results[script][t.name] ??= { tps: [], lat: [], cpu: [] });
          slot.tps.push(r.tps);
          slot.lat.push(r.latencyMs);
          slot.cpu.push(cpu);
          console.log(
            `  ${script.padEnd(7)} round ${round + 1} ${t.name.padEnd(11)} ${r.tps.toFixed(0).padStart(7)} tps  ${r.latencyMs.toFixed(3)} ms  ${cpu.toFixed(0)} µs CPU/txn`,
          );
        }
      }
    }
    console.log('\n| script | gateway | TPS (median) | latency ms | vs no-events | gateway CPU µs/txn |');
    console.log('|---|---|---|---|---|---|');
    for (const script of SCRIPTS) {
      const base = median(results[script]!['no-events']!.tps);
      for (const t of targets) {
        const s = results[script]![t.name]!;
        const tps = median(s.tps);
        console.log(
          `| ${script} | ${t.name} | ${tps.toFixed(0)} | ${median(s.lat).toFixed(3)} | ${((tps / base) * 100).toFixed(0)}% | ${median(s.cpu).toFixed(0)} |`,
        );
      }
    }
  } finally {
    for (const c of cleanups) await c();
  }
}

await main();
