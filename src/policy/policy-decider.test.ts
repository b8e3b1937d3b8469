import { describe, expect, it } from 'vitest';
import { type HttpAction, type SqlAction, httpAction, sqlAction } from '../core/action.js';
import type { Identity } from '../core/identity.js';
import type { SqlCategory, SqlStatement, TableRef } from '../core/sql-statement.js';
import { policiesSchema, policyDefaultsSchema } from '../config/policy-schema.js';
import { defaultAgentPolicies } from './default-agent-policy.js';
import { createPolicyDecider } from './policy-decider.js';

function who(over: Partial<Identity> = {}): Identity {
  return {
    subject: 'alice',
    groups: [],
    tokenKind: 'oidc',
    agent: false,
    issuer: 'https://idp.test',
    ...over,
  };
}

function stmt(
  kind: string,
  categories: SqlCategory[],
  opts: { tables?: (string | TableRef)[]; functions?: string[]; text?: string; parseError?: string } = {},
): SqlStatement {
  const tables = (opts.tables ?? []).map((t): TableRef => {
    if (typeof t !== 'string') return t;
    const dot = t.indexOf('.');
    return dot < 0 ? { name: t } : { schema: t.slice(0, dot), name: t.slice(dot + 1) };
  });
  return {
    text: opts.text ?? `${kind} …`,
    kind,
    categories,
    tables,
    functions: opts.functions ?? [],
    ...(opts.parseError === undefined ? {} : { parseError: opts.parseError }),
  };
}

function sql(statement: SqlStatement, connection = 'prod'): SqlAction {
  return sqlAction({ connection, via: 'simple-query', statement });
}

function http(method: string, path: string, operation?: string, connection = 'aws'): HttpAction {
  return httpAction({
    connection,
    method,
    path,
    decidedPath: path,
    ...(operation === undefined ? {} : { operation }),
  });
}

function decider(policies: unknown, defaults?: unknown) {
  return createPolicyDecider({
    policies: policiesSchema.parse(policies),
    ...(defaults === undefined ? {} : { defaults: policyDefaultsSchema.parse(defaults) }),
  });
}

const SELECT_ORDERS = stmt('select', ['read'], { tables: ['public.orders'] });

describe('connection access', () => {
  const d = decider([
    {
      id: 'devs',
      subjects: { groups: ['dev'] },
      connections: ['staging'],
      rules: [{ id: 'r', effect: 'allow' }],
    },
  ]);

  it('denies a connection no policy grants, with rule connection-access and a message naming it', () => {
    const dec = d.connectionAccess(who({ groups: ['dev'] }), 'prod');
    expect(dec.effect).toBe('deny');
    expect(dec.ruleId).toBe('connection-access');
    if (dec.effect !== 'deny') throw new Error('unreachable');
    expect(dec.message).toContain('prod');
    expect(dec.message).toContain('Ask an administrator for a policy that grants');
  });

  it('allows a granted connection, naming the policy', () => {
    expect(d.connectionAccess(who({ groups: ['dev'] }), 'staging')).toEqual({
      effect: 'allow',
      ruleId: 'devs',
      obligations: {},
    });
  });

  it('denies decide() on a connection without a policy before looking at rules', () => {
    expect(d.decide(who({ groups: ['dev'] }), sql(SELECT_ORDERS, 'prod')).ruleId).toBe('connection-access');
    expect(d.decide(who({ groups: ['ops'] }), sql(SELECT_ORDERS, 'staging')).ruleId).toBe(
      'connection-access',
    );
  });

  it('"*" grants every connection', () => {
    const all = decider([{ id: 'p', connections: ['*'], rules: [] }]);
    expect(all.connectionAccess(who(), 'anything').effect).toBe('allow');
  });
});

describe('subject matching', () => {
  const d = decider([
    { id: 'by-group', subjects: { groups: ['dev', 'ops'] }, connections: ['prod'], rules: [] },
    { id: 'by-subject', subjects: { subjects: ['bob'] }, connections: ['prod'], rules: [] },
    { id: 'agents', subjects: { agent: true }, connections: ['a'], rules: [] },
    { id: 'people', subjects: { agent: false }, connections: ['p'], rules: [] },
    { id: 'services', subjects: { tokenKinds: ['service'] }, connections: ['s'], rules: [] },
    {
      id: 'all-of',
      subjects: { groups: ['dev'], agent: true, tokenKinds: ['service'] },
      connections: ['x'],
      rules: [],
    },
    { id: 'any-of', subjects: [{ agent: true }, { groups: ['ai-agents'] }], connections: ['y'], rules: [] },
  ]);
  const access = (id: Identity, c: string) => d.connectionAccess(id, c);

  it('groups are any-of', () => {
    expect(access(who({ groups: ['x', 'ops'] }), 'prod').ruleId).toBe('by-group');
    expect(access(who({ groups: ['x'] }), 'prod').effect).toBe('deny');
  });
  it('subjects match the token subject exactly', () => {
    expect(access(who({ subject: 'bob' }), 'prod').ruleId).toBe('by-subject');
    expect(access(who({ subject: 'Bob' }), 'prod').effect).toBe('deny');
  });
  it('agent: true matches only agents; agent: false only non-agents', () => {
    expect(access(who({ agent: true }), 'a').effect).toBe('allow');
    expect(access(who({ agent: false }), 'a').effect).toBe('deny');
    expect(access(who({ agent: false }), 'p').effect).toBe('allow');
    expect(access(who({ agent: true }), 'p').effect).toBe('deny');
  });
  it('tokenKinds', () => {
    expect(access(who({ tokenKind: 'service' }), 's').effect).toBe('allow');
    expect(access(who({ tokenKind: 'oidc' }), 's').effect).toBe('deny');
  });
  it('every given field must match', () => {
    expect(access(who({ groups: ['dev'], agent: true, tokenKind: 'service' }), 'x').effect).toBe('allow');
    expect(access(who({ groups: ['dev'], agent: true, tokenKind: 'oidc' }), 'x').effect).toBe('deny');
    expect(access(who({ groups: ['dev'], agent: false, tokenKind: 'service' }), 'x').effect).toBe('deny');
    expect(access(who({ groups: [], agent: true, tokenKind: 'service' }), 'x').effect).toBe('deny');
  });
  it('a list of subject matchers is any-of', () => {
    expect(access(who({ agent: true }), 'y').effect).toBe('allow');
    expect(access(who({ groups: ['ai-agents'] }), 'y').effect).toBe('allow');
    expect(access(who(), 'y').effect).toBe('deny');
  });
  it('an empty subjects object matches everyone', () => {
    const open = decider([{ id: 'open', connections: ['c'] }]);
    expect(open.connectionAccess(who({ agent: true, tokenKind: 'service' }), 'c').effect).toBe('allow');
  });
});

