// Code Gatehouse cannot see into (a DO block, a function) has its error and notice texts withheld
// from a masked principal, but it also chooses what the messages carry besides their text: the
// SQLSTATE of a RAISE is any five characters it computes (`RAISE EXCEPTION USING ERRCODE =
// upper(substr(secret, 1, 5))`), and it can raise as many notices as it likes. An error of such a
// statement keeps only a SQLSTATE a client acts on without the text; only its first notice is sent,
// with its severity's SQLSTATE (docs/security.md, class 245). Through the real listener, the `pg`
// client and a real server.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from './testkit/gateway.js';
import { VAULT_SECRET as SECRET, startVaultGateway } from './testkit/masked-vault.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startVaultGateway();
});
afterAll(async () => gw?.stop());

interface Session {
  readonly client: pg.Client;
  readonly notices: { code?: string; severity?: string; message: string }[];
  /** Every byte received so far. */
  readonly bytes: () => string;
}

async function connect(groups: string[], subject: string): Promise<Session> {
  const client = gw.client(await gw.token({ subject, groups }));
  const notices: Session['notices'] = [];
  const chunks: Buffer[] = [];
  client.on('notice', (n) =>
    notices.push({
      ...(n.code !== undefined ? { code: n.code } : {}),
      ...(n.severity !== undefined ? { severity: n.severity } : {}),
      message: n.message ?? '',
    }),
  );
  await client.connect();
  (client as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
    'data',
    (d: Buffer) => chunks.push(d),
  );
  return { client, notices, bytes: () => Buffer.concat(chunks).toString('latin1') };
}

async function failure(c: pg.Client, sql: string): Promise<{ code?: string; message: string }> {
  try {
    await c.query(sql);
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { ...(err.code !== undefined ? { code: err.code } : {}), message: err.message };
  }
  throw new Error(`expected ${sql} to fail`);
}

/** Every five-character piece of the secret's upper case, as RAISE … USING ERRCODE would carry it. */
const PIECES = Array.from({ length: SECRET.length - 4 }, (_, i) => SECRET.toUpperCase().slice(i, i + 5));

describe('what unseen code chooses besides its texts, to a masked principal', { timeout: 60_000 }, () => {
  it('an error whose SQLSTATE the code computed from a masked value comes back as raise_exception', async () => {
    const s = await connect(['analysts'], 'ann');
    try {
      const e = await failure(
        s.client,
        `DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = upper(substr((SELECT token FROM vault WHERE id = 1), 1, 5)); END $$`,
      );
      expect(e.code).toBe('P0001');
      expect(e.message).toMatch(/^Gatehouse withheld the text of this error \(SQLSTATE P0001/);
      for (const p of PIECES) expect(s.bytes()).not.toContain(p);
    } finally {
      await s.client.end();
    }
  });

  it("notices that carry the value in their SQLSTATEs: one sent, with its severity's SQLSTATE", async () => {
    const s = await connect(['analysts'], 'ann2');
    try {
      // Hex in upper case is five characters of SQLSTATE per notice: the whole secret in one statement.
      await s.client.query(`DO $$ DECLARE h text := upper(encode(convert_to(
          (SELECT token FROM vault WHERE id = 1), 'UTF8'), 'hex'));
        BEGIN
          FOR i IN 0 .. (length(h) - 1) / 5 LOOP
            RAISE NOTICE USING MESSAGE = 'part', ERRCODE = rpad(substr(h, i * 5 + 1, 5), 5, '0');
          END LOOP;
          RAISE WARNING USING MESSAGE = 'done', ERRCODE = 'ABCDE';
        END $$`);
      expect(s.notices).toHaveLength(1);
      expect(s.notices[0]!.code).toBe('00000');
      const hex = Buffer.from(SECRET).toString('hex').toUpperCase();
      for (let i = 0; i + 5 <= hex.length; i += 5) expect(s.bytes()).not.toContain(hex.slice(i, i + 5));
    } finally {
      await s.client.end();
    }
  });

  it('keeps a SQLSTATE a client acts on, and the SQLSTATE of a masked read that runs no unseen code', async () => {
    const s = await connect(['analysts'], 'ann3');
    try {
      expect(
        (await failure(s.client, `DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$`)).code,
      ).toBe('40001');
      expect((await failure(s.client, 'SELECT token::int FROM vault')).code).toBe('22P02');
    } finally {
      await s.client.end();
    }
  });

  it('a principal without a mask obligation gets every message as the server sent it', async () => {
    const s = await connect(['dba'], 'olga');
    try {
      const e = await failure(
        s.client,
        `DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = upper(substr((SELECT token FROM vault WHERE id = 1), 1, 5)); END $$`,
      );
      expect(e.code).toBe('ZEBRA');
      await s.client.query(`DO $$ BEGIN RAISE NOTICE 'one'; RAISE NOTICE 'two'; END $$`);
      expect(s.notices.map((n) => n.message)).toEqual(['one', 'two']);
    } finally {
      await s.client.end();
    }
  });
});
