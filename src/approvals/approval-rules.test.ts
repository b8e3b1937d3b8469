import { describe, expect, it } from 'vitest';
import { approverRefusal, inWindows, resolveRule, tally, type EffectiveRule } from './approval-rules.js';
import type { ApprovalPrincipal, ApprovalVote } from './approval-types.js';

const rule = (over: Partial<EffectiveRule> = {}): EffectiveRule => ({
  name: 'r',
  approverGroups: ['dba', 'security'],
  mode: 'any',
  minApprovals: 1,
  expiresAfterMs: 1,
  holdTimeoutMs: 1,
  grantValidForMs: 1,
  ...over,
});
const who = (
  subject: string,
  groups: string[],
  extra: Partial<ApprovalPrincipal> = {},
): ApprovalPrincipal => ({ subject, issuer: 'gatehouse', groups, agent: false, ...extra });
const vote = (p: ApprovalPrincipal, v: 'approve' | 'deny' = 'approve'): ApprovalVote => ({
  approver: p,
  vote: v,
  via: 'api',
  at: new Date(),
});
const NOW = new Date('2026-03-04T10:30:00Z'); // a Wednesday

describe('approverRefusal', () => {
  const requester = who('claude', ['dba'], { agent: true });
  it('never lets an agent approve', () => {
    expect(approverRefusal(rule(), requester, who('bot', ['dba'], { agent: true }), NOW)).toMatch(/agent/);
  });
  it('never lets the requester approve, but a same-named subject of another issuer is someone else', () => {
    const alice = who('alice', ['dba']);
    expect(approverRefusal(rule(), alice, alice, NOW)).toMatch(/own request/);
    expect(approverRefusal(rule(), alice, { ...alice, issuer: 'https://idp' }, NOW)).toBeUndefined();
  });
  it('needs membership of an approver group', () => {
    expect(approverRefusal(rule(), requester, who('eve', ['dev']), NOW)).toMatch(/dba, security/);
    expect(approverRefusal(rule(), requester, who('sam', ['security']), NOW)).toBeUndefined();
  });
  it('allows decisions only inside the time windows', () => {
    const windowed = rule({
      windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00', timeZone: 'UTC' }],
    });
    expect(approverRefusal(windowed, requester, who('sam', ['dba']), NOW)).toBeUndefined();
    expect(
      approverRefusal(windowed, requester, who('sam', ['dba']), new Date('2026-03-04T18:00:00Z')),
    ).toMatch(/time windows/);
    expect(
      approverRefusal(windowed, requester, who('sam', ['dba']), new Date('2026-03-07T10:00:00Z')),
    ).toMatch(/time windows/);
  });
});

describe('tally', () => {
  const a = who('a', ['dba']);
  const b = who('b', ['dba']);
  const s = who('s', ['security']);
  it('any-of: minApprovals approvals from any listed group', () => {
    expect(tally(rule(), [])).toBe('pending');
    expect(tally(rule(), [vote(a)])).toBe('approved');
    expect(tally(rule({ minApprovals: 2 }), [vote(a)])).toBe('pending');
    expect(tally(rule({ minApprovals: 2 }), [vote(a), vote(b)])).toBe('approved');
  });
  it('all-of: one approval from each listed group', () => {
    expect(tally(rule({ mode: 'all' }), [vote(a), vote(b)])).toBe('pending');
    expect(tally(rule({ mode: 'all' }), [vote(a), vote(s)])).toBe('approved');
    expect(tally(rule({ mode: 'all', minApprovals: 3 }), [vote(a), vote(s)])).toBe('pending');
  });
  it('all-of: one approver in several groups stands for one of them (class 122)', () => {
    const both = who('both', ['dba', 'security']);
    expect(tally(rule({ mode: 'all' }), [vote(both)])).toBe('pending');
    expect(tally(rule({ mode: 'all' }), [vote(both), vote(a)])).toBe('approved');
    expect(tally(rule({ mode: 'all' }), [vote(both), vote(s)])).toBe('approved');
    // dba+security and a dba: the security seat goes to `both`, the dba seat to `a`.
    expect(tally(rule({ mode: 'all' }), [vote(a), vote(b)])).toBe('pending');
    const three = rule({ mode: 'all', approverGroups: ['dba', 'security', 'sre'] });
    const sre = who('r', ['sre', 'dba']);
    expect(tally(three, [vote(both), vote(sre)])).toBe('pending');
    expect(tally(three, [vote(both), vote(sre), vote(a)])).toBe('approved');
  });
  it('counts one person once, however many identities voted', () => {
    const ann = { ...who('ann', ['dba']), person: 'ann@corp.example' };
    const annAdmin = { ...who('ann.admin', ['security']), person: 'ann@corp.example' };
    expect(tally(rule({ minApprovals: 2 }), [vote(ann), vote(annAdmin)])).toBe('pending');
    expect(tally(rule({ mode: 'all' }), [vote(ann), vote(annAdmin)])).toBe('pending');
  });
  it('one denial denies', () => {
    expect(tally(rule({ minApprovals: 2 }), [vote(a), vote(b, 'deny')])).toBe('denied');
  });
});

describe('windows', () => {
  it('handles time zones and windows that run past midnight', () => {
    const night = [{ days: ['fri' as const], start: '22:00', end: '06:00', timeZone: 'Europe/Berlin' }];
    // Friday 23:30 in Berlin (UTC+1 in March before DST) and Saturday 05:00 are inside; Saturday 07:00 is not.
    expect(inWindows(night, new Date('2026-03-06T22:30:00Z'))).toBe(true);
    expect(inWindows(night, new Date('2026-03-07T04:00:00Z'))).toBe(true);
    expect(inWindows(night, new Date('2026-03-07T06:00:00Z'))).toBe(false);
    expect(inWindows(night, new Date('2026-03-05T22:30:00Z'))).toBe(false);
  });
});

describe('resolveRule', () => {
  const config = { rules: {}, notifiers: {}, grants: {} } as never;
  it('uses an implicit default (admin groups approve) when no default rule is configured', () => {
    expect(resolveRule(config, undefined, ['dba'])).toMatchObject({
      name: 'default',
      approverGroups: ['dba'],
      minApprovals: 1,
      holdTimeoutMs: 300_000,
      expiresAfterMs: 1_800_000,
    });
  });
  it('refuses a named rule that is not configured (fail closed)', () => {
    expect(resolveRule(config, 'missing', ['dba'])).toBeUndefined();
  });
});
