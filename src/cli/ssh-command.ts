// `gatehouse ssh …`: what people and agents need around SSH connections (docs/ssh.md).
//   keyscan HOST    the host keys a host presents, as `upstream.hostKeys` lines, with fingerprints
//   config NAME…    the ~/.ssh/config block (and, on request, an askpass script and known_hosts line)
//   add-key, list-keys, remove-key   public keys registered to a principal (a service token's)
// Nothing here prints a private key or a token: the askpass script reads GATEHOUSE_TOKEN at run time.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import ssh2 from 'ssh2';
import type { GatehouseConfig } from '../config/schema.js';
import type { ServiceTokenRecord } from '../core/records.js';
import {
  SshKeyRequestError,
  type RegisteredSshKey,
  type SshKeyRegistry,
} from '../engines/ssh/key-registry.js';
import { checkPrivateKey, fingerprint, publicKeyLine } from '../engines/ssh/ssh-keys.js';
import { processIo, type CliIo } from './cli-io.js';
import { textTable } from './text-table.js';

/** Host key algorithms asked for one by one, so every key type the host has is seen. */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
];

/** The host key a host presents for one algorithm, or undefined when it has none of that type. */
function presentedKey(
  host: string,
  port: number,
  algorithm: string,
  timeoutMs: number,
): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    let key: Buffer | undefined;
    const done = (err?: Error) => {
      c.end();
      if (key) resolve(key);
      else if (err && /no matching|Handshake failed/i.test(err.message)) resolve(undefined);
      else if (err) reject(err);
      else resolve(undefined);
    };
    c.on('error', (err) => done(err));
    c.on('close', () => done());
    c.connect({
      host,
      port,
      username: 'gatehouse-keyscan',
      readyTimeout: timeoutMs,
      algorithms: { serverHostKey: [algorithm as ssh2.ServerHostKeyAlgorithm] },
      // Stop at the host key: nothing is authenticated.
      hostVerifier: (k: Buffer) => {
        key = Buffer.from(k);
        return false;
      },
    });
  });
}

export async function keyscan(host: string, port: number, timeoutMs = 10_000): Promise<Buffer[]> {
  const found: Buffer[] = [];
  for (const alg of HOST_KEY_ALGORITHMS) {
    const k = await presentedKey(host, port, alg, timeoutMs);
    if (k && !found.some((f) => f.equals(k))) found.push(k);
  }
  return found;
}

export interface SshConfigInput {
  readonly connections: readonly string[];
  readonly host: string;
  readonly port: number;
  /** The known_hosts file the block points at (StrictHostKeyChecking yes), when one is written. */
  readonly knownHostsFile?: string;
  /** A private key registered with `add-key`: the block logs in with it (the token as a fallback). */
  readonly identityFile?: string;
}

/** The ~/.ssh/config block: one Host per connection, token (or registered key) login, no forwarding. */
export function buildSshConfig(i: SshConfigInput): string {
  const blocks = i.connections.map((name) =>
    [
      `Host ${name}`,
      `  HostName ${i.host}`,
      `  Port ${i.port}`,
      `  User ${name}`,
      ...(i.identityFile
        ? [
            '  PreferredAuthentications publickey,keyboard-interactive,password',
            '  PubkeyAuthentication yes',
            `  IdentityFile ${i.identityFile}`,
            '  IdentitiesOnly yes',
          ]
        : ['  PreferredAuthentications keyboard-interactive,password', '  PubkeyAuthentication no']),
      '  NumberOfPasswordPrompts 1',
      '  ForwardAgent no',
      '  ForwardX11 no',
      '  ClearAllForwardings yes',
      ...(i.knownHostsFile
        ? ['  StrictHostKeyChecking yes', `  UserKnownHostsFile ${i.knownHostsFile}`]
        : []),
    ].join('\n'),
  );
  return `${blocks.join('\n\n')}\n`;
}

/** An askpass program that answers the token prompt from GATEHOUSE_TOKEN (never stored in a file). */
export const ASKPASS_SCRIPT =
  '#!/bin/sh\n# Gatehouse: answers the ssh token prompt from $GATEHOUSE_TOKEN (docs/ssh.md).\n' +
  'if [ -z "$GATEHOUSE_TOKEN" ]; then echo "gatehouse askpass: GATEHOUSE_TOKEN is not set" >&2; exit 1; fi\n' +
  'printf \'%s\\n\' "$GATEHOUSE_TOKEN"\n';

/** The store's SSH keys and service tokens, for add-key, list-keys and remove-key. */
export interface SshKeyAdmin {
  readonly registry: SshKeyRegistry;
  readonly tokens: { listServiceTokens(): Promise<ServiceTokenRecord[]> };
  close(): Promise<void>;
}

export interface SshCommandDeps {
  loadConfig(explicit?: string): Promise<{ config: GatehouseConfig; baseDir: string }>;
  openKeys?(explicit?: string): Promise<SshKeyAdmin>;
  readonly io?: CliIo;
}

