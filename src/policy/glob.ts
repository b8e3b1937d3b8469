// Glob and name patterns for policy rules: `*` wildcards over statement kinds, `schema.name` table and
// function patterns, AWS `service:Operation` names. Pure string matching; knows nothing of rules.

/** A compiled glob. Inputs must already be lower-case: every policy name match is case-insensitive. */
export type Glob = (lowerCaseInput: string) => boolean;

/** `*` matches any run of characters (including none); everything else is literal. Case-insensitive. */
export function compileGlob(pattern: string): Glob {
  const p = pattern.toLowerCase();
  if (p === '*') return () => true;
  const stars = p.split('*').length - 1;
  if (stars === 0) return (s) => s === p;
  // The common shapes (`prefix*`, `*suffix`, `*part*`) without a regular expression: decisions are hot.
  if (stars === 1 && p.endsWith('*')) {
    const prefix = p.slice(0, -1);
    return (s) => s.startsWith(prefix);
  }
  if (stars === 1 && p.startsWith('*')) {
    const suffix = p.slice(1);
    return (s) => s.endsWith(suffix);
  }
  if (stars === 2 && p.startsWith('*') && p.endsWith('*')) {
    const part = p.slice(1, -1);
    return (s) => s.includes(part);
  }
  const source = p
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`, 's');
  return (s) => re.test(s);
}

/** A reference to a named object as a statement gives it: schema undefined when unqualified. */
export interface NameRef {
  readonly schema?: string | undefined;
  readonly name: string;
}

/** A `name` or `schema.name` rule pattern, each part a glob. No schema part means any schema. */
export interface NamePattern {
  readonly raw: string;
  readonly schema: Glob | undefined;
  readonly name: Glob;
}

export function compileNamePattern(raw: string): NamePattern {
  const parts = raw.split('.');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new Error(`bad name pattern "${raw}": use "name" or "schema.name"`);
  }
  if (parts.length === 2) return { raw, schema: compileGlob(parts[0]!), name: compileGlob(parts[1]!) };
  return { raw, schema: undefined, name: compileGlob(parts[0]!) };
}

/**
 * Where an unqualified name may live. PostgreSQL resolves unqualified names through search_path at
 * run time, which the gateway does not see; the policy assumes a search path per connection
 * (default `public`, with pg_catalog implicitly searched first, as PostgreSQL does).
 */
export interface UnqualifiedResolution {
  /** Schemas an unqualified name could resolve to: a restriction matches if any of them matches. */
  readonly restrict: readonly string[];
  /** The one schema a grant assumes: the first non-catalog schema on the path. */
  readonly grant: string;
}

export function resolutionFor(searchPath: readonly string[] | undefined): UnqualifiedResolution {
  const path = (searchPath === undefined || searchPath.length === 0 ? ['public'] : searchPath).map((s) =>
    s.toLowerCase(),
  );
  const restrict = ['pg_catalog', ...path.filter((s) => s !== 'pg_catalog')];
  return { restrict, grant: path.find((s) => s !== 'pg_catalog') ?? 'public' };
}

export const DEFAULT_RESOLUTION: UnqualifiedResolution = resolutionFor(undefined);

/**
 * Restriction match (deny and review triggers): an unqualified reference matches if the pattern's
 * schema matches any schema it could resolve to (`pg_authid` is pg_catalog.pg_authid).
 */
export function restrictionMatch(pattern: NamePattern, ref: NameRef, res: UnqualifiedResolution): boolean {
  if (!pattern.name(ref.name)) return false;
  if (pattern.schema === undefined) return true;
  if (ref.schema !== undefined) return pattern.schema(ref.schema);
  for (const s of res.restrict) if (pattern.schema(s)) return true;
  return false;
}

/** Grant match (allow and review coverage): an unqualified reference is taken to be in the grant schema. */
export function grantMatch(pattern: NamePattern, ref: NameRef, res: UnqualifiedResolution): boolean {
  if (!pattern.name(ref.name)) return false;
  if (pattern.schema === undefined) return true;
  return pattern.schema(ref.schema ?? res.grant);
}

/** Splits a statement's function name (`pg_catalog.pg_sleep`, `lower`) into a lower-case NameRef. */
export function functionRef(qualified: string): NameRef {
  const lower = qualified.toLowerCase();
  const dot = lower.lastIndexOf('.');
  return dot < 0 ? { name: lower } : { schema: lower.slice(0, dot), name: lower.slice(dot + 1) };
}

/**
 * `*` matches any run of characters (including none, `/` and `:` too, as in IAM's resource ARNs);
 * everything else is literal and case-sensitive (S3 keys are; a role of another case is not the same
 * name to a rule).
 */
export function compileCaseSensitiveGlob(pattern: string): (input: string) => boolean {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (s) => s === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`, 's');
  return (s) => re.test(s);
}