describe('deny wins, default deny, default review', () => {
  const policies = [
    {
      id: 'p1',
      connections: ['prod', 'lab'],
      rules: [
        { id: 'allow-everything', effect: 'allow' },
        { id: 'review-writes', effect: 'review', match: { categories: ['write'] } },
      ],
    },
    {
      id: 'p2',
      connections: ['prod', 'lab'],
      rules: [{ id: 'no-drop', effect: 'deny', match: { categories: ['ddl-drop'] } }],
    },
  ];

  it('a deny in any applicable policy beats an allow in another', () => {
    const dec = decider(policies).decide(who(), sql(stmt('drop table', ['ddl-drop'], { tables: ['t'] })));
    expect(dec).toMatchObject({ effect: 'deny', ruleId: 'no-drop' });
  });

  it('review beats allow for the same category', () => {
    const dec = decider(policies).decide(who(), sql(stmt('update', ['write'], { tables: ['t'] })));
    expect(dec).toMatchObject({ effect: 'review', ruleId: 'review-writes', mode: 'hold' });
  });

  it('the first deny in order names the decision', () => {
    const d = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          { id: 'first', effect: 'deny', match: { categories: ['write-unbounded'] } },
          { id: 'second', effect: 'deny', match: { categories: ['write'] } },
        ],
      },
    ]);
    expect(d.decide(who(), sql(stmt('delete', ['write', 'write-unbounded']))).ruleId).toBe('first');
  });

  it('what no rule covers is denied by default-deny, naming the uncovered category', () => {
    const d = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [{ id: 'reads', effect: 'allow', match: { categories: ['read'] } }],
      },
    ]);
    const dec = d.decide(who(), sql(stmt('insert', ['write'], { tables: ['t'] })));
    expect(dec.effect).toBe('deny');
    expect(dec.ruleId).toBe('default-deny');
    if (dec.effect !== 'deny') throw new Error('unreachable');
    expect(dec.message).toContain('INSERT (write)');
    expect(dec.message).toContain('prod');
    expect(dec.message).toContain('default-deny');
  });

  it('a policy with no rules grants the connection but allows nothing', () => {
    const d = decider([{ id: 'p', connections: ['prod'] }]);
    expect(d.connectionAccess(who(), 'prod').effect).toBe('allow');
    expect(d.decide(who(), sql(SELECT_ORDERS)).ruleId).toBe('default-deny');
  });

  it('policyDefaults sets review per connection; an exact name beats "*"', () => {
    const d = decider(
      [
        {
          id: 'p',
          connections: ['prod', 'lab', 'other'],
          rules: [{ id: 'reads', effect: 'allow', match: { categories: ['read'] } }],
        },
      ],
      {
        '*': 'review',
        prod: { effect: 'deny' },
        lab: { effect: 'review', mode: 'defer', approval: 'two-dbas' },
      },
    );
    const write = stmt('update', ['write'], { tables: ['t'] });
    expect(d.decide(who(), sql(write, 'prod'))).toMatchObject({ effect: 'deny', ruleId: 'default-deny' });
    expect(d.decide(who(), sql(write, 'lab'))).toMatchObject({
      effect: 'review',
      ruleId: 'default-review',
      mode: 'defer',
      approvalRule: 'two-dbas',
    });
    const other = d.decide(who(), sql(write, 'other'));
    expect(other).toMatchObject({ effect: 'review', ruleId: 'default-review', mode: 'hold' });
    if (other.effect !== 'review') throw new Error('unreachable');
    expect(other.message).toContain('approval');
    // The default never overrides an explicit deny or an explicit allow.
    expect(d.decide(who(), sql(SELECT_ORDERS, 'lab')).effect).toBe('allow');
  });

  it('default review never overrides a deny rule', () => {
    const d = decider(
      [
        {
          id: 'p',
          connections: ['lab'],
          rules: [{ id: 'no-truncate', effect: 'deny', match: { categories: ['truncate'] } }],
        },
      ],
      { lab: 'review' },
    );
    expect(d.decide(who(), sql(stmt('truncate', ['truncate']), 'lab')).ruleId).toBe('no-truncate');
  });

  it('a custom default message is used, with the rule id appended', () => {
    const d = decider([{ id: 'p', connections: ['prod'] }], {
      prod: { effect: 'deny', message: 'Nothing runs on {connection} yet.' },
    });
    const dec = d.decide(who(), sql(SELECT_ORDERS));
    expect(dec).toMatchObject({ effect: 'deny', message: 'Nothing runs on prod yet. (rule default-deny)' });
  });
});

