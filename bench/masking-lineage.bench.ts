// What column lineage (docs/masking.md) costs per statement. Two parts:
//   1. the analyzer alone, with every catalog entry loaded: µs per statement (parse + walk) for a few
//      shapes, and the cached lookup a repeated statement costs;
//   2. end to end through a real gateway and PostgreSQL: sequential short statements per second for a
//      principal without masking, a masked principal without column rules (no lineage), and a masked
//      principal under column rules (lineage on), with the same text repeated and with a new literal
//      in every statement (the cache never hits).
// Run: npx tsx bench/masking-lineage.bench.ts (env: BENCH_STATEMENTS, BENCH_ROUNDS). Prints numbers.

import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load-config.js';
import { startEmbeddedPostgres } from '../src/demo/embedded-postgres.js';
import { freeLoopbackPort } from '../src/demo/free-loopback-port.js';
import { CatalogResolver } from '../src/engines/postgres/catalog-resolver.js';
import { startGateway } from '../src/main.js';
import {
  createLineageAnalyzer,
  type CatalogRelation,
  type CatalogRoutines,
  type LineageCatalog,
} from '../src/sql/postgres/column-lineage.js';
import { sharedParserRuntime } from '../src/sql/postgres/postgres-classifier.js';

const STATEMENTS = Number(process.env.BENCH_STATEMENTS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---------------------------------------------------------------- 1. the analyzer alone

const rel = (name: string, columns: string[], extra: Partial<CatalogRelation> = {}): CatalogRelation => ({
  schema: 'public',
  name,
  kind: 'r',
  columns,
  ancestors: [],
  ...extra,
});
const RELATIONS = [
  rel('pgbench_accounts', ['aid', 'bid', 'abalance', 'filler']),
  rel('customers', ['id', 'name', 'email', 'phone', 'card_number', 'country']),
  rel('orders', ['id', 'customer_id', 'order_no', 'amount', 'status']),
  rel('api_keys', ['id', 'customer_id', 'service', 'key_id', 'secret']),
  rel('api_keys_v', ['service', 'secret'], {
    kind: 'v',
    viewDefinition: 'SELECT api_keys.service, api_keys.secret FROM public.api_keys',
  }),
];
const builtin: CatalogRoutines = {
  overloads: [{ schema: 'pg_catalog', language: 'internal', volatility: 'i' }],
  isType: false,
};
const catalog: LineageCatalog = {
  relations: (schema, name) => RELATIONS.filter((r) => r.name === name && (!schema || r.schema === schema)),
  routines: () => builtin,
};

const SHAPES: [string, (i: number) => string][] = [
  ['pgbench SELECT', (i) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${i}`],
  [
    'join, 3 columns',
    (i) =>
      `SELECT o.order_no, o.amount, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = ${i}`,
  ],
  ['function over a view', (i) => `SELECT upper(secret), service FROM api_keys_v WHERE service = 's${i}'`],
  [
    'CTE + aggregate + star',
    (i) =>
      `WITH t AS (SELECT customer_id, sum(amount) AS s FROM orders WHERE amount > ${i} GROUP BY 1) SELECT * FROM t JOIN customers c ON c.id = t.customer_id`,
  ],
];

function perCall(run: (i: number) => void, n = 2000): number {
  const rounds: number[] = [];
  let i = 0;
  for (let r = 0; r < 31; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < n / 20; k++) run(i++);
    rounds.push(Number(process.hrtime.bigint() - t0) / (n / 20) / 1000);
  }
  return median(rounds);
}

async function micro(): Promise<void> {
  const analyzer = createLineageAnalyzer(await sharedParserRuntime());
  console.log('\n| statement | analyze, new text (µs) |');
  console.log('|---|---|');
  for (const [name, text] of SHAPES) {
    for (let i = 0; i < 3000; i++) analyzer.analyze(text(-i - 1), catalog); // warm the JIT
    const us = perCall((i) => {
      const o = analyzer.analyze(text(1_000_000 + i), catalog);
      if (o.kind !== 'done') throw new Error(`${name}: ${o.kind}`);
    });
    console.log(`| ${name} | ${us.toFixed(1)} |`);
  }
  const resolver = new CatalogResolver(() => Promise.reject(new Error('unused')));
  const o = analyzer.analyze(SHAPES[0]![1](1), catalog);
  if (o.kind === 'done') resolver.rememberLineage('SELECT 1', o.lineage);
  const hit = perCall(() => resolver.lineageOf('SELECT 1'), 200_000);
  console.log(`| any, same text again (cached lookup) | ${hit.toFixed(3)} |`);
}

// ---------------------------------------------------------------- 2. end to end

async function endToEnd(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-lineage-bench-'));
  chmodSync(dir, 0o755);
  const password = 'bench-password';
  const pgPort = await freeLoopbackPort();
  const upstream = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    port: pgPort,
    password,
    authMethod: 'password',
    settings: { fsync: 'off' },
  });
  try {
    const admin = new pg.Client({ connectionString: upstream.url() });
    await admin.connect();
    await admin.query(`CREATE TABLE customers (id int PRIMARY KEY, name text, email text, card_number text);
      INSERT INTO customers SELECT g, 'customer ' || g, 'user' || g || '@example.com', '4111111111111111'
        FROM generate_series(1, 1000) g;`);
    await admin.end();
    writeFileSync(path.join(dir, 'upstream-password'), password);
    const policy = (id: string, mask?: boolean | string) => ({
      id,
      subjects: { groups: [id] },
      connections: ['bench'],
      rules: [{ id: `${id}-all`, effect: 'allow', match: {}, ...(mask === undefined ? {} : { mask }) }],
    });
    writeFileSync(
      path.join(dir, 'gatehouse.yaml'),
      stringify({
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
        policies: [policy('plain'), policy('norules', 'norules'), policy('lineage', true)],
        masking: {
          columns: [
            { column: 'customers.email', style: 'hash', tag: 'email' },
            { column: 'customers.card_number', style: 'partial', tag: 'card' },
          ],
          profiles: { norules: { columns: [] } },
        },
      }),
    );
    const gw = await startGateway(await loadConfig(path.join(dir, 'gatehouse.yaml')), {});
    try {
      const port = gw.postgres!.port;
      const client = async (group: string) => {
        const { token } = await gw.identity.issuer!.issue({
          subject: group,
          groups: [group],
          agent: false,
          ttlMs: 3_600_000,
        });
        const c = new pg.Client({ host: '127.0.0.1', port, user: group, password: token, database: 'bench' });
        await c.connect();
        return c;
      };
      const principals: [string, pg.Client][] = [
        ['no masking', await client('plain')],
        ['masked, no column rules (no lineage)', await client('norules')],
        ['masked, column rules (lineage)', await client('lineage')],
      ];
      const texts: [string, (i: number) => string][] = [
        ['same text', () => 'SELECT id, name FROM customers WHERE id = 7'],
        ['new literal each time', (i) => `SELECT id, name FROM customers WHERE id = ${(i % 1000) + 1}`],
      ];
      console.log(
        `\nnode ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]?.toFixed(2)}; ` +
          `${STATEMENTS} sequential simple queries per run, ${ROUNDS} rounds (median)`,
      );
      console.log('\n| principal | statements | statements/s | µs per statement |');
      console.log('|---|---|---|---|');
      const rates = new Map<string, number[]>();
      let seq = 0;
      for (let round = 0; round < ROUNDS; round++) {
        for (const [tname, text] of texts) {
          for (const [pname, c] of principals) {
            const t0 = performance.now();
            for (let i = 0; i < STATEMENTS; i++) await c.query(text(seq++));
            const rate = STATEMENTS / ((performance.now() - t0) / 1000);
            const k = `${pname}|${tname}`;
            (rates.get(k) ?? rates.set(k, []).get(k)!).push(rate);
          }
        }
      }
      for (const [tname] of texts) {
        for (const [pname] of principals) {
          const r = median(rates.get(`${pname}|${tname}`)!);
          console.log(
            `| ${pname} | ${tname} | ${Math.round(r).toLocaleString('en')} | ${(1e6 / r).toFixed(0)} |`,
          );
        }
      }
      for (const [, c] of principals) await c.end();
    } finally {
      await gw.stop();
    }
  } finally {
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`node ${process.version}, load average ${os.loadavg()[0]?.toFixed(2)}`);
await micro();
await endToEnd();
process.exit(0);
