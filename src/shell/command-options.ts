// Option scanning for command rules: splits a command's words into options and operands the way
// getopt-style tools read them. A word whose value is computed at run time may be any option, so it is
// reported (`dynamic`) and rules treat it as the worst case: so is a glob that may match a name
// beginning with `-` or `+` (`*.txt` matches `-o.txt`), and an option's value that bash may split into
// more words (`-n $x`, where x is `a --kubeconfig=…`). Long options may be abbreviated, as
// getopt_long and git's parse-options accept (`sed --in-pl` is `--in-place`, `sort --outp=F` is
// `--output=F`): an abbreviation counts as every long option it begins.

import type { WordValue } from './shell-words.js';

export interface OptionSpec {
  /** Short option letters that take a value (`-n 5`, `-n5`). */
  readonly shortValued?: string;
  /** Short option letters whose value, if any, is written in the same word (`-t5`, `-mFILE`). */
  readonly shortOptional?: string;
  /** Long options (without `--`) that take a value when not written `--name=value`. */
  readonly longValued?: readonly string[];
  /**
   * Long options that take no value in the next word (flags, and those whose value is optional and only
   * written `--name=value`): written out in full, one is that option, not an abbreviation of a longer
   * valued one (`strace --summary` is not `--summary-columns`).
   */
  readonly longFlags?: readonly string[];
  /** Stop at the first operand (wrappers: what follows is another command). Default: GNU permutation. */
  readonly stopAtOperand?: boolean;
  /** Words such as `+x` (set) or `-5` (nice) count as options too when they match. */
  readonly alsoOption?: (word: string) => boolean;
}

export interface ScannedOptions {
  /** Short letters and long names seen (`r`, `recursive`). */
  readonly flags: ReadonlySet<string>;
  /** Short letters seen, with how often (`strace -ff` is two). */
  readonly short: ReadonlyMap<string, number>;
  /** Long names as written, possibly abbreviated (`in-pl`); `hasAny` reads them as prefixes. */
  readonly long: ReadonlySet<string>;
  /** Values of valued options, by letter or long name. */
  readonly values: ReadonlyMap<string, readonly WordValue[]>;
  readonly operands: readonly WordValue[];
  /** Index (into the scanned words) where operands start when stopAtOperand is set. */
  readonly rest: number;
  /** Some word before the operands was computed at run time and may be any option. */
  readonly dynamic: boolean;
}

export function scanOptions(words: readonly WordValue[], spec: OptionSpec = {}): ScannedOptions {
  const flags = new Set<string>();
  const short = new Map<string, number>();
  const long = new Set<string>();
  const values = new Map<string, WordValue[]>();
  const operands: WordValue[] = [];
  let dynamic = false;
  let rest = words.length;
  const shortValued = spec.shortValued ?? '';
  const shortOptional = spec.shortOptional ?? '';
  const longValued = new Set(spec.longValued ?? []);
  const longFlags = new Set(spec.longFlags ?? []);
  const put = (k: string, v: WordValue | undefined): void => {
    flags.add(k);
    if (v === undefined) return;
    const list = values.get(k) ?? [];
    list.push(v);
    values.set(k, list);
  };
  /** The option's value, unless bash may make more words of it (then they may be options too). */
  const valueOf = (v: WordValue | undefined): WordValue | undefined => {
    if (v !== undefined && (v.splits === true || (v.expands && mayBeOption(v)))) dynamic = true;
    return v;
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.dynamic || (w.expands && mayBeOption(w))) {
      dynamic = true;
      if (spec.stopAtOperand === true) {
        rest = i;
        break;
      }
      operands.push(w);
      continue;
    }
    const v = w.value;
    if (v === '--') {
      for (let j = i + 1; j < words.length; j++) operands.push(words[j]!);
      rest = i + 1;
      break;
    }
    if (v.startsWith('--') && v.length > 2) {
      const eq = v.indexOf('=');
      const name = eq === -1 ? v.slice(2) : v.slice(2, eq);
      if (name !== '') long.add(name);
      // An exact name is that option; otherwise an abbreviation is every valued option it begins.
      const names =
        longValued.has(name) || longFlags.has(name)
          ? [name]
          : [name, ...[...longValued].filter((n) => name !== '' && n.startsWith(name))];
      if (eq !== -1) {
        const value = { value: v.slice(eq + 1), dynamic: false, expands: false, text: v.slice(eq + 1) };
        for (const n of names) put(n, value);
      } else if (names.length > 1 || longValued.has(name)) {
        const next = valueOf(words[i + 1]);
        for (const n of names) put(n, next);
        i++;
      } else put(name, undefined);
      continue;
    }
    if ((v.startsWith('-') && v.length > 1) || spec.alsoOption?.(v) === true) {
      if (!v.startsWith('-')) {
        put(v, undefined);
        continue;
      }
      for (let k = 1; k < v.length; k++) {
        const letter = v[k]!;
        short.set(letter, (short.get(letter) ?? 0) + 1);
        if (shortOptional.includes(letter)) {
          const inline = v.slice(k + 1);
          put(
            letter,
            inline === '' ? undefined : { value: inline, dynamic: false, expands: false, text: inline },
          );
          break;
        }
        if (shortValued.includes(letter)) {
          const inline = v.slice(k + 1);
          if (inline !== '') put(letter, { value: inline, dynamic: false, expands: false, text: inline });
          else {
            put(letter, valueOf(words[i + 1]));
            i++;
          }
          break;
        }
        put(letter, undefined);
      }
      continue;
    }
    if (spec.stopAtOperand === true) {
      rest = i;
      break;
    }
    operands.push(w);
  }
  if (spec.stopAtOperand === true) {
    return { flags, short, long, values, operands: words.slice(rest), rest, dynamic };
  }
  return { flags, short, long, values, operands, rest, dynamic };
}

/**
 * Whether a word that expands (a glob) may give a word that begins with `-` or `+`: unless its value
 * begins with a character that is plain text to a glob (`./*.txt`, `log*`; not `@(…)`, an extglob),
 * it may match any name.
 */
export function mayBeOption(w: WordValue): boolean {
  return w.dynamic || !/^[A-Za-z0-9_./~=:,%^]/.test(w.value);
}

/**
 * True when any of the short letters or long names was given; a long name (two letters or more) also
 * when an abbreviation of it was (`--dry` for `dry-run`), as getopt_long reads one.
 */
export function hasAny(o: ScannedOptions, ...names: string[]): boolean {
  return names.some(
    (n) => o.flags.has(n) || (n.length > 1 && [...o.long].some((given) => n.startsWith(given))),
  );
}

/**
 * The first option given that is none of the `short` letters and none of the `long` names (a written
 * long name may abbreviate one), as written (`-Z`, `--frob`); undefined when every one is listed.
 */
export function unlistedOption(
  o: ScannedOptions,
  short: string,
  long: readonly string[],
): string | undefined {
  for (const letter of o.short.keys()) if (!short.includes(letter)) return `-${letter}`;
  for (const given of o.long) if (!long.some((n) => n.startsWith(given))) return `--${given}`;
  return undefined;
}
