// The settings a client asks for at startup are in the session's record (docs/security.md, class 102),
// through the real wire against a real PostgreSQL: the record must say under which DateStyle, time
// zone or search_path the session's statements ran, as it does for the same settings sent with SET.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
  });
});
afterAll(async () => gw?.stop());

describe('class 102: startup settings are recorded', () => {
  it('the upstream.login event holds every setting the client set at startup, as forwarded', async () => {
    const c = gw.client(await gw.token({ subject: 'claude-startup', groups: ['ai-agents'], agent: true }), {
      options: '-c DateStyle=SQL,DMY -c TimeZone=Asia/Tokyo',
      application_name: 'report-bot',
    });
    await c.connect();
    // The same text means 3 April here, and 4 March under the server's default.
    const r = await c.query<{ d: string }>("SELECT '03/04/2026'::date::text AS d");
    expect(r.rows[0]!.d).toBe('03/04/2026');
    await c.end();
    let data: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && data === undefined; i++) {
      const [s] = await gw.gateway.store.listSessions({ subject: 'claude-startup', limit: 1 });
      if (s) data = (await gw.gateway.store.getEvents(s.id)).find((e) => e.type === 'upstream.login')?.data;
      if (data === undefined) await new Promise((res) => setTimeout(res, 50));
    }
    expect(data?.settings).toMatchObject({
      datestyle: 'SQL,DMY',
      timezone: 'Asia/Tokyo',
      application_name: 'report-bot',
    });
  });
});
