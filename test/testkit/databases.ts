// Per-test databases on the shared test PostgreSQL, so tests can run side by side.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export async function createTestDatabase(
  superUrl: string,
  prefix = 't',
  /** Options of CREATE DATABASE after its name, e.g. `ENCODING 'SQL_ASCII' … TEMPLATE template0`. */
  createOptions = '',
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: superUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} ${createOptions}`);
  } finally {
    await admin.end();
  }
  const u = new URL(superUrl);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: superUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
