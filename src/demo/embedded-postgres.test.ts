import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { startEmbeddedPostgres, untraversableAncestor } from './embedded-postgres.js';

describe('untraversableAncestor', () => {
  const modes: Record<string, number> = {
    '/': 0o755,
    '/srv': 0o755,
    '/srv/app': 0o700,
    '/srv/app/.gatehouse': 0o711,
  };
  const modeOf = (d: string) => modes[d] ?? 0o755;

  test('names the first directory above the data dir that only its owner may pass through', () => {
    expect(untraversableAncestor('/srv/app/.gatehouse/demo', modeOf)).toBe('/srv/app');
  });

  test('is undefined when every directory up to / lets others through', () => {
    expect(untraversableAncestor('/srv/other/.gatehouse/demo', modeOf)).toBeUndefined();
  });
});

// As root, PostgreSQL runs as the `postgres` OS user: a data dir it cannot reach must fail with an
// error that says which directory and what to do, not initdb's bare "Permission denied".
test.skipIf(process.getuid?.() !== 0)(
  'as root, a data dir behind a private directory is refused clearly',
  async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-private-')); // mode 0700
    try {
      await expect(
        startEmbeddedPostgres({ dataDir: path.join(dir, 'demo', 'postgres'), port: 1, password: 'x' }),
      ).rejects.toThrow(`${dir} lets only its owner through`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
