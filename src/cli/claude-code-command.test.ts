import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, describe, expect, test } from 'vitest';
import { configSchema, type GatehouseConfig } from '../config/schema.js';
import { claudeCodeCommand } from './claude-code-command.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads loosely shaped settings JSON
type Json = Record<string, any>;

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config: GatehouseConfig = configSchema.parse({
  listeners: {
    postgres: { address: '0.0.0.0:6432' },
    http: { address: '0.0.0.0:9000', publicUrl: 'https://gh.example.com' },
  },
  connections: { prod: { protocol: 'postgres', upstream: { host: 'db', database: 'app', user: 'u' } } },
  policies: [],
});

async function run(args: string[], cfg: GatehouseConfig | null = config) {
  let out = '';
  let err = '';
  const io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stdin: (async function* () {})(),
    env: {},
  };
  const cmd = claudeCodeCommand({ io, loadConfig: async () => cfg ?? undefined, cwd: () => dir });
  for (const c of [cmd, ...cmd.commands])
    c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  const program = new Command('gatehouse').exitOverride().addCommand(cmd);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, err, code: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, code: e.exitCode };
    throw e;
  }
}

describe('gatehouse claude-code setup', () => {
  test('prints http hooks to the context API, database env and the MCP server, defaults from the config', async () => {
    const r = await run(['claude-code', 'setup', '--json']);
    expect(r.code).toBe(0);
    const { settings, mcpJson } = JSON.parse(r.out) as { settings: Json; mcpJson: Json };
    const hook = {
      type: 'http',
      url: 'https://gh.example.com/api/context',
      headers: { Authorization: 'Bearer $GATEHOUSE_TOKEN' },
      allowedEnvVars: ['GATEHOUSE_TOKEN'],
      timeout: 5,
    };
    expect(settings.hooks).toEqual({
      UserPromptSubmit: [{ hooks: [hook] }],
      PreToolUse: [{ matcher: 'Bash|mcp__gatehouse__.*', hooks: [hook] }],
    });
    expect(settings.env).toEqual({
      PGHOST: '127.0.0.1',
      PGPORT: '6432',
      PGDATABASE: 'prod',
      PGUSER: 'claude',
      PGSSLMODE: 'verify-full',
      DATABASE_URL: 'postgresql://claude@127.0.0.1:6432/prod?sslmode=verify-full',
    });
    expect(mcpJson).toEqual({
      mcpServers: {
        gatehouse: {
          type: 'http',
          url: 'https://gh.example.com/mcp',
          headers: { Authorization: 'Bearer ${GATEHOUSE_TOKEN}' },
        },
      },
    });
    // The token itself is never written: only the variable's name.
    expect(r.err).toContain('export GATEHOUSE_TOKEN=');
  });

  test('--write merges into existing files without clobbering other keys, and a re-run does not duplicate', async () => {
    mkdirSync(path.join(dir, '.claude'), { recursive: true });
    writeFileSync(
      path.join(dir, '.claude', 'settings.json'),
      JSON.stringify({
        model: 'opus',
        env: { FOO: '1', PGHOST: 'old' },
        hooks: {
          PreToolUse: [{ matcher: 'Edit', hooks: [{ type: 'command', command: 'lint' }] }],
          Stop: [{ hooks: [{ type: 'command', command: 'x' }] }],
        },
      }),
    );
    writeFileSync(
      path.join(dir, '.mcp.json'),
      JSON.stringify({ mcpServers: { other: { type: 'stdio', command: 'o' } } }),
    );
    expect((await run(['claude-code', 'setup', '--write', '--gateway-url', 'http://gw:8780/'])).code).toBe(0);
    expect((await run(['claude-code', 'setup', '--write', '--gateway-url', 'http://gw:8780'])).code).toBe(0);
    const s = JSON.parse(readFileSync(path.join(dir, '.claude', 'settings.json'), 'utf8')) as Json;
    expect(s.model).toBe('opus');
    expect(s.env).toMatchObject({ FOO: '1', PGHOST: '127.0.0.1' });
    expect(s.hooks.Stop).toHaveLength(1);
    expect(s.hooks.PreToolUse).toHaveLength(2);
    expect(s.hooks.PreToolUse[0]).toEqual({ matcher: 'Edit', hooks: [{ type: 'command', command: 'lint' }] });
    expect(s.hooks.PreToolUse[1].hooks[0].url).toBe('http://gw:8780/api/context');
    expect(s.hooks.UserPromptSubmit).toHaveLength(1);
    const m = JSON.parse(readFileSync(path.join(dir, '.mcp.json'), 'utf8')) as Json;
    expect(Object.keys(m.mcpServers)).toEqual(['other', 'gatehouse']);
  });

  test('refuses to merge into a settings file that is not JSON', async () => {
    const bad = path.join(dir, 'bad');
    mkdirSync(path.join(bad, '.claude'), { recursive: true });
    writeFileSync(path.join(bad, '.claude', 'settings.json'), '{ not json');
    const r = await run(['claude-code', 'setup', '--write', '--dir', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not valid JSON/);
    expect(readFileSync(path.join(bad, '.claude', 'settings.json'), 'utf8')).toBe('{ not json');
  });

  test('works without a config, with --no-mcp and a custom token variable', async () => {
    const r = await run(
      ['claude-code', 'setup', '--json', '--no-mcp', '--token-env', 'MY_TOKEN', '--connection', 'db1'],
      null,
    );
    const { settings, mcpJson } = JSON.parse(r.out) as { settings: Json; mcpJson?: unknown };
    expect(mcpJson).toBeUndefined();
    expect(settings.hooks.UserPromptSubmit[0].hooks[0]).toMatchObject({
      url: 'http://127.0.0.1:8780/api/context',
      allowedEnvVars: ['MY_TOKEN'],
    });
    expect(settings.env.DATABASE_URL).toBe('postgresql://claude@127.0.0.1:15432/db1?sslmode=verify-full');
    expect((await run(['claude-code', 'setup', '--token-env', 'bad name'])).code).toBe(2);
  });

  test('verifies the gateway with the CA given, or the listener certificate of the config; no token in any file', async () => {
    const withCa = await run(['claude-code', 'setup', '--json', '--ca', '/etc/gatehouse/ca.pem']);
    const env = (JSON.parse(withCa.out) as { settings: Json }).settings.env as Json;
    expect(env).toMatchObject({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/etc/gatehouse/ca.pem' });
    expect(env.DATABASE_URL).toBe(
      'postgresql://claude@127.0.0.1:6432/prod?sslmode=verify-full&sslrootcert=%2Fetc%2Fgatehouse%2Fca.pem',
    );
    expect(Object.keys(env)).not.toContain('PGPASSWORD');
    const tlsConfig = configSchema.parse({
      listeners: {
        postgres: { address: '127.0.0.1:6432', tls: { cert: '/srv/gh/tls/gateway.crt', key: 'k' } },
      },
      connections: { prod: { protocol: 'postgres', upstream: { host: 'db', database: 'app', user: 'u' } } },
    });
    const fromConfig = await run(['claude-code', 'setup', '--json'], tlsConfig);
    expect((JSON.parse(fromConfig.out) as { settings: Json }).settings.env.PGSSLROOTCERT).toBe(
      '/srv/gh/tls/gateway.crt',
    );
    expect(fromConfig.err).toContain('No token is written to any file');
  });

  test('README, docs/claude-code.md and the command tell one story: no token in settings, TLS verified', async () => {
    const r = await run(['claude-code', 'setup', '--json', '--ca', '/etc/gatehouse/ca.pem']);
    const generated = (JSON.parse(r.out) as { settings: Json }).settings.env as Json;
    for (const doc of ['README.md', 'docs/claude-code.md']) {
      const text = readFileSync(doc, 'utf8');
      const at = text.indexOf('"env"');
      expect(at, doc).toBeGreaterThan(0);
      const block = text.slice(text.lastIndexOf('```json', at), text.indexOf('```', at));
      expect(block, doc).not.toMatch(/PGPASSWORD|eyJ|<token/);
      expect(block, doc).toContain('"PGSSLMODE": "verify-full"');
      expect(block, doc).toContain('"PGSSLROOTCERT"');
      expect(block, doc).toContain('sslmode=verify-full');
      for (const k of Object.keys(generated)) expect(block, `${doc} shows ${k}`).toContain(`"${k}"`);
      expect(text, doc).toContain('export PGPASSWORD=$GATEHOUSE_TOKEN');
      expect(text, doc).toContain('gatehouse claude-code setup');
    }
  });
});
