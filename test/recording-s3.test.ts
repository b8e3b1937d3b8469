// The S3 blob store against s3rver with the AWS SDK: blobs round-trip, missing ones read as absent,
// a session's blobs go by prefix; and a gateway configured with `recording.blobs.kind: s3` stores a
// large result sample there, exports it and verifies it.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { sampleBlobKey, sessionPrefix } from '../src/recording/blob-store.js';
import { exportRecording } from '../src/recording/recording-export.js';
import { verifyRecording } from '../src/recording/recording-verify.js';
import { S3BlobStore } from '../src/recording/s3-blob-store.js';
import { startS3rver, type RunningFake } from './testkit/aws-upstreams.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let s3: RunningFake;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-rec-s3-'));
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

beforeAll(async () => {
  s3 = await startS3rver(['records'], []);
});

afterAll(async () => {
  await s3?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('S3BlobStore', () => {
  test('puts, gets, reports missing blobs and deletes a session by prefix', async () => {
    const blobs = new S3BlobStore({
      bucket: 'records',
      prefix: 'gh/',
      endpoint: s3.url,
      forcePathStyle: true,
      credentials,
    });
    try {
      const a = sampleBlobKey('sess-a', 'a'.repeat(64));
      const b = sampleBlobKey('sess-a', 'b'.repeat(64));
      const c = sampleBlobKey('sess-b', 'c'.repeat(64));
      const body = Buffer.from(JSON.stringify({ columns: ['x'], rows: [['é', null]], truncated: false }));
      await blobs.put(a, body);
      await blobs.put(b, Buffer.from('{}'));
      await blobs.put(c, Buffer.from('[]'));
      expect((await blobs.get(a))?.equals(body)).toBe(true);
      expect(await blobs.get(sampleBlobKey('sess-a', 'd'.repeat(64)))).toBeUndefined();
      expect(await blobs.deletePrefix(sessionPrefix('sess-a'))).toBe(2);
      expect(await blobs.get(a)).toBeUndefined();
      expect((await blobs.get(c))?.toString()).toBe('[]');
      await expect(blobs.put('../escape', body)).rejects.toThrow(/invalid blob key/);
    } finally {
      await blobs.close();
    }
  });
});

describe('a gateway recording to S3', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    writeFileSync(path.join(tmp, 'key-id'), credentials.accessKeyId);
    writeFileSync(path.join(tmp, 'secret'), credentials.secretAccessKey);
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      extra: {
        recording: {
          inlineSampleBytes: 256,
          blobs: {
            kind: 's3',
            bucket: 'records',
            prefix: 'gatehouse/',
            endpoint: s3.url,
            forcePathStyle: true,
            accessKeyId: { file: path.join(tmp, 'key-id') },
            secretAccessKey: { file: path.join(tmp, 'secret') },
          },
        },
      },
    });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  test('stores a large sample in S3 and exports a record that verifies', async () => {
    const c = gw.client(await gw.token({ subject: 's3-user' }));
    await c.connect();
    await c.query("select g, repeat('s', 50) as filler from generate_series(1, 20) g");
    await c.end();
    await new Promise((r) => setTimeout(r, 200));
    const [s] = await gw.gateway.store.listSessions({ subject: 's3-user', limit: 1 });
    const events = await gw.gateway.store.getEvents(s!.id);
    const ref = events.find((e) => e.data.sampleRef)!.data.sampleRef as { key: string; rows: number };
    expect(ref.rows).toBe(20);
    expect(gw.gateway.recording.blobs.kind).toBe('s3');
    const body = await gw.gateway.recording.blobs.get(ref.key);
    expect(JSON.parse(body!.toString())).toMatchObject({ columns: ['g', 'filler'] });

    const lines: string[] = [];
    const key = gw.gateway.recording.key;
    for await (const l of exportRecording(gw.gateway.store, s!.id, {
      blobs: gw.gateway.recording.blobs,
      publicKey: { spki: key.spki, fingerprint: key.keyId },
    })) {
      lines.push(l);
    }
    expect(lines.some((l) => l.includes('"record":"blob"'))).toBe(true);
    expect(await verifyRecording(lines)).toMatchObject({
      intact: true,
      signature: 'signed',
      blobs: { verified: 1, missing: [] },
    });
  });
});
