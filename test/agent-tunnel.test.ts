// The network-resident agent on loopback (docs/agent.md): the tunnel carries real PostgreSQL
// sessions and HTTP requests; joins, forged credentials, revocation, targets off the signed list,
// a killed agent, a restarted gateway, several agents under one name.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentsSection, joinToken, startAgent, until, type TestAgent } from './testkit/agents.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
let agent: TestAgent;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    connectionExtra: { via: { agent: 'vpc' } },
    extra: { agents: agentsSection() },
    setupSql: `CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'one');`,
  });
  agent = await startAgent(gw.gateway.agents!, { joinToken: await joinToken(gw.gateway.agents!, 'vpc') });
  await agent.ready();
});
afterAll(async () => {
  await agent?.stop();
  await gw?.stop();
});

describe('a PostgreSQL connection through an agent', () => {
  it('runs queries through gateway → agent → upstream', async () => {
    const c = gw.client(await gw.token());
    await c.connect();
    const r = await c.query('SELECT body FROM notes WHERE id = 1');
    expect(r.rows).toEqual([{ body: 'one' }]);
    const links = gw.gateway.agents!.hub.list();
    expect(links).toHaveLength(1);
    expect(links[0]!.activeStreams).toBe(1);
    await c.end();
  });
});
