// The session record's verification state for the console, computed on the server: the same export
// and offline verifier as `gatehouse recordings export | verify`, checked with the gateway's own key.

import type { BlobStore } from '../recording/blob-store.js';
import type { RecordSigningKey } from '../recording/record-signing-key.js';
import { exportRecording } from '../recording/recording-export.js';
import { verifyRecording, type VerifyReport } from '../recording/recording-verify.js';
import type { EventReader } from '../store/event-queries.js';

/** Records longer than this are verified with the CLI, not on a page view. */
export const MAX_VERIFY_LINES = 50_000;

export type RecordVerification =
  { readonly kind: 'report'; readonly report: VerifyReport } | { readonly kind: 'too-large' };

class TooLarge extends Error {}

export async function verifySessionRecord(
  reader: EventReader,
  sessionId: string,
  key: RecordSigningKey,
  blobs: BlobStore | undefined,
  opts: { readonly endedInStore?: boolean } = {},
): Promise<RecordVerification> {
  async function* capped(): AsyncGenerator<string> {
    let n = 0;
    for await (const line of exportRecording(reader, sessionId, {
      publicKey: { spki: key.spki, fingerprint: key.keyId },
      ...(blobs ? { blobs } : {}),
    })) {
      if (++n > MAX_VERIFY_LINES) throw new TooLarge();
      yield line;
    }
  }
  try {
    const report = await verifyRecording(capped(), {
      publicKey: key.publicKey,
      publicKeySource: 'gateway',
      ...(opts.endedInStore ? { endedInStore: true } : {}),
    });
    return { kind: 'report', report };
  } catch (e) {
    if (e instanceof TooLarge) return { kind: 'too-large' };
    throw e;
  }
}
