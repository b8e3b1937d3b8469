// Reload without dropping live sessions: a new policy applies to the next statement of a session
// that was already open; a bad config is refused with the reason and the running one kept.

import { readFileSync, writeFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
let client: pg.Client;
let original: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    watchConfig: true,
    setupSql: 'CREATE TABLE t (x int)',
  });
  original = readFileSync(gw.configFile, 'utf8');
  client = gw.client(await gw.token());
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await gw?.stop();
});

function withRules(rules: unknown[]): string {
  const c = parse(original) as { policies: { rules: unknown[] }[] };
  c.policies[0]!.rules = rules;
  return stringify(c);
}

async function eventually(fn: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

const insertRefused = async () =>
  client.query('INSERT INTO t VALUES (1)').then(
    () => false,
    (e: pg.DatabaseError) => e.code === '42501',
  );

it('applies a reloaded policy to a live session (file watch)', async () => {
  expect(await insertRefused()).toBe(false);
  writeFileSync(
    gw.configFile,
    withRules([
      { id: 'no-writes', effect: 'deny', match: { categories: ['write'] }, message: 'Read-only for now.' },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ]),
  );
  await eventually(insertRefused);
  // The same connection still works for reads: it was not dropped.
  expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
});

it('refuses a bad config, keeps the running one, and says why', async () => {
  writeFileSync(gw.configFile, withRules([{ id: 'x', effect: 'permit', match: {} }]));
  const r = await gw.gateway.reload();
  expect(r.ok).toBe(false);
  expect(r.ok ? '' : r.error).toMatch(/line \d+, policies\[0\]\.rules\[0\]\.effect/);
  expect(gw.logs.join('\n')).toMatch(/configuration reload refused/);
  expect(await insertRefused()).toBe(true);
  expect((await client.query('SELECT 2 AS two')).rows[0].two).toBe(2);
});

it('SIGHUP-style reload back to the original policy', async () => {
  writeFileSync(gw.configFile, original);
  expect(await gw.gateway.reload()).toEqual({ ok: true });
  expect(await insertRefused()).toBe(false);
});
