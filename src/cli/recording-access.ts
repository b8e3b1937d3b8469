// Opens what the recording commands read: the configured store, the blob store and (if present)
// the record signing key. Read-only use: it never creates a key, and the caller closes everything.

import path from 'node:path';
import { recordKeyPath, openBlobStore, purgeRecordings } from '../recording/index.js';
import { readRecordSigningKey } from '../recording/record-signing-key.js';
import { resolveSecret } from '../secrets/secret-ref.js';
import { openStore } from '../store/index.js';
import { loadCliConfig } from './config-file.js';
import type { RecordingAccess } from './recordings-command.js';

export async function openRecordingAccess(explicit?: string): Promise<RecordingAccess> {
  const { config, baseDir } = await loadCliConfig(explicit);
  const reveal = async (ref: Parameters<typeof resolveSecret>[0]) =>
    (await resolveSecret('file' in ref ? { file: path.resolve(baseDir, ref.file) } : ref)).reveal();
  const store = await openStore(config.store, config.dataDir, reveal);
  try {
    const blobs = await openBlobStore(config.recording.blobs, config.dataDir, baseDir, reveal);
    const key = await readRecordSigningKey(recordKeyPath(config.recording, config.dataDir, baseDir));
    return {
      store,
      blobs,
      key,
      async close() {
        await blobs.close?.();
        await store.close();
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}

export function purgeWith(access: RecordingAccess, before: Date): Promise<number> {
  return purgeRecordings(access.store, access.blobs, before);
}
