import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalsConfig } from '../config/schema.js';
import { type SqlAction, httpAction, sqlAction } from '../core/action.js';
import type { ReviewDecision } from '../core/decision.js';
import type { HeldNotice, HoldSettledNotice } from '../core/held-notice.js';
import type { Identity } from '../core/identity.js';
import type { Logger, PolicyDecider } from '../core/ports.js';
import { createPolicyDecider } from '../policy/index.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { AccessGrants } from './access-grants.js';
import { ApprovalNotifier } from './approval-notifier.js';
import { ApprovalRepository } from './approval-repository.js';
import { ApprovalService, principalOf } from './approval-service.js';
import { LocalApprovalSignal } from './approval-signal.js';
import type { ApprovalTables } from './approval-tables.js';
import type { ApprovalSessionEvent } from './approval-types.js';
import { noImpactPreview } from './approval-types.js';

const quiet: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};
const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-approvals-'));
let store: SqliteStore;
let repo: ApprovalRepository;
let clock = Date.parse('2026-03-04T10:00:00Z');
const events: { session: string; e: ApprovalSessionEvent }[] = [];

const config: ApprovalsConfig = {
  rules: {
    two: {
      approverGroups: ['dba'],
      mode: 'any',
      minApprovals: 2,
      expiresAfter: '30m',
      holdTimeout: '5m',
      grantValidFor: '24h',
    },
    both: {
      approverGroups: ['dba', 'security'],
      mode: 'all',
      minApprovals: 1,
      expiresAfter: '30m',
      holdTimeout: '5m',
      grantValidFor: '24h',
    },
  },
  maxPendingPerPrincipal: 20,
  maxRequestsPerMinute: 1000,
  notifiers: {},
  grants: {
    ops: {
      connections: ['prod'],
      maxDuration: '2h',
      rules: [{ id: 'ops-write', effect: 'allow', match: { categories: ['write'] } }],
    },
  },
};

const id = (subject: string, groups: string[], agent = false): Identity => ({
  subject,
  groups,
  agent,
  issuer: 'gatehouse',
  tokenKind: 'service',
});
const claude = id('claude', ['agents'], true);

function service(): ApprovalService {
  const signal = new LocalApprovalSignal();
  return new ApprovalService({
    repository: repo,
    signal,
    config: () => config,
    adminGroups: () => ['admins'],
    previewer: noImpactPreview,
    notifier: new ApprovalNotifier({ channels: () => [], logger: quiet }),
    sink: { record: async (session, e) => void events.push({ session, e }) },
    logger: quiet,
    publicUrl: () => 'https://g.example',
    now: () => new Date(clock),
  });
}

function action(text: string): SqlAction {
  return sqlAction({
    connection: 'prod',
    via: 'simple-query',
    statement: {
      text,
      kind: 'update',
      categories: ['write'],
      tables: [],
      functions: [],
      comments: { reason: 'ticket 7' },
    },
  });
}
const review = (rule: string, mode: 'hold' | 'defer' = 'hold'): ReviewDecision => ({
  effect: 'review',
  ruleId: 'r',
  message: 'Needs approval.',
  mode,
  approvalRule: rule,
  obligations: {},
});

beforeAll(async () => {
  store = await SqliteStore.open({ path: path.join(dir, 'g.db') });
  repo = new ApprovalRepository(store.getKysely() as unknown as Kysely<ApprovalTables>);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function pendingId(s: ApprovalService): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const [r] = await repo.listRequests({ status: 'pending', limit: 1 });
    if (r) return r.id;
    await new Promise((res) => setTimeout(res, 10));
  }
  void s;
  throw new Error('no pending request');
}

