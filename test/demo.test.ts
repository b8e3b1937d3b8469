// `gatehouse demo` as a new user runs it: one command, a real embedded PostgreSQL, a printed and
// written demo.env, the agent refused a DROP, records on the CLI, and a clean stop — including the
// recovery from a crashed run that left its PostgreSQL behind.

import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { run } from './testkit/commands.js';

const BIN = path.resolve('bin/gatehouse.js');
// Laid out as the default (`.gatehouse/demo` under the project), in a directory as open as a checkout:
// the demo creates both levels itself. As root its PostgreSQL runs as the `postgres` OS user, which
// must get through them (this once failed with initdb's "Permission denied").
const root = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-demo-'));
chmodSync(root, 0o755);
const dir = path.join(root, '.gatehouse', 'demo');
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
  rmSync(root, { recursive: true, force: true });
});

function parseEnv(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

function startDemo(
  extra: string[] = [],
): Promise<{ child: ChildProcess; stdout: () => string; stderr: () => string; readyMs: number }> {
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [BIN, 'demo', '--data-dir', dir, '--pg-port', '0', '--http-port', '0', '--aws-port', '0', ...extra],
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
        resolve({ child, stdout: () => out, stderr: () => err, readyMs: Date.now() - t0 });
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

/** Is a postgres of the demo's data dir still running (not a zombie)? */
function postgresOfDemoRuns(): boolean {
  const out = execSync('ps -eo stat=,args=').toString();
  return out.split('\n').some((l) => !l.trim().startsWith('Z') && l.includes(`postgres -D ${dir}/postgres`));
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
      const { child, stdout } = await startDemo();
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
      expect(signIn.status).toBe(200);
      expect(signIn.headers.getSetCookie().join('\n')).toMatch(/gatehouse_console=.*HttpOnly/);
      expect(await signIn.text()).toMatch(/<meta name="gatehouse-bind" content="[A-Za-z0-9_-]{43}"/);

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

  it(
    'runs from its config: an edit survives a restart, a saved change and SIGHUP reload it, --reset rewrites it',
    { timeout: 120_000 },
    async () => {
      const configFile = path.join(dir, 'gatehouse.yaml');
      const RULE_ID = 'my-no-customers';
      let current: { stdout: () => string; stderr: () => string } | undefined;
      let stage = 'start';
      /** Adds (or removes) a deny rule for the customers table at the top of the agents' policy. */
      const edit = (on: boolean) => {
        const doc = parseDocument(readFileSync(configFile, 'utf8'));
        const policies = doc.toJS().policies as { id: string; rules: { id: string }[] }[];
        const i = policies.findIndex((p) => p.id === 'agents');
        const rules = policies[i]!.rules.filter((r) => r.id !== RULE_ID);
        if (on)
          rules.unshift({
            id: RULE_ID,
            effect: 'deny',
            match: { tables: ['customers'] },
            message: 'customers are off limits in my edited demo',
          } as never);
        doc.setIn(['policies', i, 'rules'], doc.createNode(rules));
        writeFileSync(configFile, doc.toString());
      };
      const customersRefusedBy = async (env: Record<string, string>): Promise<string | undefined> => {
        const c = tlsClient(env.GATEHOUSE_AGENT_PGURL!, env);
        await c.connect().catch((e: unknown) => {
          throw new Error(`connect failed at ${stage}: ${String(e)}\n${current?.stderr() ?? ''}`);
        });
        try {
          await c.query('SELECT count(*) FROM customers');
          return undefined;
        } catch (e) {
          return (e as pg.DatabaseError).message;
        } finally {
          await c.end();
        }
      };
      /** Polls (bounded) until the refusal state matches: reloads apply asynchronously. */
      const until = async (env: Record<string, string>, refused: boolean) => {
        let got: string | undefined;
        for (let i = 0; i < 100; i++) {
          got = await customersRefusedBy(env);
          if ((got !== undefined) === refused) return got;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`expected the customers query to be ${refused ? 'refused' : 'allowed'}, got ${got}`);
      };
      const stop = async (child: ChildProcess) => {
        child.kill('SIGINT');
        await new Promise((r) => child.on('exit', r));
        // The embedded PostgreSQL may still be finishing its shutdown checkpoint: let it go first.
        for (let i = 0; i < 300 && postgresOfDemoRuns(); i++) await new Promise((r) => setTimeout(r, 100));
      };

      // An edit made while the demo is stopped survives a start (the runs above wrote the config).
      if (!existsSync(configFile)) await stop((await startDemo()).child);
      edit(true);
      const edited = readFileSync(configFile, 'utf8');
      let demo = await startDemo();
      current = demo;
      expect(demo.stdout()).toContain(`Running from your ${configFile}`);
      expect(readFileSync(configFile, 'utf8')).toBe(edited);
      let env = parseEnv(path.join(dir, 'demo.env'));
      expect(await customersRefusedBy(env)).toContain(RULE_ID);
      // Saving a change reloads it.
      stage = 'watch reload';
      edit(false);
      await until(env, false);
      expect(demo.stdout()).toContain('gatehouse.yaml reloaded.');
      await stop(demo.child);

      // SIGHUP reloads it (the watcher is off here, so only the signal can).
      stage = 'no-watch start';
      demo = await startDemo(['--no-watch']);
      current = demo;
      env = parseEnv(path.join(dir, 'demo.env'));
      expect(await customersRefusedBy(env)).toBeUndefined();
      edit(true);
      demo.child.kill('SIGHUP');
      expect(await until(env, true)).toContain(RULE_ID);
      // A bad edit is refused with the reason, and the running config kept.
      writeFileSync(configFile, `${readFileSync(configFile, 'utf8')}\npolices: []\n`);
      demo.child.kill('SIGHUP');
      for (let i = 0; i < 100 && !demo.stderr().includes('NOT reloaded'); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(demo.stderr()).toContain('did you mean "policies"?');
      expect(demo.child.exitCode).toBeNull();
      expect(await customersRefusedBy(env)).toContain(RULE_ID);
      await stop(demo.child);

      // --reset writes it afresh.
      stage = 'reset start';
      demo = await startDemo(['--reset']);
      current = demo;
      expect(demo.stdout()).toContain(`Wrote ${configFile}`);
      expect(readFileSync(configFile, 'utf8')).not.toContain(RULE_ID);
      env = parseEnv(path.join(dir, 'demo.env'));
      expect(await customersRefusedBy(env)).toBeUndefined();
      await stop(demo.child);
    },
  );

  it('says in --help that it runs from its config and how to reload or reset it', async () => {
    const help = await run(process.execPath, [BIN, 'demo', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/written only when it does not exist/);
    expect(help.stdout).toMatch(/--reset/);
    expect(help.stdout).toMatch(/SIGHUP/);
    expect(help.stdout).toMatch(/reloads it/);
  });
});
