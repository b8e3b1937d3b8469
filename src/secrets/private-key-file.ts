// Creates a new private-key file atomically: a temporary file (0600, fsynced) hard-linked into place
// in a 0700 directory, so a concurrent starter either wins or later reads the complete file the
// other one wrote — never a half-written key. It never reads, prints or returns the key.

import { chmod, link, mkdir, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** `created` when this call wrote the file; `exists` when another writer got there first. */
export async function createPrivateKeyFile(path: string, pem: string): Promise<'created' | 'exists'> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(pem, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await chmod(tmp, 0o600); // the umask cannot widen it, but be explicit
    await link(tmp, path);
    return 'created';
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
    throw cause;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