describe('ApprovalService', () => {
  it('needs minApprovals distinct approvers, one vote each, and records every step in the session', async () => {
    const s = service();
    const held = s.request({
      identity: claude,
      sessionId: 'sess-1',
      statementId: 'sess-1:1',
      action: action('UPDATE t SET a = 1'),
      decision: review('two'),
      signal: new AbortController().signal,
    });
    const rid = await pendingId(s);
    const first = await s.decide(rid, principalOf(id('ann', ['dba'])), 'approve', { via: 'api' });
    expect(first.ok && first.details.request.status).toBe('pending');
    const again = await s.decide(rid, principalOf(id('ann', ['dba'])), 'approve', { via: 'api' });
    expect(again).toMatchObject({ ok: false, status: 409 });
    const second = await s.decide(rid, principalOf(id('bob', ['dba'])), 'approve', {
      via: 'cli',
      comment: 'ok',
    });
    expect(second.ok && second.details.request.status).toBe('approved');
    expect(await held).toEqual({
      approved: true,
      requestId: rid,
      approvedBy: ['ann (gatehouse)', 'bob (gatehouse)'],
    });
    const got = await repo.getRequest(rid);
    expect(got?.reason).toBe('ticket 7');
    const types = events.filter((x) => x.session === 'sess-1').map((x) => x.e.type);
    expect(types).toEqual(['approval.requested', 'approval.approved', 'approval.executed']);
    expect(events.find((x) => x.e.type === 'approval.executed')?.e.statementId).toBe('sess-1:1');
    await s.close();
  });

  it('counts two identities of one person as one approver, and refuses one approving as their own requester', async () => {
    const person = (subject: string, issuer: string, email: string, groups = ['dba']): Identity => ({
      subject,
      groups,
      agent: false,
      issuer,
      tokenKind: 'oidc',
      person: email,
    });
    const s = service();
    const held = s.request({
      identity: claude,
      sessionId: 'sess-person',
      statementId: 'sess-person:1',
      action: action('UPDATE t SET a = 11'),
      decision: review('two'),
      signal: new AbortController().signal,
    });
    const rid = await pendingId(s);
    const first = await s.decide(
      rid,
      principalOf(person('ann', 'https://idp-a', 'Ann@Corp.example')),
      'approve',
      {
        via: 'api',
      },
    );
    expect(first.ok && first.details.request.status).toBe('pending');
    // The same person signed in through a second identity provider (or a second account): one vote.
    const second = await s.decide(
      rid,
      principalOf(person('ann.admin', 'https://idp-b', 'ann@corp.example')),
      'approve',
      { via: 'console' },
    );
    expect(second).toMatchObject({ ok: false, status: 409 });
    expect(!second.ok && second.message).toMatch(
      /already decided on this request as ann \(https:\/\/idp-a\)/,
    );
    expect((await repo.getRequest(rid))?.status).toBe('pending');
    // Two votes of one person at once (two replicas): the store's unique index takes one.
    const racing = await repo.insertVote(rid, {
      approver: {
        subject: 'ann.third',
        issuer: 'https://idp-c',
        groups: ['dba'],
        agent: false,
        person: 'ann@corp.example',
      },
      vote: 'approve',
      via: 'api',
      at: new Date(clock),
    });
    expect(racing).toBe(false);
    expect((await repo.listVotes(rid)).map((v) => v.approver.subject)).toEqual(['ann']);
    // Another person completes the two.
    const bob = await s.decide(
      rid,
      principalOf(person('bob', 'https://idp-a', 'bob@corp.example')),
      'approve',
      {
        via: 'api',
      },
    );
    expect(bob.ok && bob.details.request.status).toBe('approved');
    expect(await held).toMatchObject({ approved: true });

    // A person who asked (a human through the gateway) cannot approve under another identity.
    const asked = s.request({
      identity: person('carol', 'https://idp-a', 'carol@corp.example', ['dev']),
      sessionId: 'sess-person-2',
      statementId: 'sess-person-2:1',
      action: action('UPDATE t SET a = 12'),
      decision: review('two', 'defer'),
      signal: new AbortController().signal,
    });
    const r2 = await asked;
    expect(r2.approved).toBe(false);
    const own = await s.decide(
      r2.requestId!,
      principalOf(person('carol-dba', 'https://idp-b', 'CAROL@corp.example')),
      'approve',
      { via: 'api' },
    );
    expect(own).toMatchObject({ ok: false, status: 403 });
    expect(!own.ok && own.message).toMatch(/your own request .*same person: carol@corp\.example/);
    // Identities that name no person are only themselves.
    const other = await s.decide(r2.requestId!, principalOf(id('carol-dba', ['dba'])), 'approve', {
      via: 'api',
    });
    expect(other.ok).toBe(true);
    const done = await s.decide(r2.requestId!, principalOf(id('dan', ['dba'])), 'approve', { via: 'api' });
    expect(done.ok && done.details.request.status).toBe('approved');
    await s.close();
  });

  it('all-of needs an approval from each group; a denial by anyone eligible denies', async () => {
    const s = service();
    const held = s.request({
      identity: claude,
      sessionId: 'sess-2',
      statementId: 'sess-2:1',
      action: action('UPDATE t SET a = 2'),
      decision: review('both'),
      signal: new AbortController().signal,
    });
    const rid = await pendingId(s);
    await s.decide(rid, principalOf(id('ann', ['dba'])), 'approve', { via: 'api' });
    const dba2 = await s.decide(rid, principalOf(id('bob', ['dba'])), 'approve', { via: 'api' });
    expect(dba2.ok && dba2.details.request.status).toBe('pending');
    await s.decide(rid, principalOf(id('sec', ['security'])), 'deny', { via: 'api', comment: 'no' });
    const out = await held;
    expect(out.approved).toBe(false);
    expect(!out.approved && out.message).toMatch(/sec \(gatehouse\) denied approval request .*: "no"/);
    await s.close();
  });

  it('expires overdue pending requests in the sweep and refuses an unknown rule', async () => {
    const s = service();
    const r = await s.request({
      identity: claude,
      sessionId: 'sess-3',
      statementId: 'sess-3:1',
      action: action('UPDATE t SET a = 3'),
      decision: review('two', 'defer'),
      signal: new AbortController().signal,
    });
    expect(r.approved).toBe(false);
    clock += 31 * 60_000;
    expect(await s.sweep()).toBe(1);
    expect((await repo.getRequest(r.requestId!))?.status).toBe('expired');
    expect(events.some((x) => x.session === 'sess-3' && x.e.type === 'approval.expired')).toBe(true);
    const unknown = await s.request({
      identity: claude,
      sessionId: 'sess-3',
      statementId: 'sess-3:2',
      action: action('UPDATE t SET a = 4'),
      decision: review('nope'),
      signal: new AbortController().signal,
    });
    expect(!unknown.approved && unknown.message).toMatch(/not configured/);
    await s.close();
  });
});

