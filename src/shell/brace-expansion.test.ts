// Brace expansion done from the text as bash does it (shell-words.ts braceExpand): the words rules
// judge are the words bash passes (docs/security.md class 163). Checked against real bash.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { braceExpand, MAX_BRACE_WORDS, type WordValue } from './shell-words.js';

const word = (text: string): WordValue => ({ value: text, dynamic: false, expands: true, text });
const values = (text: string): string[] | undefined => braceExpand(word(text))?.map((w) => w.value);
const hasBash = spawnSync('bash', ['-c', 'true']).status === 0;

describe('braceExpand', () => {
  it.each([
    ['-{delete,true}', ['-delete', '-true']],
    ['{-o,.bashrc}', ['-o', '.bashrc']],
    [
      '{--checkpoint=1,--checkpoint-action=exec=touch\\ /tmp/x}',
      ['--checkpoint=1', '--checkpoint-action=exec=touch /tmp/x'],
    ],
    ['a{b,c}d', ['abd', 'acd']],
    ['{a,{b,c}}', ['a', 'b', 'c']],
    ['{a,b}{1,2}', ['a1', 'a2', 'b1', 'b2']],
    ['{1..3}', ['1', '2', '3']],
    ['{3..1}', ['3', '2', '1']],
    ['{01..10..3}', ['01', '04', '07', '10']],
    ['{-2..1}', ['-2', '-1', '0', '1']],
    ['{a..e..2}', ['a', 'c', 'e']],
    ['x{,y}', ['x', 'xy']],
    ['{,}', []],
    ['""{,}', ['', '']],
    // Quoted or escaped braces and commas are characters.
    ["'{a,b}'", ['{a,b}']],
    ['"{a,b}"', ['{a,b}']],
    ['\\{a,b\\}', ['{a,b}']],
    ['{a\\,b}', ['{a,b}']],
    ["{a,'b,c'}", ['a', 'b,c']],
    ['{a}', ['{a}']],
    ['{}', ['{}']],
    ['{a}{b,c}', ['{a}b', '{a}c']],
    ['HEAD@{1}', ['HEAD@{1}']],
    ['{1..a}', ['{1..a}']],
  ])('%j is %j', (text, expected) => {
    expect(values(text)).toEqual(expected);
  });

  it('a word with a part made at run time is left to be judged as any words', () => {
    expect(braceExpand({ ...word('{-o,$x}'), dynamic: true })).toBeUndefined();
    expect(braceExpand({ ...word('{a,`id`}'), dynamic: true })).toBeUndefined();
    // `${x}` opens no brace expansion: the word is left as it is.
    const param = { value: '${x}', dynamic: true, expands: false, text: '${x}' };
    expect(braceExpand(param)).toEqual([param]);
    const quoted = { ...param, text: '"${x}"' };
    expect(braceExpand(quoted)).toEqual([quoted]);
  });

  it('does not make more than MAX_BRACE_WORDS words, nor letters between which lie other characters', () => {
    expect(values('{1..100000}')).toBeUndefined();
    expect(values('{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}')).toBeUndefined();
    expect(values(`{1..${MAX_BRACE_WORDS}}`)).toHaveLength(MAX_BRACE_WORDS);
    expect(values('{Z..a}')).toBeUndefined();
  });

  it('keeps a word a rule made dynamic (find -exec {}) dynamic', () => {
    const made = { value: '{}', dynamic: true, expands: true, text: '{}' };
    expect(braceExpand(made)).toEqual([made]);
    expect(braceExpand({ ...made, text: '{a,b}{}' })?.every((w) => w.dynamic)).toBe(true);
  });

  it.skipIf(!hasBash)('gives the words real bash gives, for random words', () => {
    const pieces = [
      '{',
      '}',
      ',',
      'a',
      '-',
      '.',
      '..',
      '1',
      '0',
      "'",
      '"',
      '\\',
      'x{',
      '}y',
      '{1..3}',
      '{a..c}',
      '{}',
      "'a,b'",
      '"{"',
      '\\{',
      '\\,',
      '{-o,x}',
      '--',
      '{05..1..2}',
      '{x,y}',
      '*',
    ];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const words: string[] = [];
    while (words.length < 400) {
      let w = '';
      for (let i = 1 + rnd(8); i > 0; i--) w += pieces[rnd(pieces.length)];
      // A word with no brace is given back as it was: nothing to compare.
      if (w.includes('{')) words.push(w);
    }
    // One bash: each word through eval in a directory with no files (globs stay as written), the
    // words it makes NUL-separated, each word's list ended by \x01; a word bash refuses prints \x02.
    const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const script = words
      .map(
        (w) =>
          `(eval ${q(`set -- ${w}`)} 2>/dev/null && for a; do printf '%s\\0' "$a"; done || printf '\\2'); printf '\\1'`,
      )
      .join('\n');
    const r = spawnSync('bash', ['-c', `cd "$(mktemp -d)" && ${script}`], { encoding: 'utf8' });
    const out = r.stdout.split('\x01').slice(0, words.length);
    let compared = 0;
    for (let i = 0; i < words.length; i++) {
      const got = out[i]!;
      if (got.includes('\x02')) continue;
      const mine = values(words[i]!);
      if (mine === undefined) continue;
      compared++;
      expect(mine, JSON.stringify(words[i])).toEqual(got === '' ? [] : got.split('\0').slice(0, -1));
    }
    expect(compared).toBeGreaterThan(150);
  });
});
