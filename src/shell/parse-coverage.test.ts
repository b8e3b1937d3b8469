// The classifier's parse must agree with bash's own reading of the line (src/shell/bash-expansions.ts):
// every command substitution bash runs is one the walk judged, every here-document ends where bash ends
// it, and redirections are judged wherever they are attached (docs/security.md classes 160-162). Real
// bash is the judge in src/shell/bash-differential.test.ts; these are the forms found, without bash.

import { describe, expect, it } from 'vitest';
import { findExpansions } from './bash-expansions.js';
import { classifyShellCommand } from './index.js';

const cats = (line: string): readonly string[] => classifyShellCommand({ line }).categories;

// Operators whose operand tree-sitter gives as one leaf, or whose backquoted operand it does.
const OPERATORS = [
  '#',
  '##',
  '%',
  '%%',
  '^',
  '^^',
  ',',
  ',,',
  '/',
  '//',
  '/#',
  '/%',
  ':-',
  '-',
  ':=',
  '=',
  ':+',
  '+',
  ':?',
  '?',
];

describe('a command substitution bash runs that the parser did not show as one is unknown (class 160)', () => {
  it.each([
    'echo ${HOME#$(rm -rf ~/victim2)}',
    'echo "${HOME:+`touch /tmp/x`}"',
    `echo "\${HOME:+'$(touch /tmp/x)'}"`,
    ': ${HOME%$(touch /tmp/x)}',
    'echo ${x##`touch /tmp/x`}',
    'echo ${x/`touch /tmp/x`}',
    'echo ${x:-`touch /tmp/x`}',
    'echo ${x:-${y#`touch /tmp/x`}}',
    // bash finds a process substitution in an unquoted operand as it expands it.
    'echo ${x:-<(touch /tmp/x)}',
    'export y=${HOME#$(touch /tmp/x)}',
    'y=${HOME#$(touch /tmp/x)} ls',
    'local y=${HOME#$(touch /tmp/x)} 2>/dev/null',
    'ls > ${HOME#$(touch /tmp/x)}/dev/null',
    'x=1; echo $((x))${x#$(touch /tmp/x)}',
    'echo "$(( 1 ))${HOME%`touch /tmp/x`}"',
    'cat <<EOF\n${HOME#$(touch /tmp/x)}\nEOF',
    'cat <<EOF\n${HOME:+`touch /tmp/x`}\nEOF',
    // tree-sitter reads no backquote in a here-document body…
    'cat <<EOF\n`touch /tmp/x`\nEOF',
    // …and reads `ls -a` `touch x` as one substitution holding a word "` `".
    'echo `ls -a` `touch /tmp/x`',
    // the same inside strings parsed again
    `sh -c 'echo \${HOME#$(touch /tmp/x)}'`,
    `bash -c 'cat <<EOF\n\`touch /tmp/x\`\nEOF'`,
  ])('%j', (line) => {
    expect(cats(line)).toContain('unknown');
  });

  it.each(OPERATORS)("${x%s…} with $(…), a backquote or '$(…)', quoted or not", (op) => {
    for (const operand of ['$(touch /tmp/x)', '`touch /tmp/x`', "'$(touch /tmp/x)'", 'a/$(touch /tmp/x)'])
      for (const word of [`\${HOME${op}${operand}}`, `"\${HOME${op}${operand}}"`]) {
        const line = `echo ${word}`;
        const c = classifyShellCommand({ line });
        // Either the substitution was walked (touch is listed), bash does not run it, or unknown.
        const walked = c.commands.some((x) => x.name === 'touch');
        const literal = !word.startsWith('"') && operand.startsWith("'");
        if (!walked && !literal) expect(c.categories, line).toContain('unknown');
      }
  });
});

