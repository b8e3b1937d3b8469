// Startup parameters named like the startup packet's own fields (docs/security.md, class 99), through
// the real wire against a real PostgreSQL. PostgreSQL reads `options` and `replication` only when
// spelt so; `Options`, `REPLICATION` or `-c options=…` are unknown settings to it (42704). Gatehouse
// passes settings upstream under their lower-case names, so such a name must not reach it as a
// setting: it would arrive as the field itself, carrying settings nobody decided, or a replication
// connection, which Gatehouse carries for nobody.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { decodeErrorFields } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

/** People who may change any setting, admin ones included, but not search_path. */
const OPS: PolicyConfig[] = [
  {
    id: 'ops',
    subjects: { groups: ['ops'] },
    connections: ['app'],
    rules: [
      { id: 'ops-no-search-path', effect: 'deny', match: { kinds: ['set*search_path'] } },
      { id: 'ops-all', effect: 'allow', match: {} },
    ],
  },
];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: OPS,
    setupSql: `CREATE SCHEMA shadow; CREATE TABLE canary (v text); INSERT INTO canary VALUES ('real');
               CREATE TABLE shadow.canary (v text); INSERT INTO shadow.canary VALUES ('shadow');`,
  });
});
afterAll(async () => gw?.stop());

/** Opens a raw session with these startup parameters: the error's fields, or what the session sees. */
async function attempt(
  params: Record<string, string>,
): Promise<{ code?: string; message?: string; seen?: string[] }> {
  const token = await gw.token({ subject: 'olga', groups: ['ops'] });
  let c: RawPgClient;
  try {
    c = await RawPgClient.open(gw.port, 'app', token, params);
  } catch (e) {
    return { message: (e as Error).message };
  }
  try {
    c.send(
      msg.query(
        "SELECT (SELECT v FROM canary) || ' ' || current_setting('search_path') || ' ' || " +
          "coalesce((SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()), '?') AS seen",
      ),
    );
    const frames = await c.ready();
    const row = frames.find((f) => f.type === 0x44);
    const err = frames.find((f) => f.type === 0x45);
    if (err) return { code: decodeErrorFields(err.body).C, message: decodeErrorFields(err.body).M };
    const len = row!.body.readInt32BE(2);
    return { seen: [row!.body.toString('utf8', 6, 6 + len)] };
  } finally {
    c.close();
  }
}

describe('class 99: a startup parameter named like a field of the startup packet', () => {
  it('PostgreSQL itself reads these spellings as unknown settings', async () => {
    for (const params of <Record<string, string>[]>[
      { Options: '-c search_path=shadow' },
      { options: '-c options=-csearch_path=shadow' },
    ]) {
      const e = await RawPgClient.direct(gw.directUrl, params).then(
        (c) => {
          c.close();
          return undefined;
        },
        (x: unknown) => x as Error,
      );
      expect(e?.message, JSON.stringify(params)).toMatch(/unrecognized configuration parameter "options"/i);
    }
  });

  it('is refused as the server refuses it, and carries no setting or replication connection upstream', async () => {
    // The control: search_path at startup is decided, and this policy refuses it.
    expect((await attempt({ options: '-c search_path=shadow' })).message).toMatch(/search_path|refused/);
    for (const params of <Record<string, string>[]>[
      { Options: '-c search_path=shadow' },
      { OPTIONS: '-csearch_path=shadow' },
      { options: '-c options=-csearch_path=shadow' },
      { options: '--options=-csearch_path=shadow' },
      { options: '-c Options=-csearch_path=shadow' },
      { Replication: 'database' },
      { options: '-c replication=database' },
    ]) {
      const r = await attempt(params);
      expect(r.seen, JSON.stringify(params)).toBeUndefined();
      expect(r.message, JSON.stringify(params)).toMatch(
        /unrecognized configuration parameter "(options|replication)"/i,
      );
    }
    // An ordinary session still reads the real table, as a client backend.
    expect((await attempt({})).seen).toEqual(['real "$user", public client backend']);
  });
});
