// The upstream password is held by the gateway alone: it appears in no log line, no session record,
// no client-facing message and no CLI output — including when the upstream refuses the login.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const exec = promisify(execFile);
const BIN = path.resolve('bin/gatehouse.js');

let gw: TestGateway;
const seen: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    setupSql: 'CREATE TABLE t (x int); INSERT INTO t VALUES (1)',
  });
});
afterAll(async () => gw?.stop());

it('never shows the upstream password', { timeout: 120_000 }, async () => {
  const token = await gw.token();
  const c = gw.client(token);
  await c.connect();
  await c.query('SELECT * FROM t');
  await c.query('SELECT current_setting($1)', ['application_name']);
  const err = await c.query('SELECT * FROM missing_table').catch((e: unknown) => e as Error);
  seen.push(err instanceof Error ? `${err.message} ${JSON.stringify(err)}` : JSON.stringify(err));
  // Ask the upstream for things that would echo credentials if they were reachable.
  const who = await c.query('SELECT current_user, session_user');
  seen.push(JSON.stringify(who.rows));
  await c.end();

  // A gateway whose upstream password is wrong: the client must get a clear error without it.
  const bad = await startTestGateway({ superUrl: inject('pgUrl') });
  const wrong = `${bad.upstreamPassword}-but-wrong`;
  const fs = await import('node:fs/promises');
  await fs.writeFile(path.join(bad.dir, 'upstream-password'), `${wrong}\n`);
  await bad.gateway.reload();
  const bc = bad.client(await bad.token());
  const loginErr = (await bc.connect().catch((e: unknown) => e)) as Error;
  seen.push(`${loginErr.message} ${JSON.stringify(loginErr)}`, ...bad.logs);
  expect(loginErr.message).toMatch(/could not open connection/);
  expect(seen.join('\n')).not.toContain(wrong);
  await bad.stop();

  await new Promise((r) => setTimeout(r, 300));
  const sessions = await gw.gateway.store.listSessions({ limit: 1000 });
  for (const s of sessions) seen.push(JSON.stringify(await gw.gateway.store.getSession(s.id)));
  seen.push(...gw.logs);

  const config = path.join(gw.dir, 'gatehouse.yaml');
  for (const args of [
    ['sessions', 'list', '--json'],
    ['sessions', 'list'],
    ['sessions', 'show', sessions[0]!.id, '--json'],
    ['token', 'list', '--json'],
    ['config', 'check', config],
  ]) {
    const r = await exec(process.execPath, [BIN, '--config', config, ...args], { cwd: gw.dir }).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    seen.push(r.stdout, r.stderr);
  }
  const all = seen.join('\n');
  expect(all.length).toBeGreaterThan(1000);
  expect(all).toContain('SELECT * FROM t');
  expect(all).not.toContain(gw.upstreamPassword);
});
