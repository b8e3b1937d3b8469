// The demo's AWS stand-in: a local S3-compatible server (s3rver) on a loopback port, with a bucket of
// made-up shop files, and its own key pair that only the gateway holds (agents get Gatehouse keys).
// For trying Gatehouse without an AWS account; never a production store.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

export const DEMO_BUCKET = 'demo-shop';

/** Objects the bucket starts with (written once, when the bucket is new). */
const SEED_OBJECTS: Readonly<Record<string, string>> = {
  'reports/orders-2026-q1.csv':
    'month,orders,revenue_eur\n2026-01,412,18230.50\n2026-02,388,17011.00\n2026-03,455,20544.25\n',
  'exports/customers.csv':
    'id,name,email,card_number\n1,Ada Lovelace,ada@example.com,4111 1111 1111 1111\n2,Alan Turing,alan@example.org,5500 0000 0000 0004\n',
  'config/app.env': 'STRIPE_KEY=sk_live_51HdemoOnlyNotARealKey0000000000\nLOG_LEVEL=info\n',
};

export interface LocalS3 {
  readonly url: string;
  /** The stand-in's own key pair: the gateway signs with it; clients never see it. */
  readonly accessKeyId: string;
  readonly secretFile: string;
  stop(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** Starts the stand-in with its data under `dir`; the bucket and its objects survive restarts. */
export async function startLocalS3(dir: string, port: number): Promise<LocalS3> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const secretFile = path.join(dir, 'secret-access-key');
  const accessKeyId = 'GATEHOUSEDEMOS3KEY01';
  let secret: string;
  if (existsSync(secretFile)) secret = (await readFile(secretFile, 'utf8')).trim();
  else {
    secret = randomBytes(24).toString('base64url');
    await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
  }
  // Loaded on use: only `gatehouse demo` with AWS needs it.
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as S3rverClass;
  // s3rver checks SigV4 signatures of the keys registered on its one account.
  const account = require('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
  };
  account.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secret);
  const dataDir = path.join(dir, 'data');
  const fresh = !existsSync(path.join(dataDir, DEMO_BUCKET));
  const server = new S3rver({
    port,
    address: '127.0.0.1',
    silent: true,
    directory: dataDir,
    configureBuckets: [{ name: DEMO_BUCKET }],
  });
  const addr = await server.run();
  const url = `http://127.0.0.1:${addr.port}`;
  if (fresh) {
    // Seeded directly (s3rver accepts anonymous writes on loopback), not through the gateway.
    for (const [key, body] of Object.entries(SEED_OBJECTS)) {
      const res = await fetch(`${url}/${DEMO_BUCKET}/${key}`, { method: 'PUT', body });
      if (!res.ok) throw new Error(`could not seed s3://${DEMO_BUCKET}/${key}: HTTP ${res.status}`);
    }
  }
  return { url, accessKeyId, secretFile, stop: () => server.close() };
}
