import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { basePrefix, canonicalPath, pathUnderBase, type CanonicalPathOptions } from './canonical-path.js';

function ok(raw: string, options?: CanonicalPathOptions): string {
  const r = canonicalPath(raw, options);
  if (!r.ok) throw new Error(`refused ${raw}: ${r.reason}`);
  return r.path;
}

function reason(raw: string, options?: CanonicalPathOptions): string {
  const r = canonicalPath(raw, options);
  if (r.ok) throw new Error(`accepted ${raw} as ${r.path}`);
  return r.reason;
}

describe('canonicalPath', () => {
  it('keeps ordinary paths byte for byte', () => {
    expect(ok('/')).toBe('/');
    expect(ok('/api/v1/namespaces/default/pods')).toBe('/api/v1/namespaces/default/pods');
    expect(ok('/apis/apps/v1/deployments/')).toBe('/apis/apps/v1/deployments/');
    expect(ok("/a:b@c!$&'()*+,=")).toBe("/a:b@c!$&'()*+,=");
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
    expect(reason('/admin;x=1/users')).toMatch(/path parameter/);
    expect(reason('/admin%3bx=1')).toMatch(/encoded ";"/);
    expect(reason('/admin%3B')).toMatch(/encoded ";"/);
    expect(reason('/v1\\..\\admin\\x')).toMatch(/backslash/);
    expect(reason('/x/%2e%2e/admin')).toMatch(/encoded "\."/);
    expect(reason('/x/.%2e/admin')).toMatch(/encoded "\."/);
    expect(reason('/x/../../outside')).toMatch(/dot segment/);
    expect(reason('/%00')).toMatch(/control/);
    expect(reason('/a%7F')).toMatch(/control/);
    expect(reason('/a\u0000b')).toMatch(/control/);
  });

  it('reads S3 keys as S3 does: %5C, %25 and %3B are key characters, the rest stays refused', () => {
    const s3 = { profile: 's3' } as const;
    expect(ok('/bucket/dir/a%5Cb%25c%3bd%2B%20e', s3)).toBe('/bucket/dir/a%5Cb%25c%3Bd%2B%20e');
    const r = canonicalPath('/bucket/dir/a%5Cb%25c%3Bd%2B%20e', s3);
    expect(r.ok && r.segments).toEqual(['bucket', 'dir', 'a\\b%c;d+ e']);
    expect(ok('/bucket/folder/', s3)).toBe('/bucket/folder/');
    expect(ok('/bucket/%7Euser/%41', s3)).toBe('/bucket/~user/A');
    expect(reason('/bucket/a+b', s3)).toMatch(/raw "\+"/);
    expect(reason('/bucket/a%2Fb', s3)).toMatch(/encoded "\/"/);
    expect(reason('/bucket/%2E%2E/b', s3)).toMatch(/encoded "\."/);
    expect(reason('/bucket/public/../secret/x', s3)).toMatch(/dot segment/);
    expect(reason('/bucket//x', s3)).toMatch(/empty segment/);
    expect(reason('/bucket/a\\b', s3)).toMatch(/backslash/);
    expect(reason('/bucket/a;b', s3)).toMatch(/path parameter/);
    // The same escapes stay refused for everything else.
    expect(reason('/x/a%5Cb')).toMatch(/encoded "\\"/);
    expect(reason('/x/a%25b')).toMatch(/double encoding/);
  });

  it('composes the upstream path under the base as a string, and checks it', () => {
    expect(basePrefix('/')).toBe('');
    expect(basePrefix('/api')).toBe('/api');
    expect(basePrefix('/api/')).toBe('/api');
    expect(basePrefix('/a%2Fb')).toBeUndefined();
    expect(basePrefix('/a/../b')).toBeUndefined();
    const p = canonicalPath('/admin/x');
    if (!p.ok) throw new Error('refused');
    expect(pathUnderBase('/api', p)).toBe('/api/admin/x');
    expect(pathUnderBase('', p)).toBe('/admin/x');
    const root = canonicalPath('/');
    if (!root.ok) throw new Error('refused');
    expect(pathUnderBase('/api', root)).toBe('/api/');
    // A forged CanonicalPath (not from canonicalPath) is caught by the check.
    expect(pathUnderBase('/api', { ...p, path: '/../outside' })).toBeUndefined();
    expect(pathUnderBase('/api', { ...p, path: '\\..\\x' })).toBeUndefined();
  });

  it('decodes each segment as UTF-8, refusing invalid sequences (property, against Buffer)', () => {
    const piece = fc.constantFrom(
      'a',
      'Z',
      '~',
      '%41',
      '%7E',
      '%C3%A9',
      '%E2%82%AC',
      '%C3',
      '%FF',
      '%80',
      '%F0%9F%98%80',
      '/',
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 12 }), (parts) => {
        const raw = `/${parts.join('')}`;
        const r = canonicalPath(raw);
        const rawSegments = raw.slice(1).split('/');
        const bytes = rawSegments.map((seg) =>
          Buffer.from(
            seg.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          ),
        );
        const valid = bytes.every((b) => Buffer.from(b.toString('utf8'), 'utf8').equals(b));
        const empty = rawSegments.slice(0, -1).some((seg) => seg === '') || raw === '/';
        if (empty) return;
        if (!valid) {
          expect(r.ok).toBe(false);
          return;
        }
        expect(r.ok).toBe(true);
        if (r.ok)
          expect(r.segments).toEqual(
            bytes.map((b) => b.toString('utf8')).filter((_, i, a) => i < a.length - 1 || a[i] !== ''),
          );
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent, and its segments never contain "/" or dot segments (property)', () => {
    const chars = fc.constantFrom(
      'a',
      'Z',
      '0',
      '-',
      '.',
      '_',
      '~',
      '/',
      '%',
      '2',
      'F',
      'e',
      '\\',
      ':',
      ' ',
      ';',
      '3',
      'B',
      '5',
      'C',
      '+',
    );
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 40 }), fc.constantFrom('strict', 's3'), (parts, profile) => {
        const options = { profile } as const;
        const r = canonicalPath(`/${parts.join('')}`, options);
        if (!r.ok) return;
        expect(ok(r.path, options)).toBe(r.path);
        // What WHATWG URL would make of it is the same path: nothing left for it to resolve or rewrite.
        expect(new URL(`http://h/api${r.path}`).pathname).toBe(`/api${r.path}`);
        for (const s of r.segments) {
          expect(s.includes('/')).toBe(false);
          expect(s === '.' || s === '..').toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });
});
