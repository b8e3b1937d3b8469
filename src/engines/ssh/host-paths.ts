// Where an exec's or a shell line's writes land on the host (docs/security.md class 120). The shell
// classifier judges a write on the path as written; the host follows whatever links are on the way, and
// a link made earlier (by an approved line, a script, another person) carries `echo … > ~/notes` into
// `~/.bashrc`, or `cp x /tmp/x/job` into `/etc/cron.d`. So before such a command is decided, Gatehouse
// asks the host, on an sftp channel of its own on the same upstream connection (which runs no command
// and changes nothing: REALPATH, LSTAT and READLINK only), where each ordinary write lands, and judges
// that too. What it cannot establish (no sftp on the host, a path it may not look at, too many links) is
// `unknown`, never an ordinary write.

import path from 'node:path/posix';
import type ssh2 from 'ssh2';
import { MAX_WRITE_PATHS, pathRisk, type ShellCategory } from '../../shell/index.js';

/** SSH_FX_NO_SUCH_FILE, as ssh2 reports it in an error's `code`. */
const NO_SUCH_FILE = 2;
/** Links followed for one path (the kernel's own limit is 40). */
const MAX_LINKS = 40;
/** Ancestors tried for a path whose directory does not exist yet. */
const MAX_DEPTH = 64;
/** How long the host has to answer all of one line's questions. */
const ANSWER_MS = 10_000;

export interface WriteLandings {
  /** Categories the landing places add (`write`, `privilege`, `destructive`, `unknown`). */
  readonly categories: readonly ShellCategory[];
  /** What the host said, for the action's kind: `~/notes lands on /home/u/.bashrc`. */
  readonly notes: readonly string[];
}

type Sftp = ssh2.SFTPWrapper;

function call<T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

const missing = (e: unknown): boolean => (e as { code?: unknown }).code === NO_SUCH_FILE;

/** One upstream connection's side channel: opened when a write is first judged, kept for the next. */
export class HostPaths {
  private channel: Promise<Sftp> | undefined;
  private home: Promise<string> | undefined;

  constructor(private readonly upstream: ssh2.Client) {}

  private sftp(): Promise<Sftp> {
    if (!this.channel) {
      this.channel = call<Sftp>((cb) => this.upstream.sftp(cb));
      this.channel.then(
        (s) => s.once('close', () => (this.channel = this.home = undefined)),
        () => (this.channel = this.home = undefined),
      );
    }
    return this.channel;
  }

  close(): void {
    void this.channel?.then(
      (s) => s.end(),
      () => undefined,
    );
    this.channel = this.home = undefined;
  }

  /** Where each path lands, judged: what the landing places add to the line's categories. */
  async judge(paths: readonly string[]): Promise<WriteLandings> {
    if (paths.length === 0) return { categories: [], notes: [] };
    if (paths.length > MAX_WRITE_PATHS)
      return unknown(
        `it writes more than ${MAX_WRITE_PATHS} paths, and where each lands was not asked of the host`,
      );
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.judgeAll(paths),
        new Promise<never>((_r, reject) => {
          timer = setTimeout(() => reject(new Error('the host did not answer in time')), ANSWER_MS);
        }),
      ]);
    } catch (e) {
      return unknown(
        `where it writes could not be established on the host (${(e as Error).message.slice(0, 200)})`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private async judgeAll(paths: readonly string[]): Promise<WriteLandings> {
    const sftp = await this.sftp();
    this.home ??= call<string>((cb) => sftp.realpath('.', cb));
    const home = await this.home;
    const cats = new Set<ShellCategory>();
    const notes: string[] = [];
    for (const p of paths) {
      const written =
        p === '~' ? home : p.startsWith('~/') ? `${home}${p.slice(1)}` : p.startsWith('/') ? p : undefined;
      if (written === undefined) {
        cats.add('unknown');
        notes.push(`${p.slice(0, 200)}: where it starts is not known`);
        continue;
      }
      const lands = await landing(sftp, written);
      if (lands === path.normalize(written).replace(/(.)\/+$/, '$1')) continue;
      notes.push(`${p.slice(0, 200)} lands on ${lands.slice(0, 300)}`);
      switch (pathRisk(lands, 'home', home)) {
        case 'system':
          cats.add('write').add('privilege');
          break;
        case 'device':
          cats.add('destructive');
          break;
        case 'normal':
          cats.add('write');
          break;
        case 'harmless':
          break;
        default:
          cats.add('unknown');
      }
    }
    return { categories: [...cats], notes };
  }
}

function unknown(why: string): WriteLandings {
  return { categories: ['unknown'], notes: [why] };
}

/**
 * The real path a write to `p` (absolute) lands on: its directory resolved by the host (REALPATH, the
 * nearest existing ancestor for one not made yet), then its last component followed while it is a link
 * (LSTAT, READLINK), as open(2) with O_CREAT follows a dangling link.
 */
async function landing(sftp: Sftp, p: string, links = 0): Promise<string> {
  if (links > MAX_LINKS) throw new Error(`more than ${MAX_LINKS} links`);
  const trimmed = p.replace(/(.)\/+$/, '$1');
  const base = path.basename(trimmed);
  if (trimmed === '/' || base === '.' || base === '..') return realExisting(sftp, trimmed);
  const dir = await realExisting(sftp, path.dirname(trimmed));
  const full = path.join(dir, base);
  let st: ssh2.Stats;
  try {
    st = await call<ssh2.Stats>((cb) => sftp.lstat(full, cb));
  } catch (e) {
    if (missing(e)) return full;
    throw e;
  }
  if (!st.isSymbolicLink()) return full;
  const target = await call<string>((cb) => sftp.readlink(full, cb));
  return landing(sftp, target.startsWith('/') ? target : path.join(dir, target), links + 1);
}

/** The host's real path of `p`, or of its nearest existing ancestor with the rest joined on. */
async function realExisting(sftp: Sftp, p: string): Promise<string> {
  const rest: string[] = [];
  let at = p;
  for (let i = 0; i < MAX_DEPTH; i++) {
    try {
      const real = await call<string>((cb) => sftp.realpath(at, cb));
      return rest.length === 0 ? real : path.join(real, ...rest.reverse());
    } catch (e) {
      if (!missing(e) || at === '/' || at === '.') throw e;
      rest.push(path.basename(at));
      at = path.dirname(at);
    }
  }
  throw new Error('the path is too deep');
}
