// Where writes land, as the host's answers say (class 120): links followed, and what cannot be
// established taken as unknown. The wire test is test/ssh-host-links.test.ts (real sshd); this one
// drives HostPaths with a host that has no sftp, refuses a look, or answers from a table.

import path from 'node:path/posix';
import type ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { HostPaths } from './host-paths.js';

type Cb<T> = (err: (Error & { code?: number }) | null | undefined, v: T) => void;

/** A host whose files are `links` (path → target) and `dirs`; everything else does not exist. */
function host(o: {
  readonly links?: Record<string, string>;
  readonly dirs?: readonly string[];
  readonly denied?: readonly string[];
  readonly noSftp?: boolean;
}): ssh2.Client {
  const links = o.links ?? {};
  const dirs = new Set(['/', '/home', '/home/u', ...(o.dirs ?? [])]);
  const err = (code: number): Error & { code: number } => Object.assign(new Error(`code ${code}`), { code });
  const real = (p: string, depth = 0): string | undefined => {
    if (depth > 40) return undefined;
    const parts = path.normalize(p).split('/').filter(Boolean);
    let at = '/';
    for (const part of parts) {
      const next = path.join(at, part);
      if (links[next] !== undefined) {
        const t = links[next];
        const r = real(t.startsWith('/') ? t : path.join(at, t), depth + 1);
        if (r === undefined) return undefined;
        at = r;
      } else if (dirs.has(next)) at = next;
      else return undefined;
    }
    return at;
  };
  const sftp = {
    once: () => sftp,
    end: () => undefined,
    realpath(p: string, cb: Cb<string>) {
      if (p === '.') return cb(undefined, '/home/u');
      if (o.denied?.some((d) => p.startsWith(d))) return cb(err(3), '');
      const r = real(p);
      return r === undefined ? cb(err(2), '') : cb(undefined, r);
    },
    lstat(p: string, cb: Cb<{ isSymbolicLink(): boolean }>) {
      if (links[p] !== undefined) return cb(undefined, { isSymbolicLink: () => true });
      if (dirs.has(p)) return cb(undefined, { isSymbolicLink: () => false });
      return cb(err(2), { isSymbolicLink: () => false });
    },
    readlink(p: string, cb: Cb<string>) {
      return links[p] !== undefined ? cb(undefined, links[p]) : cb(err(2), '');
    },
  };
  return {
    sftp(cb: Cb<unknown>) {
      if (o.noSftp) cb(new Error('Unable to start subsystem: sftp'), undefined);
      else cb(undefined, sftp);
    },
  } as unknown as ssh2.Client;
}

describe('HostPaths', () => {
  it('follows a dangling link at the last component, a linked directory, and links in links', async () => {
    const h = new HostPaths(
      host({
        links: {
          '/home/u/notes': '.bashrc',
          '/home/u/conf': '/home/u/repo/.git/hooks',
          '/tmp/x': '/etc/cron.d',
          '/home/u/a': 'b',
          '/home/u/b': '/etc/sudoers.d',
        },
        dirs: [
          '/home/u/repo',
          '/home/u/repo/.git',
          '/home/u/repo/.git/hooks',
          '/tmp',
          '/etc',
          '/etc/cron.d',
          '/etc/sudoers.d',
        ],
      }),
    );
    const r = await h.judge([
      '~/notes',
      '~/conf/post-checkout',
      '/tmp/x/job',
      '~/a',
      '~/new/dir/file',
      '~/plain',
    ]);
    expect(r.categories).toEqual(['write', 'privilege']);
    expect(r.notes).toEqual([
      '~/notes lands on /home/u/.bashrc',
      '~/conf/post-checkout lands on /home/u/repo/.git/hooks/post-checkout',
      '/tmp/x/job lands on /etc/cron.d/job',
      '~/a lands on /etc/sudoers.d',
    ]);
    // A bare relative path has no known start (the classifier joins relative ones to `~` or a cd's).
    expect((await h.judge(['a'])).categories).toEqual(['unknown']);
  });

  it('takes what it cannot establish as unknown: no sftp, a refused look, too many paths', async () => {
    const none = await new HostPaths(host({ noSftp: true })).judge(['~/x']);
    expect(none.categories).toEqual(['unknown']);
    expect(none.notes[0]).toContain('could not be established on the host');
    const denied = await new HostPaths(host({ dirs: ['/srv'], denied: ['/srv'] })).judge(['/srv/app/x']);
    expect(denied.categories).toEqual(['unknown']);
    const many = await new HostPaths(host({})).judge(Array.from({ length: 40 }, (_, i) => `~/f${i}`));
    expect(many.categories).toEqual(['unknown']);
    // Nothing written by name: nothing asked.
    expect(await new HostPaths(host({ noSftp: true })).judge([])).toEqual({ categories: [], notes: [] });
  });
});
