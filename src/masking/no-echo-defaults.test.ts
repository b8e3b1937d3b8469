import { describe, expect, it } from 'vitest';
import { createDetectorSet } from './detector-set.js';
import { maskJsonText, maskNamedText, DEFAULT_SENSITIVE_KEYS } from './json-masking.js';
import { noEchoDefaultSpans } from './no-echo-defaults.js';

const set = createDetectorSet({ hashKey: Buffer.alloc(32, 1) });
const text = (t: string) => maskNamedText(t, set, 'redact', DEFAULT_SENSITIVE_KEYS, 'text')?.text ?? t;

describe('a NoEcho parameter default (class 368)', () => {
  it('is masked in a YAML template, block or flow, before or after NoEcho, quoted or not', () => {
    const yaml = [
      'Parameters:',
      '  A:',
      '    Default: s3cr3t-a',
      '    NoEcho: "true"',
      "  B: {Type: String, NoEcho: true, Default: 's3cr3t-b'}",
      '  C:',
      '    NoEcho: True',
      '    Default: |',
      '      s3cr3t-c',
      '    Type: String',
      '  D:',
      '    NoEcho: false',
      '    Default: plain-d',
      '  E:',
      '    Default: plain-e',
      '',
    ].join('\n');
    const out = text(yaml);
    for (const s of ['s3cr3t-a', 's3cr3t-b', 's3cr3t-c']) expect(out).not.toContain(s);
    expect(out).toContain('plain-d');
    expect(out).toContain('plain-e');
    expect(out).toContain('    Type: String');
    expect(out.match(/\[REDACTED:noecho\]/g)).toHaveLength(3);
  });

  it('is masked in a text YAML cannot read: every Default then', () => {
    const out = text('$ cat t.yaml\nParameters:\n  A:\n    NoEcho: true\n    Default: s3cr3t\n  bad: [\n');
    expect(out).not.toContain('s3cr3t');
  });

  it('is masked in a JSON template and a template summary, either member order', () => {
    const doc = JSON.stringify({
      Parameters: {
        A: { Default: 's3cr3t-a', NoEcho: true },
        B: { NoEcho: 'true', Default: ['s3cr3t-b'] },
        C: { NoEcho: false, Default: 'plain-c' },
      },
      Summary: [{ ParameterKey: 'D', DefaultValue: 's3cr3t-d', NoEcho: true }],
    });
    const out = maskJsonText(doc, set, { style: 'redact' })!.text;
    for (const s of ['s3cr3t-a', 's3cr3t-b', 's3cr3t-d']) expect(out).not.toContain(s);
    expect(out).toContain('plain-c');
  });

  it('finds nothing in a text that does not say NoEcho', () => {
    expect(noEchoDefaultSpans('Parameters:\n  A:\n    Default: x\n')).toEqual([]);
  });
});
