// `gatehouse demo` as a new user runs it: one command, a real embedded PostgreSQL, a printed and
// written demo.env, the agent refused a DROP, records on the CLI, and a clean stop — including the
// recovery from a crashed run that left its PostgreSQL behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './testkit/commands.js';

const BIN = path.resolve('bin/gatehouse.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-demo-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  const pidFile = path.join(dir, 'postgres', 'postmaster.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function parseEnv(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

function startDemo(): Promise<{ child: ChildProcess; stdout: () => string; readyMs: number }> {
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [BIN, 'demo', '--data-dir', dir, '--pg-port', '0', '--http-port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('Press Ctrl-C')) {
        clearInterval(timer);
        resolve({ child, stdout: () => out, readyMs: Date.now() - t0 });
      }
    }, 100);
    child.on('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`demo exited early (${code}): ${err}${out}`));
    });
  });
}

/** pg treats sslmode=require as verify-full; verify against the demo's own certificate instead. */
function tlsClient(url: string, env: Record<string, string>): pg.Client {
  const u = new URL(url);
  u.searchParams.delete('sslmode');
  return new pg.Client({
    connectionString: u.toString(),
    ssl: { ca: readFileSync(env.PGSSLROOTCERT!, 'utf8') },
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('gatehouse demo', () => {
  it(
    'starts in one command, works for the agent and the admin, records, and stops cleanly',
    { timeout: 90_000 },
    async () => {
      const { child, stdout, readyMs } = await startDemo();
      expect(readyMs).toBeLessThan(15_000);
      const envFile = path.join(dir, 'demo.env');
      const env = parseEnv(envFile);
      for (const k of [
        'GATEHOUSE_AGENT_TOKEN',
        'GATEHOUSE_ADMIN_TOKEN',
        'GATEHOUSE_AGENT_PGURL',
        'GATEHOUSE_ADMIN_PGURL',
        'GATEHOUSE_HTTP_URL',
        'GATEHOUSE_CONFIG',
      ]) {
        expect(env[k], k).toBeTruthy();
        expect(stdout()).toContain(`${k}=`);
      }
      // libpq URL with sslmode=require: TLS with the generated certificate.
      const agent = tlsClient(env.GATEHOUSE_AGENT_PGURL!, env);
      await agent.connect();
      const rows = (await agent.query('SELECT name, email, card_number FROM customers ORDER BY id LIMIT 3'))
        .rows;
      expect(rows).toHaveLength(3);
      const drop = (await agent.query('DROP TABLE orders').catch((e: unknown) => e)) as pg.DatabaseError;
      expect(drop.code).toBe('42501');
      expect(drop.message).toMatch(/rule/);
      await agent.end();

      const admin = tlsClient(env.GATEHOUSE_ADMIN_PGURL!, env);
      await admin.connect();
      expect((await admin.query('SELECT count(*)::int AS n FROM api_keys')).rows[0].n).toBeGreaterThan(0);
      await admin.end();

      const health = await fetch(`${env.GATEHOUSE_HTTP_URL}/healthz`);
      expect(health.status).toBe(200);
      const api = await fetch(`${env.GATEHOUSE_HTTP_URL}/api/sessions?subject=claude-demo`, {
        headers: { authorization: `Bearer ${env.GATEHOUSE_ADMIN_TOKEN}` },
      });
      expect(((await api.json()) as { sessions: unknown[] }).sessions.length).toBeGreaterThan(0);
      const agentApi = await fetch(`${env.GATEHOUSE_HTTP_URL}/api/sessions`, {
        headers: { authorization: `Bearer ${env.GATEHOUSE_AGENT_TOKEN}` },
      });
      expect(agentApi.status).toBe(403);

      // The console link signs the demo admin in with one click (a same-site form POST).
      const link = env.GATEHOUSE_CONSOLE_URL!;
      expect(stdout()).toContain(link);
      const linkPage = await fetch(link);
      const linkHtml = await linkPage.text();
      expect(linkHtml).toContain('Sign in as the demo admin');
      const csrfCookie = linkPage.headers.getSetCookie()[0]!.split(';')[0]!;
      const form = new URLSearchParams({
        csrf: /name="csrf" value="([^"]+)"/.exec(linkHtml)![1]!,
        code: new URL(link).searchParams.get('code')!,
      });
      const signIn = await fetch(`${env.GATEHOUSE_HTTP_URL}/login/link`, {
        method: 'POST',
        body: form,
        headers: { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
        redirect: 'manual',
      });
      expect(signIn.status).toBe(303);
      expect(signIn.headers.getSetCookie().join('\n')).toMatch(/gatehouse_console=.*HttpOnly/);

      const list = await run(process.execPath, [BIN, 'sessions', 'list'], {
        env: { GATEHOUSE_CONFIG: env.GATEHOUSE_CONFIG! },
      });
      expect(list.code).toBe(0);
      expect(list.stdout).toContain('claude-demo');

      const pgPid = Number(readFileSync(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
      expect(pidAlive(pgPid)).toBe(true);
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      for (let i = 0; i < 50 && pidAlive(pgPid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(pidAlive(pgPid)).toBe(false);
    },
  );

  it('stops a PostgreSQL left behind by a crashed run and starts again', { timeout: 90_000 }, async () => {
    const first = await startDemo();
    const stalePid = Number(
      readFileSync(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.on('exit', r));
    expect(pidAlive(stalePid)).toBe(true);

    const second = await startDemo();
    expect(pidAlive(stalePid)).toBe(false);
    const env = parseEnv(path.join(dir, 'demo.env'));
    const c = tlsClient(env.GATEHOUSE_AGENT_PGURL!, env);
    await c.connect();
    expect((await c.query('SELECT count(*)::int AS n FROM customers')).rows[0].n).toBe(6);
    await c.end();
    second.child.kill('SIGINT');
    await new Promise((r) => second.child.on('exit', r));
  });
});
