import { describe, expect, it } from 'vitest';
import { createDetectorSet } from './detector-set.js';
import type { Finding } from './finding.js';
import { scanUrlCredentials } from './url-credentials.js';

const found = (text: string): string[] => {
  const out: Finding[] = [];
  scanUrlCredentials(text, out);
  return out.map((f) => f.text);
};

describe('url_password: the password in a URL userinfo (class 263)', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/app', ['s3cret']],
    ['DATABASE_URL=mysql://root:pw-1@db/x', ['pw-1']],
    ['redis://:r3dis@cache:6379/0', ['r3dis']],
    ['mongodb+srv://u:p@ss@c.example.net/db', ['p@ss']],
    ['amqp://guest:a:b/c@mq', ['a:b/c']],
    ['{"dsn":"postgres:\\/\\/a:jsPw@h\\/x"}', ['jsPw']],
    ['see x://y/postgres://u:inner@h/db', ['inner']],
    ['"https://bob:pw@git.example.com/r.git" and https://ann:two@h2', ['pw', 'two']],
  ])('%s', (text, expected) => {
    expect(found(text)).toEqual(expected);
  });

  it.each([
    'https://example.com/a?b=1',
    'ssh://git@github.com/org/repo.git',
    'https://user:@host/x',
    'https://example.com/a:b@c',
    'http://localhost:8080/x?email=a@b.com',
    'git@github.com:org/repo.git',
    'mailto:ann@example.com',
    'postgres://app:[REDACTED:url_password]@db/x',
    'postgres://app:hmac:0123456789abcdef@db/x',
    'postgres://app:******cret@db/x',
  ])('finds nothing in %s', (text) => {
    expect(found(text)).toEqual([]);
  });

  it('masks the password alone in every style, and its output is stable', () => {
    const set = createDetectorSet({ hashKey: Buffer.alloc(16, 7) });
    const text = 'DATABASE_URL=postgres://app:Sup3r-s3cret@db.internal:5432/app';
    expect(set.mask(text, 'redact', 'text')?.text).toBe(
      'DATABASE_URL=postgres://app:[REDACTED:url_password]@db.internal:5432/app',
    );
    expect(set.mask(text, 'partial', 'text')?.text).toBe(
      'DATABASE_URL=postgres://app:*****-**cret@db.internal:5432/app',
    );
    expect(set.mask(text, 'hash', 'text')?.text).toMatch(
      /^DATABASE_URL=postgres:\/\/app:hmac:[0-9a-f]{16}@db\.internal:5432\/app$/,
    );
    // A raw `@` in the password is the password's (the host follows the last one), not an email address.
    expect(set.mask('mongodb://u:p@ss@c.example.net/db', 'redact', 'text')?.text).toBe(
      'mongodb://u:[REDACTED:url_password]@c.example.net/db',
    );
  });

  it('reads each character a bounded number of times (no finding past a blank)', () => {
    const text = `${'://a:'.repeat(50_000)} ${'x://u:p@'.repeat(50_000)}`;
    const out: Finding[] = [];
    scanUrlCredentials(text, out);
    for (const f of out) expect(f.text).not.toMatch(/\s/);
    expect(out.length).toBe(1);
  });
});
