// One person known under several addresses (`approvals.people`): the OIDC provider says
// alice@corp.example, the SAML IdP alice@corp-sso.example. Persons are only ever used to refuse
// (a second vote, approving one's own request), so mapping addresses onto one person can only
// make an approval harder to get, never easier. Pure: the approval service applies it.

import { normalisePerson } from '../identity/claim-mapping.js';

/** Canonical person (an address, or `@domain` for a whole domain) → its other addresses (or `@domains`). */
export type PersonAliases = Readonly<Record<string, readonly string[]>>;

function domainOf(person: string): { local: string; domain: string } | undefined {
  const at = person.lastIndexOf('@');
  return at > 0 ? { local: person.slice(0, at), domain: person.slice(at) } : undefined;
}

/**
 * The person `person` is, under `people`: an address listed as another's alias is that one; an
 * address at an aliased `@domain` is the same local part at the canonical domain (then an address
 * alias of that applies too). Compared lower-cased, as identity providers' persons are.
 */
export function canonicalPerson(
  person: string | undefined,
  people: PersonAliases | undefined,
): string | undefined {
  const p = normalisePerson(person);
  if (p === undefined || !people) return p;
  const exact = new Map<string, string>();
  const domains = new Map<string, string>();
  for (const [canonical, aliases] of Object.entries(people)) {
    const c = canonical.toLowerCase();
    for (const a of aliases) (a.startsWith('@') ? domains : exact).set(a.toLowerCase(), c);
  }
  const direct = exact.get(p);
  if (direct !== undefined) return direct;
  const parts = domainOf(p);
  const domain = parts ? domains.get(parts.domain) : undefined;
  if (!parts || domain === undefined) return p;
  const moved = `${parts.local}${domain}`;
  return exact.get(moved) ?? moved;
}

/**
 * Why `people` cannot be read unambiguously (an alias under two persons, an alias that is itself a
 * person, a domain mapped to an address), or undefined when it can.
 */
export function personAliasesProblem(people: PersonAliases): string | undefined {
  const owner = new Map<string, string>();
  const canonicals = new Set(Object.keys(people).map((k) => k.toLowerCase()));
  for (const [canonical, aliases] of Object.entries(people)) {
    const c = canonical.toLowerCase();
    for (const alias of aliases) {
      const a = alias.toLowerCase();
      if (a.startsWith('@') !== c.startsWith('@'))
        return `${alias}: a @domain maps to a @domain, an address to an address (under ${canonical})`;
      if (canonicals.has(a)) return `${alias} is a person of its own and an alias of ${canonical}`;
      const prev = owner.get(a);
      if (prev !== undefined && prev !== c) return `${alias} is listed under both ${prev} and ${canonical}`;
      owner.set(a, c);
    }
  }
  return undefined;
}
