// Values under sensitive field names inside PostgreSQL values, through the real wire: a config file,
// a `.env` text, a DSN or a CSV export stored in a text column, and a document held in a json string.
// No detector recognises the password, and no column rule covers the table: only the names before
// the values say what to mask (docs/masking.md, "Field names in text"). Text and binary format, the
// bytes the client received checked, and what names nothing arrives as a direct connection returns it.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const PASSWORD = 'correct-horse-battery';
const TOKEN = 'plain0ld7okenText';

const SETUP = `
  CREATE TABLE app_settings (id int PRIMARY KEY, name text, config text, doc json, docb jsonb, note varchar(200));
  INSERT INTO app_settings VALUES
    (1, 'billing', E'database:\\n  host: db.internal\\n  password: "${PASSWORD}"\\n  port: 5432\\n',
        '{"service":"billing","config":"user=app password=${PASSWORD} host=db"}',
        '{"env":"GITHUB_TOKEN=${TOKEN}\\nLOG_LEVEL=info"}', 'DB_PASSWORD=${PASSWORD}'),
    (2, 'export', E'user,password,team\\nbob,${PASSWORD},ops\\n', NULL, NULL, 'app --api-token=${TOKEN} --port 80'),
    (3, 'plain', 'meet at 12:30 in room 4', '{"a":"see https://example.com/x?y=1"}', '{"n":1}', 'shipped');
`;

let gw: TestGateway;
let direct: pg.Client;
let agent: pg.Client;
const received: Buffer[] = [];

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: SETUP,
  });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  agent = gw.client(await gw.token({ subject: 'claude-fields', groups: ['ai-agents'], agent: true }));
  await agent.connect();
  (agent as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
    'data',
    (d: Buffer) => received.push(d),
  );
}, 120_000);
afterAll(async () => {
  await agent?.end();
  await direct?.end();
  await gw?.stop();
});

describe('values under field names in PostgreSQL values', () => {
  for (const binary of [false, true])
    it(`are masked whole, in ${binary ? 'binary' : 'text'} format; the rest arrives as stored`, async () => {
      received.length = 0;
      const sql = 'SELECT id, name, config, doc, docb, note FROM app_settings ORDER BY id';
      const r = await agent.query({ text: sql, binary } as pg.QueryConfig);
      const bytes = Buffer.concat(received).toString('latin1');
      expect(bytes).not.toContain(PASSWORD);
      expect(bytes).not.toContain(TOKEN);
      const [billing, exported, plain] = r.rows as Record<string, unknown>[];
      expect(billing!.config).toBe(
        'database:\n  host: db.internal\n  password: "[REDACTED:password]"\n  port: 5432\n',
      );
      expect(billing!.doc).toEqual({
        service: 'billing',
        config: 'user=app password=[REDACTED:password] host=db',
      });
      expect(billing!.docb).toEqual({ env: 'GITHUB_TOKEN=[REDACTED:token]\nLOG_LEVEL=info' });
      expect(billing!.note).toBe('DB_PASSWORD=[REDACTED:password]');
      expect(exported!.config).toBe('user,password,team\nbob,[REDACTED:password],ops\n');
      expect(exported!.note).toBe('app --api-token=[REDACTED:api_token] --port 80');
      // Nothing named: as a direct connection returns it.
      const d = await direct.query({
        text: `${sql.replace('ORDER BY', 'WHERE id = 3 ORDER BY')}`,
        binary,
      } as pg.QueryConfig);
      expect(plain).toEqual(d.rows[0]);
    });
});