describe('category coverage', () => {
  const d = decider([
    {
      id: 'p',
      connections: ['prod'],
      rules: [{ id: 'allow-read', effect: 'allow', match: { categories: ['read'] } }],
    },
  ]);

  it('allow read allows a plain read', () => {
    expect(d.decide(who(), sql(SELECT_ORDERS))).toEqual({
      effect: 'allow',
      ruleId: 'allow-read',
      obligations: {},
    });
  });

  it('allow read does not allow a statement that is read and write (writable CTE)', () => {
    const cte = stmt('select', ['read', 'write'], {
      text: 'WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d',
      tables: ['orders'],
    });
    const dec = d.decide(who(), sql(cte));
    expect(dec.effect).toBe('deny');
    expect(dec.ruleId).toBe('default-deny');
    if (dec.effect !== 'deny') throw new Error('unreachable');
    expect(dec.message).toContain('(write)');
  });

  it('two rules together can cover a statement; review on one category makes the whole statement review', () => {
    const two = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          { id: 'allow-read', effect: 'allow', match: { categories: ['read'] } },
          { id: 'review-write', effect: 'review', match: { categories: ['write'] }, approval: 'dba' },
        ],
      },
    ]);
    const cte = stmt('select', ['read', 'write'], { tables: ['orders'] });
    expect(two.decide(who(), sql(cte))).toMatchObject({
      effect: 'review',
      ruleId: 'review-write',
      approvalRule: 'dba',
    });
    expect(two.decide(who(), sql(stmt('select', ['read', 'write', 'write-unbounded']))).ruleId).toBe(
      'default-deny',
    );
  });

  it('a deny rule matches if any category is listed', () => {
    const dd = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          { id: 'all', effect: 'allow' },
          { id: 'no-write', effect: 'deny', match: { categories: ['write'] } },
        ],
      },
    ]);
    expect(dd.decide(who(), sql(stmt('select', ['read', 'write']))).ruleId).toBe('no-write');
    expect(dd.decide(who(), sql(SELECT_ORDERS)).ruleId).toBe('all');
  });

  it('a statement with no categories is treated as unknown', () => {
    const dd = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [{ id: 'r', effect: 'allow', match: { categories: ['read'] } }],
      },
    ]);
    const dec = dd.decide(who(), sql(stmt('weird', [])));
    expect(dec.ruleId).toBe('default-deny');
    if (dec.effect !== 'deny') throw new Error('unreachable');
    expect(dec.message).toContain('(unknown)');
  });

  it('kinds restrict a rule to statement kinds, with globs', () => {
    const dk = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          { id: 'no-drop-any', effect: 'deny', match: { kinds: ['drop *'] } },
          { id: 'only-select', effect: 'allow', match: { kinds: ['select'], categories: ['read'] } },
        ],
      },
    ]);
    expect(dk.decide(who(), sql(stmt('drop index', ['ddl-drop']))).ruleId).toBe('no-drop-any');
    expect(dk.decide(who(), sql(SELECT_ORDERS)).ruleId).toBe('only-select');
    expect(dk.decide(who(), sql(stmt('explain', ['read']))).ruleId).toBe('default-deny');
  });
});

describe('tables and functions', () => {
  const d = decider(
    [
      {
        id: 'p',
        connections: ['prod', 'app-db'],
        rules: [
          {
            id: 'no-secrets',
            effect: 'deny',
            match: { tables: ['vault.*', 'pg_catalog.pg_authid', 'app.tokens'] },
          },
          { id: 'no-sleep', effect: 'deny', match: { functions: ['pg_sleep'] } },
          {
            id: 'orders-read',
            effect: 'allow',
            match: { categories: ['read'], tables: ['public.orders', 'sales.*', 'app.orders'] },
          },
        ],
      },
    ],
    { 'app-db': { effect: 'deny', searchPath: ['app', 'public'] } },
  );
  const read = (tables: (string | TableRef)[], functions: string[] = [], connection = 'prod') =>
    d.decide(who(), sql(stmt('select', ['read'], { tables, functions }), connection));

  it('allow covers a statement only when every table matches', () => {
    expect(read(['public.orders']).ruleId).toBe('orders-read');
    expect(read(['public.orders', 'sales.invoices']).ruleId).toBe('orders-read');
    expect(read(['public.orders', 'public.customers']).ruleId).toBe('default-deny');
  });

  it('an unqualified table is taken to be public for allow rules', () => {
    expect(read(['orders']).ruleId).toBe('orders-read');
    expect(read(['invoices']).ruleId).toBe('default-deny');
  });

  it('deny matches if any table matches', () => {
    expect(read(['public.orders', 'vault.keys']).ruleId).toBe('no-secrets');
  });

  it('an unqualified name matches a deny on any schema it could resolve to (pg_catalog, then the search path)', () => {
    // pg_authid resolves to pg_catalog.pg_authid through the implicit catalog search.
    expect(read(['pg_authid']).ruleId).toBe('no-secrets');
    // vault is not on the default search path, so an unqualified name cannot be vault.keys.
    expect(read(['orders']).ruleId).toBe('orders-read');
    // On a connection whose search path starts with app, unqualified tokens may be app.tokens.
    expect(read(['tokens'], [], 'app-db').ruleId).toBe('no-secrets');
    expect(read(['tokens']).ruleId).toBe('default-deny');
    // …and grants there assume the first schema on the path.
    expect(read(['orders'], [], 'app-db').ruleId).toBe('orders-read');
  });

  it('matching is case-insensitive, so a quoted upper-case name cannot dodge a deny', () => {
    expect(read([{ schema: 'VAULT', name: 'Keys' }]).ruleId).toBe('no-secrets');
    expect(read([{ schema: 'Public', name: 'ORDERS' }]).ruleId).toBe('orders-read');
  });

  it('deny on a function matches qualified and unqualified calls', () => {
    expect(read(['orders'], ['pg_sleep']).ruleId).toBe('no-sleep');
    expect(read(['orders'], ['pg_catalog.pg_sleep']).ruleId).toBe('no-sleep');
    expect(read(['orders'], ['PG_SLEEP']).ruleId).toBe('no-sleep');
  });

  it('allow with functions covers only when every function matches', () => {
    const f = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          {
            id: 'safe-functions',
            effect: 'allow',
            match: { categories: ['read'], functions: ['lower', 'pg_catalog.count'] },
          },
        ],
      },
    ]);
    const call = (functions: string[]) =>
      f.decide(who(), sql(stmt('select', ['read'], { tables: ['t'], functions })));
    expect(call(['lower']).ruleId).toBe('safe-functions');
    expect(call(['lower', 'pg_catalog.count']).ruleId).toBe('safe-functions');
    // An unqualified count is taken to be public.count for a grant, which the rule does not name.
    expect(call(['lower', 'count']).ruleId).toBe('default-deny');
    expect(call(['lower', 'upper']).ruleId).toBe('default-deny');
    expect(call([]).ruleId).toBe('safe-functions');
  });

  it('a table-restricted allow covers a statement that names no table', () => {
    expect(read([]).ruleId).toBe('orders-read');
  });

  it('a deny rule on tables does not fire on a statement that names none', () => {
    expect(read([], ['lower']).effect).toBe('allow');
  });

  it('wildcards in either part of a pattern', () => {
    const w = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          { id: 'no-audit', effect: 'deny', match: { tables: ['*.audit_*'] } },
          { id: 'any', effect: 'allow', match: { tables: ['*'] } },
        ],
      },
    ]);
    const r = (t: string) => w.decide(who(), sql(stmt('select', ['read'], { tables: [t] }))).ruleId;
    expect(r('ops.audit_log')).toBe('no-audit');
    expect(r('audit_log')).toBe('no-audit');
    expect(r('ops.auditor')).toBe('any');
    expect(r('x.y')).toBe('any');
  });

  it('a deny on names explains itself by the names it matched', () => {
    const dec = read(['public.orders', 'vault.keys']);
    if (dec.effect !== 'deny') throw new Error('expected deny');
    expect(dec.message).toContain('vault.keys');
    expect(dec.message).toContain('no-secrets');
  });

  it('review on a table fires when any table matches, even when another rule covers the statement', () => {
    const r = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          { id: 'all-writes', effect: 'allow', match: { categories: ['write'] } },
          {
            id: 'orders-writes-reviewed',
            effect: 'review',
            match: { categories: ['write'], tables: ['public.orders'] },
          },
        ],
      },
    ]);
    const dec = r.decide(who(), sql(stmt('update', ['write'], { tables: ['orders', 'customers'] })));
    expect(dec).toMatchObject({ effect: 'review', ruleId: 'orders-writes-reviewed' });
    expect(r.decide(who(), sql(stmt('update', ['write'], { tables: ['customers'] }))).ruleId).toBe(
      'all-writes',
    );
  });
});

