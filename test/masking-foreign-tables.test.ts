// A foreign table's rows are not stored in the database: its wrapper reads them from a server file,
// a program's output or another server when the table is read. The server's files hold masked values
// in clear (its data files hold the tables), so a masked principal that made a file_fdw table over
// the ruled table's data file read the token back as a plain column (docs/security.md, class 347):
// the same bytes class 247 refused to store with COPY … FROM PROGRAM. Through the real listener, the
// `pg` client and a real server.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from './testkit/gateway.js';
import { VAULT_SECRET as SECRET, asPrincipal, refusal, startVaultGateway } from './testkit/masked-vault.js';

let gw: TestGateway;
/** The vault's data file, relative to the data directory (where file_fdw's program runs). */
let dataFile: string;

beforeAll(async () => {
  gw = await startVaultGateway(`
    CREATE TABLE lines (line text);
    CREATE EXTENSION file_fdw;
    CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
    CREATE TABLE parts (line text) PARTITION BY LIST (line);
    CREATE TABLE heap (line text);`);
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

/** file_fdw's program option: the printable runs of the vault's data file, one a line. */
const program = () => `tr -c '[:alnum:]' '\\n' < ${dataFile}`.replace(/'/g, "''");

describe('a foreign table read by a masked principal', { timeout: 60_000 }, () => {
  it("a file_fdw table over the ruled table's data file comes back masked whole", async () => {
    await as(['analysts'], 'ann', async (c) => {
      await c.query(
        `CREATE FOREIGN TABLE vault_file (line text) SERVER files OPTIONS (program '${program()}')`,
      );
      const r = await c.query<{ line: string }>("SELECT line FROM vault_file WHERE line <> ''");
      expect(r.rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(r.rows)).not.toContain(SECRET);
      expect(r.rows.every((row) => row.line.startsWith('[REDACTED'))).toBe(true);
      const all = await c.query('TABLE vault_file');
      expect(JSON.stringify(all.rows)).not.toContain(SECRET);
    });
  });

  it('storing its rows in a table is refused as an untraceable write', async () => {
    await as(['analysts'], 'ann2', async (c) => {
      const e = await refusal(c, 'INSERT INTO lines SELECT line FROM vault_file');
      expect(e.code).toBe('42501');
      expect(e.message).toMatch(/foreign table public\.vault_file/);
      expect((await c.query<{ n: string }>('SELECT count(*) AS n FROM lines')).rows[0]!.n).toBe('0');
    });
  });

  it('a foreign partition or inheritance child makes its parent untraceable too', async () => {
    await as(['analysts'], 'ann3', async (c) => {
      await c.query(
        `CREATE FOREIGN TABLE parts_file PARTITION OF parts DEFAULT SERVER files OPTIONS (program '${program()}')`,
      );
      const p = await c.query<{ line: string }>("SELECT line FROM parts WHERE line <> ''");
      expect(p.rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(p.rows)).not.toContain(SECRET);
      await c.query(
        `CREATE FOREIGN TABLE heap_file () INHERITS (heap) SERVER files OPTIONS (program '${program()}')`,
      );
      const h = await c.query<{ line: string }>("SELECT line FROM heap WHERE line <> ''");
      expect(h.rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(h.rows)).not.toContain(SECRET);
    });
  });

  it('plain tables read as before, and a principal without a mask obligation reads the file', async () => {
    await as(['analysts'], 'ann4', async (c) => {
      await c.query("INSERT INTO lines VALUES ('typed by hand')");
      expect((await c.query('SELECT line FROM lines')).rows).toEqual([{ line: 'typed by hand' }]);
      await c.query('DELETE FROM lines');
    });
    await as(['dba'], 'olga', async (c) => {
      const r = await c.query<{ line: string }>('SELECT line FROM vault_file WHERE line = $1', [SECRET]);
      expect(r.rows).toEqual([{ line: SECRET }]);
    });
  });
});
