// `gatehouse token issue|list|revoke`: gateway-issued service tokens for agents and automation.
// A token is printed once, at issue; list and revoke never print tokens, only their ids.

import { Command, InvalidArgumentError, Option } from 'commander';
import { toMs } from '../config/duration.js';
import type { TokenStore } from '../core/ports.js';
import type { ServiceTokenRecord } from '../core/records.js';
import { ServiceTokenRequestError } from '../identity/service-token-request-error.js';
import type { ServiceTokenIssuer } from '../identity/service-tokens.js';
import { processIo, type CliIo } from './cli-io.js';
import { textTable } from './text-table.js';

export interface TokenCommandDeps {
  /** Loads the config and opens the store (and signing key); `close` releases them. */
  open(
    configPath?: string,
  ): Promise<{ issuer: ServiceTokenIssuer; tokenStore: TokenStore; close(): Promise<void> }>;
  readonly io?: CliIo;
}

function parseTtl(v: string): number {
  try {
    return toMs(v);
  } catch {
    throw new InvalidArgumentError('expected a duration such as 30m, 8h or 7d');
  }
}

function parseGroups(v: string): string[] {
  return v
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
}

function status(r: ServiceTokenRecord, now: Date): 'revoked' | 'expired' | 'active' {
  if (r.revokedAt) return 'revoked';
  return r.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
}

function recordJson(r: ServiceTokenRecord, now: Date): Record<string, unknown> {
  return {
    id: r.id,
    subject: r.subject,
    groups: r.groups,
    agent: r.agent,
    issuedAt: r.issuedAt.toISOString(),
    expiresAt: r.expiresAt.toISOString(),
    revokedAt: r.revokedAt?.toISOString() ?? null,
    description: r.description ?? null,
    ...(r.person !== undefined ? { person: r.person } : {}),
    status: status(r, now),
  };
}

export function tokenCommand(deps: TokenCommandDeps): Command {
  const io = deps.io ?? processIo();
  const cmd = new Command('token')
    .description('issue, list and revoke gateway service tokens (for agents and automation)')
    .option('-c, --config <file>', 'gatehouse.yaml to use');

  async function withStore<T>(
    sub: Command,
    fn: (h: { issuer: ServiceTokenIssuer; tokenStore: TokenStore }) => Promise<T>,
  ): Promise<T> {
    const { config } = sub.optsWithGlobals<{ config?: string }>();
    const handle = await deps.open(config);
    try {
      return await fn(handle);
    } finally {
      await handle.close();
    }
  }

  cmd
    .command('issue')
    .description('issue a token; it is printed once and cannot be shown again')
    .requiredOption('--subject <name>', 'principal name the token authenticates as (e.g. claude-prod)')
    .addOption(new Option('--groups <list>', 'comma-separated groups').argParser(parseGroups).default([]))
    .requiredOption(
      '--ttl <duration>',
      'lifetime, e.g. 8h or 7d (at most identity.serviceTokens.maxTtl)',
      parseTtl,
    )
    .option('--agent', 'mark the principal as an AI agent', false)
    .option('--description <text>', 'note kept with the token metadata')
    .option(
      '--person <email>',
      "the person the token acts for (an agent's owner): they never approve its requests, under any identity naming them",
    )
    .option(
      '--aws',
      'also print an AWS access key id and secret bound to the token (for SigV4 clients)',
      false,
    )
    .option('--json', 'print JSON')
    .action(
      async (
        opts: {
          subject: string;
          groups: string[];
          ttl: number;
          agent: boolean;
          description?: string;
          person?: string;
          aws?: boolean;
          json?: boolean;
        },
        sub: Command,
      ) => {
        let issued;
        try {
          issued = await withStore(sub, async ({ issuer }) => {
            const t = await issuer.issue({
              subject: opts.subject,
              groups: opts.groups,
              ttlMs: opts.ttl,
              agent: opts.agent,
              ...(opts.description !== undefined ? { description: opts.description } : {}),
              ...(opts.person !== undefined ? { person: opts.person } : {}),
            });
            return { ...t, aws: opts.aws ? issuer.awsKeyPair(t.record.id) : undefined };
          });
        } catch (e) {
          // After the store is closed: sub.error exits the process unless exitOverride is set.
          if (e instanceof ServiceTokenRequestError)
            sub.error(`error: ${e.message}`, { exitCode: 2, code: 'gatehouse.token' });
          throw e;
        }
        const r = issued.record;
        const aws = opts.aws ? issued.aws : undefined;
        if (opts.json) {
          io.stdout.write(
            JSON.stringify({
              token: issued.token,
              ...recordJson(r, new Date()),
              ...(aws ? { awsAccessKeyId: aws.accessKeyId, awsSecretAccessKey: aws.secretAccessKey } : {}),
            }) + '\n',
          );
        } else {
          io.stdout.write(
            `token:   ${issued.token}\n` +
              `id:      ${r.id}\n` +
              `subject: ${r.subject}\n` +
              `groups:  ${r.groups.join(',') || '-'}\n` +
              `agent:   ${r.agent ? 'yes' : 'no'}\n` +
              (r.person ? `person:  ${r.person}\n` : '') +
              `expires: ${r.expiresAt.toISOString()}\n` +
              (aws
                ? `aws_access_key_id:     ${aws.accessKeyId}\n` +
                  `aws_secret_access_key: ${aws.secretAccessKey}\n`
                : ''),
          );
        }
        io.stderr.write(
          aws
            ? 'The token and AWS secret are shown only now; Gatehouse keeps only the id. Use the key pair as AWS credentials (docs/aws.md).\n'
            : 'The token is shown only now; Gatehouse keeps only its id. Use it as the password.\n',
        );
      },
    );

  cmd
    .command('list')
    .description('list issued tokens (ids and metadata, never the tokens)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, sub: Command) => {
      const records = await withStore(sub, ({ tokenStore }) => tokenStore.listServiceTokens());
      const now = new Date();
      if (opts.json) {
        io.stdout.write(
          JSON.stringify(
            records.map((r) => recordJson(r, now)),
            null,
            2,
          ) + '\n',
        );
        return;
      }
      if (records.length === 0) {
        io.stdout.write('no service tokens\n');
        return;
      }
      io.stdout.write(
        textTable([
          ['ID', 'SUBJECT', 'GROUPS', 'AGENT', 'EXPIRES', 'STATUS', 'DESCRIPTION'],
          ...records.map((r) => [
            r.id,
            r.subject,
            r.groups.join(',') || '-',
            r.agent ? 'yes' : 'no',
            r.expiresAt.toISOString(),
            status(r, now),
            r.description ?? '',
          ]),
        ]),
      );
    });

  cmd
    .command('revoke')
    .description('revoke a token by id; gateways refuse it within 5 seconds')
    .argument('<id>', 'token id (from `token list` or `token issue`)')
    .action(async (id: string, _opts: unknown, sub: Command) => {
      const done = await withStore(sub, ({ tokenStore }) => tokenStore.revokeServiceToken(id, new Date()));
      if (!done) sub.error(`error: no active token with id ${id}`, { exitCode: 1, code: 'gatehouse.token' });
      io.stdout.write(`revoked ${id}\n`);
    });

  return cmd;
}
