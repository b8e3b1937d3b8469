// The sftp subsystem, operation by operation (class 89). The subsystem itself is decided when it is
// opened; then each SFTP request (draft-ietf-secsh-filexfer-02, version 3, and OpenSSH's extensions)
// that changes something on the host — opening a file for writing, setstat/fsetstat (chmod, chown),
// remove, mkdir, rmdir, rename, symlink, posix-rename, hardlink, lsetstat, and any request Gatehouse
// does not know — is decided as an `sftp` action of its own, on the paths it names, before it is
// forwarded; and recorded as a statement. Reads (stat, opendir, readdir, realpath, readlink, opening a
// file only to read it, read, close) go through as they are. A refused request is answered with an
// SSH_FXP_STATUS "permission denied" carrying the reason, and never reaches the host.
//
// Both directions are framed into packets: the client's whole (up to MAX_PACKET), the host's as a
// stream whose packet boundaries are followed, so an answer Gatehouse makes goes between two of the
// host's packets. Paths are decided as the host's sftp-server reads them: relative to the home
// directory; one holding a NUL (the server stops there) or bytes that are not UTF-8 is refused.

import type { Writable } from 'node:stream';
import { sshAction, type SshAction } from '../../core/action.js';
import { pathRisk } from '../../shell/targets.js';
import { holdForRoom, type BytePipe, type BytePipeCounts, type PipeChannel } from './byte-pipe.js';

/** OpenSSH's sftp-server refuses longer packets (SFTP_MAX_MSG_LENGTH); so does Gatehouse. */
export const MAX_PACKET = 256 * 1024;

const FXP = {
  INIT: 1,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  EXTENDED: 200,
} as const;

const FX_PERMISSION_DENIED = 3;
/** The protocol version Gatehouse reads requests in (OpenSSH's sftp-server speaks only this one). */
const SFTP_VERSION = 3;
const FXP_VERSION = 2;
/** SSH_FXP_NAME: the host's answer to a REALPATH. */
const FXP_NAME = 104;
/** The largest answer to Gatehouse's own REALPATH it takes (a path and its long name). */
const OWN_ANSWER_MAX = 64 * 1024;
const FXF_READ = 0x1;
const ATTR_SIZE = 0x1;
const ATTR_UIDGID = 0x2;
const ATTR_PERMISSIONS = 0x4;

/** Requests that only read, forwarded as they are. */
const READS: ReadonlySet<number> = new Set([
  FXP.INIT,
  FXP.CLOSE,
  FXP.READ,
  FXP.WRITE, // to a handle opened for writing, which was decided when it was opened
  FXP.LSTAT,
  FXP.FSTAT,
  FXP.OPENDIR,
  FXP.READDIR,
  FXP.REALPATH,
  FXP.STAT,
  FXP.READLINK,
]);

/** OpenSSH extensions that only read (or, for copy-data and fsync, act on a handle opened to write). */
const READ_EXTENSIONS: ReadonlySet<string> = new Set([
  'statvfs@openssh.com',
  'fstatvfs@openssh.com',
  'limits@openssh.com',
  'expand-path@openssh.com',
  'home-directory',
  'users-groups-by-id@openssh.com',
  'fsync@openssh.com',
  'copy-data',
]);

/** What one request is decided as. */
export interface SftpOperation {
  /** `open-write`, `setstat`, `remove`, `rename`, `symlink`, `posix-rename@openssh.com`… */
  readonly op: string;
  /** The text decided and recorded: the operation and its paths (`rename ~/a ~/.bashrc`). */
  readonly text: string;
  readonly categories: readonly string[];
  /**
   * The paths it writes through, to be resolved on the host before it is decided (a directory on the
   * way may be a link the host already has): `follows` when the request follows a link at the last
   * component too (open, setstat), else only the directories on the way are resolved.
   */
  readonly through?: readonly { readonly path: string; readonly follows: boolean }[];
}

