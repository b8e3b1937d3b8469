// `gatehouse secret encrypt|generate-key`: produce gh1: values for `encrypted:` secret references.
// The plaintext is read from stdin by default (not argv, which lands in shell history and `ps`).

import { Command } from 'commander';
import { encryptSecret, generateMasterKey, MASTER_KEY_ENV, masterKeyFromEnv } from '../secrets/secret-box.js';
import { stripTrailingNewline } from '../secrets/secret-ref.js';
import { processIo, type CliIo } from './cli-io.js';

const MAX_SECRET_BYTES = 64 * 1024;

async function readAll(stdin: CliIo['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stdin) {
    const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c);
    size += b.length;
    if (size > MAX_SECRET_BYTES) throw new Error(`secret on stdin is larger than ${MAX_SECRET_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function secretCommand(io: CliIo = processIo()): Command {
  const cmd = new Command('secret').description('encrypt upstream credentials for gatehouse.yaml');

  cmd
    .command('encrypt')
    .description(
      `encrypt a secret read from stdin with ${MASTER_KEY_ENV}; prints a gh1: value for \`encrypted:\``,
    )
    .option(
      '--value <secret>',
      'the secret itself (discouraged: it is kept in shell history and visible in ps)',
    )
    .action(async (opts: { value?: string }, sub: Command) => {
      let key: Buffer;
      try {
        key = masterKeyFromEnv(io.env);
      } catch (e) {
        sub.error(`error: ${(e as Error).message}`, { exitCode: 2, code: 'gatehouse.secret' });
      }
      let plaintext: string;
      if (opts.value !== undefined) {
        io.stderr.write('warning: --value leaves the secret in shell history; prefer stdin\n');
        plaintext = opts.value;
      } else {
        if (io.stdin.isTTY) io.stderr.write('Type the secret, then press Enter and Ctrl-D:\n');
        // One trailing newline is dropped (from `echo` or Enter), as for `file:` references.
        plaintext = stripTrailingNewline(await readAll(io.stdin));
      }
      if (plaintext === '')
        sub.error('error: the secret is empty', { exitCode: 2, code: 'gatehouse.secret' });
      try {
        io.stdout.write(encryptSecret(plaintext, key) + '\n');
      } finally {
        key.fill(0);
      }
    });

  cmd
    .command('generate-key')
    .description(`print a new random master key for ${MASTER_KEY_ENV}`)
    .action(() => {
      io.stdout.write(generateMasterKey() + '\n');
      io.stderr.write(
        `Keep it secret and set it as ${MASTER_KEY_ENV} wherever gatehouse runs; losing it loses the encrypted secrets.\n`,
      );
    });

  return cmd;
}
