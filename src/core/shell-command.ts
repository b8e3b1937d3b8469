// Protocol-neutral description of a shell command line, as the shell classifier (src/shell) computes it
// from a real bash parse tree. SSH exec, reconstructed shell lines and Kubernetes exec carry one; policy
// matches on it. Nothing here is derived from regular expressions over the raw line.

/**
 * The shell risk taxonomy (docs/shell.md). A line carries every category any of its commands has;
 * `unknown` means "cannot be judged from the text" (a computed command name, eval, a script fed to a
 * shell, a command the table does not know) and is never treated as harmless.
 */
export const SHELL_CATEGORIES = [
  'read',
  'write',
  'destructive',
  'privilege',
  'exfiltration',
  'unknown',
] as const;
export type ShellCategory = (typeof SHELL_CATEGORIES)[number];

/** One command the line runs (after unwrapping sudo/env/xargs/timeout… and `sh -c` strings). */
export interface ShellCommand {
  /**
   * The words as bash would pass them, for words whose value is fixed by the text; a word whose value
   * is only known at run time (`$x`, `$(…)`, a glob) is given as written, and `dynamic` lists its index.
   */
  readonly argv: readonly string[];
  /** Indexes into argv of words whose value is computed at run time. */
  readonly dynamic: readonly number[];
  /**
   * Indexes into argv of words holding an unquoted expansion, which bash splits into several words
   * (`echo $(cat .env)`): the program is handed pieces of a value apart from each other. Absent: none.
   */
  readonly split?: readonly number[];
  /** The command's name: the basename of argv[0] when it is a standard location, else as written. */
  readonly name: string;
  /** Lower-case words naming what it does: `ls`, `rm -r`, `systemctl stop`, `apt remove`, `sh -c`. */
  readonly kind: string;
  readonly categories: readonly ShellCategory[];
  /** Wrappers it ran under, outermost first (`sudo`, `xargs`, `sh -c`, `find -exec`…). */
  readonly via: readonly string[];
  /** Why it is `unknown` or why a category was given, when not obvious from the table (for people). */
  readonly notes: readonly string[];
}

/** The result of classifying one command line (or one argv vector). */
export interface ShellClassification {
  /** The line as classified (an argv vector is shown shell-quoted). */
  readonly text: string;
  /** Every command it may run, in source order, nested ones (command substitutions, `sh -c`) included. */
  readonly commands: readonly ShellCommand[];
  /** Union of the commands' categories, plus those of redirections; never empty. */
  readonly categories: readonly ShellCategory[];
  /** The distinct command kinds, most severe first, joined by `, ` (`rm -r, ls`); `empty` for none. */
  readonly kind: string;
  /** Set when the text could not be parsed (or was too large or deep to judge); categories is [unknown]. */
  readonly parseError?: string;
  /** Why the line is `unknown`, in words (each distinct reason once). */
  readonly unknownReasons: readonly string[];
  /**
   * Word lists bash splits that are not a command's words: a `for` or `select` list, or an array's
   * elements (`for w in $(cat .env)`, `a=($x)`), as written. Each element of the list, or of the array,
   * is a piece of a value apart from the rest. Absent: none.
   */
  readonly splitLists?: readonly string[];
  /**
   * The line may change the shell's working directory (`cd`, `pushd`, `popd`): in an interactive
   * shell, relative paths of later lines no longer start in the home directory.
   */
  readonly changesDirectory?: boolean;
  /**
   * Literal paths the line writes that its text says are ordinary writes (absolute, or from `~`; a
   * relative one joined to where the line left the working directory). A link the host already has
   * may carry such a write elsewhere: the SSH engine asks the host where each lands (host-paths.ts).
   */
  readonly writePaths?: readonly string[];
}

/** Severity order for summaries and messages: most severe first. */
export const SHELL_SEVERITY: readonly ShellCategory[] = [
  'destructive',
  'privilege',
  'exfiltration',
  'unknown',
  'write',
  'read',
];

/**
 * Classifies one shell command line. `cwd: 'unknown'` for a line typed in an interactive shell after
 * an earlier line changed directory (ShellClassification.changesDirectory); `interactive` for a line
 * typed at a prompt with a terminal, which bash history-expands before it reads it.
 */
export type ShellLineClassifier = (
  line: string,
  context?: { readonly cwd?: 'home' | 'unknown'; readonly interactive?: boolean },
) => ShellClassification;