/** A request that must not reach the host whatever the policy (a NUL in a path…). */
export interface SftpRefusal {
  readonly refuse: string;
}

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  u8(): number {
    if (this.at + 1 > this.b.length) throw new Error('short packet');
    return this.b[this.at++]!;
  }
  u32(): number {
    if (this.at + 4 > this.b.length) throw new Error('short packet');
    const v = this.b.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    if (this.at + n > this.b.length) throw new Error('short packet');
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  skip(n: number): void {
    if (this.at + n > this.b.length) throw new Error('short packet');
    this.at += n;
  }
  /** ATTRS: the permission bits and whether an owner is set. */
  attrs(): { permissions?: number; owner: boolean } {
    const flags = this.u32();
    if (flags & ATTR_SIZE) this.skip(8);
    let owner = false;
    if (flags & ATTR_UIDGID) {
      this.skip(8);
      owner = true;
    }
    const permissions = flags & ATTR_PERMISSIONS ? this.u32() : undefined;
    return { ...(permissions !== undefined ? { permissions } : {}), owner };
  }
}

/** A path as the host's sftp-server uses it, for deciding; a refusal when it cannot be said. */
function hostPath(raw: Buffer): string | SftpRefusal {
  if (raw.includes(0))
    return { refuse: 'a path holding a NUL byte is refused (the host would stop reading it there)' };
  const text = raw.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(raw)) return { refuse: 'a path that is not UTF-8 is refused' };
  if (text === '' || text === '.') return '~';
  if (text.startsWith('/')) return text;
  // sftp-server's working directory is the home directory; `~` is not special to it.
  return `~/${text}`;
}

/** Shows a path in the decided text: control characters escaped, quoted when it holds a space. */
function shown(path: string): string {
  // eslint-disable-next-line no-control-regex
  const t = path.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return /\s/.test(t) ? JSON.stringify(t) : t;
}

const RISK_ORDER = ['write', 'unknown', 'destructive', 'privilege'] as const;

/** The category of writing to `path`, as the shell classifier judges a write target. */
function writeCategory(path: string, home?: string): (typeof RISK_ORDER)[number] {
  switch (pathRisk(path, 'home', home)) {
    case 'system':
      return 'privilege';
    case 'device':
      return 'destructive';
    case 'unknown':
    case 'network':
      return 'unknown';
    default:
      return 'write';
  }
}

function operation(
  op: string,
  paths: readonly string[],
  extra: readonly string[] = [],
  through: SftpOperation['through'] = [],
): SftpOperation {
  const cats = new Set<string>();
  for (const p of paths) cats.add(writeCategory(p));
  for (const c of extra) cats.add(c);
  const categories = RISK_ORDER.filter((c) => cats.has(c));
  return {
    op,
    text: [op, ...paths.map(shown)].join(' '),
    categories,
    ...(through.length > 0 ? { through } : {}),
  };
}

/** Where writing `path` lands on the host, given what the host resolved its directory (and it) to. */
export function resolvedCategories(
  resolved: readonly string[],
  home?: string,
): readonly (typeof RISK_ORDER)[number][] {
  const cats = new Set(resolved.map((p) => writeCategory(p, home)));
  return RISK_ORDER.filter((c) => cats.has(c));
}

/** `~/d/job` → [`d`, `job`]; `/etc/x` → [`/etc`, `x`]; the form the host's sftp-server reads. */
function hostDirAndBase(path: string): [string, string] {
  const raw = path === '~' ? '.' : path.startsWith('~/') ? path.slice(2) : path;
  const trimmed = raw.length > 1 ? raw.replace(/\/+$/, '') : raw;
  const slash = trimmed.lastIndexOf('/');
  if (slash < 0) return ['.', trimmed];
  return [slash === 0 ? '/' : trimmed.slice(0, slash), trimmed.slice(slash + 1)];
}

/** The host's form of a decided path (relative paths are the home directory's). */
function hostForm(path: string): string {
  return path === '~' ? '.' : path.startsWith('~/') ? path.slice(2) : path;
}

/** setuid, setgid (a program that runs as its owner) or an owner change: privilege, as chmod u+s is. */
function attrCategories(a: { permissions?: number; owner: boolean }): string[] {
  return (a.permissions !== undefined && (a.permissions & 0o6000) !== 0) || a.owner ? ['privilege'] : [];
}

/**
 * What a client request is decided as: undefined for reads (forwarded as they are), a refusal for one
 * that cannot be decided on what the host will do. `handlePath`: the path a handle was opened on.
 */
