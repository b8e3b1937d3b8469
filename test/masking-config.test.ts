// The `masking:` section as configuration: profiles named by policy rules must exist, the hash key is
// generated once in the data dir (0600) and kept, and a reload's masking rules apply to the next statement.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: 'strict' }),
    setupSql: `CREATE TABLE people (id int, email text, nickname text);
               INSERT INTO people VALUES (1, 'ada@example.com', 'countess');`,
    extra: {
      masking: {
        columns: [{ column: 'people.email', style: 'hash', tag: 'email_rule' }],
        profiles: { strict: { style: 'null' } },
      },
    },
  });
});
afterAll(async () => gw?.stop());

describe('masking configuration', () => {
  it('applies the profile a rule names, and keeps the generated hash key in the data dir', async () => {
    const agent = gw.client(await gw.token({ subject: 'claude-cfg', groups: ['ai-agents'], agent: true }));
    await agent.connect();
    try {
      // Profile `strict` keeps the top-level column rules and sets the default style to null.
      const r = await agent.query(`SELECT email, nickname, 'call +1 415 555 0123' AS note FROM people`);
      expect(r.rows[0].email).toMatch(/^hmac:[0-9a-f]{16}$/);
      expect(r.rows[0].nickname).toBe('countess');
      expect(r.rows[0].note).toBeNull();
      const keyFile = path.join(gw.dir, 'keys', 'masking-hash.key');
      expect(statSync(keyFile).mode & 0o077).toBe(0);
      expect(readFileSync(keyFile, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);

      // A reload that adds a rule applies to the next statement of the same session.
      const config = parse(readFileSync(gw.configFile, 'utf8')) as { masking: { columns: unknown[] } };
      config.masking.columns.push({ column: 'people.nickname', style: 'redact', tag: 'nick' });
      writeFileSync(gw.configFile, stringify(config));
      expect(await gw.gateway.reload()).toEqual({ ok: true });
      const again = await agent.query('SELECT email, nickname FROM people');
      expect(again.rows[0]).toEqual({ email: r.rows[0].email, nickname: '[REDACTED:nick]' });
    } finally {
      await agent.end();
    }
  });

  it('refuses a configuration whose policy names a masking profile that does not exist', async () => {
    const config = parse(readFileSync(gw.configFile, 'utf8')) as {
      policies: { rules: { mask?: unknown }[] }[];
    };
    for (const p of config.policies)
      for (const r of p.rules) if (r.mask !== undefined) r.mask = 'no-such-profile';
    writeFileSync(gw.configFile, stringify(config));
    const result = await gw.gateway.reload();
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toContain('mask profile "no-such-profile"');
  });
});
