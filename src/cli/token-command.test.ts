import { generateKeyPairSync } from 'node:crypto';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from '../identity/memory-token-store.js';
import { ServiceTokenAuthenticator, ServiceTokenIssuer } from '../identity/service-tokens.js';
import type { CliIo } from './cli-io.js';
import { tokenCommand } from './token-command.js';

function harness() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    stdin: (async function* () {})(),
    env: {},
  };
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const tokenStore = new MemoryTokenStore();
  const issuer = new ServiceTokenIssuer({ privateKey, kid: 'k', tokenStore, maxTtlMs: 24 * 3_600_000 });
  const verifier = new ServiceTokenAuthenticator({ publicKey, kid: 'k', tokenStore, revocationCacheMs: 0 });
  const opened: (string | undefined)[] = [];
  let closed = 0;
  const program = new Command('gatehouse').exitOverride();
  program.addCommand(
    tokenCommand({
      io,
      open: async (configPath) => {
        opened.push(configPath);
        return { issuer, tokenStore, close: async () => void closed++ };
      },
    }),
  );
  for (const c of program.commands) {
    c.exitOverride();
    for (const s of c.commands)
      s.exitOverride().configureOutput({ writeErr: (s) => err.push(s), writeOut: (s) => out.push(s) });
  }
  const run = async (...args: string[]) => {
    out.length = 0;
    err.length = 0;
    await program.parseAsync(['node', 'gatehouse', ...args]);
    return out.join('');
  };
  return { run, out, err, tokenStore, verifier, opened, closed: () => closed };
}

describe('gatehouse token', () => {
  it('issue prints the token once with its id and expiry; the token works', async () => {
    const h = harness();
    const text = await h.run(
      'token',
      '-c',
      'gh.yaml',
      'issue',
      '--subject',
      'claude-prod',
      '--groups',
      'ai-agents, readers',
      '--ttl',
      '8h',
      '--agent',
    );
    const token = /^token: +(\S+)$/m.exec(text)?.[1];
    const id = /^id: +(\S+)$/m.exec(text)?.[1];
    expect(token).toBeDefined();
    expect(text).toMatch(/^groups: +ai-agents,readers$/m);
    expect(text).toMatch(/^agent: +yes$/m);
    expect(text).toMatch(/^expires: +\d{4}-\d\d-\d\dT/m);
    expect(h.err.join('')).toMatch(/shown only now/);
    expect(h.opened).toEqual(['gh.yaml']);
    expect(h.closed()).toBe(1);
    expect(await h.verifier.authenticate(token!)).toMatchObject({
      subject: 'claude-prod',
      agent: true,
      tokenId: id,
    });
  });

  it('issue --json; list never prints a token; revoke stops it', async () => {
    const h = harness();
    const issued = JSON.parse(
      await h.run('token', 'issue', '--subject', 'ci', '--ttl', '30m', '--json', '--description', 'nightly'),
    ) as {
      token: string;
      id: string;
      status: string;
      agent: boolean;
    };
    expect(issued).toMatchObject({ status: 'active', agent: false });

    const table = await h.run('token', 'list');
    expect(table).toContain(issued.id);
    expect(table).toContain('nightly');
    expect(table).not.toContain(issued.token.split('.')[2]);
    const json = JSON.parse(await h.run('token', 'list', '--json')) as { id: string; token?: string }[];
    expect(json).toHaveLength(1);
    expect(json[0]).not.toHaveProperty('token');
    expect(JSON.stringify(json)).not.toContain(issued.token.split('.')[2]);

    expect(await h.run('token', 'revoke', issued.id)).toBe(`revoked ${issued.id}\n`);
    await expect(h.verifier.authenticate(issued.token)).rejects.toThrow('token revoked');
    expect(await h.run('token', 'list')).toMatch(/revoked/);
  });

  it('revoking an unknown id and exceeding maxTtl are errors with an exit code', async () => {
    const h = harness();
    const e1 = await h.run('token', 'revoke', 'nope').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(CommanderError);
    expect((e1 as CommanderError).exitCode).toBe(1);
    expect(h.err.join('')).toContain('no active token with id nope');

    const e2 = await h.run('token', 'issue', '--subject', 'x', '--ttl', '2d').catch((e: unknown) => e);
    expect((e2 as CommanderError).exitCode).toBe(2);
    expect(h.err.join('')).toContain('exceeds identity.serviceTokens.maxTtl (1d)');
    expect(await h.tokenStore.listServiceTokens()).toEqual([]);

    const e3 = await h.run('token', 'issue', '--subject', 'x', '--ttl', 'forever').catch((e: unknown) => e);
    expect((e3 as CommanderError).code).toBe('commander.invalidArgument');
  });
});
