// Commands whose output rewrites the bytes they read, so that a secret in what they read reaches the
// output in a form the masking detectors and field names cannot see (docs/security.md class 221).
// Output masking (src/masking/terminal-masker.ts) finds a secret where its bytes stand as they were,
// on one line, after the name they stood after: `xxd .env`, `od -c`, `rev`, `fold -w1`, `tr a-z n-za-m`,
// `sed 's/./& /g'`, `cut -d= -f2` (the value without its `DB_PASSWORD=`), `head -c 8` (a secret in
// pieces), `gzip -c` (bytes the client undoes) show it in another form. For a principal whose output is
// masked, such a line is not a plain read: the SSH engine decides it as one it cannot judge
// (src/engines/ssh/exec-action.ts `withOutputShapes`). Pure: it reads the classified commands only.

import type { ShellClassification, ShellCommand } from '../core/shell-command.js';
import { hasAny, scanOptions, type OptionSpec, type ScannedOptions } from './command-options.js';
import { KUBECTL_OPTIONS } from './command-rules.js';
import type { WordValue } from './shell-words.js';

/** Programs whose output is a re-encoding, a reshaping or a selection of the bytes they read. */
const ALWAYS: Readonly<Record<string, string>> = {
  od: 'shows the bytes it reads as numbers or escapes',
  hexdump: 'shows the bytes it reads as numbers',
  hd: 'shows the bytes it reads as numbers',
  rev: 'reverses the characters of each line',
  tr: 'maps or deletes characters',
  fold: 'breaks lines at a width',
  fmt: 'reflows words onto other lines',
  cut: 'shows parts of lines without the rest',
  column: 'splits lines into columns',
  join: 'shows fields of lines',
  pr: 'lays lines out in columns, cut at a width',
  tsort: 'shows each word of its input on a line of its own',
  numfmt: 'rewrites numbers',
  bc: 'computes with the numbers it reads',
  dd: 'copies a byte range, converted',
  awk: 'prints what its program makes of each line',
  gawk: 'prints what its program makes of each line',
  mawk: 'prints what its program makes of each line',
  nawk: 'prints what its program makes of each line',
  uuencode: 'encodes the bytes it reads',
  expr: 'computes with, or takes parts of, its arguments',
};

/** The encoders: a reshaping unless they decode. */
const ENCODERS: ReadonlySet<string> = new Set(['base64', 'base32', 'basenc', 'xxd']);

/** Compressors: bytes on their output the client can undo, unless they decompress or write a file. */
const COMPRESSORS: ReadonlySet<string> = new Set([
  'gzip',
  'bzip2',
  'xz',
  'zstd',
  'lz4',
  'compress',
  'pigz',
  'lzma',
  'lzip',
]);

const GREPS: ReadonlySet<string> = new Set([
  'grep',
  'egrep',
  'fgrep',
  'zgrep',
  'zegrep',
  'zfgrep',
  'bzgrep',
  'xzgrep',
  'rg',
]);

/** A sed script that only picks lines by number (`1,10p`, `5q`, `$d`), leaving each line whole. */
const SED_LINES_ONLY = /^\s*(?:(?:\d+|\$)(?:\s*,\s*(?:\d+|\$))?\s*!?\s*[pdq]?\s*;?\s*)+$/;

