// Turns verified JWT claims into Identity fields: subject, groups and the agent flag, by configured
// claim names. It sees only claims that were already verified; it must not accept odd shapes silently.

import { authFailed, REFUSAL } from './auth-refusal.js';

/**
 * Reads a claim by name. A name present verbatim wins (URIs such as "https://example.com/groups"
 * contain dots); otherwise the name is a dot path into nested objects ("realm_access.roles").
 */
export function readClaim(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let cur: unknown = claims;
  for (const part of name.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, part))
      return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const MAX_GROUPS = 1000;

/**
 * Groups from a claim value: an array of strings, or one string separated by spaces and/or commas
 * (some providers put roles in a `scope`-like string). Absent means no groups. Anything else —
 * numbers, objects, mixed arrays — is refused rather than guessed at (fail closed).
 */
export function groupsFromClaim(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  let items: string[];
  if (typeof value === 'string') {
    items = value.split(/[\s,]+/);
  } else if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) {
    items = value.map((v) => v.trim());
  } else {
    throw authFailed(REFUSAL.badGroups);
  }
  const groups = [...new Set(items.filter((g) => g !== ''))];
  if (groups.length > MAX_GROUPS) throw authFailed(REFUSAL.badGroups);
  return groups;
}

/**
 * The agent flag: true when the claim equals the configured value, or is an array containing it
 * (e.g. `roles: ["ai-agent"]`). A boolean `true` also matches the string "true", as some providers
 * can only emit string claims.
 */
export function agentFromClaim(value: unknown, expected: string | boolean): boolean {
  const matches = (v: unknown): boolean =>
    v === expected || (typeof expected === 'boolean' && typeof v === 'string' && v === String(expected));
  if (Array.isArray(value)) return value.some(matches);
  return matches(value);
}

export function subjectFromClaim(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw authFailed(REFUSAL.noSubject);
  return value;
}

/** What a person's name is normalised to: trimmed and lower-cased (an e-mail's case does not name another person). */
export function normalisePerson(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const person = value.trim().toLowerCase();
  if (person === '' || person.length > 320 || /[\s\p{Cc}]/u.test(person)) return undefined;
  return person;
}

/**
 * The person behind a token: the configured claim as the provider asserts it, or else the `email`
 * claim when `email_verified` is true (an unverified address names nobody). Used only to refuse (a
 * second vote, or approving one's own request, under another identity of the same person), so a
 * claim that is absent or odd simply names no person.
 */
export function personFromClaims(
  claims: Readonly<Record<string, unknown>>,
  personClaim: string | undefined,
): string | undefined {
  if (personClaim !== undefined) return normalisePerson(readClaim(claims, personClaim));
  return emailVerified(claims) ? normalisePerson(claims.email) : undefined;
}

/** The provider vouches for the `email` claim (`email_verified` true, or the string "true"). */
export function emailVerified(claims: Readonly<Record<string, unknown>>): boolean {
  return claims.email_verified === true || claims.email_verified === 'true';
}
