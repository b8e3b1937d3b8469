import { inject, test, expect } from 'vitest';
import pg from 'pg';
test('test postgres is reachable', async () => {
  const c = new pg.Client({ connectionString: inject('pgUrl') });
  await c.connect();
  const r = await c.query('select 1 as x');
  expect(r.rows[0].x).toBe(1);
  await c.end();
});
