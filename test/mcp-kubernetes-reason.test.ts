// The MCP `kubernetes` tool's reason is recorded with the request it was given for. The listener
// records one session per client connection, with the first request's user agent (the tool puts the
// call's reason there) as the session's application; calls that shared a pooled connection were filed
// under the first call's reason, and their own was recorded nowhere (docs/security.md class 85).
// The MCP SDK client through Gatehouse's MCP endpoint, against the fake API server.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

describe('the MCP kubernetes tool', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: defaultKubernetesPolicies(['prod-k8s']),
      extra: { listeners: { http: { address: '127.0.0.1:0' } } },
    });
    agent = await gw.token({ subject: 'mcp-agent', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  it('records each call under its own reason, not an earlier call’s', async () => {
    const client = new Client({ name: 'kube-reason-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.gateway.http!.port}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${agent}` } },
      }),
    );
    const calls = [
      ['get pods', 'routine look at the pods', 'GET /api/v1/namespaces/default/pods'],
      ['get pod web', 'the user asked about web', 'GET /api/v1/namespaces/default/pods/web'],
      ['logs web', 'reading why web restarted', 'GET /api/v1/namespaces/default/pods/web/log'],
      ['get namespaces', 'which namespaces exist', 'GET /api/v1/namespaces'],
    ] as const;
    try {
      for (const [command, reason] of calls) {
        const r = (await client.callTool({
          name: 'kubernetes',
          arguments: { connection: 'prod-k8s', command, reason },
        })) as { isError?: boolean };
        expect(r.isError, command).toBeFalsy();
      }
    } finally {
      await client.close();
    }
    // Every statement's session names the reason its call gave.
    const filed = new Map<string, string>();
    for (let i = 0; i < 100 && filed.size < calls.length; i++) {
      for (const s of await gw.gateway.store.listSessions({ subject: 'mcp-agent', limit: 100 })) {
        const got = await gw.gateway.store.getSession(s.id);
        for (const st of got?.statements ?? []) filed.set(st.text, String(s.application ?? ''));
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const [, reason, text] of calls)
      expect(filed.get(text), text).toBe(`gatehouse-mcp/kubernetes reason="${reason}"`);
  });

  // A reason is free text from the model: one with characters a header cannot carry (above U+00FF)
  // made the tool call throw instead of running (or refusing) the command.
  it('runs a call whose reason has characters a header cannot carry, the reason filed in ASCII', async () => {
    const client = new Client({ name: 'kube-reason-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.gateway.http!.port}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${agent}` } },
      }),
    );
    try {
      const r = (await client.callTool({
        name: 'kubernetes',
        arguments: {
          connection: 'prod-k8s',
          command: 'get pods -n kube-system',
          reason: 'Prüfung — 検査 "now"',
        },
      })) as { isError?: boolean; content: { text?: string }[] };
      expect(r.isError, r.content.map((c) => c.text).join('\n')).toBeFalsy();
    } finally {
      await client.close();
    }
    let app: string | undefined;
    for (let i = 0; i < 100 && app === undefined; i++) {
      for (const s of await gw.gateway.store.listSessions({ subject: 'mcp-agent', limit: 100 })) {
        const got = await gw.gateway.store.getSession(s.id);
        if (got?.statements.some((st) => st.text === 'GET /api/v1/namespaces/kube-system/pods'))
          app = String(s.application ?? '');
      }
      if (app === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(app).toBe(`gatehouse-mcp/kubernetes reason="Pr?fung ? ?? 'now'"`);
  });
});
