import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Decision } from '../core/decision.js';
import type { Identity } from '../core/identity.js';
import type { SqlCategory, SqlStatement } from '../core/sql-statement.js';
import { policiesSchema } from '../config/policy-schema.js';
import { defaultAgentPolicies, DEFAULT_AGENT_POLICIES } from './default-agent-policy.js';
import { createPolicyDecider } from './policy-decider.js';
import { sqlAction } from '../core/action.js';

const decider = createPolicyDecider({ policies: defaultAgentPolicies(['prod', 'staging']) });

const agent: Identity = {
  subject: 'claude-prod',
  groups: [],
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
};
const agentByGroup: Identity = {
  subject: 'bot',
  groups: ['ai-agents'],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'https://idp',
};
const dba: Identity = {
  subject: 'dana',
  groups: ['dba'],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'https://idp',
};
const dbaThroughAgent: Identity = { ...dba, agent: true };
const developer: Identity = {
  subject: 'dev',
  groups: ['dev'],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'https://idp',
};

function s(kind: string, categories: SqlCategory[], text = kind): SqlStatement {
  return { text, kind, categories, tables: [{ name: 'orders' }], functions: [] };
}

function decide(who: Identity, st: SqlStatement, connection = 'prod'): Decision {
  return decider.decide(who, sqlAction({ connection, via: 'simple-query', statement: st }));
}

/**
 * One statement per taxonomy category (as the classifier reports them, docs/sql-taxonomy.md), with the
 * shipped default's decision for an agent: issue 3 §3.
 */
const AGENT_CASES: [string, SqlStatement, Decision['effect'], string][] = [
  ['read', s('select', ['read'], 'SELECT * FROM orders'), 'allow', 'agents-allow-read'],
  [
    'write with WHERE',
    s('update', ['write'], 'UPDATE orders SET x = 1 WHERE id = 1'),
    'review',
    'agents-review-writes',
  ],
  [
    'write-unbounded',
    s('delete', ['write', 'write-unbounded'], 'DELETE FROM orders'),
    'deny',
    'agents-no-unbounded-writes',
  ],
  ['truncate', s('truncate', ['truncate'], 'TRUNCATE orders'), 'deny', 'agents-no-truncate'],
  ['ddl-create', s('create table', ['ddl-create'], 'CREATE TABLE t (id int)'), 'review', 'agents-review-ddl'],
  [
    'ddl-alter',
    s('alter table', ['ddl-alter'], 'ALTER TABLE orders ADD c int'),
    'review',
    'agents-review-ddl',
  ],
  ['ddl-drop', s('drop table', ['ddl-drop'], 'DROP TABLE orders'), 'deny', 'agents-no-drop'],
  [
    'drop-database',
    s('drop database', ['drop-database'], 'DROP DATABASE prod'),
    'deny',
    'agents-no-drop-database',
  ],
  ['privilege', s('grant', ['privilege'], 'GRANT ALL ON orders TO public'), 'deny', 'agents-no-privilege'],
  ['admin', s('alter system', ['admin'], "ALTER SYSTEM SET work_mem = '1GB'"), 'deny', 'agents-no-admin'],
  [
    'file-and-program',
    s('copy', ['file-and-program', 'write'], "COPY orders FROM PROGRAM 'curl x'"),
    'deny',
    'agents-no-files-or-programs',
  ],
  [
    'procedural',
    s('do', ['procedural'], 'DO $$ BEGIN PERFORM 1; END $$'),
    'review',
    'agents-review-procedural',
  ],
  ['transaction', s('begin', ['transaction'], 'BEGIN'), 'allow', 'agents-allow-read'],
  ['session', s('set', ['session'], 'SET statement_timeout = 1000'), 'allow', 'agents-allow-read'],
  ['lock', s('lock', ['lock'], 'LOCK TABLE orders'), 'review', 'agents-review-locks'],
  ['unknown', s('alter foreign data wrapper', ['unknown']), 'deny', 'agents-no-unknown'],
  [
    'search_path',
    s('set search_path', ['session'], 'SET search_path = evil, public'),
    'deny',
    'agents-no-search-path',
  ],
  [
    'writable CTE with WHERE',
    s('select', ['read', 'write'], 'WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d'),
    'review',
    'agents-review-writes',
  ],
  [
    'EXPLAIN ANALYZE of an unbounded delete',
    s('explain', ['read', 'write', 'write-unbounded'], 'EXPLAIN ANALYZE DELETE FROM orders'),
    'deny',
    'agents-no-unbounded-writes',
  ],
  [
    'read calling an admin function',
    s('select', ['read', 'admin'], 'SELECT pg_terminate_backend(123)'),
    'deny',
    'agents-no-admin',
  ],
  [
    'credential catalogs',
    { ...s('select', ['read'], 'SELECT * FROM pg_authid'), tables: [{ name: 'pg_authid' }] },
    'deny',
    'agents-no-credential-catalogs',
  ],
  [
    'stored settings',
    s('select', ['read', 'secrets'], "SELECT current_setting('app.jwt_secret')"),
    'deny',
    'agents-no-stored-settings',
  ],
  ['unparseable', { ...s('unparsed', ['unknown']), parseError: 'syntax error' }, 'deny', 'unparseable'],
];