describe('unparseable statements', () => {
  const d = decider([{ id: 'p', connections: ['prod'], rules: [{ id: 'all', effect: 'allow' }] }]);

  it('a statement with parseError is denied whatever the rules say', () => {
    const dec = d.decide(
      who(),
      sql(stmt('select', ['read'], { parseError: 'syntax error at or near "FORM"' })),
    );
    expect(dec.effect).toBe('deny');
    expect(dec.ruleId).toBe('unparseable');
    if (dec.effect !== 'deny') throw new Error('unreachable');
    expect(dec.message).toContain('syntax error at or near "FORM"');
    expect(dec.message).toContain('unparseable');
  });

  it('kind unparsed is denied even without a parseError', () => {
    expect(d.decide(who(), sql(stmt('unparsed', ['unknown']))).ruleId).toBe('unparseable');
  });

  it('a default review does not turn an unparseable statement into a review', () => {
    const r = decider([{ id: 'p', connections: ['prod'] }], { prod: 'review' });
    expect(r.decide(who(), sql(stmt('unparsed', [], { parseError: 'x' }))).effect).toBe('deny');
  });
});

describe('obligations and review details', () => {
  it('merges obligations: mask if any rule masks, the smallest row cap', () => {
    const d = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          { id: 'read-all', effect: 'allow', match: { categories: ['read'] }, rowCap: 1000 },
          {
            id: 'customers-masked',
            effect: 'allow',
            match: { categories: ['read'], tables: ['public.customers'] },
            mask: true,
            rowCap: 50,
          },
        ],
      },
    ]);
    expect(d.decide(who(), sql(stmt('select', ['read'], { tables: ['orders'] })))).toEqual({
      effect: 'allow',
      ruleId: 'read-all',
      obligations: { rowCap: 1000 },
    });
    // Joining customers with another table does not shed the mask: obligations attach from every rule that touches.
    expect(d.decide(who(), sql(stmt('select', ['read'], { tables: ['orders', 'customers'] })))).toEqual({
      effect: 'allow',
      ruleId: 'read-all',
      obligations: { mask: true, rowCap: 50 },
    });
  });

  it('a mask profile name becomes { profile }; the first profile in order wins over true', () => {
    const d = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          { id: 'a', effect: 'allow', mask: true },
          { id: 'b', effect: 'allow', mask: 'pii-strict' },
          { id: 'c', effect: 'allow', mask: 'other' },
        ],
      },
    ]);
    expect(d.decide(who(), sql(SELECT_ORDERS))).toMatchObject({
      obligations: { mask: { profile: 'pii-strict' } },
    });
  });

  it('obligations merge across policies too', () => {
    const d = decider([
      { id: 'p1', connections: ['prod'], rules: [{ id: 'a', effect: 'allow', rowCap: 10 }] },
      { id: 'p2', connections: ['*'], rules: [{ id: 'b', effect: 'allow', rowCap: 5 }] },
    ]);
    expect(d.decide(who(), sql(SELECT_ORDERS))).toMatchObject({ ruleId: 'a', obligations: { rowCap: 5 } });
  });

  it('review carries mode, approval rule and obligations', () => {
    const d = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          { id: 'reads', effect: 'allow', match: { categories: ['read'] }, mask: true },
          {
            id: 'writes',
            effect: 'review',
            match: { categories: ['write'] },
            mode: 'defer',
            approval: 'two-dbas',
            rowCap: 100,
          },
        ],
      },
    ]);
    const dec = d.decide(who(), sql(stmt('update', ['read', 'write'], { tables: ['orders'] })));
    expect(dec).toMatchObject({
      effect: 'review',
      ruleId: 'writes',
      mode: 'defer',
      approvalRule: 'two-dbas',
      obligations: { mask: true, rowCap: 100 },
    });
    if (dec.effect !== 'review') throw new Error('unreachable');
    expect(dec.message).toContain('run it again once it is approved');
  });

  it('review defaults to hold with no approval rule', () => {
    const d = decider([{ id: 'p', connections: ['prod'], rules: [{ id: 'w', effect: 'review' }] }]);
    const dec = d.decide(who(), sql(SELECT_ORDERS));
    expect(dec).toMatchObject({ effect: 'review', mode: 'hold' });
    expect('approvalRule' in dec).toBe(false);
  });
});

