// Differential test: real bash is the judge of which commands a line runs. Each line runs under
// `bash -c` with an empty PATH, so every external command is "not found" and lands in
// command_not_found_handle, which logs its name instead of running anything. Every name bash tried
// to run must be among the commands (or wrappers) the classifier reported, unless it said `unknown`.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyShellCommand } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bash-diff-'));
const emptyPath = join(dir, 'empty-path');
mkdirSync(emptyPath);
const work = join(dir, 'work');
mkdirSync(work);
const bashEnv = join(dir, 'bash-env.sh');
// Each run logs to its own file: bash does not wait for process substitutions, which may log late.
writeFileSync(
  bashEnv,
  `command_not_found_handle() { printf '%s\\n' "$1" >> "$GATEHOUSE_RAN_LOG"; return 0; }\n`,
);
let runs = 0;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ranByBash(line: string): string[] {
  const log = join(dir, `ran-${++runs}.log`);
  writeFileSync(log, '');
  spawnSync('/bin/bash', ['-c', line], {
    cwd: work,
    env: { PATH: emptyPath, BASH_ENV: bashEnv, HOME: work, GATEHOUSE_RAN_LOG: log },
    timeout: 5000,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

/** The commands dash tried to run: with an empty PATH each is "not found" on stderr. */
function ranByDash(line: string): string[] {
  const r = spawnSync('/bin/dash', ['-c', line], {
    cwd: work,
    env: { PATH: emptyPath, HOME: work },
    timeout: 5000,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return [...r.stderr.toString().matchAll(/^\S*dash: \d+: (.+): not found$/gm)].map((m) => m[1]!);
}

function check(line: string): { judged: boolean } {
  const c = classifyShellCommand({ line });
  const ran = ranByBash(line);
  if (c.categories.includes('unknown')) return { judged: false };
  const seen = new Set<string>();
  for (const cmd of c.commands) {
    seen.add(cmd.name);
    seen.add(cmd.argv[0] ?? '');
    for (const v of cmd.via) seen.add(v.split(' ')[0]!);
  }
  for (const name of ran) {
    expect(
      seen,
      `bash ran ${name} for ${JSON.stringify(line)}; classifier saw ${[...seen].join(',')}`,
    ).toContain(name);
  }
  return { judged: true };
}

// Names that are harmless to "run" here: none exists on the empty PATH.
const NAMES = ['rm', 'ls', 'cat', 'frob', 'grep', 'curl', 'shred', 'mkfs', 'base64'];

describe('bash agrees on which commands a line runs', () => {
  it.each([
    'rm -rf x',
    'ls; rm -rf x',
    'ls && rm x || cat y',
    'ls | rm x | cat',
    'r\\m x',
    '"r"m x',
    "'r'm x",
    "$'\\x72m' x",
    "$'\\162m' x",
    'r""m x',
    'echo $(rm x)',
    'echo "$(rm x)"',
    'echo `rm x`',
    'echo "`rm x`"',
    'x=$(rm x)',
    'x=`rm x` cat',
    '(rm x)',
    '{ rm x; }',
    'if ls; then rm x; else cat y; fi',
    'for i in 1; do rm x; done',
    'while false; do rm x; done; cat y',
    'case a in a) rm x;; esac',
    'f() { rm x; }; f',
    'function f { rm x; }; f',
    '! rm x',
    'rm x &',
    'cat <(rm x)',
    'cat > >(rm x)',
    'cat <<EOF\n$(rm x)\nEOF',
    "cat <<'EOF'\n$(rm x)\nEOF",
    'cat <<< "$(rm x)"',
    'echo ${x:-$(rm x)}',
    'echo $(( $(rm x) + 1 ))',
    'a[$(rm x)]=1',
    '[[ -n $(rm x) ]]',
    'test -n "$(rm x)"',
    'time rm x',
    'rm x\ncat y',
    'rm x;cat y',
    'ls # ; rm x',
    "echo '$(rm x)'",
    'echo "\\$(rm x)"',
    'local x=$(rm x) 2>/dev/null; export y=$(cat z)',
    'declare z=$(rm x)',
    'echo > $(rm x)',
    'cat < "$(rm x)"',
    'coproc rm x',
  ])('%j', (line) => {
    check(line);
  });

  // bash runs a command substitution held in a value it evaluates as arithmetic or as a name
  // (subscripts are expanded again). None of these lines shows `$(rm x)` whole: the value is built at
  // run time, or the evaluation is one the classifier did not count (test -v, wait -p, ${s:x}, a=([x]=1)).
  it.each([
    "x='a[$'; y='(rm x)]'; z=$x$y; echo $((z))",
    "x='a[$'; x+='(rm x)]'; echo $((x))",
    "x=$(printf 'a[\\44(rm x)]'); echo $((x))",
    'x=$(printf \'a[\\44(rm x)]\'); test -v "$x"',
    "x=$(printf 'a[\\44(rm x)]'); [[ $x -eq 1 ]]",
    "x=$(printf 'a[\\44(rm x)]'); echo ${!x}",
    "x=$(printf 'a[\\44(rm x)]'); s=abc; echo ${s:x}",
    "x=$(printf 'a[\\44(rm x)]'); b=([x]=1)",
    "x=$(printf 'a[\\44(rm x)]'); b[x]=1",
    "x=$(printf 'a[\\44(rm x)]'); echo $[x]",
    "x=$(printf 'a[\\44(rm x)]'); let y=x",
    "x=$(printf 'a[\\44(rm x)]'); for ((i=x; i<0; i++)); do :; done",
    "printf -v x 'a[\\44(rm x)]'; echo $((x))",
    "read x <<< 'a[$''(rm x)]'; echo $((x))",
    "test -v 'a[$(rm x)]'",
    ": & wait -n -p 'a[$(rm x)]'",
    // set -H with history: a later line is rewritten before it is parsed.
    'set -o history -H\n: Q rm x Q\n: !!:gs#Q#;#',
  ])('a value evaluated as code: %j', (line) => {
    const c = classifyShellCommand({ line });
    expect(ranByBash(line), 'bash did not run the hidden command: the case proves nothing').toContain('rm');
    expect(c.categories, JSON.stringify(c.commands.map((x) => x.name))).toContain('unknown');
  });

  // The test builtin (`[ … ]`, `test`) takes integers as they are ("integer expression expected"):
  // only `[[ … ]]` evaluates its operands as arithmetic, so `[ $x -lt 3 ]` on a value made at run time
  // runs nothing hidden, and stays decided as what it is (a loop's counter is not held for review).
  it.each([
    "x=$(printf 'a[\\44(rm x)]'); [ $x -lt 3 ]",
    'x=$(printf \'a[\\44(rm x)]\'); [ "$x" -eq 1 ] || true',
    "x=$(printf 'a[\\44(rm x)]'); test $x -gt 0",
  ])('the test builtin takes integers as they are: %j', (line) => {
    const c = classifyShellCommand({ line });
    expect(ranByBash(line), 'bash ran the command the value holds').not.toContain('rm');
    expect(c.categories).not.toContain('unknown');
  });

  // The login shell may be sh, not bash (dash is /bin/sh on Debian, and `useradd` gives accounts
  // /bin/sh): lines the bash grammar judges must not run anything else under dash either.
  it.each([
    "echo $'a\\' ; rm x ; echo \\'b' #'",
    "echo $'a\\'\nrm x\necho \\'b' #'",
    "echo $'\\x41' ; ls",
    'ls; rm x',
    'echo "$(rm x)"',
    'cat <<EOF\n$(rm x)\nEOF',
  ])('dash agrees: %j', (line) => {
    const c = classifyShellCommand({ line });
    const ran = ranByDash(line);
    // The $'…' cases prove something only if dash does run the hidden command.
    if (line.includes("\\'")) expect(ran).toContain('rm');
    if (c.categories.includes('unknown')) return;
    const seen = new Set(c.commands.flatMap((cmd) => [cmd.name, cmd.argv[0] ?? '']));
    for (const name of ran) expect(seen, `dash ran ${name} for ${JSON.stringify(line)}`).toContain(name);
  });

  it('random compositions', () => {
    const word = fc.constantFrom(...NAMES);
    const quoted = word.chain((w) =>
      fc.constantFrom(w, `"${w}"`, `'${w}'`, `${w[0]}\\${w.slice(1)}`, `${w[0]}""${w.slice(1)}`),
    );
    const simple = fc
      .tuple(quoted, fc.constantFrom('', ' x', ' -rf y', ' "a b"'))
      .map(([a, b]) => `${a}${b}`);
    const cmd: fc.Arbitrary<string> = fc.letrec<{ c: string }>((tie) => ({
      c: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        simple,
        tie('c')
          .map((c) => `$(${c})`)
          .map((s) => `echo ${s}`),
        tie('c').map((c) => `(${c})`),
        tie('c').map((c) => `{ ${c}; }`),
        tie('c').map((c) => `echo "\`${c}\`"`),
        tie('c').map((c) => `if ${c}; then ${c}; fi`),
        fc
          .tuple(tie('c'), fc.constantFrom(';', '&&', '||', '|', '\n'), tie('c'))
          .map(([a, op, b]) => `${a} ${op} ${b}`),
        tie('c').map((c) => `x=$(${c})`),
        tie('c').map((c) => `cat <(${c})`),
      ),
    })).c;
    let judged = 0;
    fc.assert(
      fc.property(cmd, (line) => {
        if (check(line).judged) judged++;
      }),
      { numRuns: 150, seed: 20261203 },
    );
    // Most generated lines must be judged, or the property would be vacuous.
    expect(judged).toBeGreaterThan(75);
  });
});

// A command substitution tree-sitter gives as text (the operand of `${x#…}`, a backquoted operand of
// `${x:-…}`, '…' inside a double-quoted `${…}`, a backquote in a here-document body), and a
// here-document it ends elsewhere than bash: bash runs what the classifier never judged (docs/security.md
// classes 160, 161). Each probe is `rm pN`, N naming the place it was written; bash logs every probe it
// runs, and each must be among the commands the classifier listed (same argv), unless it said unknown.
describe('bash runs no substitution, and no line, the classifier did not see', () => {
  const probeEnv = join(dir, 'probe-env.sh');
  writeFileSync(
    probeEnv,
    `command_not_found_handle() { printf '%s\\n' "$*" >> "$GATEHOUSE_RAN_LOG"; return 0; }\n`,
  );
  function probesRun(script: string): Set<string> {
    const log = join(dir, `ran-${++runs}.log`);
    writeFileSync(log, '');
    spawnSync('/bin/bash', ['-c', script], {
      cwd: work,
      env: { PATH: emptyPath, BASH_ENV: probeEnv, HOME: work, GATEHOUSE_RAN_LOG: log },
      timeout: 10_000,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    return new Set(
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => /^rm p\d+$/.test(l))
        .map((l) => l.slice(3)),
    );
  }
  /** Numbers each `P` in `template` as a probe `rm pN`; returns the line and its probes. */
  let probes = 0;
  function withProbes(template: string): { line: string; names: string[] } {
    const names: string[] = [];
    const line = template.replace(/\bP\b/g, () => {
      const n = `p${++probes}`;
      names.push(n);
      return `rm ${n}`;
    });
    return { line, names };
  }
  /** The probes bash ran that the classifier neither listed nor made the line unknown for. */
  function unseen(line: string, ran: ReadonlySet<string>, names: readonly string[]): string[] {
    const c = classifyShellCommand({ line });
    if (c.categories.includes('unknown')) return [];
    const listed = new Set(c.commands.filter((x) => x.argv[0] === 'rm').map((x) => x.argv[1]));
    return names.filter((n) => ran.has(n) && !listed.has(n));
  }

  const SET = ['#', '##', '%', '%%', '^', '^^', ',', ',,', '/', '//', '/#', '/%', ':+', '+', '@', ':'];
  const UNSET = [':-', '-', ':=', '=', ':?', '?'];
  const OPERANDS = ['$(P)', '`P`', "'$(P)'", '"$(P)"', 'a/$(P)', "a/'$(P)'"];

  it('every ${…} operator with $(…), a backquote, \'$(…)\' or "$(…)" in its operand, quoted or not', () => {
    const cases: { line: string; names: string[] }[] = [];
    for (const [ops, prefix] of [
      [SET, 'x=abc'],
      [UNSET, 'unset x'],
    ] as const)
      for (const op of ops)
        for (const operand of OPERANDS)
          for (const quoted of [false, true]) {
            const word = `\${x${op}${operand}}`;
            cases.push(withProbes(`${prefix}; echo ${quoted ? `"${word}"` : word}`));
          }
    // One bash for all: each line in a subshell of its own (`${x:?…}` ends only that one).
    const ran = probesRun(cases.map((c) => `( ${c.line} )`).join('\n'));
    expect(ran.size, 'bash ran the operands: the cases prove something').toBeGreaterThan(150);
    const missed = cases.filter((c) => unseen(c.line, ran, c.names).length > 0).map((c) => c.line);
    expect(missed).toEqual([]);
  });

  it.each([
    // The red-team's other forms (c4): nested, in assignments, here-documents, [[ ]], case, arithmetic.
    '[[ x =~ $(P) ]]',
    '[[ x =~ `P` ]]',
    '[[ x =~ a$(P) ]]',
    '[[ x == @($(P)) ]]',
    '[[ x == a`P` ]]',
    '[[ x == *"$(P)"* ]]',
    'case x in @($(P))) ;; esac',
    'case x in a`P`) ;; esac',
    'case `P` in a) ;; esac',
    'x=abc; echo ${x:0:`P`}',
    '(( `P` ))',
    'echo $(( `P` ))',
    'for ((i=`P`;0;)); do :; done',
    'a=(); echo ${a[`P`]}',
    'echo ${#x[`P`]}',
    'x=abc; echo ${x/$(P)/a}',
    'x=abc; echo "${x/a/`P`}"',
    'echo ${x:-a`P`}',
    'echo ${x:-"`P`"}',
    "echo ${x:-$'\\x41'`P`}",
    'echo ${x:-${y:-`P`}}',
    'y=1; echo ${x:-${y#`P`}}',
    'x=abc; echo ${x@U}`P`',
    'cat <<EOF\n${HOME#$(P)}\nEOF',
    'cat <<EOF\n${HOME:+`P`}\nEOF',
    'cat <<EOF\n`P`\nEOF',
    'cat <<EOF\n\'$(P)\' "`P`"\nEOF',
    'x=1; echo $((x))${x#$(P)}',
    'echo "$(( 1 ))${HOME%`P`}"',
    ': ${HOME#$(P)}',
    'export y=${HOME#$(P)}',
    'y=${HOME#$(P)} ls',
    'ls > ${HOME#$(P)}/dev/null',
    'echo ${x:-<(P)}',
    'x=a; echo ${x#>(P)}',
    'x=abc; echo "${x,,<(P)}"',
    'x=abc; echo "${x/#a>(P)}"',
    'unset x; cat <<EOF\n${x?>(P)}\nEOF',
    'echo `date -u` `P`',
    'echo "`date -u` `P`"',
    "sh -c 'echo ${HOME#$(P)}'",
    // Here-documents ended by bash where tree-sitter does not (c7), and the reverse.
    'cat <<EOF\na\\\nEOF\nP\nEOF',
    'cat <<EOF\n\\\\\nEOF\nP\nEOF',
    'cat <<"EOF"\n\\\nEOF\nP\nEOF',
    'cat <<EOF\n\\\nEOF\nP\nEOF',
    'cat <<-EOF\n\t\\\n\tEOF\nP\nEOF',
    'cat <<EOF; cat <<EOG\n\\\nEOF\nP\nEOF\ny\nEOG',
    'x=$(cat <<EOF\n\\\nEOF\nP\nEOF\n)',
    'cat <<E"O"F\n\\\nEOF\nP\nEOF',
    'cat <<EOF\n$(\nEOF\nP\n)\nEOF',
    'cat <<EOF\n`\nEOF\nP\n`\nEOF',
    'cat <<EOF\n${x-\nEOF\nP\n}\nEOF',
    'cat <<EOF\n$((\nEOF\nP\n))\nEOF',
    'cat <<EOF\n"\nEOF\nP\n"\nEOF',
    "cat <<EOF\n'\nEOF\nP\n'\nEOF",
    'x=$(cat <<EOF\nbody\nEOF ) ; P\n)',
    'x="$(cat <<\'EOF\'\nEOF) $(P)\nEOF\n)"',
    'cat <(cat <<EOF\nx\nEOF)\nP\nEOF\n)',
    // A backslash-newline bash removes, joining what stands on either side of it (class 286).
    'echo "$\\\n(P)"',
    'echo $\\\n(P)',
    'cat <<EOF\n$\\\n(P)\nEOF',
    'echo "`\\\nP`"',
    'x=$\\\n(P)',
  ])('%j', (template) => {
    const { line, names } = withProbes(template);
    expect(unseen(line, probesRun(line), names)).toEqual([]);
  });

  it('random compositions of quoting, ${…} operators, substitutions and here-documents', () => {
    const op = fc.constantFrom(...SET, ...UNSET);
    const leaf = fc.constantFrom(
      '$(P)',
      '`P`',
      "'$(P)'",
      '"$(P)"',
      '"`P`"',
      "$'\\''$(P)",
      '\\$(P)',
      'a',
      '$HOME',
    );
    const frag: fc.Arbitrary<string> = fc.letrec<{ f: string }>((tie) => ({
      f: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.tuple(op, tie('f'), fc.boolean()).map(([o, f, q]) => (q ? `"\${x${o}${f}}"` : `\${x${o}${f}}`)),
        tie('f').map((f) => `$(echo ${f})`),
        tie('f').map((f) => `"$(echo ${f})"`),
        tie('f').map((f) => (f.includes('`') ? `$(echo ${f})` : `\`echo ${f}\``)),
        tie('f').map((f) => `<(echo ${f})`),
        fc.tuple(tie('f'), tie('f')).map(([a, b]) => `${a}${b}`),
      ),
    })).f;
    const stmt = fc.oneof(
      frag.map((f) => `echo ${f}`),
      frag.map((f) => `y=${f} ls`),
      frag.map((f) => `cat <<EOF\n${f}\nEOF`),
      frag.map((f) => `cat <<'EOF'\n${f}\nEOF`),
      frag.map((f) => `cat <<-EOF\n\t${f}\n\tEOF`),
      frag.map((f) => `x=$(cat <<EOF\n${f}\nEOF\n)`),
      frag.map((f) => `f() { echo ${f}; }; f`),
      frag.map((f) => `[[ -n ${f} ]]`),
      frag.map((f) => `ls # ${f}`),
    );
    const line = fc
      .tuple(fc.constantFrom('x=abc; ', 'unset x; ', ''), stmt, fc.constantFrom('', '; ls', '\nP'))
      .map(([a, b, c]) => `${a}${b}${c}`);
    let ran = 0;
    let judged = 0;
    fc.assert(
      fc.property(line, (template) => {
        const { line: l, names } = withProbes(template);
        const r = probesRun(l);
        if (names.some((n) => r.has(n))) ran++;
        if (!classifyShellCommand({ line: l }).categories.includes('unknown')) judged++;
        expect(unseen(l, r, names), l).toEqual([]);
      }),
      { numRuns: 100, seed: 20260160 },
    );
    // Neither vacuous (bash ran probes) nor all unknown (the classifier still judges many lines).
    expect(ran).toBeGreaterThan(45);
    expect(judged).toBeGreaterThan(30);
  }, 180_000);
});

// A redirection on a compound command or a function definition writes when bash runs it (for a
// function, each time it is called): wherever bash creates the file, the line is no read (class 162).
describe('a redirection bash opens is judged, on whatever it is attached to', () => {
  it.each([
    'for x in a; do echo; done > MARK',
    'while false; do :; done > MARK',
    'if true; then :; fi > MARK',
    'case a in a) ;; esac > MARK',
    '(( 1 )) > MARK',
    '[[ 1 ]] > MARK',
    '{ :; } > MARK',
    '( : ) > MARK',
    '! : > MARK',
    'time : > MARK',
    'x=1 > MARK',
    'declare x=1 > MARK',
    'select x in; do :; done > MARK',
    'f() { :; } > MARK; f',
    'f() { :; } >> MARK; f',
    'function f { :; } 2> MARK; f',
    'f() ( : ) &> MARK; f',
    'f() { :; } > MARK',
    'echo $(: > MARK)',
    'cat <<EOF > MARK\nx\nEOF',
    ': <<EOF; : > MARK\nx\nEOF',
    ': ${x:-$(: >MARK)}',
    ': ${x:-`: >MARK`}',
    'x=a; case $x in a) : ;; esac 2>MARK',
    'until :; do :; done 2> MARK',
    'for ((;0;)); do :; done > MARK',
  ])('%j', (line) => {
    const scratch = mkdtempSync(join(dir, 'redirect-'));
    spawnSync('/bin/bash', ['-c', line], {
      cwd: scratch,
      env: { PATH: emptyPath, HOME: scratch },
      timeout: 5000,
      stdio: 'ignore',
    });
    const c = classifyShellCommand({ line });
    if (existsSync(join(scratch, 'MARK'))) expect(c.categories, line).not.toEqual(['read']);
    // A function's redirections count where it is defined, called or not.
    if (line.startsWith('f() { :; } > MARK')) expect(c.categories).toContain('write');
  });
});

// A value set before the line — by an earlier line of an interactive shell, the environment or a
// start-up file — that bash evaluates as code runs the `$(…)` it holds (docs/security.md class 51).
// Here a start-up file (BASH_ENV, as ~/.bashrc would be for an ssh command) plants such values, some
// readonly (a plain `i=0` then ends the line; `(( i = 0 ))`, `for ((i=0; …))` and `for i in 1` fail and
// go on with the planted value). Whatever the classifier judges must not run the planted command.
describe('bash agrees on what a line evaluates from before it', () => {
  const planted = join(dir, 'planted-env.sh');
  writeFileSync(
    planted,
    [
      `command_not_found_handle() { printf '%s\\n' "$1" >> "$GATEHOUSE_RAN_LOG"; return 0; }`,
      ...['x', 'y', 'k', 'n', 'm'].map((v) => `${v}='a[$(frob)]'`),
      ...['i', 'j', 'r'].map((v) => `readonly ${v}='a[$(frob)]'`),
      'a=(0 1 2)',
      '',
    ].join('\n'),
  );
  function ranPlanted(line: string): string[] {
    const log = join(dir, `ran-${++runs}.log`);
    writeFileSync(log, '');
    spawnSync('/bin/bash', ['-c', line], {
      cwd: work,
      env: { PATH: emptyPath, BASH_ENV: planted, HOME: work, GATEHOUSE_RAN_LOG: log },
      timeout: 5000,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  }
  function judgedWithoutFrob(line: string): boolean {
    const c = classifyShellCommand({ line });
    const ran = ranPlanted(line);
    if (c.categories.includes('unknown')) return false;
    expect(ran, `bash ran ${ran.join(',')} for ${JSON.stringify(line)}, judged ${c.kind}`).not.toContain(
      'frob',
    );
    return true;
  }

  // Each of these runs frob here: the classifier must not judge them.
  it.each([
    'echo $((x))',
    'echo $[x]',
    '(( x )); echo',
    '[[ x -eq 1 ]]',
    '[[ 1 -lt y ]]',
    'let z=x+1',
    'a[k]=1',
    'echo ${a[n]}',
    'unset "a[m]"',
    'test -v "a[x]"',
    '(( i = 0 )); echo $((i))',
    'for ((i=0; i<1; i++)); do :; done; echo $((i))',
    'for i in 1 2; do :; done; echo $((i))',
    'echo $((i)); i=0',
    'i=0 & echo $((i))',
    'true || i=0; echo $((x+1))',
  ])('%j is not judged', (line) => {
    expect(ranPlanted(line), `the planted value must run here: ${line}`).toContain('frob');
    expect(judgedWithoutFrob(line)).toBe(false);
  });

  // Lines that set their counters themselves are judged, and run nothing planted.
  it.each([
    'i=0; while [ $i -lt 3 ]; do i=$((i+1)); done',
    'i=0; while (( i < 3 )); do (( i++ )); done; echo $i',
    'n=0; for f in a b; do n=$((n+1)); done; echo $n',
    'x=5; echo $((x+1))',
    'k=1; a[k]=2',
    'j=2; [[ $j -gt 1 ]] && echo big',
    'i=0 && echo $((i+1))',
    'i=0; for i in 1 2; do echo $((i*2)); done',
    'let q=1+2',
    'echo $((1+2)) $(( 16#ff ))',
  ])('%j is judged and runs nothing planted', (line) => {
    expect(judgedWithoutFrob(line)).toBe(true);
  });

  it('random lines over planted and own variables', () => {
    const name = fc.constantFrom('x', 'i', 'n', 'q', 'w');
    const set = name.chain((v) => fc.constantFrom(`${v}=0`, `${v}=$((1+1))`, `(( ${v} = 1 ))`, `let ${v}=2`));
    const use = name.chain((v) =>
      fc.constantFrom(`echo $((${v}+1))`, `(( ${v}++ ))`, `[[ ${v} -gt 0 ]]`, `a[${v}]=1`, `echo $${v}`),
    );
    const stmt = fc.oneof(set, use);
    const line = fc
      .array(fc.tuple(stmt, fc.constantFrom('; ', ' && ', ' || ', ' & ')), { minLength: 1, maxLength: 4 })
      .map((parts) => parts.map(([s, op], i) => (i === parts.length - 1 ? s : `${s}${op}`)).join(''));
    let judged = 0;
    fc.assert(
      fc.property(line, (l) => {
        if (judgedWithoutFrob(l)) judged++;
      }),
      { numRuns: 200, seed: 20261206 },
    );
    expect(judged).toBeGreaterThan(20);
  });
});

// A line that turns on readline's vi mode, or changes what keys do, changes how every later typed
// line reaches bash: in vi mode typed letters are commands (`v` edits the line and runs it with no
// Enter typed), and a binding can type and run a line. Real bash is the judge of which lines turn vi
// mode on; each must be `unknown` (docs/security.md, class 92).
describe('lines that change line editing are unknown', () => {
  const viAfter = (line: string): boolean => {
    const r = spawnSync(
      '/bin/bash',
      ['-c', `${line} >/dev/null 2>&1; set -o | grep -E '^vi[[:space:]]+on'`],
      {
        env: { PATH: '/usr/bin:/bin', HOME: work },
        timeout: 5000,
        encoding: 'utf8',
      },
    );
    return r.stdout.trim() !== '';
  };

  it.each(['set -o vi', 'set -eo vi', 'set -o errexit -o vi', 'set -uo vi'])(
    '%s turns vi mode on in real bash, and is unknown',
    (line) => {
      expect(viAfter(line)).toBe(true);
      expect(classifyShellCommand({ line }).categories).toContain('unknown');
    },
  );

  it('set -o emacs and option listings stay reads', () => {
    for (const line of ['set -o emacs', 'set -o', 'set -e', 'bind -p', 'bind -lp']) {
      expect(viAfter(line)).toBe(false);
      expect(classifyShellCommand({ line }).categories).toEqual(['read']);
    }
  });

  it('bind with a binding, a file or a readline setting is unknown; ~/.inputrc is privilege', () => {
    for (const line of [`bind '"\\C-t": "touch x\\n"'`, 'bind -f ~/keys', `bind 'set editing-mode vi'`])
      expect(classifyShellCommand({ line }).categories, line).toContain('unknown');
    expect(classifyShellCommand({ line: "echo 'set editing-mode vi' >> ~/.inputrc" }).categories).toContain(
      'privilege',
    );
  });
});

// Other programs' start-up files run commands when the program next starts, as ~/.bashrc does for
// bash: a write there sets what a later read runs (docs/security.md, class 93). Real psql runs a
// `\!` line of ~/.psqlrc on an ordinary `psql -c 'select 1'`.
describe('writes to programs’ start-up files are privilege', () => {
  it.each([
    "echo '\\! touch /tmp/x' >> ~/.psqlrc",
    "printf ':!touch x\\n' > ~/.vimrc",
    'cp evil ~/.gdbinit',
    "echo 'script-shell=/tmp/x' >> ~/.npmrc",
    "echo 'upload-file = ~/.ssh/id_rsa' > ~/.curlrc",
    'echo \'run-shell "touch x"\' >> ~/.tmux.conf',
    // Any name directly in the home directory that starts with `.` is a program's settings (class 333).
    'cp /tmp/cfg ~/.kube/config',
    "printf '[default]\\ncredential_process = /tmp/x\\n' > ~/.aws/config",
    "echo 'import os' > ~/.local/lib/python3.11/site-packages/x.pth",
    'echo x >> ~/.bash_completion',
    'cp x .lesskey',
    'cd && echo "|/tmp/x" > .forward',
    'echo x > /home/agent/.docker/config.json',
  ])('%s', (line) => {
    expect(classifyShellCommand({ line }).categories).toContain('privilege');
  });

  it.each([
    'cd /tmp && echo x > .env',
    'cd ~/proj; echo x > .env',
    'echo x > proj/.env',
    'echo x > /srv/app/.env',
  ])('%s is no home settings file: a plain write', (line) => {
    expect(classifyShellCommand({ line }).categories).not.toContain('privilege');
  });

  // psql reads ~/.psqlrc once it has connected: the machine's PostgreSQL at 127.0.0.1:5432 (trust).
  const server =
    spawnSync('psql', ['--version']).status === 0 &&
    spawnSync('pg_isready', ['-h', '127.0.0.1', '-t', '3']).status === 0;
  it.skipIf(!server)('real psql runs a line of ~/.psqlrc', () => {
    const home = mkdtempSync(join(tmpdir(), 'gatehouse-psqlrc-'));
    try {
      writeFileSync(join(home, '.psqlrc'), `\\! touch ${join(home, 'CANARY')}\n`);
      spawnSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-c', 'select 1'], {
        env: { HOME: home, PATH: process.env['PATH'] ?? '/usr/bin:/bin', PGCONNECT_TIMEOUT: '3' },
        timeout: 10_000,
        stdio: 'ignore',
      });
      expect(spawnSync('test', ['-e', join(home, 'CANARY')]).status, 'psql ran the line').toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

// A program in ~/bin or ~/.local/bin runs in place of the system's: Debian's ~/.profile puts both
// first on PATH in every login shell, so after `cp x ~/bin/ls` the next session's `ls`, a read, runs
// the agent's file (docs/security.md, class 111). Real bash, as a login shell with Debian's profile.
describe('writes to the directories a login shell puts first on PATH are privilege', () => {
  it.each([
    'cp /tmp/x ~/bin/ls',
    "printf '#!/bin/sh\\ntouch x\\n' > ~/.local/bin/git",
    'ln -s /tmp/evil ~/bin',
    'mv /tmp/dir ~/.local',
    'mkdir -p bin && cp /tmp/x bin/cat',
    'cp /tmp/x /home/agent/.local/bin/psql',
    "echo '[Service]' > ~/.config/systemd/user/x.service",
    'cp x.desktop ~/.config/autostart/',
    'mv /tmp/cfg ~/.config',
  ])('%s', (line) => {
    expect(classifyShellCommand({ line }).categories).toContain('privilege');
  });

  it.each(['cp /tmp/x ~/project/bin/tool', 'echo x > ~/binary.txt', 'cp x ~/project/.local/share/notes'])(
    '%s stays a plain write',
    (line) => {
      expect(classifyShellCommand({ line }).categories).not.toContain('privilege');
    },
  );

  const skel = spawnSync('test', ['-f', '/etc/skel/.profile']).status === 0;
  it.skipIf(!skel)('a login shell runs ~/bin/ls for `ls`', () => {
    const home = mkdtempSync(join(tmpdir(), 'gatehouse-home-bin-'));
    try {
      writeFileSync(join(home, '.profile'), readFileSync('/etc/skel/.profile'));
      mkdirSync(join(home, 'bin'));
      writeFileSync(join(home, 'bin', 'ls'), `#!/bin/sh\ntouch ${join(home, 'CANARY')}\n`, { mode: 0o755 });
      spawnSync('bash', ['-lc', 'ls'], {
        env: { HOME: home, PATH: '/usr/bin:/bin' },
        timeout: 10_000,
        stdio: 'ignore',
      });
      expect(spawnSync('test', ['-e', join(home, 'CANARY')]).status, 'the login shell ran ~/bin/ls').toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

// A declaration builtin reads each word again, after quote removal, as NAME or NAME=VALUE: a quoted
// `'a[$(cmd)]=1'` is a subscript bash evaluates as arithmetic (running the substitution), and a value
// `'($(cmd))'` under -a or -A is a compound assignment whose elements bash expands again. The grammar
// sees a string in both (docs/security.md, class 196). Real bash runs `rm` in each of these lines.
describe('a declaration builtin reads a quoted word again as an assignment', () => {
  it.each([
    "declare 'a[$(rm x)]=1'",
    "typeset 'a[`rm x`]=1'",
    "f() { local 'a[$(rm x)]=1'; }; f",
    "declare -g 'a[$(rm x)]=1'",
    "declare -x 'a[$(rm x)]=1'",
    "declare -- 'a[$(rm x)]=1'",
    'declare "a[\\$(rm x)]=1"',
    'declare a\\[\\$\\(rm\\ x\\)\\]=1',
    "declare -A A; declare 'A[$(rm x)]=1'",
    "declare -a 'a=([$(rm x)]=1)'",
    "declare -a a='([$(rm x)]=1)'",
    "declare -a 'a=($(rm x))'",
    "declare -A 'A=([$(rm x)]=1)'",
    "declare -a a='(`rm x`)'",
    "declare -a a='($(rm x))'",
    "a='($(rm x))'; declare -a b=$a",
  ])('%s', (line) => {
    expect(ranByBash(line), 'real bash ran rm').toContain('rm');
    expect(check(line).judged, 'judged as if rm did not run').toBe(false);
  });

  it.each(["declare x='$(rm x)'", "declare -a a=('$(rm x)')", 'declare -i n=3', "declare 'x=($y)'"])(
    '%s runs nothing bash did not show',
    (line) => {
      expect(ranByBash(line)).not.toContain('rm');
    },
  );

  it.each(['declare x=1', 'declare -a a=(1 2)', 'local -r y=z', 'export LANG=C.UTF-8', "declare 'x=y'"])(
    '%s stays a read',
    (line) => {
      expect(classifyShellCommand({ line }).categories).toEqual(['read']);
    },
  );
});

// compgen -W splits its word list and expands each word again — command substitution included — at
// once; complete -W does the same at every Tab (docs/security.md, class 197).
describe('compgen and complete expand a -W word list again', () => {
  it.each([
    "compgen -W '$(rm x)' w",
    "compgen -W '`rm x`' w",
    "compgen -W '${y:-$(rm x)}' w",
    'compgen -W "$(cat f)" w',
  ])('%s', (line) => {
    if (!line.includes('cat f')) expect(ranByBash(line), 'real bash ran rm').toContain('rm');
    expect(classifyShellCommand({ line }).categories).toContain('unknown');
  });

  it("complete -W '$(rm x)' is unknown: the next Tab runs it", () => {
    expect(classifyShellCommand({ line: "complete -W '$(rm x)' ls" }).categories).toContain('unknown');
  });

  it.each(["compgen -W 'start stop status' s", 'compgen -c', "complete -W 'a b' ls", 'compgen -A function'])(
    '%s stays a read',
    (line) => {
      expect(classifyShellCommand({ line }).categories).toEqual(['read']);
    },
  );
});

// In an interactive shell a `#` starts a comment only while interactive_comments is on: after
// `set +o interactive-comments` a later typed `echo hi # ; rm x` runs rm, where the classifier reads a
// comment (docs/security.md, class 199). Real interactive bash is the judge.
describe('set options that change how later lines are read are unknown', () => {
  const interactiveRuns = (lines: string[]): string[] => {
    const log = join(dir, `ran-${++runs}.log`);
    writeFileSync(log, '');
    spawnSync('/bin/bash', ['--norc', '--noprofile', '-i'], {
      input: `${lines.join('\n')}\n`,
      cwd: work,
      env: { PATH: emptyPath, HOME: work, GATEHOUSE_RAN_LOG: log, BASH_ENV: bashEnv },
      timeout: 5000,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  };

  it('after set +o interactive-comments, a typed line runs what follows its #', () => {
    const handler = `command_not_found_handle() { printf '%s\\n' "$1" >> "$GATEHOUSE_RAN_LOG"; }`;
    expect(interactiveRuns([handler, 'set +o interactive-comments', 'echo hi # ; rm x'])).toContain('rm');
    expect(interactiveRuns([handler, 'echo hi # ; rm x'])).not.toContain('rm');
    const typed = classifyShellCommand({ line: 'echo hi # ; rm x', interactive: true });
    expect(typed.categories, 'the later line alone reads').toEqual(['read']);
  });

  it.each([
    'set +o interactive-comments',
    'set -e +o interactive-comments',
    'set -o posix',
    'set +o emacs',
    'set -eo posix',
    'set -o pipefail -o vi',
    'set -o $x',
  ])('%s is unknown', (line) => {
    expect(classifyShellCommand({ line }).categories).toContain('unknown');
  });

  it.each([
    'set -euo pipefail',
    'set -Eeuo pipefail',
    'set -o errexit -o nounset',
    'set +x',
    'set -o interactive-comments',
    'set -o emacs',
    'set +o vi',
    'set -- a b',
    'set -o',
    'set +o posix',
  ])('%s stays a read', (line) => {
    expect(classifyShellCommand({ line }).categories).toEqual(['read']);
  });
});
