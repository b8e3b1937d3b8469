// What a path or a network address in a command means for risk: a system path (privilege), a block
// device (destructive), a bash network redirection, a loopback host. Pure; literal values only.

/** Where writing to a path lands. */
export type PathRisk = 'harmless' | 'normal' | 'system' | 'device' | 'network' | 'unknown';

/** Device files that are not storage: writing to them discards or echoes (no effect on data). */
const HARMLESS_PATHS: ReadonlySet<string> = new Set([
  '/dev/null',
  '/dev/zero',
  '/dev/stdout',
  '/dev/stderr',
  '/dev/stdin',
  '/dev/tty',
  '/dev/full',
  '/dev/random',
  '/dev/urandom',
]);

/** Directories whose contents decide how the system runs or who may log in. */
const SYSTEM_PREFIXES: readonly string[] = [
  '/etc',
  '/boot',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/root',
  '/proc',
  '/sys',
  '/var/lib',
  '/var/spool/cron',
  '/var/spool/anacron',
];

/** File names that grant access or run code at login wherever they live. */
const SENSITIVE_NAMES: ReadonlySet<string> = new Set([
  'authorized_keys',
  'authorized_keys2',
  'sudoers',
  '.bashrc',
  // Sourced by Debian's ~/.bashrc in every interactive shell.
  '.bash_aliases',
  // git's own settings: programs it runs later, on reads too (core.pager, core.fsmonitor, aliases).
  '.gitconfig',
  // readline's settings in every later shell: macros that type and run lines, vi mode.
  '.inputrc',
  // Other programs' start-up files that run commands when the program next starts: psql runs `\!`
  // lines of ~/.psqlrc, vim runs `:!` and autocommands of ~/.vimrc and ~/.exrc, gdb ~/.gdbinit, tmux
  // and screen `run-shell`/`exec` lines, npm and yarn their `script-shell`/`node-options`, curl and
  // wget read options (an upload, an output file) from ~/.curlrc and ~/.wgetrc.
  '.psqlrc',
  '.vimrc',
  '.exrc',
  '.gdbinit',
  '.tmux.conf',
  '.screenrc',
  '.npmrc',
  '.yarnrc',
  '.curlrc',
  '.wgetrc',
  '.bash_profile',
  '.bash_login',
  '.bash_logout',
  '.profile',
  '.zshrc',
  '.zprofile',
  '.zshenv',
  '.pam_environment',
  '.rhosts',
  '.shosts',
  '.netrc',
  '.ssh',
  'sudoers.d',
  'crontab',
  'ld.so.preload',
]);

/**
 * Directories under a home whose files run in place of others, or on their own, at a later login:
 * Debian's ~/.profile puts ~/bin and ~/.local/bin first on PATH in every login shell (so `~/bin/ls`
 * runs for the next session's `ls`, a read), systemd starts the user units of ~/.config/systemd and
 * desktop sessions the entries of ~/.config/autostart, and git reads ~/.config/git. A write into one,
 * or over one of them or a directory holding one (`mv x ~/.local`, `ln -s /tmp/evil ~/bin`), is
 * privilege (docs/security.md, class 111).
 */
const HOME_RUN_DIRS: readonly string[] = [
  'bin',
  '.local/bin',
  '.config/systemd',
  '.config/autostart',
  '.config/git',
];

/**
 * Whether a path relative to a home directory is in, is, or holds one of HOME_RUN_DIRS, or is a
 * program's settings: a name directly in the home directory that starts with `.`, and anything under
 * it. Programs read their settings there, and many settings name a program to run when a later
 * command that only reads starts: kubectl runs the `users[].exec` command of ~/.kube/config on
 * `kubectl get`, the AWS CLI a profile's `credential_process` of ~/.aws/config, docker the
 * `docker-credential-*` helper ~/.docker/config.json names, Python the `import` lines of a `.pth` file
 * under ~/.local/lib, bash-completion sources ~/.bash_completion in every interactive shell, less runs
 * the LESSOPEN of ~/.lesskey, mail delivery the `|command` of ~/.forward, gpg-agent the
 * `pinentry-program` of ~/.gnupg… No list keeps up with them (docs/security.md class 333).
 */
function inHomeRunDir(relative: string): boolean {
  const r = normalise(relative).slice(1);
  if (r === '') return false;
  if (r.startsWith('.')) return true;
  return HOME_RUN_DIRS.some((d) => r === d || r.startsWith(`${d}/`) || d.startsWith(`${r}/`));
}

/**
 * What in a git directory names programs git runs or where it reads its settings: the config, the
 * hooks, `commondir` (another directory whose config is read) and the per-worktree settings.
 */
const GIT_DIR_SETTINGS: ReadonlySet<string> = new Set([
  'config',
  'hooks',
  'commondir',
  'config.worktree',
  'worktrees',
]);