describe('messages', () => {
  const d = decider([
    {
      id: 'p',
      connections: ['prod'],
      rules: [
        { id: 'agents-no-unbounded-writes', effect: 'deny', match: { categories: ['write-unbounded'] } },
        {
          id: 'custom',
          effect: 'deny',
          match: { categories: ['truncate'] },
          message: 'No {KIND} on {connection}, ever.',
        },
        {
          id: 'custom-with-id',
          effect: 'deny',
          match: { categories: ['ddl-drop'] },
          message: 'Rule {rule}: no drops.',
        },
        { id: 'review-ddl', effect: 'review', match: { categories: ['ddl-create'] } },
        { id: 'all', effect: 'allow' },
      ],
    },
  ]);
  const message = (s: SqlStatement): string => {
    const dec = d.decide(who(), sql(s));
    if (dec.effect === 'allow') throw new Error('expected deny or review');
    return dec.message;
  };

  it('says what was refused, the rule, why and what to do instead', () => {
    expect(message(stmt('delete', ['write', 'write-unbounded'], { tables: ['orders'] }))).toBe(
      'DELETE without a WHERE clause is refused by rule agents-no-unbounded-writes: it would affect every row of the ' +
        'table. Add a WHERE clause that limits the rows, or ask a DBA.',
    );
  });

  it('fills custom messages and appends the rule id when the text lacks it', () => {
    expect(message(stmt('truncate', ['truncate']))).toBe('No TRUNCATE on prod, ever. (rule custom)');
    expect(message(stmt('drop table', ['ddl-drop']))).toBe('Rule custom-with-id: no drops.');
  });

  it('review messages name the rule and say the statement is held', () => {
    const m = message(stmt('create table', ['ddl-create']));
    expect(m).toContain('CREATE TABLE needs a human');
    expect(m).toContain('review-ddl');
    expect(m).toContain('holds it until an approver decides');
  });
});

describe('HTTP actions', () => {
  const d = decider([
    {
      id: 'aws',
      connections: ['aws'],
      rules: [
        { id: 'no-bucket-delete', effect: 'deny', match: { operations: ['s3:DeleteBucket*'] } },
        { id: 'review-deletes', effect: 'review', match: { operations: ['s3:Delete*'] } },
        { id: 's3-all', effect: 'allow', match: { operations: ['s3:*'] } },
        { id: 'admin-paths', effect: 'deny', match: { paths: ['/admin/**'] } },
        {
          id: 'api-reads',
          effect: 'allow',
          match: { methods: ['GET', 'head'], paths: ['/api/*/items', '/files/**'] },
          rowCap: 10,
        },
        { id: 'sql-only', effect: 'deny', match: { categories: ['read'] } },
      ],
    },
  ]);

  it('matches operations with * globs, case-insensitively', () => {
    expect(d.decide(who(), http('DELETE', '/b', 's3:DeleteBucket')).ruleId).toBe('no-bucket-delete');
    expect(d.decide(who(), http('DELETE', '/b/k', 's3:DeleteObject'))).toMatchObject({
      effect: 'review',
      ruleId: 'review-deletes',
    });
    expect(d.decide(who(), http('GET', '/b/k', 's3:getobject'))).toMatchObject({
      effect: 'allow',
      ruleId: 's3-all',
    });
    expect(d.decide(who(), http('GET', '/t', 'dynamodb:GetItem')).ruleId).toBe('default-deny');
  });

  it('matches methods and path globs: * one segment, ** any', () => {
    expect(d.decide(who(), http('GET', '/api/v1/items'))).toMatchObject({
      effect: 'allow',
      ruleId: 'api-reads',
      obligations: { rowCap: 10 },
    });
    expect(d.decide(who(), http('HEAD', '/api/v2/items?x=1')).ruleId).toBe('api-reads');
    expect(d.decide(who(), http('GET', '/api/v1/x/items')).ruleId).toBe('default-deny');
    expect(d.decide(who(), http('POST', '/api/v1/items')).ruleId).toBe('default-deny');
    expect(d.decide(who(), http('GET', '/files')).ruleId).toBe('api-reads');
    expect(d.decide(who(), http('GET', '/files/a/b/c.txt')).ruleId).toBe('api-reads');
  });

  it('dot segments and doubled slashes cannot dodge a path deny', () => {
    expect(d.decide(who(), http('GET', '/files/../admin/users')).ruleId).toBe('admin-paths');
    expect(d.decide(who(), http('GET', '//admin//x')).ruleId).toBe('admin-paths');
  });

  it('deny and review rules hold on the other paths the application may route a path as; allow rules do not (class 207)', () => {
    const withReadings = (method: string, path: string, readings: string[]) =>
      httpAction({ connection: 'aws', method, path, decidedPath: path, pathReadings: readings });
    // /index.php/admin/users runs /admin/users in a PHP front controller.
    expect(
      d.decide(who(), withReadings('GET', '/files/index.php/admin/users', ['/admin/users'])).ruleId,
    ).toBe('admin-paths');
    // An allow rule is not widened by a reading: /api/v1/items.json is not allowed as /api/v1/items.
    expect(d.decide(who(), withReadings('GET', '/x/items.json', ['/api/v1/items'])).ruleId).toBe(
      'default-deny',
    );
    const reviewing = decider([
      {
        id: 'p',
        connections: ['aws'],
        rules: [
          { id: 'review-deploys', effect: 'review', match: { methods: ['POST'], paths: ['/v1/deploys'] } },
          { id: 'posts', effect: 'allow', match: { methods: ['POST'], paths: ['/v1/**'] } },
        ],
      },
    ]);
    expect(reviewing.decide(who(), withReadings('POST', '/v1/deploys.json', ['/v1/deploys'])).ruleId).toBe(
      'review-deploys',
    );
    expect(reviewing.decide(who(), withReadings('POST', '/v1/notes.json', ['/v1/notes'])).ruleId).toBe(
      'posts',
    );
  });

  it('SQL-only rules do not apply to HTTP, and an operation rule does not match a request without one', () => {
    const dec = d.decide(who(), http('PUT', '/x'));
    expect(dec.ruleId).toBe('default-deny');
    if (dec.effect !== 'deny') throw new Error('unreachable');
    expect(dec.message).toContain('PUT /x');
  });

  it('HTTP-only rules do not apply to SQL', () => {
    const mixed = decider([
      {
        id: 'p',
        connections: ['prod'],
        rules: [
          { id: 'http-deny', effect: 'deny', match: { methods: ['*'] } },
          { id: 'reads', effect: 'allow', match: { categories: ['read'] } },
        ],
      },
    ]);
    expect(mixed.decide(who(), sql(SELECT_ORDERS)).ruleId).toBe('reads');
  });
});

