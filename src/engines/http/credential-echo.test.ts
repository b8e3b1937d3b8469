import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { CredentialScrub, credentialForms, scrubHeaders, scrubText } from './credential-echo.js';

const SECRET = 'tok/en+secret"value';

describe('credential echo', () => {
  it('has the escaped and encoded forms, longest first, and none too short to mean anything', () => {
    const forms = credentialForms([SECRET, 'abc', '']).map(String);
    expect(forms).toContain(SECRET);
    expect(forms).toContain('tok/en+secret\\"value');
    expect(forms).toContain('tok\\/en+secret\\"value');
    expect(forms).toContain(encodeURIComponent(SECRET));
    expect(forms).not.toContain('abc');
    for (let i = 1; i < forms.length; i++)
      expect(forms[i - 1]!.length).toBeGreaterThanOrEqual(forms[i]!.length);
  });

  it('replaces every form in text and headers, keeping the length', () => {
    const forms = credentialForms([SECRET]);
    const text = `a ${SECRET} b ${JSON.stringify(SECRET)} c ${encodeURIComponent(SECRET)}`;
    const r = scrubText(text, forms);
    expect(r.n).toBe(3);
    expect(Buffer.byteLength(r.text)).toBe(Buffer.byteLength(text));
    expect(r.text).not.toContain('secret');
    const headers: Record<string, string | string[]> = { a: `x ${SECRET}`, b: ['ok', SECRET] };
    expect(scrubHeaders(headers, forms)).toBe(2);
    expect(JSON.stringify(headers)).not.toContain('secret');
  });

  it('finds a form split between any two chunks of a stream', async () => {
    const forms = credentialForms([SECRET]);
    const whole = Buffer.from(`head ${SECRET} middle ${SECRET}`);
    for (let at = 1; at < whole.length; at++) {
      const scrub = new CredentialScrub(forms);
      const out = await buffer(Readable.from([whole.subarray(0, at), whole.subarray(at)]).pipe(scrub));
      expect(out.length).toBe(whole.length);
      expect(out.toString()).not.toContain('secret');
      expect(out.toString().startsWith('head ')).toBe(true);
      expect(scrub.found).toBe(2);
    }
  });

  it('holds back only a tail that could start a form', async () => {
    const scrub = new CredentialScrub(credentialForms([SECRET]));
    const seen: Buffer[] = [];
    scrub.on('data', (c: Buffer) => seen.push(c));
    scrub.write(Buffer.from('plain text, nothing held'));
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(seen).toString()).toBe('plain text, nothing held');
    scrub.write(Buffer.from('then tok/e'));
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(seen).toString()).toBe('plain text, nothing heldthen ');
    scrub.end();
  });
});
