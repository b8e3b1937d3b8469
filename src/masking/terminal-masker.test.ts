import { describe, expect, it } from 'vitest';
import { createDetectorSet } from './detector-set.js';
import { escapeLengthAt, maskTerminalText, TerminalMasker } from './terminal-masker.js';

const detectors = createDetectorSet({ enabled: 'all' });
const KEY = 'AKIAIOSFODNN7EXAMPLE';

describe('terminal masking', () => {
  it('measures escape sequences', () => {
    expect(escapeLengthAt('\x1b[01;32mx', 0)).toBe(8);
    expect(escapeLengthAt('\x1b]0;title\x07x', 0)).toBe(10);
    expect(escapeLengthAt('\x1b]0;t\x1b\\x', 0)).toBe(7);
    expect(escapeLengthAt('\x1b(Bx', 0)).toBe(3);
    expect(escapeLengthAt('x', 0)).toBe(0);
  });

  it('masks a secret split by colour codes and keeps every escape sequence', () => {
    const text = `key=\x1b[1m${KEY.slice(0, 8)}\x1b[0m${KEY.slice(8)}\r\n`;
    const r = maskTerminalText(text, detectors)!;
    expect(r.text).not.toContain(KEY.slice(8));
    expect(r.text).toContain('\x1b[1m');
    expect(r.text).toContain('\x1b[0m');
    expect(r.text).toMatch(/REDACTED/);
    expect(r.text.endsWith('\r\n')).toBe(true);
    expect(Object.values(r.counts).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('leaves clean output alone', () => {
    expect(maskTerminalText('\x1b[01;34mdir\x1b[0m  file.txt\r\n', detectors)).toBeNull();
  });

  it('masks a stream line by line and holds an unfinished line until flushed', () => {
    const m = new TerminalMasker(detectors);
    expect(m.push(Buffer.from(`key=${KEY.slice(0, 6)}`))).toBe('');
    const out = m.push(Buffer.from(`${KEY.slice(6)}\nprompt$ `));
    expect(out).not.toContain(KEY);
    expect(m.flush()).toBe('prompt$ ');
  });
});