describe('a here-document bash ends elsewhere than the parser is unknown (class 161)', () => {
  it.each([
    'cat <<EOF\n\\\nEOF\ntouch /tmp/x\nEOF',
    'cat <<"EOF"\n\\\nEOF\ntouch /tmp/x\nEOF',
    'x=$(cat <<EOF\n\\\nEOF\ntouch /tmp/x\nEOF\n)',
    'cat <<EOF\n${x-\nEOF\ntouch /tmp/x\n}\nEOF',
    'cat <<EOF\na\\\nEOF\ntouch MARK\nEOF',
    'cat <<EOF\n\\\\\nEOF\ntouch MARK\nEOF',
    'cat <<-EOF\n\t\\\n\tEOF\ntouch MARK\nEOF',
    'cat <<EOF; cat <<EOG\n\\\nEOF\ntouch MARK\nEOF\ny\nEOG',
    'cat <<E"O"F\n\\\nEOF\ntouch MARK\nEOF',
    'cat <<EOF\n$(\nEOF\ntouch MARK\n)\nEOF',
    'cat <<EOF\n`\nEOF\ntouch MARK\n`\nEOF',
    'cat <<EOF\n$((\nEOF\ntouch MARK\n))\nEOF',
  ])('%j', (line) => {
    expect(cats(line)).toContain('unknown');
  });

  it('a body line that only starts with the delimiter does not end it', () => {
    // bash: the document never ends (`EOF && touch x` is part of it); tree-sitter ended it there.
    expect(cats('cat <<EOF\nbody\nEOF && touch /tmp/x')).toContain('unknown');
  });
});

describe('redirections on a function definition are judged (class 162)', () => {
  it.each([
    ["f() { echo 'touch /tmp/x'; } > .bashrc; f", 'privilege'],
    ['f() { echo x; } >> /etc/cron.d/x; f', 'privilege'],
    ['f() { :; } > notes.txt', 'write'],
    ['function f { :; } 2> notes.txt; f', 'write'],
    ['f() ( : ) &> notes.txt; f', 'write'],
    ['f() { cat; } < /dev/tcp/203.0.113.9/80; f', 'exfiltration'],
    ['f() { :; } > $(rm -rf x); f', 'destructive'],
  ])('%j is %s', (line, category) => {
    expect(cats(line)).toContain(category);
  });

  it('the body reads the redirected input', () => {
    const c = classifyShellCommand({ line: 'f() { sh; } < script.sh; f' });
    expect(c.categories).toContain('unknown');
  });
});

describe('lines whose parse agrees with bash stay judged', () => {
  it.each([
    ['echo "$(date +%F) $(hostname)"', ['read']],
    ['ls -la; echo "$(date)" `uname -r`', ['read']],
    ["cat <<'EOF'\nliteral $(whoami) `id`\nEOF", ['read']],
    ['cat <<EOF\nhello $(whoami) ${HOME}\nEOF', ['read']],
    ['cat <<-EOF\n\tindented $(date)\n\tEOF', ['read']],
    ['x=$(cat <<EOF\na $(date)\nEOF\n)', ['read']],
    ['x=$(cat <<EOF\na\nEOF)', ['read']],
    ['cat <<EOF | grep x\nx $(echo y)\nEOF', ['read']],
    [`git commit -m "$(cat <<'EOF'\nFix it\n\nit's \`code\` and $(not run)\nEOF\n)"`, ['write', 'read']],
    ['echo ${HOME:-/root} "${USER:-nobody}" "${PATH//:/ }" "${HOME#/}" "${HOME%/*}"', ['read']],
    [`echo "\${var:-'default'}" "\${x#'a'}"`, ['read']],
    ['echo ${x:-$(date)} "${x:+$(date)}" ${x:-"$(date)"}', ['read']],
    ['[[ $x =~ ^(foo|bar)$ ]] && echo yes', ['read']],
    ['diff <(sort a) <(sort b)', ['read']],
    ['echo a # $(not run) `nor this`', ['read']],
    ["echo '$(no)' \"\\$(no)\" $'\\'$(no)'", ['unknown', 'read']],
    ['echo "$(echo "$(echo "deep ${x:-z}")")"', ['read']],
    ['echo $(( 10 / 3 )) $((16#ff))', ['read']],
    ['f() { echo hi; }; f', ['read']],
    ['v=$(case x in (x) echo y;; esac); case $v in y) echo ok;; esac', ['unknown', 'read']],
  ])('%j', (line, expected) => {
    expect(cats(line)).toEqual(expected);
  });
});