describe('default agent policy', () => {
  it.each(AGENT_CASES.map(([name, st, effect, rule]) => [name, effect, rule, st] as const))(
    '%s → %s (%s)',
    (_name, effect, rule, st) => {
      for (const who of [agent, agentByGroup]) {
        const d = decide(who, st);
        expect({ effect: d.effect, rule: d.ruleId }).toEqual({ effect, rule });
        if (d.effect !== 'allow') expect(d.message).toContain(rule);
      }
    },
  );

  it('covers every category of the taxonomy', () => {
    const covered = new Set(AGENT_CASES.flatMap(([, st]) => st.categories));
    expect([...covered].sort()).toEqual(
      [
        'read',
        'write',
        'write-unbounded',
        'ddl-create',
        'ddl-alter',
        'ddl-drop',
        'truncate',
        'drop-database',
        'privilege',
        'admin',
        'file-and-program',
        'procedural',
        'transaction',
        'session',
        'lock',
        'secrets',
        'unknown',
      ].sort(),
    );
  });

  it('the write-unbounded message is the one the issue asks for', () => {
    const d = decide(agent, s('delete', ['write', 'write-unbounded']));
    expect(d).toMatchObject({
      effect: 'deny',
      message:
        'DELETE without a WHERE clause is refused by rule agents-no-unbounded-writes: it would affect every row of the table. ' +
        'Add a WHERE clause that limits the rows, or ask a DBA.',
    });
  });

  it('people in dba keep broad rights but still review drop-database', () => {
    expect(decide(dba, s('drop table', ['ddl-drop']))).toMatchObject({
      effect: 'allow',
      ruleId: 'dba-allow-all',
    });
    expect(decide(dba, s('delete', ['write', 'write-unbounded']))).toMatchObject({ effect: 'allow' });
    expect(decide(dba, s('alter system', ['admin']))).toMatchObject({ effect: 'allow' });
    expect(decide(dba, s('drop database', ['drop-database']))).toMatchObject({
      effect: 'review',
      ruleId: 'dba-review-drop-database',
      mode: 'hold',
    });
  });

  it('a dba working through an agent gets the agent rules, not the dba rights', () => {
    expect(decide(dbaThroughAgent, s('drop table', ['ddl-drop'])).ruleId).toBe('agents-no-drop');
    expect(decide(dbaThroughAgent, s('lock', ['lock'])).effect).toBe('review');
  });

  it('anyone else has no access to the connection', () => {
    expect(decide(developer, s('select', ['read'])).ruleId).toBe('connection-access');
    expect(decider.connectionAccess(developer, 'prod').effect).toBe('deny');
    expect(decider.connectionAccess(agent, 'other').effect).toBe('deny');
  });

  it('options set the approval rule, mode, groups and obligations', () => {
    const custom = createPolicyDecider({
      policies: defaultAgentPolicies(['*'], {
        approval: 'dba-approval',
        mode: 'defer',
        agentGroups: ['bots'],
        dbaGroups: ['admins'],
        mask: true,
        rowCap: 500,
      }),
    });
    const bot: Identity = { ...agentByGroup, groups: ['bots'] };
    const sql = (st: SqlStatement) =>
      sqlAction({
        connection: 'x',
        via: 'simple-query' as const,
        statement: st,
      });
    expect(custom.decide(bot, sql(s('update', ['write'])))).toMatchObject({
      effect: 'review',
      mode: 'defer',
      approvalRule: 'dba-approval',
      obligations: { mask: true, rowCap: 500 },
    });
    expect(custom.decide(bot, sql(s('select', ['read'])))).toMatchObject({
      effect: 'allow',
      obligations: { mask: true, rowCap: 500 },
    });
    expect(
      custom.decide({ ...dba, groups: ['admins'] }, sql(s('drop database', ['drop-database']))),
    ).toMatchObject({
      effect: 'review',
      approvalRule: 'dba-approval',
    });
    expect(custom.decide(agentByGroup, sql(s('select', ['read']))).ruleId).toBe('connection-access');
  });

  it('is valid config, and the YAML in docs/policy.md is the same policy', () => {
    expect(policiesSchema.parse(DEFAULT_AGENT_POLICIES)).toEqual(DEFAULT_AGENT_POLICIES);
    const doc = readFileSync(new URL('../../docs/policy.md', import.meta.url), 'utf8');
    const block =
      /<!-- default-agent-policy:start -->\s*```yaml\n([\s\S]*?)```\s*<!-- default-agent-policy:end -->/.exec(
        doc,
      );
    expect(block).not.toBeNull();
    const yaml = parseYaml(block![1]!) as { policies: unknown };
    expect(policiesSchema.parse(yaml.policies)).toEqual(policiesSchema.parse(DEFAULT_AGENT_POLICIES));
  });
});