describe("an agent with a person's name (class 72)", () => {
  it('does not use a deferred approval given to the person', async () => {
    const s = service();
    const dana = id('dana', ['dev']);
    const danaAgent = id('dana', ['dev'], true);
    const ask = (who: Identity, n: number) =>
      s.request({
        identity: who,
        sessionId: `sess-dana-${n}`,
        statementId: `sess-dana-${n}:1`,
        action: action('UPDATE t SET dana = 1'),
        decision: review('two', 'defer'),
        signal: new AbortController().signal,
      });
    const first = await ask(dana, 1);
    expect(first.approved).toBe(false);
    for (const who of ['ann', 'bob'])
      expect(
        (await s.decide(first.requestId!, principalOf(id(who, ['dba'])), 'approve', { via: 'api' })).ok,
      ).toBe(true);
    // The approval is the person's: the agent holding a token in her name is reviewed anew…
    const agentRun = await ask(danaAgent, 2);
    expect(agentRun.approved).toBe(false);
    expect(agentRun.requestId).not.toBe(first.requestId);
    // …and the person's one use is still there for her.
    expect(await ask(dana, 3)).toMatchObject({ approved: true });
    clock += 31 * 60_000;
    await s.sweep();
    await s.close();
  });
});

describe("an agent with a person's name does not share the person's requests (class 258)", () => {
  it("is not pointed at the person's pending request, nor reads it", async () => {
    const s = service();
    const erin = id('erin', ['dev']);
    const erinAgent = id('erin', ['dev'], true);
    const ask = (who: Identity, n: number) =>
      s.request({
        identity: who,
        sessionId: `sess-erin-${n}`,
        statementId: `sess-erin-${n}:1`,
        action: action("UPDATE t SET note = 'salary 182000' WHERE id = 4471"),
        decision: review('two', 'defer'),
        signal: new AbortController().signal,
      });
    const persons = await ask(erin, 1);
    expect(persons.approved).toBe(false);
    // The same text from the agent opens its own request: it is not told the person's.
    const agents = await ask(erinAgent, 2);
    expect(agents.approved).toBe(false);
    expect(agents.requestId).not.toBe(persons.requestId);
    expect(await s.get(erinAgent, persons.requestId!)).toBe('forbidden');
    expect(await s.get(erin, agents.requestId!)).toBe('forbidden');
    expect((await s.list(erinAgent, {})).map((r) => r.id)).not.toContain(persons.requestId);
    expect(await s.get(erin, persons.requestId!)).toMatchObject({ request: { id: persons.requestId } });
    clock += 31 * 60_000;
    await s.sweep();
    await s.close();
  });
});

