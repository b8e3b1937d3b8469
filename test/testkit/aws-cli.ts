// The real AWS CLI pointed at a gateway endpoint with a Gatehouse key, in a HOME of its own (no
// profile, no instance metadata, one attempt): what the AWS tests run their requests through.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export interface AwsCli {
  /** Runs `aws <args> --endpoint-url <endpoint>`; rejects (with `stderr`) on a non-zero exit. */
  readonly run: (...args: string[]) => Promise<{ stdout: string; stderr: string }>;
  /** The CLI's HOME, for files a command reads (`fileb://…`). */
  readonly home: string;
  stop(): void;
}

export function awsCli(endpoint: string, key: { accessKeyId: string; secretAccessKey: string }): AwsCli {
  const home = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-awscli-'));
  const env = {
    PATH: process.env['PATH'] ?? '',
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'),
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
  };
  writeFileSync(env.AWS_CONFIG_FILE, '[default]\n');
  return {
    run: (...args) =>
      promisify(execFile)('aws', [...args, '--endpoint-url', endpoint], { env, timeout: 60_000 }),
    home,
    stop: () => rmSync(home, { recursive: true, force: true }),
  };
}