export function sftpOperation(
  packet: Buffer,
  handlePath: (handle: Buffer) => string | undefined,
): SftpOperation | SftpRefusal | undefined {
  const r = new Reader(packet);
  r.skip(4);
  const type = r.u8();
  if (type === FXP.INIT) return undefined;
  r.u32(); // request id
  const path = (): string => {
    const p = hostPath(r.bytes());
    if (typeof p !== 'string') throw new RefusedPath(p.refuse);
    return p;
  };
  try {
    switch (type) {
      case FXP.OPEN: {
        const p = path();
        const flags = r.u32();
        const a = r.attrs();
        if ((flags & ~FXF_READ) === 0) return undefined;
        return operation('open-write', [p], attrCategories(a), [{ path: p, follows: true }]);
      }
      case FXP.SETSTAT: {
        const p = path();
        return operation(
          'setstat',
          [p],
          ['write', ...attrCategories(r.attrs())],
          [{ path: p, follows: true }],
        );
      }
      case FXP.FSETSTAT: {
        const h = r.bytes();
        const a = r.attrs();
        const p = handlePath(h);
        if (p === undefined)
          return operation('fsetstat (a handle Gatehouse did not see opened)', [], ['unknown']);
        return operation('fsetstat', [p], attrCategories(a), [{ path: p, follows: true }]);
      }
      case FXP.REMOVE: {
        const p = path();
        return operation('remove', [p], [], [{ path: p, follows: false }]);
      }
      case FXP.MKDIR: {
        const p = path();
        return operation('mkdir', [p], [], [{ path: p, follows: false }]);
      }
      case FXP.RMDIR: {
        const p = path();
        return operation('rmdir', [p], [], [{ path: p, follows: false }]);
      }
      case FXP.RENAME: {
        const [a, b] = [path(), path()];
        return operation(
          'rename',
          [a, b],
          [],
          [
            { path: a, follows: false },
            { path: b, follows: false },
          ],
        );
      }
      // OpenSSH sends (and its server reads) the link's target first, then the link.
      case FXP.SYMLINK: {
        const [target, link] = [path(), path()];
        return operation('symlink', [target, link], [], [{ path: link, follows: false }]);
      }
      case FXP.EXTENDED: {
        const name = r.bytes().toString('latin1');
        if (READ_EXTENSIONS.has(name)) return undefined;
        if (name === 'posix-rename@openssh.com' || name === 'hardlink@openssh.com') {
          const [a, b] = [path(), path()];
          return operation(
            name,
            [a, b],
            [],
            [
              { path: a, follows: false },
              { path: b, follows: false },
            ],
          );
        }
        if (name === 'lsetstat@openssh.com') {
          const p = path();
          return operation(name, [p], ['write', ...attrCategories(r.attrs())], [{ path: p, follows: false }]);
        }
        return operation(`extension ${shown(name.slice(0, 100))}`, [], ['unknown']);
      }
      default:
        if (READS.has(type)) return undefined;
        return operation(`request type ${type}`, [], ['unknown']);
    }
  } catch (e) {
    if (e instanceof RefusedPath) return { refuse: e.message };
    return operation(`malformed request type ${type}`, [], ['unknown']);
  }
}

class RefusedPath extends Error {}

/** The categories of both, most severe last, as `operation` orders them. */
function mergeCategories(a: readonly string[], b: readonly string[]): string[] {
  const all = new Set([...a, ...b]);
  return RISK_ORDER.filter((c) => all.has(c));
}