describe('passwords in statements', () => {
  it('stores and records the request with the password redacted, and hashes the exact text', async () => {
    const s = service();
    const text = `ALTER ROLE app PASSWORD 'hunter2-secret'`;
    const r = await s.request({
      identity: claude,
      sessionId: 'sess-pw',
      statementId: 'sess-pw:1',
      action: action(text),
      decision: review('two', 'defer'),
      signal: new AbortController().signal,
    });
    expect(r.approved).toBe(false);
    const stored = await repo.getRequest(r.requestId!);
    expect(stored?.statement?.text).toBe(`ALTER ROLE app PASSWORD '[REDACTED]'`);
    expect(JSON.stringify(stored)).not.toContain('hunter2-secret');
    expect(JSON.stringify(events.filter((x) => x.session === 'sess-pw'))).not.toContain('hunter2-secret');
    // The hash binds the approval to the exact statement: another password is another statement.
    const other = await s.request({
      identity: claude,
      sessionId: 'sess-pw',
      statementId: 'sess-pw:2',
      action: action(`ALTER ROLE app PASSWORD 'different'`),
      decision: review('two', 'defer'),
      signal: new AbortController().signal,
    });
    expect(other.approved ? undefined : other.requestId).not.toBe(r.requestId);
    // Leave no pending request behind for the tests that follow.
    clock += 31 * 60_000;
    expect(await s.sweep()).toBe(2);
    await s.close();
  });
});

describe('HTTP actions', () => {
  it('holds an HTTP request under review like a statement, hashed over its request line', async () => {
    const s = service();
    const held = s.request({
      identity: claude,
      sessionId: 'sess-h',
      statementId: 'sess-h:1',
      action: httpAction({
        connection: 'api',
        method: 'DELETE',
        path: '/v1/users/7',
        decidedPath: '/v1/users/7',
        operation: 's3:DeleteObject',
        resource: 'bucket/key',
      }),
      decision: review('two'),
      signal: new AbortController().signal,
    });
    const rid = await pendingId(s);
    const r = await repo.getRequest(rid);
    expect(r?.statement).toMatchObject({
      text: 'DELETE /v1/users/7',
      kind: 's3:DeleteObject',
      params: ['bucket/key'],
    });
    expect(r?.preview?.kind).toBe('none');
    await s.decide(rid, principalOf(id('ann', ['dba'])), 'approve', { via: 'api' });
    await s.decide(rid, principalOf(id('bob', ['dba'])), 'approve', { via: 'api' });
    expect((await held).approved).toBe(true);
    await s.close();
  });

  it('shows an S3 copy with its source, and binds the approval to that source', async () => {
    const s = service();
    const copy = (from: string) =>
      httpAction({
        connection: 'aws',
        method: 'PUT',
        path: '/dst/k',
        decidedPath: '/dst/k',
        operation: 's3:CopyObject',
        resource: 'dst/k',
        implied: [
          httpAction({
            connection: 'aws',
            method: 'GET',
            path: `/${from}`,
            decidedPath: `/${from}`,
            operation: 's3:GetObject',
            resource: from,
          }),
        ],
      });
    const first = await s.request({
      identity: claude,
      sessionId: 'sess-copy',
      statementId: 'sess-copy:1',
      action: copy('pub/a'),
      decision: review('two', 'defer'),
      signal: new AbortController().signal,
    });
    expect(first.approved).toBe(false);
    const stored = await repo.getRequest(first.requestId!);
    expect(stored?.statement).toMatchObject({
      text: 'PUT /dst/k + s3:GetObject GET /pub/a',
      kind: 's3:CopyObject',
      params: ['dst/k', 'pub/a'],
    });
    // The same destination from another source is another request, not the one approved.
    const other = await s.request({
      identity: claude,
      sessionId: 'sess-copy',
      statementId: 'sess-copy:2',
      action: copy('secret/a'),
      decision: review('two', 'defer'),
      signal: new AbortController().signal,
    });
    expect(other.approved ? undefined : other.requestId).not.toBe(first.requestId);
    clock += 31 * 60_000;
    expect(await s.sweep()).toBe(2);
    await s.close();
  });
});

