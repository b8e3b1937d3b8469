// Who may approve what, and when a request is decided: the approval rules of gatehouse.yaml applied
// to votes. Pure and synchronous; it never reads the store nor trusts a name the caller typed.

import { toMs, type ApprovalRuleConfig, type ApprovalsConfig } from '../config/schema.js';
import type { ApprovalPrincipal, ApprovalVote } from './approval-types.js';

type Window = NonNullable<ApprovalRuleConfig['windows']>[number];

export interface EffectiveRule {
  readonly name: string;
  readonly approverGroups: readonly string[];
  readonly mode: 'any' | 'all';
  readonly minApprovals: number;
  readonly expiresAfterMs: number;
  readonly holdTimeoutMs: number;
  readonly grantValidForMs: number;
  readonly windows?: readonly Window[];
}

export const DEFAULT_RULE_NAME = 'default';

/**
 * The rule a review names. A review that names none uses `default`; when the config defines no
 * `default`, the implicit one lets the API's admin groups approve (any one of them, defaults for the
 * rest). A named rule that is not configured resolves to undefined: the caller refuses (fail closed).
 */
export function resolveRule(
  config: ApprovalsConfig,
  name: string | undefined,
  adminGroups: readonly string[],
): EffectiveRule | undefined {
  const key = name ?? DEFAULT_RULE_NAME;
  const r = config.rules[key];
  if (!r) {
    if (key !== DEFAULT_RULE_NAME) return undefined;
    return {
      name: key,
      approverGroups: adminGroups,
      mode: 'any',
      minApprovals: 1,
      expiresAfterMs: 30 * 60_000,
      holdTimeoutMs: 5 * 60_000,
      grantValidForMs: 24 * 3_600_000,
    };
  }
  return {
    name: key,
    approverGroups: r.approverGroups,
    mode: r.mode,
    minApprovals: r.minApprovals,
    expiresAfterMs: toMs(r.expiresAfter),
    holdTimeoutMs: toMs(r.holdTimeout),
    grantValidForMs: toMs(r.grantValidFor),
    ...(r.windows ? { windows: r.windows } : {}),
  };
}

export function samePrincipal(
  a: Pick<ApprovalPrincipal, 'subject' | 'issuer'>,
  b: Pick<ApprovalPrincipal, 'subject' | 'issuer'>,
): boolean {
  return a.subject === b.subject && a.issuer === b.issuer;
}

/**
 * The identity that made this request: the same issuer and subject, and agent or not alike. A token
 * an MCP client holds names the person who signed in for it but is an agent's (class 72): the
 * person's own requests are not its to read or wait on, nor the reverse (class 258).
 */
export function isRequesterOf(
  r: { readonly requester: Pick<ApprovalPrincipal, 'subject' | 'issuer' | 'agent'> },
  identity: Pick<ApprovalPrincipal, 'subject' | 'issuer' | 'agent'>,
): boolean {
  return samePrincipal(identity, r.requester) && identity.agent === r.requester.agent;
}

/**
 * The same principal, or two identities naming the same person (Identity.person): one approver. A
 * person is only ever used to refuse, so an identity that names none is only itself.
 */
export function samePerson(
  a: Pick<ApprovalPrincipal, 'subject' | 'issuer' | 'person'>,
  b: Pick<ApprovalPrincipal, 'subject' | 'issuer' | 'person'>,
): boolean {
  return samePrincipal(a, b) || (a.person !== undefined && a.person === b.person);
}

/**
 * Why this approver may not decide this request, or undefined when they may. Agents never approve;
 * nobody approves their own request; only members of the rule's approver groups approve.
 */
export function approverRefusal(
  rule: EffectiveRule,
  requester: ApprovalPrincipal,
  approver: ApprovalPrincipal,
  now: Date,
): string | undefined {
  if (approver.agent) return 'an agent principal can never approve or deny a request';
  if (samePrincipal(requester, approver)) return 'you cannot approve or deny your own request';
  if (samePerson(requester, approver))
    return `you cannot approve or deny your own request (it was made as ${requester.subject} (${requester.issuer}), the same person: ${approver.person})`;
  if (!approver.groups.some((g) => rule.approverGroups.includes(g))) {
    return `approval rule ${rule.name} needs an approver in one of: ${rule.approverGroups.join(', ')}`;
  }
  if (rule.windows && !inWindows(rule.windows, now)) {
    return `approval rule ${rule.name} allows decisions only inside its time windows (${describeWindows(rule.windows)})`;
  }
  return undefined;
}

/**
 * Denied as soon as any eligible approver denies. Approved when `any`: at least minApprovals
 * approvals from distinct approvers; `all`: besides that, each approver group approved by a person of
 * its own — one approver who belongs to several groups stands for one of them, not for all
 * (docs/security.md, class 122).
 */
export function tally(
  rule: EffectiveRule,
  votes: readonly ApprovalVote[],
): 'approved' | 'denied' | 'pending' {
  if (votes.some((v) => v.vote === 'deny')) return 'denied';
  // One approver, one approval: the store keeps one vote per principal and person already; this
  // count does not rely on it.
  const approvers: ApprovalPrincipal[] = [];
  for (const v of votes) {
    if (v.vote === 'approve' && !approvers.some((a) => samePerson(a, v.approver))) approvers.push(v.approver);
  }
  if (approvers.length < rule.minApprovals) return 'pending';
  if (rule.mode === 'all' && !eachGroupHasItsOwn(rule.approverGroups, approvers)) return 'pending';
  return 'approved';
}

/**
 * Whether every group can be given an approver of its own, no approver given to two groups (a
 * bipartite matching of groups to approvers; augmenting paths, sizes are a handful).
 */
function eachGroupHasItsOwn(groups: readonly string[], approvers: readonly ApprovalPrincipal[]): boolean {
  const wanted = [...new Set(groups)];
  if (approvers.length < wanted.length) return false;
  const holder: (number | undefined)[] = approvers.map(() => undefined);
  const place = (g: number, seen: boolean[]): boolean => {
    for (let a = 0; a < approvers.length; a++) {
      if (seen[a] || !approvers[a]!.groups.includes(wanted[g]!)) continue;
      seen[a] = true;
      const other = holder[a];
      if (other === undefined || place(other, seen)) {
        holder[a] = g;
        return true;
      }
    }
    return false;
  };
  return wanted.every((_, g) =>
    place(
      g,
      approvers.map(() => false),
    ),
  );
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function localTime(now: Date, timeZone: string): { day: number; minutes: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = DAYS.indexOf(get('weekday').toLowerCase().slice(0, 3) as (typeof DAYS)[number]);
  return { day, minutes: Number(get('hour')) * 60 + Number(get('minute')) };
}

function hm(s: string): number {
  const [h, m] = s.split(':');
  return Number(h) * 60 + Number(m);
}

/** True when `now` falls in any window. A window whose end is not after its start runs past midnight. */
export function inWindows(windows: readonly Window[], now: Date): boolean {
  return windows.some((w) => {
    const { day, minutes } = localTime(now, w.timeZone);
    const start = hm(w.start);
    const end = hm(w.end);
    const dayOk = (d: number) => w.days.includes(DAYS[(d + 7) % 7]!);
    if (end > start) return dayOk(day) && minutes >= start && minutes < end;
    return (dayOk(day) && minutes >= start) || (dayOk(day - 1) && minutes < end);
  });
}

export function describeWindows(windows: readonly Window[]): string {
  return windows.map((w) => `${w.days.join(',')} ${w.start}-${w.end} ${w.timeZone}`).join('; ');
}
