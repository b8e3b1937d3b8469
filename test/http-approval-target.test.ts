// A reviewed HTTP request's target is shown to the approver whole. The approval was bound to the
// whole target (class 205's binding), but the approver was shown the record's text, clipped at 4096
// characters: a GET whose query string put `&purge=all` past a padding parameter was shown as
// `GET /v1/items?pad=aaaa… (clipped: 4130 characters in all)`, the tail unseen and approvable, as a
// body's tail was before class 254 (docs/security.md class 278). Real approvals service, its API, and
// Python's http.server as the upstream.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { startPythonUpstream, type PythonUpstream } from './testkit/python-upstreams.js';

describe('a reviewed HTTP request’s target, as the approver is shown it', { timeout: 60_000 }, () => {
  let up: PythonUpstream;
  let gw: HttpTestGateway;
  let agent: string;
  let olga: string;

  beforeAll(async () => {
    up = await startPythonUpstream('http.server');
    gw = await startHttpTestGateway({
      realApprovals: true,
      connections: { api: { protocol: 'http', listen: '127.0.0.1:0', upstream: up.url } },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['api'],
          rules: [{ id: 'agents-deferred', effect: 'review', mode: 'defer', approval: 'ops', match: {} }],
        },
      ],
      extra: {
        listeners: { http: { address: '127.0.0.1:0' } },
        approvals: { rules: { ops: { approverGroups: ['ops'] } } },
      },
    });
    agent = await gw.token({ subject: 'claude', agent: true });
    olga = await gw.token({ subject: 'olga', groups: ['ops'] });
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.stop();
  });

  it('shows the whole target, its tail included, with secret query values masked', async () => {
    const target = `/v1/items?pad=${'a'.repeat(4100)}&api_key=k-secret-278&purge=all`;
    const res = await fetch(`${gw.endpoint('api')}${target}`, {
      headers: { authorization: `Bearer ${agent}` },
    });
    const text = await res.text();
    expect(res.status).toBe(403);
    const id = /request ([0-9a-f-]{36}) (was created|is still pending)/.exec(text)?.[1];
    expect(id, text).toBeDefined();
    const got = await fetch(`http://127.0.0.1:${gw.gateway.http!.port}/api/approvals/${id}`, {
      headers: { authorization: `Bearer ${olga}` },
    });
    const body = (await got.json()) as { request: { statement: { text: string } } };
    const shown = body.request.statement.text;
    expect(shown, shown.slice(-120)).toContain('&purge=all');
    expect(shown).not.toContain('clipped');
    expect(shown).not.toContain('k-secret-278');
    expect(up.ran).toEqual([]);
  });
});
