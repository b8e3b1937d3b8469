// The default blob store: a folder (default <dataDir>/blobs) with one file per blob.
// It must never write outside its folder: keys are checked, and written by temp file + rename so a
// reader never sees half a blob.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assertBlobKey, type BlobStore } from './blob-store.js';

export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  #file(key: string): string {
    assertBlobKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Buffer): Promise<void> {
    const file = this.#file(key);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, body, { mode: 0o600 });
    await rename(tmp, file);
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#file(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    // Prefixes used here are folders (`sessions/<id>/`): delete that folder.
    const trimmed = prefix.replace(/\/+$/, '');
    assertBlobKey(trimmed);
    const dir = path.join(this.root, ...trimmed.split('/'));
    let n = 0;
    try {
      n = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).length;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    await rm(dir, { recursive: true, force: true });
    return n;
  }
}
