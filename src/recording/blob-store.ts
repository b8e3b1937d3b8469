// Where large record payloads (result samples) live: a port with a local-folder and an S3 adapter.
// Blobs are named by session and SHA-256, so the hash chain covers them and a purge removes a
// session's blobs by prefix. A blob store must never be on the statement's path to the upstream.

export interface BlobStore {
  readonly kind: 'local' | 's3';
  put(key: string, body: Buffer): Promise<void>;
  /** undefined when there is no such blob. */
  get(key: string): Promise<Buffer | undefined>;
  /** Deletes every blob whose key starts with `prefix`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  close?(): Promise<void>;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** Keys are relative slash-separated names of safe characters: no `..`, no absolute paths. */
export function assertBlobKey(key: string): void {
  if (!KEY.test(key) || key.length > 512)
    throw new Error(`invalid blob key ${JSON.stringify(key.slice(0, 80))}`);
}

/** The key of a session's result sample with this SHA-256. */
export function sampleBlobKey(sessionId: string, sha256: string): string {
  return `${sessionPrefix(sessionId)}${sha256}.json`;
}

/** The key of a session's terminal recording with this SHA-256. */
export function terminalBlobKey(sessionId: string, sha256: string): string {
  return `${sessionPrefix(sessionId)}${sha256}.cast.json`;
}

export function sessionPrefix(sessionId: string): string {
  // Session ids are UUIDs; anything else is hex-encoded so it stays one safe path segment.
  const seg = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(sessionId)
    ? sessionId
    : `x${Buffer.from(sessionId).toString('hex')}`;
  return `sessions/${seg}/`;
}