describe('AccessGrants', () => {
  it("layers the grant on the holder's policy until it expires", async () => {
    const s = service();
    const dave = id('dave', ['dev']);
    const created = await s.requestAccess(dave, {
      connection: 'prod',
      durationMs: 3_600_000,
      reason: 'hotfix',
    });
    expect(created.ok).toBe(true);
    const rid = created.ok ? created.request.id : '';
    await s
      .decide(rid, principalOf(id('eve', ['dev'])), 'approve', { via: 'api' })
      .then((r) => expect(r).toMatchObject({ ok: false, status: 403 }));
    // The implicit default rule: admin groups approve.
    const ok = await s.decide(rid, principalOf(id('root', ['admins'])), 'approve', { via: 'api' });
    expect(ok.ok && ok.details.request.validUntil?.getTime()).toBe(clock + 3_600_000);

    const grants = new AccessGrants({
      repository: repo,
      signal: s.signal,
      config: () => config,
      logger: quiet,
      now: () => clock,
    });
    await grants.start();
    const base: PolicyDecider = createPolicyDecider({
      policies: [
        {
          id: 'devs',
          subjects: { groups: ['dev'] },
          connections: ['prod'],
          rules: [{ id: 'dev-read', effect: 'allow', match: { categories: ['read'] } }],
        },
      ],
    });
    const source = {
      policies: [
        {
          id: 'devs',
          subjects: { groups: ['dev'] },
          connections: ['prod'],
          rules: [{ id: 'dev-read', effect: 'allow' as const, match: { categories: ['read' as const] } }],
        },
      ],
    };
    const write = action('UPDATE t SET a = 5');
    const layered = grants.layer(base, source);
    expect(layered.decide(dave, write).effect).toBe('allow');
    expect(layered.decide(id('erin', ['dev']), write).effect).toBe('deny');
    expect(layered.version).not.toBe(base.version);
    clock += 3_600_001;
    expect(grants.layer(base, source).decide(dave, write).effect).toBe('deny');
    grants.stop();
    await s.close();
  });
});

describe('ApprovalService hold listener', () => {
  it('tells the engine when a statement is held and again when it is decided (held means told)', async () => {
    const s = service();
    const held: HeldNotice[] = [];
    const settled: HoldSettledNotice[] = [];
    const outcome = s.request({
      identity: claude,
      sessionId: 'sess-told',
      statementId: 'sess-told:1',
      action: action('UPDATE t SET told = 1'),
      decision: review('both'),
      signal: new AbortController().signal,
      onHeld: (n) => held.push(n),
      onHoldSettled: (n) => settled.push(n),
    });
    const rid = await pendingId(s);
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({
      requestId: rid,
      url: `https://g.example/approvals/${rid}`,
      mode: 'hold',
      approvalRule: 'both',
      policyRule: 'r',
      approverGroups: ['dba', 'security'],
      waitMs: 5 * 60_000,
    });
    expect(held[0]!.message).toContain(rid);
    expect(held[0]!.message).toContain('waiting up to 5m');
    expect(settled).toHaveLength(0);
    await s.decide(rid, principalOf(id('sec', ['security'])), 'deny', { via: 'api', comment: 'not today' });
    expect((await outcome).approved).toBe(false);
    expect(settled).toEqual([
      expect.objectContaining({
        requestId: rid,
        outcome: 'denied',
        by: 'sec (gatehouse)',
        comment: 'not today',
      }),
    ]);

    // Defer mode: told at once (nothing is held), and no settle notice follows.
    const deferHeld: HeldNotice[] = [];
    const deferred = await s.request({
      identity: claude,
      sessionId: 'sess-told',
      statementId: 'sess-told:2',
      action: action('UPDATE t SET told = 2'),
      decision: review('two', 'defer'),
      signal: new AbortController().signal,
      onHeld: (n) => deferHeld.push(n),
      onHoldSettled: () => {
        throw new Error('no settle notice in defer mode');
      },
    });
    expect(deferHeld).toEqual([
      expect.objectContaining({ requestId: deferred.requestId, mode: 'defer', waitMs: 0 }),
    ]);
    await s.close();
  });
});

describe('forSessionRecord', () => {
  it("keeps an approval step's impact preview out of the session's record, its bound settings in", async () => {
    const { forSessionRecord } = await import('./approval-service.js');
    const data = {
      mode: 'defer',
      preview: {
        kind: 'plan',
        plan: ['Seq Scan on api_keys'],
        rowCount: 1,
        notes: ['count(*) failed: invalid input syntax for type integer: "wJalr"'],
        tookMs: 12,
        settings: { DateStyle: 'ISO, DMY' },
      },
    };
    const kept = forSessionRecord(data);
    expect(JSON.stringify(kept)).not.toMatch(/rowCount|Seq Scan|wJalr/);
    expect(kept.preview).toEqual({
      kind: 'none',
      notes: ['the impact preview is shown to the approvers only'],
      tookMs: 0,
      settings: { DateStyle: 'ISO, DMY' },
    });
    expect(kept.mode).toBe('defer');
    expect(forSessionRecord({ vote: 'approve' })).toEqual({ vote: 'approve' });
  });
});
