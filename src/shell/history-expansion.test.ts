// Real bash is the judge of which typed lines it history-expands: each line is read by bash with
// history and `set -H` on (as an interactive shell has them) after an earlier line, and again with
// `set +H`; when the two runs differ, bash expanded something, and historyExpansionIn must have said so
// (docs/security.md, class 198).

import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { historyExpansionIn } from './history-expansion.js';
import { classifyShellCommand } from './index.js';

/** Whether bash, reading `line` after an earlier line with history expansion on, changed it. */
function bashExpands(line: string): boolean {
  const script = (h: string): string => `set -o history ${h}\necho 'a/;echo RAN;#' seed\n${line}\n`;
  const run = (h: string): string => {
    const r = spawnSync('/bin/bash', ['--norc', '--noprofile'], {
      input: script(h),
      env: { PATH: '/nonexistent', HOME: '/nonexistent' },
      encoding: 'utf8',
      timeout: 5000,
    });
    return `${r.stdout}\u0000${r.stderr.replaceAll(/line \d+/g, 'line N')}`;
  };
  const plain = run('+H');
  if (run('-H') === plain) return false;
  // A line whose output changes from run to run (`$$`) says nothing either way: asked only when the
  // two differ (most random lines are not expanded, and each run is a bash process).
  return run('+H') === plain;
}

describe('history expansion in a typed line', () => {
  it.each([
    'echo !!:1:t',
    'ls !-1:1:t',
    '!!',
    'echo x!!',
    'echo "!!:1"',
    'echo !#:0',
    'echo !$',
    'echo !echo:1:t',
    'echo !?seed?:1:t',
    '^seed^x',
    'echo x!"y"',
  ])('%s is expanded by bash, and found', (line) => {
    expect(bashExpands(line), 'bash expanded it').toBe(true);
    expect(historyExpansionIn(line)).toBeDefined();
  });

  it.each([
    'echo hi',
    '[ a != b ]',
    '! false',
    '[[ ! -f x ]]',
    'echo $!',
    'x=1; echo ${!x}',
    'ls [!a]*',
    "echo '!!'",
    'echo \\!\\!',
    'echo "hi!"',
  ])('%s is not expanded, and not found', (line) => {
    expect(bashExpands(line)).toBe(false);
    expect(historyExpansionIn(line)).toBeUndefined();
  });

  it('finds every expansion bash makes in random lines', { timeout: 180_000 }, () => {
    const piece = fc.constantFrom(
      '!',
      '!!',
      '^',
      "'",
      '"',
      '\\',
      '$',
      '{',
      '}',
      '[',
      ']',
      '(',
      ')',
      '=',
      ' ',
      'a',
      ':',
      '1',
      '#',
      'echo ',
      '\n',
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 10 }), (pieces) => {
        const line = `echo ${pieces.join('')}`;
        if (bashExpands(line)) expect(historyExpansionIn(line), JSON.stringify(line)).toBeDefined();
      }),
      { numRuns: 250 },
    );
  });

  it('a typed line holding one is unknown; the same text as an exec is not', () => {
    const line = 'echo !!:1:t';
    expect(classifyShellCommand({ line, interactive: true }).categories).toContain('unknown');
    expect(classifyShellCommand({ line }).categories).toEqual(['read']);
    expect(classifyShellCommand({ line: 'echo "hi!"', interactive: true }).categories).toEqual(['read']);
  });

  it('setting histchars is unknown: it picks the character later lines expand on', () => {
    for (const line of ["histchars='%^#'", 'declare histchars=@', 'read histchars'])
      expect(classifyShellCommand({ line }).categories, line).toContain('unknown');
  });
});
