import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { statementHash } from './statement-hash.js';

const base = {
  connection: 'prod',
  subject: 'claude',
  issuer: 'gatehouse',
  text: 'DELETE FROM t WHERE id = $1',
  params: ['7'],
};

describe('statementHash', () => {
  it('is the documented SHA-256 over the canonical JSON array', () => {
    const doc = JSON.stringify([
      'gatehouse-statement-v1',
      'prod',
      'gatehouse',
      'claude',
      'DELETE FROM t WHERE id = $1',
      ['7'],
    ]);
    expect(statementHash(base)).toBe(createHash('sha256').update(doc).digest('hex'));
  });

  it('changes with every part of the action', () => {
    const h = statementHash(base);
    expect(statementHash({ ...base, connection: 'staging' })).not.toBe(h);
    expect(statementHash({ ...base, subject: 'alice' })).not.toBe(h);
    expect(statementHash({ ...base, issuer: 'https://idp' })).not.toBe(h);
    expect(statementHash({ ...base, text: 'DELETE FROM t WHERE id = $1 ' })).not.toBe(h);
    expect(statementHash({ ...base, params: ['8'] })).not.toBe(h);
    expect(statementHash({ ...base, params: [null] })).not.toBe(h);
    expect(statementHash({ ...base, params: ['null'] })).not.toBe(statementHash({ ...base, params: [null] }));
  });

  it('cannot be confused by moving text between fields', () => {
    expect(statementHash({ ...base, subject: 'a","b', issuer: 'c' })).not.toBe(
      statementHash({ ...base, subject: 'a', issuer: 'b","c' }),
    );
  });

  it('treats the simple protocol (no params) as an empty list', () => {
    expect(statementHash({ ...base, params: undefined })).toBe(statementHash({ ...base, params: [] }));
  });
});
