import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import type { SqlClassification, SqlClassifier, SqlStatement } from '../core/sql-statement.js';
import { policiesSchema, policyDefaultsSchema } from '../config/policy-schema.js';
import { defaultAgentPolicies } from '../policy/default-agent-policy.js';
import { createPostgresClassifier } from '../sql/postgres/postgres-classifier.js';
import type { CliIo } from './cli-io.js';
import { policyCommand, type PolicyCommandConfig } from './policy-command.js';

/**
 * A stand-in for the PostgreSQL classifier (src/sql/postgres), which is written in parallel: it splits
 * on ";" and knows a fixed table of statements. These tests cover the command's plumbing; the real
 * classifier's categories are tested beside it.
 */
const KNOWN: Record<string, Omit<SqlStatement, 'text'>> = {
  'select * from orders': {
    kind: 'select',
    categories: ['read'],
    tables: [{ name: 'orders' }],
    functions: [],
  },
  'delete from orders': {
    kind: 'delete',
    categories: ['write', 'write-unbounded'],
    tables: [{ name: 'orders' }],
    functions: [],
  },
  'delete from orders where id = 1': {
    kind: 'delete',
    categories: ['write'],
    tables: [{ name: 'orders' }],
    functions: [],
  },
  'drop database prod': { kind: 'drop database', categories: ['drop-database'], tables: [], functions: [] },
  'truncate orders': {
    kind: 'truncate',
    categories: ['truncate'],
    tables: [{ name: 'orders' }],
    functions: [],
  },
};

const fakeClassifier: SqlClassifier = {
  classify(text: string): SqlClassification {
    const statements: SqlStatement[] = [];
    for (const raw of text.split(';')) {
      const t = raw.trim();
      if (t === '') continue;
      const known = KNOWN[t.toLowerCase().replace(/\s+/g, ' ')];
      if (known === undefined)
        return { statements: [], parseError: `syntax error at or near "${t.split(' ')[0]}"` };
      statements.push({ text: t, ...known });
    }
    return { statements };
  },
  classifyBounded(text: string): SqlClassification {
    return this.classify(text);
  },
};

function setup(
  config: object = { connections: { prod: {}, staging: {} }, policies: defaultAgentPolicies(['*']) },
  createClassifier: () => Promise<SqlClassifier> = async () => fakeClassifier,
) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-policy-cli-'));
  const configFile = path.join(dir, 'gatehouse.yaml');
  writeFileSync(configFile, stringify(config));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const out: string[] = [];
  const err: string[] = [];
  let stdinText = '';
  const io: CliIo = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    get stdin() {
      const text = stdinText;
      return (async function* () {
        yield text;
      })();
    },
    env: {},
  };
  const loadConfig = async (p: string): Promise<PolicyCommandConfig> => {
    const raw = parseYaml(await readFile(p, 'utf8')) as {
      policies?: unknown;
      policyDefaults?: unknown;
      connections?: Record<string, unknown>;
    };
    return {
      policies: policiesSchema.parse(raw.policies),
      policyDefaults: policyDefaultsSchema.parse(raw.policyDefaults),
      connections: raw.connections ?? {},
    };
  };
  const program = new Command('gatehouse').exitOverride();
  program.addCommand(policyCommand({ loadConfig, createClassifier, io }));
  for (const c of program.commands) {
    c.exitOverride();
    for (const s of c.commands)
      s.exitOverride().configureOutput({ writeErr: (t) => err.push(t), writeOut: (t) => out.push(t) });
  }
  /** Runs the CLI; returns the exit code it asked for (0 when it returned normally) and its output. */
  const run = async (args: string[], stdin = '') => {
    out.length = 0;
    err.length = 0;
    stdinText = stdin;
    let code = 0;
    try {
      await program.parseAsync(['node', 'gatehouse', ...args]);
    } catch (e) {
      if (!(e instanceof CommanderError)) throw e;
      code = e.exitCode;
    }
    return { code, out: out.join(''), err: err.join('') };
  };
  return { run, configFile, file };
}