describe('HTTP actions with implied requests (an S3 copy reads its source)', () => {
  const d = decider([
    {
      id: 'copier',
      connections: ['aws'],
      rules: [
        { id: 'write-dst', effect: 'allow', match: { operations: ['s3:CopyObject'], paths: ['/dst/**'] } },
        { id: 'read-pub', effect: 'allow', match: { operations: ['s3:GetObject'], paths: ['/pub/**'] } },
        {
          id: 'read-hr',
          effect: 'review',
          match: { operations: ['s3:GetObject'], paths: ['/hr/**'] },
          mask: true,
        },
        { id: 'no-vault', effect: 'deny', match: { paths: ['/vault/**'] } },
      ],
    },
  ]);
  const copy = (from: string, to = '/dst/k') =>
    httpAction({
      connection: 'aws',
      method: 'PUT',
      path: to,
      decidedPath: to,
      operation: 's3:CopyObject',
      resource: to.slice(1),
      implied: [
        httpAction({
          connection: 'aws',
          method: 'GET',
          path: from,
          decidedPath: from,
          operation: 's3:GetObject',
          resource: from.slice(1),
        }),
      ],
    });

  it('allows only when the request and every implied one are allowed', () => {
    expect(d.decide(who(), copy('/pub/a'))).toEqual({
      effect: 'allow',
      ruleId: 'write-dst',
      obligations: {},
    });
    expect(d.decide(who(), copy('/pub/a', '/pub/b')).ruleId).toBe('default-deny');
  });

  it('refuses when an implied request is not allowed, naming it and the request', () => {
    const dec = d.decide(who(), copy('/secret/a'));
    expect(dec).toMatchObject({ effect: 'deny', ruleId: 'default-deny' });
    if (dec.effect !== 'deny') throw new Error('unreachable');
    expect(dec.message).toContain('s3:GetObject (GET /secret/a)');
    expect(dec.message).toContain('s3:CopyObject (PUT /dst/k)');
    expect(d.decide(who(), copy('/vault/x')).ruleId).toBe('no-vault');
  });

  it('holds for review when an implied request needs it, with its obligations', () => {
    expect(d.decide(who(), copy('/hr/a'))).toMatchObject({
      effect: 'review',
      ruleId: 'read-hr',
      obligations: { mask: true },
    });
  });

  it('describes the implied request in the record text, and explains it rule by rule', () => {
    const a = copy('/secret/a');
    expect(a.describe.text).toBe('PUT /dst/k + s3:GetObject GET /secret/a');
    const trace = d.explain(who(), a);
    expect(trace.decision).toEqual(d.decide(who(), a));
    expect(trace.action).toMatchObject({
      kind: 'http',
      operation: 's3:CopyObject',
      implied: [{ method: 'GET', path: '/secret/a', operation: 's3:GetObject' }],
    });
    const reasons = trace.policies[0]!.rules.map((r) => `${r.rule}: ${r.reason}`);
    expect(reasons).toContain('write-dst: matches');
    expect(reasons).toContain(
      'read-pub: s3:GetObject (GET /secret/a): no match: path /secret/a is not in [/pub/**]',
    );
  });
});