/** SSH_FXP_STATUS "permission denied" for request `id`, with Gatehouse's reason. */
function statusDenied(id: number, message: string): Buffer {
  const msg = Buffer.from(`gatehouse: ${message}`.slice(0, 1000), 'utf8');
  const body = Buffer.alloc(1 + 4 + 4 + 4 + msg.length + 4);
  let at = 0;
  body[at++] = FXP.STATUS;
  body.writeUInt32BE(id, at);
  at += 4;
  body.writeUInt32BE(FX_PERMISSION_DENIED, at);
  at += 4;
  body.writeUInt32BE(msg.length, at);
  at += 4;
  msg.copy(body, at);
  at += msg.length;
  body.writeUInt32BE(0, at); // language tag
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

export interface SftpGateDeps {
  readonly connection: string;
  /**
   * Decides one operation (held for a person if the policy says so): true to forward it, or the
   * reason it is refused. Recording it is the caller's.
   */
  readonly decide: (action: SshAction) => Promise<true | string>;
  /** A request refused before any policy (a NUL in a path): recorded as a refusal. */
  readonly refused: (text: string, message: string) => void;
  readonly clientSocket?: Writable;
  readonly onClose: (counts: BytePipeCounts) => void;
}

/** Refusals waiting for the end of a host packet; more closes the channel. */
const MAX_WAITING_ANSWERS = 1024;
/** Most handles followed at once (sftp-server allows far fewer); past that, fsetstat is `unknown`. */
const MAX_HANDLES = 1024;

/**
 * Relays an sftp channel, deciding each request that changes something before it goes up. Replaces
 * pipeBytes for the sftp subsystem: the same backpressure, end and close handling.
 */
export function pipeSftp(client: PipeChannel, host: PipeChannel, deps: SftpGateDeps): BytePipe {
  let toHost = 0;
  let toClient = 0;
  let done = false;
  /** Client bytes not yet a whole packet. */
  let pending: Buffer = Buffer.alloc(0);
  const queue: Buffer[] = [];
  let busy = false;
  let clientEnded = false;
  /** Requests opening a file or directory, until the host answers with a handle: id → path. */
  const opening = new Map<number, string>();
  const handles = new Map<string, string>();

  // Host → client: packets followed as a stream, so Gatehouse's answers go between two of them.
  let hostHeader: Buffer = Buffer.alloc(0);
  let hostLeft = 0;
  /** A HANDLE answer being collected whole (small) to learn the handle's path. */
  let handlePacket: Buffer[] | undefined;
  const answers: Buffer[] = [];
  /** Client request ids forwarded and not yet answered (Gatehouse's own ids avoid them). */
  const outstanding = new Set<number>();
  /** Gatehouse's own REALPATH requests: id → what to do with the host's answer (undefined: none). */
  const ours = new Map<number, (resolved: string | undefined) => void>();
  let ownPacket: Buffer[] | undefined;
  let ownSize = 0;
  let nextOwnId = 0xfff00000;

  const close = (): void => {
    if (done) return;
    for (const settle of ours.values()) settle(undefined);
    ours.clear();
    done = true;
    client.close();
    host.close();
    deps.onClose({ toHost, toClient });
  };

  const toClientWrite = (d: Buffer): void => {
    toClient += d.length;
    holdForRoom(client.write(d), host, client, deps.clientSocket);
  };
  const flushAnswers = (): void => {
    if (hostLeft === 0 && hostHeader.length === 0) for (const a of answers.splice(0)) toClientWrite(a);
  };

  host.on('data', (d: Buffer) => {
    let i = 0;
    while (i < d.length) {
      if (hostLeft === 0) {
        const need = 9 - hostHeader.length;
        const take = d.subarray(i, i + need);
        hostHeader = Buffer.concat([hostHeader, take]);
        i += take.length;
        if (hostHeader.length < 9) break;
        const len = hostHeader.readUInt32BE(0);
        const type = hostHeader[4]!;
        const id = hostHeader.readUInt32BE(5);
        if (len < 5) return close();
        // Requests are read as version 3 lays them out (later versions open, rename and link with
        // other fields): a host that answers with another version is not relayed.
        if (type === FXP_VERSION && id !== SFTP_VERSION) return close();
        hostLeft = len + 4 - 9;
        const header = hostHeader;
        hostHeader = Buffer.alloc(0);
        if (ours.has(id)) {
          // The answer to Gatehouse's own REALPATH: kept, never relayed.
          if (len > OWN_ANSWER_MAX) return close();
          ownPacket = [header];
          ownSize = header.length;
          if (hostLeft === 0) endOwnPacket();
          continue;
        }
        if (type !== FXP_VERSION) outstanding.delete(id);
        const path = opening.get(id);
        if (path !== undefined && type !== FXP.HANDLE) opening.delete(id);
        if (path !== undefined && type === FXP.HANDLE && hostLeft <= 4 + 256) handlePacket = [header];
        else toClientWrite(header);
        if (hostLeft === 0) endHostPacket(id);
        continue;
      }
      const take = d.subarray(i, i + hostLeft);
      i += take.length;
      hostLeft -= take.length;
      if (ownPacket) {
        ownPacket.push(take);
        ownSize += take.length;
        if (hostLeft === 0) endOwnPacket();
        continue;
      }
      if (handlePacket) handlePacket.push(take);
      else toClientWrite(take);
      if (hostLeft === 0) endHostPacket(undefined);
    }
    flushAnswers();
  });
  const endOwnPacket = (): void => {
    const whole = Buffer.concat(ownPacket!, ownSize);
    ownPacket = undefined;
    const id = whole.readUInt32BE(5);
    const settle = ours.get(id);
    ours.delete(id);
    let resolved: string | undefined;
    try {
      // SSH_FXP_NAME with one name: the resolved path. Anything else (a STATUS: no such file) is none.
      if (whole[4] === FXP_NAME) {
        const r = new Reader(whole.subarray(9));
        if (r.u32() >= 1) {
          const name = r.bytes();
          const text = name.toString('utf8');
          if (!name.includes(0) && Buffer.from(text, 'utf8').equals(name)) resolved = text;
        }
      }
    } catch {
      resolved = undefined;
    }
    settle?.(resolved);
  };
  let home: string | undefined;
  /** Asks the host where `path` leads (SSH_FXP_REALPATH, which follows links), on this channel. */
  const realpath = (path: string, type: number = FXP.REALPATH): Promise<string | undefined> =>
    new Promise((resolve) => {
      if (done) return resolve(undefined);
      let id = nextOwnId;
      while (outstanding.has(id) || ours.has(id)) id = (id + 1) >>> 0 || 0xfff00000;
      nextOwnId = (id + 1) >>> 0 || 0xfff00000;
      const name = Buffer.from(path, 'utf8');
      const p = Buffer.alloc(4 + 1 + 4 + 4 + name.length);
      p.writeUInt32BE(p.length - 4, 0);
      p[4] = type;
      p.writeUInt32BE(id, 5);
      p.writeUInt32BE(name.length, 9);
      name.copy(p, 13);
      ours.set(id, resolve);
      toHost += p.length;
      host.write(p);
    });
  /**
   * Where the request's paths lead on the host: each directory on the way resolved by the host (and
   * the path itself, for a request that follows a link there), when that differs from the text.
   */
  const onHost = async (through: NonNullable<SftpOperation['through']>): Promise<string[]> => {
    const out: string[] = [];
    for (const t of through.slice(0, 2)) {
      const [dir, base] = hostDirAndBase(t.path);
      const parent = await realpath(dir);
      if (parent !== undefined && base !== '' && base !== '.' && base !== '..')
        out.push(parent === '/' ? `/${base}` : `${parent}/${base}`);
      if (t.follows) {
        const whole = await realpath(hostForm(t.path));
        if (whole !== undefined) out.push(whole);
        else {
          // A link whose target does not exist yet: opening it creates the target.
          const target = await realpath(hostForm(t.path), FXP.READLINK);
          if (target !== undefined)
            out.push(target.startsWith('/') || parent === undefined ? target : `${parent}/${target}`);
        }
      }
    }
    return out;
  };
  const endHostPacket = (id: number | undefined): void => {
    if (!handlePacket) return;
    const whole = Buffer.concat(handlePacket);
    handlePacket = undefined;
    const answerId = id ?? whole.readUInt32BE(5);
    const path = opening.get(answerId);
    opening.delete(answerId);
    try {
      const r = new Reader(whole.subarray(9));
      const handle = r.bytes();
      if (path !== undefined && handles.size < MAX_HANDLES) handles.set(handle.toString('hex'), path);
    } catch {
      // a malformed answer: the handle is not followed, so an fsetstat on it is `unknown`
    }
    toClientWrite(whole);
  };
  host.on('end', () => client.end());

  // Client → host: whole packets, each decided (or not) in order.
  client.on('data', (d: Buffer) => {
    pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
    while (pending.length >= 4) {
      const len = pending.readUInt32BE(0);
      if (len < 5 || len > MAX_PACKET) return close();
      if (pending.length < len + 4) break;
      queue.push(pending.subarray(0, len + 4));
      pending = pending.subarray(len + 4);
    }
    if (queue.length > 16) client.pause();
    if (!busy) void drain();
  });
  client.on('end', () => {
    clientEnded = true;
    if (!busy) void drain();
  });

  const forward = (p: Buffer): void => {
    toHost += p.length;
    if (p[4] !== FXP.INIT && p.length >= 9) outstanding.add(p.readUInt32BE(5));
    host.write(p);
  };
  /** Waits while the host's window is full: the client's packets wait in `queue`, then in its window. */
  const hostRoom = (): Promise<void> =>
    new Promise((resolve) => {
      if (!host.writableNeedDrain || done) return resolve();
      const go = (): void => {
        host.off('drain', go);
        host.off('close', go);
        resolve();
      };
      host.on('drain', go);
      host.on('close', go);
    });

  const drain = async (): Promise<void> => {
    busy = true;
    try {
      while (!done && queue.length > 0) {
        const p = queue.shift()!;
        await take(p);
        await hostRoom();
        if (queue.length < 4) client.resume();
      }
      if (clientEnded && !done && queue.length === 0) host.end();
    } finally {
      busy = false;
    }
  };

  const take = async (packet: Buffer): Promise<void> => {
    let p = packet;
    const type = p[4]!;
    const id = p.length >= 9 ? p.readUInt32BE(5) : 0;
    // The version asked for is pinned to the one requests are read in.
    if (type === FXP.INIT && p.length >= 9 && p.readUInt32BE(5) !== SFTP_VERSION) {
      p = Buffer.from(p);
      p.writeUInt32BE(SFTP_VERSION, 5);
    }
    const op = sftpOperation(p, (h) => handles.get(h.toString('hex')));
    if (op !== undefined && 'refuse' in op) {
      deps.refused(`sftp request type ${type}`, op.refuse);
      return answer(id, op.refuse);
    }
    if (op !== undefined) {
      // A directory on the way (or the file) may be a link the host already has: where the request
      // lands is asked of the host first, and judged too (class 108).
      const landed = op.through ? await onHost(op.through) : [];
      if (done) return;
      const shownPaths = op.text.split(' ').slice(1);
      const elsewhere = [...new Set(landed)].filter((l) => !shownPaths.includes(l));
      // The home directory as the host names it: a place under it (as the client wrote it, or where
      // it lands) is judged as one under `~` (a program's settings there: class 333).
      if (landed.length > 0) home ??= await realpath('.');
      if (done) return;
      const categories = mergeCategories(op.categories, resolvedCategories([...new Set(landed)], home));
      const action = sshAction({
        connection: deps.connection,
        request: 'sftp',
        subsystem: 'sftp',
        command:
          elsewhere.length > 0 ? `${op.text} (on the host: ${elsewhere.map(shown).join(', ')})` : op.text,
        commandCategories: categories,
        commandKind: `sftp ${op.op}`,
      });
      const decided = await deps.decide(action);
      if (done) return;
      if (decided !== true) return answer(id, decided);
    }
    if (type === FXP.CLOSE) {
      try {
        const r = new Reader(p.subarray(9));
        handles.delete(r.bytes().toString('hex'));
      } catch {
        // forwarded as it is; the host answers it
      }
    }
    if ((type === FXP.OPEN || type === FXP.OPENDIR) && opening.size < MAX_HANDLES) {
      const raw = new Reader(p.subarray(9));
      const path = hostPath(raw.bytes());
      if (typeof path === 'string') opening.set(id, path);
    }
    forward(p);
  };

  const answer = (id: number, message: string): void => {
    // Answers wait for the end of the host's packet; a client that stops reading while it sends
    // refused requests would make them pile up.
    if (answers.length >= MAX_WAITING_ANSWERS) return close();
    answers.push(statusDenied(id, message));
    flushAnswers();
  };

  client.on('close', close);
  host.on('close', close);
  client.on('error', close);
  host.on('error', close);
  return { close };
}
