// A masked principal allowed to read server files must not store them where a plain read shows them:
// the server's data files hold the tables, masked columns included, and its log quotes the values of
// failed statements (`invalid input syntax for type integer: "<secret>"`). pg_read_file's result is
// untraceable (masked whole); COPY … FROM a server file or program and lo_import stored the same bytes
// in a table or a large object, read back later in clear (docs/security.md, class 247). Through the
// real listener, the `pg` client and a real server.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendCode } from '../src/wire/postgres/index.js';
import type { TestGateway } from './testkit/gateway.js';
import { VAULT_SECRET as SECRET, asPrincipal, refusal, startVaultGateway } from './testkit/masked-vault.js';
import { RawPgClient, errorsIn, msg } from './testkit/raw-pg-client.js';

let gw: TestGateway;
/** The vault's data file, relative to the data directory (where COPY … PROGRAM and lo_import run). */
let dataFile: string;

beforeAll(async () => {
  gw = await startVaultGateway('CREATE TABLE lines (line text);');
  const direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  try {
    // The row on disk, as any checkpoint leaves it.
    await direct.query('CHECKPOINT');
    dataFile = (await direct.query<{ f: string }>("SELECT pg_relation_filepath('vault') AS f")).rows[0]!.f;
  } finally {
    await direct.end();
  }
});
afterAll(async () => gw?.stop());

const as = <T>(groups: string[], subject: string, f: (c: pg.Client) => Promise<T>): Promise<T> =>
  asPrincipal(gw, groups, subject, f);

/** The printable runs of the vault's data file, one a line: the row's token among them. */
const STRINGS = () => `tr -c '[:alnum:]' '\\n' < ${dataFile}`;

describe('server files stored where a read shows them, for a masked principal', { timeout: 60_000 }, () => {
  it('COPY … FROM PROGRAM (or a file) into a table is refused as an untraceable write', async () => {
    await as(['analysts'], 'ann', async (c) => {
      const e = await refusal(c, `COPY lines FROM PROGRAM '${STRINGS().replace(/'/g, "''")}'`);
      expect(e.code).toBe('42501');
      expect(e.message).toMatch(/COPY FROM a server file or program/);
      expect((await refusal(c, `COPY lines FROM '${dataFile}'`)).code).toBe('42501');
      const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM lines');
      expect(r.rows[0]!.n).toBe('0');
    });
  });

  it('lo_import of a server file is refused as an untraceable write', async () => {
    await as(['analysts'], 'ann2', async (c) => {
      const e = await refusal(c, `SELECT lo_import('${dataFile}')`);
      expect(e.code).toBe('42501');
      expect(e.message).toMatch(/a large object \(lo_import\(\)\)/);
      const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM pg_largeobject_metadata');
      expect(r.rows[0]!.n).toBe('0');
    });
  });

  it('lo_import called by OID over the fast path is refused too', async () => {
    const c = await RawPgClient.open(
      gw.port,
      gw.connection,
      await gw.token({ subject: 'ann4', groups: ['analysts'] }),
    );
    try {
      for (const oid of [764, 767]) {
        c.send(msg.functionCall(oid, oid === 764 ? [dataFile] : [dataFile, '0']));
        const frames = await c.ready();
        expect(frames.some((f) => f.type === BackendCode.FunctionCallResponse)).toBe(false);
        expect(errorsIn(frames).map((e) => e.C)).toEqual(['42501']);
      }
      c.send(msg.query('SELECT count(*) FROM pg_largeobject_metadata'));
      const counted = await c.ready();
      const row = counted.find((f) => f.type === BackendCode.DataRow)!;
      expect(row.body.subarray(6).toString()).toBe('0');
    } finally {
      c.close();
    }
  });

  it("the client's own rows still load, and a principal without a mask obligation reads the file", async () => {
    await as(['analysts'], 'ann3', async (c) => {
      await c.query("INSERT INTO lines VALUES ('typed by hand')");
      expect((await c.query('SELECT line FROM lines')).rows).toEqual([{ line: 'typed by hand' }]);
      await c.query('DELETE FROM lines');
    });
    await as(['dba'], 'olga', async (c) => {
      await c.query(`COPY lines FROM PROGRAM '${STRINGS().replace(/'/g, "''")}'`);
      const r = await c.query<{ line: string }>('SELECT line FROM lines WHERE line = $1', [SECRET]);
      expect(r.rows).toEqual([{ line: SECRET }]);
    });
  });
});
