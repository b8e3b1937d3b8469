// The policy version: sha256 over canonical JSON of the policies and defaults, so two snapshots of
// the same rules share a version (and decision-cache entries) and any change gets a new one.

import { createHash } from 'node:crypto';

/** JSON with object keys sorted and undefined members dropped, so key order and absent fields do not matter. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function policyVersion(policies: unknown, defaults: unknown): string {
  const body = canonicalJson({ policies, defaults: defaults ?? {} });
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}
