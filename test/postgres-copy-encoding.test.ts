// A COPY … FROM STDIN held for approval shows the approver its rows (class 33). PostgreSQL reads them
// in the COPY's own ENCODING when it names one; shown as UTF-8, the same bytes are other characters and
// other fields: in SJIS the byte 0x5C (the backslash, COPY's escape) can be the second half of a
// character (docs/security.md, class 134). Through the real wire against a real PostgreSQL.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { BackendCode } from '../src/wire/postgres/index.js';
import { api, waitForRequest, type Json } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg, typed } from './testkit/raw-pg-client.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'testers',
    subjects: { groups: ['testers'] },
    connections: ['app'],
    rules: [
      { id: 'copy-held', effect: 'review', approval: 'ops', match: { kinds: ['copy'] } },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

let gw: TestGateway;
let agent: string;
let olga: string;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: 'CREATE TABLE items (id int PRIMARY KEY, name text, note text);',
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: { rules: { ops: { approverGroups: ['ops'] } } },
    },
  });
  agent = await gw.token({ subject: 'claude-sjis', groups: ['testers'], agent: true });
  olga = await gw.token({ subject: 'olga', groups: ['ops'] });
});
afterAll(async () => gw?.stop());

describe('class 134: a reviewed COPY in another encoding', () => {
  it('is not shown as UTF-8 text the server does not load', async () => {
    // Valid UTF-8 ("1", TAB, "Á\", TAB, "x"); in SJIS 0x81 0x5C is one character, so no escape.
    const row = Buffer.concat([Buffer.from('1\t'), Buffer.from([0xc3, 0x81, 0x5c]), Buffer.from('\tx\n')]);
    const c = await RawPgClient.open(gw.port, gw.connection, agent);
    try {
      c.send(msg.query("COPY items FROM STDIN WITH (ENCODING 'SJIS')"));
      await c.until((f) => f.type === BackendCode.CopyInResponse);
      c.send(typed('d', row), typed('c'));
      const req = await waitForRequest(gw, olga, (r: Json) => r.status === 'pending');
      const shown = (req.statement.params as string[]).join('\n');
      // Before the fix the approver read `1	Á\	x`: a value the table never gets.
      expect(shown).not.toContain('Á');
      expect(shown).toContain('not shown');
      const ok = await api(gw, olga, 'POST', `/api/approvals/${req.id}/approve`, {});
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      await c.ready();
    } finally {
      c.close();
    }
    // What the server loaded: SJIS read, three fields.
    const d = new pg.Client({ connectionString: gw.directUrl });
    await d.connect();
    try {
      const r = await d.query<{ name: string; note: string }>('SELECT name, note FROM items WHERE id = 1');
      expect(r.rows[0]).toEqual({ name: 'ﾃ―', note: 'x' });
    } finally {
      await d.end();
    }
  });
});
