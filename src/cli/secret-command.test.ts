import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { decryptSecret, parseMasterKey } from '../secrets/secret-box.js';
import type { CliIo } from './cli-io.js';
import { secretCommand } from './secret-command.js';

function harness(stdinText: string, env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    stdin: (async function* () {
      yield Buffer.from(stdinText);
    })(),
    env,
  };
  const program = new Command('gatehouse').exitOverride();
  program.addCommand(secretCommand(io));
  for (const c of program.commands) {
    c.exitOverride();
    for (const s of c.commands) s.exitOverride().configureOutput({ writeErr: (s) => err.push(s) });
  }
  return {
    run: async (...args: string[]) => {
      await program.parseAsync(['node', 'gatehouse', ...args]);
      return out.join('');
    },
    err,
  };
}

describe('gatehouse secret', () => {
  it('generate-key prints a valid master key', async () => {
    const key = (await harness('', {}).run('secret', 'generate-key')).trim();
    expect(parseMasterKey(key)).toHaveLength(32);
  });

  it('encrypt reads stdin (one trailing newline dropped) and prints a gh1: value', async () => {
    const key = (await harness('', {}).run('secret', 'generate-key')).trim();
    const h = harness('db pass\n', { GATEHOUSE_MASTER_KEY: key });
    const value = (await h.run('secret', 'encrypt')).trim();
    expect(value).toMatch(/^gh1:/);
    expect(value).not.toContain('db pass');
    expect(decryptSecret(value, parseMasterKey(key))).toBe('db pass');
  });

  it('encrypt --value works but warns', async () => {
    const key = (await harness('', {}).run('secret', 'generate-key')).trim();
    const h = harness('', { GATEHOUSE_MASTER_KEY: key });
    const value = (await h.run('secret', 'encrypt', '--value', 'v')).trim();
    expect(decryptSecret(value, parseMasterKey(key))).toBe('v');
    expect(h.err.join('')).toMatch(/shell history/);
  });

  it('encrypt without GATEHOUSE_MASTER_KEY names the variable', async () => {
    const h = harness('x', {});
    const e = await h.run('secret', 'encrypt').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CommanderError);
    expect(h.err.join('')).toMatch(/GATEHOUSE_MASTER_KEY is not set/);
  });
});
