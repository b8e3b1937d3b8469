import { generateKeyPairSync } from 'node:crypto';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { AwsAccessKeyResolver, tokenIdFromAccessKeyId } from '../identity/aws-access-keys.js';
import { MemoryTokenStore } from '../identity/memory-token-store.js';
import { ServiceTokenAuthenticator, ServiceTokenIssuer } from '../identity/service-tokens.js';
import type { CliIo } from './cli-io.js';
import { tokenCommand } from './token-command.js';

describe('gatehouse token issue --aws', () => {
  it('prints an access key pair bound to the token, which the gateway resolves back to it', async () => {
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
    const program = new Command('gatehouse').exitOverride();
    program.addCommand(
      tokenCommand({ io, open: async () => ({ issuer, tokenStore, close: async () => undefined }) }),
    );

    await program.parseAsync([
      'node',
      'gatehouse',
      'token',
      'issue',
      '--subject',
      'claude',
      '--agent',
      '--ttl',
      '8h',
      '--aws',
      '--json',
    ]);
    const issued = JSON.parse(out.join('')) as {
      id: string;
      token: string;
      awsAccessKeyId: string;
      awsSecretAccessKey: string;
    };
    expect(issued.awsAccessKeyId).toMatch(/^GHAK[A-Z2-7]{26}$/);
    expect(issued.awsSecretAccessKey).toHaveLength(40);
    expect(tokenIdFromAccessKeyId(issued.awsAccessKeyId)).toBe(issued.id);
    expect(err.join('')).toContain('shown only now');

    const resolver = new AwsAccessKeyResolver({ issuer, tokenStore });
    const resolved = await resolver.resolve(issued.awsAccessKeyId);
    expect(resolved?.secretAccessKey).toBe(issued.awsSecretAccessKey);
    const identity = await new ServiceTokenAuthenticator({
      publicKey,
      kid: 'k',
      tokenStore,
      revocationCacheMs: 0,
    }).authenticate(resolved!.token);
    expect(identity).toMatchObject({ subject: 'claude', agent: true, tokenId: issued.id });

    out.length = 0;
    await program.parseAsync([
      'node',
      'gatehouse',
      'token',
      'issue',
      '--subject',
      'ci',
      '--ttl',
      '1h',
      '--aws',
    ]);
    expect(out.join('')).toMatch(/aws_access_key_id: +GHAK[A-Z2-7]{26}\naws_secret_access_key: +\S{40}\n/);

    out.length = 0;
    await program.parseAsync(['node', 'gatehouse', 'token', 'issue', '--subject', 'plain', '--ttl', '1h']);
    expect(out.join('')).not.toContain('aws_access_key_id');
  });
});