function listenerHostKeyFile(config: GatehouseConfig, baseDir: string): string {
  const l = config.listeners.ssh!;
  return path.resolve(baseDir, l.hostKeyFile ?? path.join(config.dataDir, 'keys', 'ssh-host-ed25519'));
}

export function sshCommand(deps: SshCommandDeps): Command {
  const io = deps.io ?? processIo();
  const cmd = new Command('ssh').description(
    'SSH connections: host keys and client configuration (docs/ssh.md)',
  );
  cmd
    .command('keyscan')
    .description('print the host keys HOST presents, as upstream.hostKeys lines (fingerprints on stderr)')
    .argument('<host>')
    .option('-p, --port <port>', 'port', '22')
    .option('--timeout <ms>', 'give up after this long per key type', '10000')
    .action(async (host: string, o: { port: string; timeout: string }) => {
      const port = Number(o.port);
      const keys = await keyscan(host, port, Number(o.timeout));
      if (keys.length === 0) throw new Error(`${host}:${port} presented no host key Gatehouse can pin`);
      for (const k of keys) {
        io.stdout.write(`${publicKeyLine(k)}\n`);
        io.stderr.write(`${host}:${port} ${publicKeyLine(k).split(' ')[0]} ${fingerprint(k)}\n`);
      }
      io.stderr.write(
        "Compare the fingerprints with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on it) before pinning them.\n",
      );
    });
  cmd
    .command('config')
    .description('print the ~/.ssh/config block for ssh connections (all of them when none is named)')
    .argument('[connections...]')
    .option('-c, --config <file>', 'gatehouse.yaml (default: $GATEHOUSE_CONFIG or ./gatehouse.yaml)')
    .option('--host <name>', 'host name agents reach the listener at (default: publicHost, else the address)')
    .option('--port <port>', 'port agents reach the listener at (default: the address)')
    .option('--askpass <file>', 'also write the askpass script (reads $GATEHOUSE_TOKEN) to this file')
    .option('--known-hosts <file>', "also write the listener's host key to this known_hosts file")
    .option('--identity-file <file>', 'log in with this private key (registered with `ssh add-key`) first')
    .action(
      async (
        names: string[],
        o: {
          config?: string;
          host?: string;
          port?: string;
          askpass?: string;
          knownHosts?: string;
          identityFile?: string;
        },
        command: Command,
      ) => {
        // `-c` may also be given before `ssh` (the program's own option).
        const explicit = o.config ?? command.optsWithGlobals<{ config?: string }>().config;
        const { config, baseDir } = await deps.loadConfig(explicit);
        const all = Object.entries(config.connections)
          .filter(([, c]) => c.protocol === 'ssh')
          .map(([n]) => n);
        const l = config.listeners.ssh;
        if (!l) throw new Error('listeners.ssh is not configured (docs/ssh.md)');
        for (const n of names)
          if (!all.includes(n))
            throw new Error(`no ssh connection ${n} (ssh connections: ${all.join(', ') || 'none'})`);
        const i = l.address.lastIndexOf(':');
        let host = o.host ?? l.publicHost ?? l.address.slice(0, i).replace(/^\[|\]$/g, '');
        if (host === '0.0.0.0' || host === '::') host = '127.0.0.1';
        const port = Number(o.port ?? l.address.slice(i + 1));
        if (o.askpass) {
          writeFileSync(o.askpass, ASKPASS_SCRIPT, { mode: 0o700 });
          io.stderr.write(
            `wrote ${o.askpass}: export SSH_ASKPASS=${path.resolve(o.askpass)} SSH_ASKPASS_REQUIRE=force GATEHOUSE_TOKEN=…\n`,
          );
        }
        if (o.knownHosts) {
          const file = listenerHostKeyFile(config, baseDir);
          let pem: string;
          try {
            pem = readFileSync(file, 'utf8');
          } catch {
            throw new Error(
              `${file}: the listener host key is not there yet (it is made when the gateway first starts)`,
            );
          }
          const blob = checkPrivateKey('(the SSH listener host key)', pem, undefined);
          const who = port === 22 ? host : `[${host}]:${port}`;
          writeFileSync(o.knownHosts, `${who} ${publicKeyLine(blob)}\n`);
          io.stderr.write(`wrote ${o.knownHosts}: ${who} ${fingerprint(blob)}\n`);
        }
        io.stdout.write(
          buildSshConfig({
            connections: names.length > 0 ? names : all,
            host,
            port,
            ...(o.knownHosts ? { knownHostsFile: path.resolve(o.knownHosts) } : {}),
            ...(o.identityFile ? { identityFile: path.resolve(o.identityFile) } : {}),
          }),
        );
      },
    );

  async function withKeys<T>(sub: Command, fn: (admin: SshKeyAdmin) => Promise<T>): Promise<T> {
    if (!deps.openKeys) throw new Error('this build has no store access for ssh keys');
    const admin = await deps.openKeys(sub.optsWithGlobals<{ config?: string }>().config);
    try {
      return await fn(admin);
    } finally {
      await admin.close();
    }
  }
  const keyJson = (k: RegisteredSshKey, t: ServiceTokenRecord | undefined) => ({
    fingerprint: k.fingerprint,
    type: k.type,
    comment: k.comment,
    tokenId: k.tokenId,
    subject: t?.subject ?? null,
    groups: t?.groups ?? [],
    agent: t?.agent ?? null,
    addedAt: k.addedAt.toISOString(),
    removedAt: k.removedAt?.toISOString() ?? null,
    status: keyStatus(k, t, new Date()),
  });

  cmd
    .command('add-key')
    .description(
      "register public keys (OpenSSH .pub lines) to a service token's principal: ssh logins with them are that principal",
    )
    .requiredOption('--token-id <id>', 'the service token (from `gatehouse token issue` or `token list`)')
    .argument('[file]', 'public key file, one key per line ("-" or none: stdin)')
    .option('-c, --config <file>', 'gatehouse.yaml (default: $GATEHOUSE_CONFIG or ./gatehouse.yaml)')
    .action(async (file: string | undefined, o: { tokenId: string }, sub: Command) => {
      const text = file === undefined || file === '-' ? await readStdin(io) : readFileSync(file, 'utf8');
      const lines = text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'));
      if (lines.length === 0) throw new Error('no public key given');
      await withKeys(sub, async ({ registry, tokens }) => {
        const token = (await tokens.listServiceTokens()).find((t) => t.id === o.tokenId);
        if (!token) throw new Error(`no service token with id ${o.tokenId} (see gatehouse token list)`);
        const status = tokenStatus(token, new Date());
        if (status !== 'active') throw new Error(`token ${o.tokenId} is ${status}: issue a new one`);
        for (const line of lines) {
          let k: RegisteredSshKey;
          try {
            k = await registry.add(line, token);
          } catch (e) {
            if (e instanceof SshKeyRequestError) throw new Error(e.message);
            throw e;
          }
          io.stdout.write(
            `added ${k.fingerprint} (${k.type}${k.comment ? ` ${k.comment}` : ''}) for ${token.subject}` +
              ` (token ${token.id}, agent: ${token.agent ? 'yes' : 'no'}, expires ${token.expiresAt.toISOString()})\n`,
          );
        }
      });
      io.stderr.write(
        'ssh logins with these keys are this principal until the key is removed or the token revoked or expired.\n',
      );
    });

  cmd
    .command('list-keys')
    .description('list registered ssh public keys and the principal each logs in as')
    .option('--all', 'include removed keys')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'gatehouse.yaml (default: $GATEHOUSE_CONFIG or ./gatehouse.yaml)')
    .action(async (o: { all?: boolean; json?: boolean }, sub: Command) => {
      const { keys, byId } = await withKeys(sub, async ({ registry, tokens }) => ({
        keys: await registry.list({ all: o.all === true }),
        byId: new Map((await tokens.listServiceTokens()).map((t) => [t.id, t])),
      }));
      if (o.json === true) {
        io.stdout.write(
          `${JSON.stringify(
            keys.map((k) => keyJson(k, byId.get(k.tokenId))),
            null,
            2,
          )}\n`,
        );
        return;
      }
      if (keys.length === 0) {
        io.stdout.write('no ssh keys\n');
        return;
      }
      const now = new Date();
      io.stdout.write(
        textTable([
          ['FINGERPRINT', 'TYPE', 'SUBJECT', 'TOKEN', 'ADDED', 'STATUS', 'COMMENT'],
          ...keys.map((k) => {
            const t = byId.get(k.tokenId);
            return [
              k.fingerprint,
              k.type,
              t?.subject ?? '?',
              k.tokenId,
              k.addedAt.toISOString(),
              keyStatus(k, t, now),
              k.comment,
            ];
          }),
        ]),
      );
    });

  cmd
    .command('remove-key')
    .description('remove a registered key; sessions that logged in with it end within 5 seconds')
    .argument('<fingerprint>', 'SHA256:… as list-keys (or ssh-keygen -lf) prints it')
    .option('-c, --config <file>', 'gatehouse.yaml (default: $GATEHOUSE_CONFIG or ./gatehouse.yaml)')
    .action(async (fp: string, _o: unknown, sub: Command) => {
      const done = await withKeys(sub, ({ registry }) => registry.remove(fp.trim()));
      if (!done) throw new Error(`no registered ssh key ${fp} (see gatehouse ssh list-keys)`);
      io.stdout.write(`removed ${fp.trim()}\n`);
    });
  return cmd;
}

function tokenStatus(t: ServiceTokenRecord, now: Date): 'active' | 'revoked' | 'expired' {
  if (t.revokedAt) return 'revoked';
  return t.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
}

function keyStatus(k: RegisteredSshKey, t: ServiceTokenRecord | undefined, now: Date): string {
  if (k.removedAt) return 'removed';
  if (!t) return 'no token';
  const s = tokenStatus(t, now);
  return s === 'active' ? 'active' : `token ${s}`;
}

async function readStdin(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of io.stdin) {
    const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c);
    size += b.length;
    if (size > 1024 * 1024) throw new Error('more than 1 MiB of public keys on stdin');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
