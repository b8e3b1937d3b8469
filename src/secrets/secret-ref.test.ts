import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptSecret } from './secret-box.js';
import { resolveSecret, Secret } from './secret-ref.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gh-secret-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function message(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a rejection');
}

describe('resolveSecret', () => {
  it('reads an environment variable', async () => {
    const s = await resolveSecret({ env: 'PGPASS' }, { PGPASS: 's3cret' });
    expect(s.reveal()).toBe('s3cret');
  });

  it('names the missing or empty variable, never a value', async () => {
    expect(await message(resolveSecret({ env: 'UPSTREAM_PW' }, {}))).toBe(
      'secret environment variable UPSTREAM_PW is not set',
    );
    expect(await message(resolveSecret({ env: 'UPSTREAM_PW' }, { UPSTREAM_PW: '' }))).toBe(
      'secret environment variable UPSTREAM_PW is empty',
    );
  });

  it('reads a file and drops one trailing newline', async () => {
    const f = join(dir, 'pw');
    await writeFile(f, 'from-file\n');
    expect((await resolveSecret({ file: f })).reveal()).toBe('from-file');
    await writeFile(f, 'crlf\r\n');
    expect((await resolveSecret({ file: f })).reveal()).toBe('crlf');
    await writeFile(f, 'two\n\n');
    expect((await resolveSecret({ file: f })).reveal()).toBe('two\n');
  });

  it('names an unreadable or empty file', async () => {
    const missing = join(dir, 'nope');
    expect(await message(resolveSecret({ file: missing }))).toBe(
      `cannot read secret file ${missing} (ENOENT)`,
    );
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n');
    expect(await message(resolveSecret({ file: empty }))).toBe(`secret file ${empty} is empty`);
  });

  it('decrypts gh1: values with GATEHOUSE_MASTER_KEY', async () => {
    const key = randomBytes(32);
    const encrypted = encryptSecret('db-password', key);
    const s = await resolveSecret({ encrypted }, { GATEHOUSE_MASTER_KEY: key.toString('base64') });
    expect(s.reveal()).toBe('db-password');
    expect(await message(resolveSecret({ encrypted }, {}))).toMatch(/GATEHOUSE_MASTER_KEY is not set/);
    const wrong = await message(
      resolveSecret({ encrypted }, { GATEHOUSE_MASTER_KEY: randomBytes(32).toString('hex') }),
    );
    expect(wrong).toMatch(/not the key it was encrypted with/);
    expect(wrong).not.toContain('db-password');
  });
});

describe('Secret', () => {
  it('never shows its value through String, JSON, inspect or templates', () => {
    const s = new Secret('topsecret-value');
    const holder = { password: s, nested: [s] };
    expect(String(s)).toBe('[secret]');
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the point of the test
    expect(`${s}`).toBe('[secret]');
    // eslint-disable-next-line @typescript-eslint/restrict-plus-operands -- the point of the test
    expect('' + s).toBe('[secret]');
    expect(JSON.stringify(holder)).toBe('{"password":"[secret]","nested":["[secret]"]}');
    expect(inspect(holder, { depth: 5, showHidden: true })).not.toContain('topsecret-value');
    expect(Object.keys(s)).toEqual([]);
    expect(s.reveal()).toBe('topsecret-value');
  });
});