describe('gatehouse policy test', () => {
  it('prints categories, decision, rule and message for every statement from stdin', async () => {
    const h = setup();
    const r = await h.run(
      ['policy', 'test', '--config', h.configFile, '--as', 'claude', '--agent'],
      'SELECT * FROM orders; DELETE FROM orders; DELETE FROM orders WHERE id = 1',
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('[1] SELECT * FROM orders');
    expect(r.out).toContain('decision:   allow (rule agents-allow-read)');
    expect(r.out).toContain('categories: write, write-unbounded');
    expect(r.out).toContain('decision:   deny (rule agents-no-unbounded-writes)');
    expect(r.out).toContain(
      'message:    DELETE without a WHERE clause is refused by rule agents-no-unbounded-writes',
    );
    expect(r.out).toContain('decision:   review (rule agents-review-writes, hold)');
    expect(r.out).toContain('as:         claude on prod');
    expect(r.out).toContain('3 statement(s): 1 allow, 1 review, 1 deny');
  });

  it('reads --file, honours --connection and --groups', async () => {
    const h = setup();
    const sql = h.file('q.sql', 'DROP DATABASE prod;\n');
    const dba = await h.run([
      'policy',
      'test',
      '-c',
      h.configFile,
      '--file',
      sql,
      '--as',
      'dana',
      '--groups',
      'dba, ops',
      '--connection',
      'staging',
    ]);
    expect(dba.code).toBe(0);
    expect(dba.out).toContain('review (rule dba-review-drop-database, hold)');
    expect(dba.out).toContain('dana on staging');
    const nobody = await h.run(['policy', 'test', '-c', h.configFile, '--file', sql, '--as', 'eve']);
    expect(nobody.out).toContain('deny (rule connection-access)');
  });

  it('exits 0 when every expectation holds and 1 when one does not, naming the mismatch', async () => {
    const h = setup();
    const sql = h.file('q.sql', 'SELECT * FROM orders; TRUNCATE orders;');
    const good = h.file(
      'good.yaml',
      stringify([
        { sql: 'SELECT *\n  FROM   orders', decision: 'allow' },
        { sql: 'TRUNCATE orders;', decision: 'deny', rule: 'agents-no-truncate' },
      ]),
    );
    const ok = await h.run([
      'policy',
      'test',
      '-c',
      h.configFile,
      '--file',
      sql,
      '--agent',
      '--expect',
      good,
    ]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('2 expectation(s), 0 not met');

    const bad = h.file('bad.json', JSON.stringify([{ sql: 'TRUNCATE orders', decision: 'review' }]));
    const fail = await h.run([
      'policy',
      'test',
      '-c',
      h.configFile,
      '--file',
      sql,
      '--agent',
      '--expect',
      bad,
    ]);
    expect(fail.code).toBe(1);
    expect(fail.out).toContain('expected:   review  MISMATCH');
    expect(fail.err).toContain('1 expectation(s) not met');

    const wrongRule = h.file(
      'rule.yaml',
      stringify([{ sql: 'TRUNCATE orders', decision: 'deny', rule: 'something-else' }]),
    );
    expect(
      (await h.run(['policy', 'test', '-c', h.configFile, '--file', sql, '--agent', '--expect', wrongRule]))
        .code,
    ).toBe(1);

    const missing = h.file('missing.yaml', stringify([{ sql: 'DROP DATABASE prod', decision: 'deny' }]));
    const m = await h.run([
      'policy',
      'test',
      '-c',
      h.configFile,
      '--file',
      sql,
      '--agent',
      '--expect',
      missing,
    ]);
    expect(m.code).toBe(1);
    expect(m.out).toContain(
      'MISSING: no statement in the input matches the expectation "DROP DATABASE prod"',
    );
  });

  it('without --file takes the SQL from the expectation file, with per-entry principals', async () => {
    const h = setup();
    const cases = h.file(
      'cases.yaml',
      stringify([
        {
          sql: 'DELETE FROM orders',
          decision: 'deny',
          rule: 'agents-no-unbounded-writes',
          as: { agent: true },
        },
        {
          sql: 'DROP DATABASE prod',
          decision: 'review',
          rule: 'dba-review-drop-database',
          as: { subject: 'dana', groups: ['dba'] },
        },
        {
          sql: 'DROP DATABASE prod',
          decision: 'deny',
          rule: 'agents-no-drop-database',
          as: { subject: 'dana', groups: ['dba'], agent: true },
        },
        // Several statements: judged by the most restrictive decision.
        {
          sql: 'SELECT * FROM orders; TRUNCATE orders',
          decision: 'deny',
          rule: 'agents-no-truncate',
          as: { agent: true },
        },
        { sql: 'SELEC oops', decision: 'deny', rule: 'unparseable', as: { agent: true } },
      ]),
    );
    const r = await h.run(['policy', 'test', '-c', h.configFile, '--expect', cases, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as {
      failed: number;
      policyVersion: string;
      results: { rule: string; subject: string; ok: boolean }[];
    };
    expect(json.failed).toBe(0);
    expect(json.policyVersion).toMatch(/^sha256:/);
    expect(json.results.map((x) => x.rule)).toEqual([
      'agents-no-unbounded-writes',
      'dba-review-drop-database',
      'agents-no-drop-database',
      'agents-no-truncate',
      'unparseable',
    ]);
    expect(json.results[1]?.subject).toBe('dana');
  });

  it('--json prints one object per statement with decision, rule and message', async () => {
    const h = setup();
    const r = await h.run(['policy', 'test', '-c', h.configFile, '--agent', '--json'], 'TRUNCATE orders');
    const json = JSON.parse(r.out) as { results: Record<string, unknown>[] };
    expect(json.results[0]).toMatchObject({
      sql: 'TRUNCATE orders',
      kind: 'truncate',
      categories: ['truncate'],
      decision: 'deny',
      rule: 'agents-no-truncate',
    });
    expect(String(json.results[0]?.message)).toContain('agents-no-truncate');
  });

  it('an unparseable input is one denied statement', async () => {
    const h = setup();
    const r = await h.run(['policy', 'test', '-c', h.configFile, '--agent'], 'SELEC * FORM orders');
    expect(r.out).toContain('deny (rule unparseable)');
    expect(r.out).toContain('syntax error at or near "SELEC"');
  });

  it('exits 2 on usage and config errors', async () => {
    const h = setup();
    expect(
      (await h.run(['policy', 'test', '-c', '/nonexistent/gatehouse.yaml'], 'SELECT * FROM orders')).code,
    ).toBe(2);
    expect((await h.run(['policy', 'test', '-c', h.configFile, '--bogus'])).code).toBe(2);
    expect((await h.run(['policy', 'test', '-c', h.configFile, '--token-kind', 'saml'])).code).toBe(2);
    const unknownConn = await h.run(
      ['policy', 'test', '-c', h.configFile, '--connection', 'nope'],
      'SELECT * FROM orders',
    );
    expect(unknownConn.code).toBe(2);
    expect(unknownConn.err).toContain('configured: prod, staging');
    const notAList = h.file('x.yaml', 'sql: SELECT 1\n');
    expect((await h.run(['policy', 'test', '-c', h.configFile, '--expect', notAList])).code).toBe(2);
    const badEffect = h.file('y.yaml', stringify([{ sql: 'SELECT * FROM orders', decision: 'maybe' }]));
    expect((await h.run(['policy', 'test', '-c', h.configFile, '--expect', badEffect])).code).toBe(2);
    const badConfig = setup({
      policies: [{ id: 'p', connections: ['x'], rules: [{ id: 'r', effect: 'perhaps' }] }],
    });
    const c = await badConfig.run(['policy', 'test', '-c', badConfig.configFile], 'SELECT * FROM orders');
    expect(c.code).toBe(2);
    expect((await h.run(['policy', 'explain', '-c', h.configFile])).code).toBe(2);
  });

  it('uses policyDefaults from the config', async () => {
    const h = setup({
      connections: { lab: {} },
      policies: [
        {
          id: 'p',
          connections: ['lab'],
          rules: [{ id: 'reads', effect: 'allow', match: { categories: ['read'] } }],
        },
      ],
      policyDefaults: { lab: { effect: 'review', mode: 'defer' } },
    });
    const r = await h.run(['policy', 'test', '-c', h.configFile], 'TRUNCATE orders');
    expect(r.out).toContain('review (rule default-review, defer)');
  });
});

describe('gatehouse policy explain', () => {
  it('prints the rule trace and the decision', async () => {
    const h = setup();
    const r = await h.run([
      'policy',
      'explain',
      'DELETE FROM orders',
      '-c',
      h.configFile,
      '--as',
      'claude',
      '--agent',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('principal:  claude (service, agent)');
    expect(r.out).toContain('[applies] agents');
    expect(r.out).toContain('[skipped] dba: subjects do not match');
    expect(r.out).toMatch(/\* deny\s+agents-no-unbounded-writes\s+fires: deny wins/);
    expect(r.out).toMatch(
      / {3}deny\s+agents-no-truncate\s+no match: no category of \[write, write-unbounded\] is in \[truncate\]/,
    );
    expect(r.out).toContain('decision: deny (rule agents-no-unbounded-writes)');
  });

  it('--json prints the traces', async () => {
    const h = setup();
    const r = await h.run([
      'policy',
      'explain',
      'SELECT * FROM orders; TRUNCATE orders',
      '-c',
      h.configFile,
      '--agent',
      '--json',
    ]);
    const traces = JSON.parse(r.out) as { decision: { effect: string }; coverage: unknown[] }[];
    expect(traces.map((t) => t.decision.effect)).toEqual(['allow', 'deny']);
    expect(traces[0]?.coverage).toEqual([{ category: 'read', allow: ['agents-allow-read'], review: [] }]);
  });
});

describe('gatehouse policy test with the real PostgreSQL classifier', () => {
  it('the default agent policy decides real SQL as issue 3 specifies', async () => {
    const h = setup(undefined, () => createPostgresClassifier());
    const agentCases = [
      ['SELECT * FROM orders WHERE id = 1', 'allow', 'agents-allow-read'],
      ['UPDATE orders SET total = 0 WHERE id = 1', 'review', 'agents-review-writes'],
      ['DELETE FROM orders', 'deny', 'agents-no-unbounded-writes'],
      ['TRUNCATE orders', 'deny', 'agents-no-truncate'],
      ['CREATE TABLE t (id int)', 'review', 'agents-review-ddl'],
      ['ALTER TABLE orders ADD COLUMN note text', 'review', 'agents-review-ddl'],
      ['DROP TABLE orders', 'deny', 'agents-no-drop'],
      ['DROP DATABASE prod', 'deny', 'agents-no-drop-database'],
      ['GRANT ALL ON orders TO PUBLIC', 'deny', 'agents-no-privilege'],
      ["ALTER SYSTEM SET work_mem = '1GB'", 'deny', 'agents-no-admin'],
      ["COPY orders FROM PROGRAM 'curl example.com'", 'deny', 'agents-no-files-or-programs'],
      ['DO $$ BEGIN PERFORM 1; END $$', 'review', 'agents-review-procedural'],
      ['BEGIN', 'allow', 'agents-allow-read'],
      ['SET search_path = evil, public', 'deny', 'agents-no-search-path'],
      ['SELECT * FROM pg_authid', 'deny', 'agents-no-credential-catalogs'],
      [
        'WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d',
        'review',
        'agents-review-writes',
      ],
      ['EXPLAIN ANALYZE DELETE FROM orders', 'deny', 'agents-no-unbounded-writes'],
      ['SELEC * FORM orders', 'deny', 'unparseable'],
    ].map(([sql, decision, rule]) => ({ sql, decision, rule, as: { agent: true } }));
    const dbaCases = [
      {
        sql: 'DROP TABLE orders',
        decision: 'allow',
        rule: 'dba-allow-all',
        as: { subject: 'dana', groups: ['dba'] },
      },
      {
        sql: 'DROP DATABASE prod',
        decision: 'review',
        rule: 'dba-review-drop-database',
        as: { subject: 'dana', groups: ['dba'] },
      },
    ];
    const cases = h.file('cases.yaml', stringify([...agentCases, ...dbaCases]));
    const r = await h.run(['policy', 'test', '-c', h.configFile, '--expect', cases]);
    expect(r.out).not.toContain('MISMATCH');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${agentCases.length + dbaCases.length} expectation(s), 0 not met`);
  });

  it('explain shows the real categories', async () => {
    const h = setup(undefined, () => createPostgresClassifier());
    const r = await h.run([
      'policy',
      'explain',
      'DELETE FROM orders; SELECT 1',
      '-c',
      h.configFile,
      '--agent',
    ]);
    expect(r.out).toContain('kind: delete   categories: write, write-unbounded');
    expect(r.out).toContain('decision: deny (rule agents-no-unbounded-writes)');
    expect(r.out).toContain('decision: allow (rule agents-allow-read)');
  });
});