describe('policy version', () => {
  const base = [
    {
      id: 'p',
      connections: ['prod'],
      rules: [{ id: 'r', effect: 'allow', match: { categories: ['read'] } }],
    },
  ];

  it('is stable for the same policies, whatever the key order', () => {
    const reordered = [
      {
        rules: [{ match: { categories: ['read'] }, effect: 'allow', id: 'r' }],
        connections: ['prod'],
        id: 'p',
      },
    ];
    expect(decider(base).version).toBe(decider(reordered).version);
    expect(decider(base).version).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('changes when a rule, a policy or a default changes', () => {
    const v = decider(base).version;
    expect(
      decider([{ ...base[0], rules: [{ id: 'r', effect: 'allow', match: { categories: ['write'] } }] }])
        .version,
    ).not.toBe(v);
    expect(decider([{ ...base[0], connections: ['prod', 'lab'] }]).version).not.toBe(v);
    expect(decider(base, { prod: 'review' }).version).not.toBe(v);
    expect(decider(base, {}).version).toBe(v);
  });
});

describe('schema', () => {
  it('rejects duplicate rule ids across policies and reserved ids', () => {
    expect(() =>
      policiesSchema.parse([
        { id: 'a', connections: ['x'], rules: [{ id: 'r', effect: 'allow' }] },
        { id: 'b', connections: ['x'], rules: [{ id: 'r', effect: 'deny' }] },
      ]),
    ).toThrow(/duplicate rule id r/);
    expect(() =>
      policiesSchema.parse([
        { id: 'a', connections: ['x'], rules: [{ id: 'default-deny', effect: 'deny' }] },
      ]),
    ).toThrow(/reserved/);
    expect(() =>
      policiesSchema.parse([
        { id: 'a', connections: ['x'] },
        { id: 'a', connections: ['y'] },
      ]),
    ).toThrow(/duplicate policy id/);
  });

  it('rejects a rule that mixes SQL and HTTP fields, and misplaced review options', () => {
    expect(() =>
      policiesSchema.parse([
        {
          id: 'a',
          connections: ['x'],
          rules: [{ id: 'r', effect: 'deny', match: { categories: ['read'], methods: ['GET'] } }],
        },
      ]),
    ).toThrow(/either SQL/);
    expect(() =>
      policiesSchema.parse([
        { id: 'a', connections: ['x'], rules: [{ id: 'r', effect: 'allow', mode: 'defer' }] },
      ]),
    ).toThrow(/only to effect review/);
    expect(() =>
      policiesSchema.parse([
        { id: 'a', connections: ['x'], rules: [{ id: 'r', effect: 'deny', rowCap: 5 }] },
      ]),
    ).toThrow(/do not apply to effect deny/);
    expect(() =>
      policiesSchema.parse([
        { id: 'a', connections: ['x'], rules: [{ id: 'r', effect: 'deny', match: { tables: ['a.b.c'] } }] },
      ]),
    ).toThrow(/name pattern/);
  });

  it('accepts the lead draft shape unchanged', () => {
    const parsed = policiesSchema.parse([
      {
        id: 'dev',
        subjects: { groups: ['dev'], subjects: ['a'], tokenKinds: ['oidc'], agent: false },
        connections: ['*'],
        rules: [
          {
            id: 'r',
            effect: 'review',
            match: { categories: ['write'], kinds: ['update'], tables: ['public.*'], functions: ['lower'] },
            message: 'm',
            mode: 'defer',
            approval: 'x',
            mask: 'p',
            rowCap: 3,
          },
        ],
      },
    ]);
    expect(parsed[0]?.rules[0]?.id).toBe('r');
  });
});

describe('AWS resources (awsResources)', () => {
  const d = decider([
    {
      id: 'agents',
      subjects: { agent: true },
      connections: ['aws'],
      rules: [
        { id: 'stacks', effect: 'allow', match: { operations: ['cloudformation:CreateStack'] } },
        {
          id: 'app-roles',
          effect: 'allow',
          match: { operations: ['iam:PassRole'], awsResources: ['arn:aws:iam::*:role/app-*'] },
        },
      ],
    },
  ]);
  const stack = (role?: string) =>
    httpAction({
      connection: 'aws',
      method: 'POST',
      path: '/',
      decidedPath: '/',
      operation: 'cloudformation:CreateStack',
      ...(role
        ? {
            implied: [
              httpAction({
                connection: 'aws',
                method: 'POST',
                path: '/',
                decidedPath: '/',
                operation: 'iam:PassRole',
                resource: role,
              }),
            ],
          }
        : {}),
    });

  it('lets a rule name the roles a request may pass, case-sensitively', () => {
    expect(d.decide(who({ agent: true }), stack()).effect).toBe('allow');
    expect(d.decide(who({ agent: true }), stack('arn:aws:iam::123456789012:role/app-deployer')).effect).toBe(
      'allow',
    );
    expect(d.decide(who({ agent: true }), stack('arn:aws:iam::123456789012:role/admin'))).toMatchObject({
      effect: 'deny',
      ruleId: 'default-deny',
    });
    expect(d.decide(who({ agent: true }), stack('arn:aws:iam::123456789012:role/App-deployer')).effect).toBe(
      'deny',
    );
  });

  it('does not match a request that names no resource', () => {
    const r = httpAction({
      connection: 'aws',
      method: 'POST',
      path: '/',
      decidedPath: '/',
      operation: 'iam:PassRole',
    });
    expect(d.decide(who({ agent: true }), r).effect).toBe('deny');
  });
});

describe('tables a statement reaches without naming them (docs/security.md, class 113)', () => {
  const d = decider([
    {
      id: 'p',
      subjects: { groups: ['dev'] },
      connections: ['prod'],
      rules: [
        {
          id: 'no-customer-writes',
          effect: 'deny',
          match: { categories: ['write'], tables: ['public.customers'] },
        },
        {
          id: 'review-ledger',
          effect: 'review',
          match: { categories: ['write'], tables: ['public.ledger'] },
        },
        { id: 'no-authid', effect: 'deny', match: { tables: ['pg_catalog.pg_authid'] } },
        { id: 'all', effect: 'allow', match: {} },
      ],
    },
  ]);
  const dev = who({ groups: ['dev'] });
  const setval = stmt('select', ['read', 'write'], { text: "SELECT setval('customers_id_seq', 1)" });

  it('a reached table is matched by deny and review rules on it', () => {
    const reached = { ...setval, reaches: [{ schema: 'public', name: 'customers' }] };
    expect(d.decide(dev, sql(setval)).effect).toBe('allow');
    const denied = d.decide(dev, sql(reached));
    expect(denied.effect).toBe('deny');
    if (denied.effect === 'deny')
      expect(denied.message).toMatch(/reaches public\.customers without naming it/);
    const view = stmt('update', ['write'], { tables: ['public.ledger_v'] });
    expect(d.decide(dev, sql({ ...view, reaches: [{ schema: 'public', name: 'ledger' }] })).effect).toBe(
      'review',
    );
  });

  it('an unplaceable reach matches rules on user tables, not on system catalogs', () => {
    const write = stmt('insert', ['write'], {
      tables: ['public.audit_src'],
      text: 'INSERT INTO audit_src …',
    });
    expect(d.decide(dev, sql({ ...write, reachesUnknown: true })).ruleId).toBe('no-customer-writes');
    const read = stmt('select', ['read'], { tables: ['public.orders'] });
    expect(d.decide(dev, sql({ ...read, reachesUnknown: true })).effect).toBe('allow');
  });
});

describe('reach is for user tables (class 113)', () => {
  const d = decider([
    {
      id: 'p',
      subjects: { groups: ['dev'] },
      connections: ['prod'],
      rules: [
        { id: 'no-vault', effect: 'deny', match: { tables: ['vault.*'] } },
        { id: 'no-authid', effect: 'deny', match: { tables: ['pg_catalog.pg_authid'] } },
        { id: 'all', effect: 'allow', match: {} },
      ],
    },
  ]);
  it('a system view reaching its catalog is not matched by a rule on the catalog', () => {
    const roles = stmt('select', ['read'], { tables: ['pg_catalog.pg_roles'] });
    const reached = { ...roles, reaches: [{ schema: 'pg_catalog', name: 'pg_authid' }] };
    expect(d.decide(who({ groups: ['dev'] }), sql(reached)).effect).toBe('allow');
    const named = stmt('select', ['read'], { tables: ['pg_catalog.pg_authid'] });
    expect(d.decide(who({ groups: ['dev'] }), sql(named)).ruleId).toBe('no-authid');
  });
});

describe('reachMatters: false only where what a statement reaches cannot change its decision', () => {
  const dev = who({ groups: ['dev'] });
  const agent = who({ subject: 'claude', agent: true, groups: ['ai-agents'] });
  const allowAll = { id: 'all', effect: 'allow', match: {} };
  const cases = [
    {
      name: 'the default agent policy',
      d: createPolicyDecider({ policies: defaultAgentPolicies(['prod']) }),
      who: agent,
      read: false,
      write: false,
    },
    {
      name: 'a deny rule on a system catalog only',
      d: decider([
        {
          id: 'p',
          subjects: { groups: ['dev'] },
          connections: ['prod'],
          rules: [{ id: 'no-authid', effect: 'deny', match: { tables: ['pg_catalog.pg_authid'] } }, allowAll],
        },
      ]),
      who: dev,
      read: false,
      write: false,
    },
    {
      name: 'a deny rule on a user table',
      d: decider([
        {
          id: 'p',
          subjects: { groups: ['dev'] },
          connections: ['prod'],
          rules: [{ id: 'no-customers', effect: 'deny', match: { tables: ['public.customers'] } }, allowAll],
        },
      ]),
      who: dev,
      read: true,
      write: true,
    },
    {
      name: 'a grant restricted to tables',
      d: decider([
        {
          id: 'p',
          subjects: { groups: ['dev'] },
          connections: ['prod'],
          rules: [
            {
              id: 'orders-only',
              effect: 'allow',
              match: { categories: ['read', 'write'], tables: ['public.orders'] },
            },
          ],
        },
      ]),
      who: dev,
      read: false,
      write: true,
    },
  ];
  const statements = [
    stmt('select', ['read'], { tables: ['public.orders'] }),
    stmt('insert', ['write'], { tables: ['public.orders'] }),
    stmt('update', ['write'], { tables: ['public.customers'] }),
    stmt('select', ['read'], { tables: ['pg_catalog.pg_authid'] }),
  ];

  for (const c of cases) {
    it(c.name, () => {
      expect(c.d.reachMatters(c.who, 'prod', false)).toBe(c.read);
      expect(c.d.reachMatters(c.who, 'prod', true)).toBe(c.write);
      for (const st of statements) {
        const writes = st.categories.includes('write');
        if (c.d.reachMatters(c.who, 'prod', writes)) continue;
        // The engine skips the variant decided as reaching every table: it must decide alike.
        const variant = {
          ...st,
          reachesUnknown: true as const,
          ...(writes ? { grantReachUnknown: true as const } : {}),
        };
        expect(c.d.decide(c.who, sql(variant))).toEqual(c.d.decide(c.who, sql(st)));
      }
    });
  }
});

describe("the policy's view of a statement", () => {
  it('follows a table list that is not frozen, even after deciding on it', () => {
    const d = decider([
      {
        id: 'p',
        subjects: { groups: ['dev'] },
        connections: ['prod'],
        rules: [
          { id: 'no-customers', effect: 'deny', match: { tables: ['public.customers'] } },
          { id: 'all', effect: 'allow', match: {} },
        ],
      },
    ]);
    const tables: TableRef[] = [{ schema: 'public', name: 'orders' }];
    const st = { ...stmt('select', ['read']), tables };
    expect(d.decide(who({ groups: ['dev'] }), sql(st)).effect).toBe('allow');
    tables.push({ schema: 'public', name: 'customers' });
    expect(d.decide(who({ groups: ['dev'] }), sql(st)).ruleId).toBe('no-customers');
  });
});