/** `${…}` operators that rewrite a value: substrings, substitution, case, quoting, length, trimming. */
const REWRITING_EXPANSION = /\$\{#|\$\{!?[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?[:/#%^,@]|\$\{[0-9@*][:/#%^,@]/;

const words = (c: ShellCommand): WordValue[] =>
  c.argv.slice(1).map((value, i) => {
    const dynamic = c.dynamic.includes(i + 1);
    return { value, dynamic, expands: dynamic, text: value };
  });

const scan = (c: ShellCommand, spec: OptionSpec = {}): ScannedOptions => scanOptions(words(c), spec);

/**
 * Expansions that split into one word: numbers bash makes itself (`$?`, `$#`, `$$`, `$!`, `$UID`,
 * `$RANDOM`…), arithmetic with no command substitution inside, and the names the login sets (`$HOME`,
 * `$USER`…), which a line that sets them from a value made at run time is already `unknown` for
 * (command-rules.ts `variableRisk`).
 */
const ONE_WORD_EXPANSION =
  /\$(?:[?#$!]|\{[?#$!]\}|\{?(?:UID|EUID|PPID|BASHPID|RANDOM|SRANDOM|SECONDS|LINENO|EPOCHSECONDS|HOME|USER|LOGNAME|SHELL|HOSTNAME)\b\}?|\(\([^$`]*\)\))/g;

/**
 * Whether a word as written holds an expansion of a value made at run time (a command substitution,
 * `$(<file)`, a variable, a positional parameter) that bash splits into words: the pieces of one value
 * (`DB_PASSWORD=correct horse battery`) are then handed on apart, and shown apart, where output masking
 * no longer sees them after the name that masks them (docs/security.md class 235).
 */
export function splitsRuntimeValue(text: string): boolean {
  return /[$`]/.test(text.replace(ONE_WORD_EXPANSION, ''));
}

/** An array element (`${a[1]}`, `${a[@]}`): a piece of whatever the array was split from. */
const ARRAY_ELEMENT = /\$\{!?[A-Za-z_][A-Za-z0-9_]*\[/;

/** Why one command's output is its input reshaped, or undefined when it is shown whole (or not at all). */
function reshapes(c: ShellCommand): string | undefined {
  const name = c.name;
  for (const i of c.split ?? []) {
    const w = c.argv[i] ?? '';
    if (i > 0 && splitsRuntimeValue(w))
      return `${name} is given a value bash splits into words (${w.slice(0, 40)}), each apart from the rest`;
  }
  for (const w of c.argv.slice(1))
    if (ARRAY_ELEMENT.test(w))
      return `${name} is given an array element (${w.slice(0, 40)}), a piece of a value`;
  for (const w of c.argv.slice(1))
    if (REWRITING_EXPANSION.test(w))
      return `${name} is given a value a \${…} expansion rewrites (${w.slice(0, 40)})`;
  const always = ALWAYS[name];
  if (always !== undefined) return `${name} ${always}`;
  if (ENCODERS.has(name)) {
    const o = scan(c, { shortValued: name === 'xxd' ? 'cglnosC' : 'w' });
    return hasAny(o, 'd', 'decode', ...(name === 'xxd' ? ['r', 'revert'] : []))
      ? undefined
      : `${name} encodes the bytes it reads`;
  }
  if (COMPRESSORS.has(name)) {
    const o = scan(c, { shortValued: 'bSTM' });
    if (hasAny(o, 'd', 'decompress', 'uncompress', 't', 'test', 'l', 'list')) return undefined;
    const toOutput = hasAny(o, 'c', 'stdout', 'to-stdout') || o.operands.length === 0;
    return toOutput ? `${name} compresses what it reads onto its output` : undefined;
  }
  if (name === 'sed' || name === 'gsed') {
    const o = scan(c, { shortValued: 'eflsS', longValued: ['expression', 'file', 'line-length'] });
    const scripts = [...(o.values.get('e') ?? []), ...(o.values.get('expression') ?? [])];
    if (hasAny(o, 'f', 'file')) return `${name} runs a script from a file`;
    if (scripts.length === 0 && o.operands[0] !== undefined) scripts.push(o.operands[0]);
    return scripts.every((s) => !s.dynamic && SED_LINES_ONLY.test(s.value))
      ? undefined
      : `${name} rewrites the lines it reads`;
  }
  if (GREPS.has(name)) {
    const o = scan(c, { shortValued: 'efmABCdD', longValued: ['regexp', 'file', 'max-count'] });
    return hasAny(o, 'o', 'only-matching') || (name === 'rg' && hasAny(o, 'r', 'replace'))
      ? `${name} shows parts of lines without the rest`
      : undefined;
  }
  if (name === 'head' || name === 'tail') {
    const o = scan(c, { shortValued: 'cns', longValued: ['bytes', 'lines'] });
    return hasAny(o, 'c', 'bytes') ? `${name} -c cuts what it reads at a byte count` : undefined;
  }
  if (name === 'tac')
    return hasAny(scan(c, { shortValued: 's' }), 's', 'separator')
      ? 'tac -s splits lines elsewhere'
      : undefined;
  if (name === 'cmp') {
    const o = scan(c, { shortValued: 'inI' });
    return hasAny(o, 'l', 'verbose', 'b', 'print-bytes')
      ? 'cmp -l/-b shows the bytes it reads as numbers'
      : undefined;
  }
  if (name === 'diff' || name === 'colordiff' || name === 'sdiff')
    return name === 'sdiff' ||
      hasAny(scan(c, { shortValued: 'WCUFSIDLx' }), 'y', 'side-by-side', 'W', 'width')
      ? `${name} side by side cuts lines at a width`
      : undefined;
  if (name === 'jq' || name === 'yq') {
    const o = scan(c, {
      shortValued: 'fL',
      longValued: ['arg', 'argjson', 'slurpfile', 'rawfile', 'indent', 'from-file'],
    });
    const filter = o.operands[0];
    return filter === undefined || (!filter.dynamic && filter.value.trim() === '.')
      ? undefined
      : `${name} shows what its filter makes of the document`;
  }
  // What xargs reads, handed to echo or printf as words: split at blanks (or at -d's delimiter), a
  // value printed away from the name it stood after (`xargs -n1 < .env`).
  if ((name === 'echo' || name === 'printf') && c.via.includes('xargs'))
    return `xargs hands what it reads to ${name} as words split apart`;
  if (name === 'printf') {
    const format = c.argv[1] ?? '';
    if (c.dynamic.length > 0 && /%[-+ #0-9.*]*[diouxXcbqeEfgGaA]/.test(format))
      return 'printf converts a value made at run time';
    // An unquoted expansion is split into words, each printed on its own by a format that repeats.
    if (c.dynamic.some((i) => i > 1 && !(c.argv[i] ?? '').startsWith('"')))
      return 'printf prints the words of a value bash splits apart';
    return undefined;
  }
  // `set -- $(cat .env)`: the words of what was read become $1, $2… apart from each other.
  if (name === 'set' && c.dynamic.length > 0) return 'set makes positional parameters of split words';
  if ((name === 'mapfile' || name === 'readarray') && hasAny(scan(c, { shortValued: 'dnOstuC' }), 'd'))
    return `${name} -d splits what it reads elsewhere than at line ends`;
  if (name === 'read') {
    const o = scan(c, { shortValued: 'adinNptu' });
    // Several names, or -a, split the line into fields: `IFS== read -r k v` puts the value apart.
    return hasAny(o, 'n', 'N', 'd', 'a') || o.operands.length > 1
      ? 'read splits what it reads into fields or pieces'
      : undefined;
  }
  if (name === 'git') {
    const given = c.argv.slice(2).some((w) => /^--(?:word-diff|color-words)/.test(w));
    return given ? 'git shows the words of what it reads split apart' : undefined;
  }
  if (name === 'tar' || name === 'gtar' || name === 'bsdtar') {
    const first = c.argv[1] ?? '';
    const creates = /^-?[A-Za-z]*c/.test(first) || c.argv.some((w) => w === '--create');
    return creates ? `${name} writes an archive of what it reads` : undefined;
  }
  if (name === 'zip' || name === '7z' || name === '7za' || name === 'cpio')
    return `${name} packs what it reads`;
  if (name === 'kubectl' || name === 'oc') return kubectlSecretData(c);
  if (name === 'helm') {
    // A release's or a chart's rendered manifests: its Secrets' data base64-encoded (`b64enc`).
    const o = scan(c, {
      shortValued: 'nfo',
      longValued: [
        'namespace',
        'kube-context',
        'kubeconfig',
        'revision',
        'values',
        'set',
        'output',
        'template',
      ],
    });
    const [sub, what] = [o.operands[0], o.operands[1]];
    const why = "helm prints manifests with Secrets' data base64-encoded";
    if (o.dynamic || sub?.dynamic === true) return why;
    if (
      sub?.value === 'template' ||
      (sub?.value === 'get' && (what === undefined || what.dynamic || /^(manifest|all)$/.test(what.value)))
    )
      return why;
    return undefined;
  }
  return undefined;
}

/** Output formats of `kubectl get` that show no object's fields: the table, wide, the names. */
const KUBECTL_TABLE_FORMATS: ReadonlySet<string> = new Set(['', 'wide', 'name']);

/**
 * `kubectl get` of Secrets in a format that shows their fields (`-o yaml|json|jsonpath=…|go-template=…|
 * custom-columns=…`, `--template`, `--raw` of a Secret's path): their `data` is base64, which output
 * masking cannot read, and under any key at all (`url:`, `db:`), which no field name covers. The
 * Kubernetes engine masks a Secret's values whole (docs/security.md classes 36, 150); through a host's
 * kubectl over SSH, nothing did (class 264; so does helm's rendered manifests, above). What it gets may be Secrets when a resource word is made at
 * run time, or the resources come from files (`-f`, `-k`).
 */
function kubectlSecretData(c: ShellCommand): string | undefined {
  const o = scan(c, KUBECTL_OPTIONS);
  const sub = o.operands[0];
  if (sub === undefined || (!sub.dynamic && sub.value !== 'get')) return undefined;
  const why = `${c.name} get shows Secrets' data base64-encoded, under any key`;
  if (sub.dynamic) return why;
  for (const raw of o.values.get('raw') ?? []) {
    if (raw.dynamic) return why;
    let path = raw.value;
    try {
      path = decodeURIComponent(path);
    } catch {
      // Not percent-encoding: read as written.
    }
    if (/secret/i.test(path)) return why;
  }
  const formats = [...(o.values.get('o') ?? []), ...(o.values.get('output') ?? [])];
  // A word made at run time before the operands may be any option, `-o yaml` among them.
  const showsFields =
    o.dynamic ||
    hasAny(o, 'template') ||
    formats.some(
      (f) => f.dynamic || !KUBECTL_TABLE_FORMATS.has(f.value.replace(/^=/, '').trim().toLowerCase()),
    );
  if (!showsFields) return undefined;
  if (hasAny(o, 'f', 'filename', 'k', 'kustomize')) return why;
  for (const w of o.operands.slice(1)) {
    if (w.dynamic) return why;
    for (const part of w.value.split(',')) {
      const type = part.split('/')[0]!.trim().toLowerCase();
      if (/^secrets?(?:\.|$)/.test(type)) return why;
    }
  }
  return undefined;
}

/**
 * The reasons a line's output may show what it reads in a form output masking cannot see: one per
 * command that reshapes, at most eight. Empty when every command shows what it reads whole.
 */
export function outputReshapers(cls: Pick<ShellClassification, 'commands' | 'splitLists'>): string[] {
  const out: string[] = [];
  for (const list of cls.splitLists ?? [])
    if (splitsRuntimeValue(list)) {
      out.push(
        `bash splits a value into the words of a loop or an array (${list.slice(0, 40)}), each apart from the rest`,
      );
      break;
    }
  for (const c of cls.commands) {
    const why = reshapes(c);
    if (why !== undefined && !out.includes(why)) out.push(why);
    if (out.length >= 8) break;
  }
  return out;
}