const STORAGE_DEVICE = /^\/dev\/(sd|hd|vd|xvd|nvme|mmcblk|md|dm-|loop|sr|mapper\/|disk\/|mem$|kmem$|port$)/;

/** Normalises `.`/`..`/`//` in an absolute path without touching the file system. */
function normalise(path: string): string {
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

/** A relative path whose `..` segments climb above where it starts (`../x`, `a/../../x`). */
function climbsAbove(relative: string): boolean {
  let depth = 0;
  for (const n of relative.split('/')) {
    if (n === '..') {
      if (--depth < 0) return true;
    } else if (n !== '' && n !== '.') depth++;
  }
  return false;
}

/**
 * The risk of writing to (or changing the mode/owner of) `path`. `cwdIsSystem` says that a relative
 * path is relative to a system directory (the line `cd`-ed there), `cwdUnknown` that it may be;
 * `homeDir`, where the host says the home directory is (an absolute path under it is judged as one
 * under `~`).
 */
export function pathRisk(
  path: string,
  cwd: 'home' | 'system' | 'unknown' = 'home',
  homeDir?: string,
): PathRisk {
  if (path === '') return 'normal';
  const names = path.split('/');
  if (names.some((n) => SENSITIVE_NAMES.has(n))) return 'system';
  // A repository's own directory, or what in a bare one git reads as settings, and ~/.config/git: git
  // runs the programs they name on later commands, reads included (`git status` runs core.fsmonitor).
  // `.git` is written whole as well as into: a directory moved or copied in with its config, or a
  // `gitdir: DIR` file sending git to a directory of the writer's making (docs/security.md class 377).
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    const next = names[i + 1];
    if (n === '.git') return 'system';
    if (n.endsWith('.git') && (next === undefined || GIT_DIR_SETTINGS.has(next))) return 'system';
    if (n === '.config' && next === 'git') return 'system';
  }
  if (path.startsWith('~')) {
    const slash = path.indexOf('/');
    const prefix = slash < 0 ? path.slice(1) : path.slice(1, slash);
    const rest = slash < 0 ? '' : path.slice(slash + 1);
    // `~+` is the working directory, `~-` the previous one; `~name` another account's home, which for
    // system accounts is a system directory (`~bin` is /bin, `~postgres` /var/lib/postgresql).
    if (prefix === '+') return pathRisk(rest === '' ? '.' : rest, cwd);
    if (prefix === '-') return 'unknown';
    if (prefix !== '') return 'system';
    // Above the home directory (`~/../../etc/cron.d/x`) is /home, another's home, or the system.
    if (climbsAbove(rest)) return 'system';
    return inHomeRunDir(rest) ? 'system' : 'normal';
  }
  if (!path.startsWith('/')) {
    if (cwd === 'system') return 'system';
    if (cwd === 'unknown') return 'unknown';
    if (climbsAbove(path)) return 'system';
    return inHomeRunDir(path) ? 'system' : 'normal';
  }
  const abs = normalise(path);
  // Someone's home: /home/NAME/…
  const home = /^\/home\/[^/]+(\/.*)?$/.exec(abs);
  if (home !== null && inHomeRunDir(home[1] ?? '')) return 'system';
  // The home directory as the host names it (host-paths.ts: where a write lands), wherever it is.
  if (homeDir !== undefined) {
    const h = normalise(homeDir);
    if (h !== '/' && abs.startsWith(`${h}/`) && inHomeRunDir(abs.slice(h.length))) return 'system';
  }
  if (HARMLESS_PATHS.has(abs) || /^\/(dev|proc\/self)\/fd\/\d+$/.test(abs)) return 'harmless';
  if (abs.startsWith('/dev/tcp/') || abs.startsWith('/dev/udp/')) return 'network';
  if (STORAGE_DEVICE.test(abs)) return 'device';
  if (abs.startsWith('/dev/')) return 'system';
  // `/`, and a top-level directory itself (`/home`, `/var`, `/srv`), hold everyone's data.
  if (abs.split('/').length <= 2) return 'system';
  for (const prefix of SYSTEM_PREFIXES) {
    if (abs === prefix || abs.startsWith(`${prefix}/`)) return 'system';
  }
  return 'normal';
}

/** The host of a bash `/dev/tcp/HOST/PORT` path. */
export function devTcpHost(path: string): string | undefined {
  const m = /^\/dev\/(?:tcp|udp)\/([^/]+)\//.exec(path);
  return m?.[1];
}

/** Loopback names and addresses (the traffic never leaves the host). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The host a URL-ish or `host:port`/`user@host:path` argument names, or undefined when it names none
 * (a plain word). Literal values only.
 */
export function hostOf(arg: string): string | undefined {
  const url = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/.exec(arg);
  if (url !== null) return url[1];
  const scpLike = /^(?:[^@/:]+@)?(\[[^\]]*\]|[A-Za-z0-9.-]+):/.exec(arg);
  if (scpLike !== null) return scpLike[1];
  return undefined;
}
