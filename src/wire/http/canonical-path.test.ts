import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalPath } from './canonical-path.js';

function ok(raw: string): string {
  const r = canonicalPath(raw);
  if (!r.ok) throw new Error(`refused ${raw}: ${r.reason}`);
  return r.path;
}

function reason(raw: string): string {
  const r = canonicalPath(raw);
  if (r.ok) throw new Error(`accepted ${raw} as ${r.path}`);
  return r.reason;
}

describe('canonicalPath', () => {
  it('keeps ordinary paths byte for byte', () => {
    expect(ok('/')).toBe('/');
    expect(ok('/api/v1/namespaces/default/pods')).toBe('/api/v1/namespaces/default/pods');
    expect(ok('/apis/apps/v1/deployments/')).toBe('/apis/apps/v1/deployments/');
    expect(ok("/a:b@c!$&'()*+,;=")).toBe("/a:b@c!$&'()*+,;=");
  });

  it('decodes escaped unreserved characters and upper-cases the other escapes', () => {
    expect(ok('/api/v1/namespaces/%64efault/pods')).toBe('/api/v1/namespaces/default/pods');
    expect(ok('/x/a%20b/%c3%a9')).toBe('/x/a%20b/%C3%A9');
    const r = canonicalPath('/x/a%20b/%C3%A9');
    expect(r.ok && r.segments).toEqual(['x', 'a b', 'é']);
    expect(r.ok && r.decoded).toBe('/x/a b/é');
  });

  it('refuses the ambiguous forms with a reason', () => {
    expect(reason('/api\\v1')).toMatch(/backslash/);
    expect(reason('/api/v1/namespaces%2Fprod')).toMatch(/encoded "\/"/);
    expect(reason('/api/v1/namespaces%2fprod')).toMatch(/encoded "\/"/);
    expect(reason('/api/%5Cv1')).toMatch(/encoded "\\"/);
    expect(reason('/api/%2E%2E/secret')).toMatch(/encoded "\."/);
    expect(reason('/api/%252F')).toMatch(/double encoding/);
    expect(reason('/api/./v1')).toMatch(/dot segment/);
    expect(reason('/api/v1/..')).toMatch(/dot segment/);
    expect(reason('/api//v1')).toMatch(/empty segment/);
    expect(reason('//api')).toMatch(/empty segment/);
    expect(reason('/api/v1/%0a')).toMatch(/control/);
    expect(reason('/api/v1/%zz')).toMatch(/malformed/);
    expect(reason('/api/v1/%4')).toMatch(/malformed/);
    expect(reason('/api/é')).toMatch(/non-ASCII/);
    expect(reason('/api/v1 x')).toMatch(/space/);
    expect(reason('/api/%ff')).toMatch(/UTF-8/);
    expect(reason('api')).toMatch(/start with/);
    expect(reason('/a?b')).toMatch(/query/);
    expect(reason('/a"b')).toMatch(/percent-encoded/);
  });

  it('is idempotent, and its segments never contain "/" or dot segments (property)', () => {
    const chars = fc.constantFrom('a', 'Z', '0', '-', '.', '_', '~', '/', '%', '2', 'F', 'e', '\\', ':', ' ');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 40 }), (parts) => {
        const r = canonicalPath(`/${parts.join('')}`);
        if (!r.ok) return;
        expect(ok(r.path)).toBe(r.path);
        for (const s of r.segments) {
          expect(s.includes('/')).toBe(false);
          expect(s === '.' || s === '..').toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });
});