describe('findExpansions reads as bash reads', () => {
  const subs = (line: string): string[] =>
    findExpansions(line).substitutions.map((s) => line.slice(s.start, s.end));

  it('finds substitutions where bash expands, not in quotes, comments or quoted bodies', () => {
    expect(subs("echo '$(a)' $'\\'$(b)' \"$(c)\" `d` <(e) >(f) # $(g)")).toEqual([
      '$(c)',
      '`d`',
      '<(e)',
      '>(f)',
    ]);
    expect(subs('echo ${x#$(a)} "${x:+`b`}" ${x:-\'$(c)\'}')).toEqual(['$(a)', '`b`']);
    expect(subs("cat <<EOF\n'$(a)' \"`b`\"\nEOF\ncat <<'EOF'\n$(c)\nEOF")).toEqual(['$(a)', '`b`']);
    expect(subs('echo `echo \\`a\\``')).toEqual(['`a\\`', '`echo \\`a\\``']);
    expect(subs('(( x << 2 )); echo $(( $(a) )) $((b); c)')).toEqual(['$(a)', '$((b); c)']);
    expect(subs('[[ a =~ (a #$(b)) ]]; shopt -s extglob; echo @(a #$(c))')).toEqual(['$(b)', '$(c)']);
    expect(subs('[[ a =~ a|#$(b) ]]; echo a|#$(c)')).toEqual(['$(b)']);
  });

  it('ends here-documents by bash’s rule', () => {
    const doc = (line: string) => {
      const [d] = findExpansions(line).hereDocuments;
      return d === undefined
        ? undefined
        : [line.slice(d.bodyStart, d.bodyEnd), line.slice(d.delimiterStart, d.delimiterEnd)];
    };
    // An unquoted delimiter: lines ended by a backslash are joined first.
    expect(doc('cat <<EOF\n\\\nEOF\ntouch x\nEOF')).toEqual(['', 'EOF']);
    expect(doc('cat <<EOF\nE\\\nOF\nx')).toEqual(['', 'E\\\nOF']);
    expect(doc('cat <<EOF\n\\\\\nEOF\nx')).toEqual(['\\\\\n', 'EOF']);
    // A quoted one: no joining.
    expect(doc('cat <<"EOF"\nE\\\nOF\nEOF')).toEqual(['E\\\nOF\n', 'EOF']);
    // <<- strips leading tabs, not spaces.
    expect(doc('cat <<-EOF\n\tx\n  EOF\n\tEOF')).toEqual(['\tx\n  EOF\n', 'EOF']);
    // Inside $(…), a line starting with the delimiter and holding a `)` ends it.
    expect(doc('x=$(cat <<EOF\nbody\nEOF ) ; y\n)')).toEqual(['body\n', 'EOF']);
    expect(doc('cat <<EOF\nbody\nEOF)\nEOF')).toEqual(['body\nEOF)\n', 'EOF']);
  });

  it('says where it cannot be sure', () => {
    for (const line of [
      'echo "${x:+\'$(a)\'}"',
      'cat <<EOF\nno end',
      'cat <<EOF "a\nb"\nx\nEOF',
      'x=$(cat <<EOF)\nbody\nEOF',
      'echo $(case a in a) b;; esac)',
      'echo ${ date; }',
      "echo $(( '1' ))",
      'echo "unclosed',
    ])
      expect(findExpansions(line).problem, line).toBeDefined();
  });
});
