// Real kubectl through Gatehouse's Kubernetes engine against a fake API server (test/testkit/kube-api.ts):
// reads, refusals in Kubernetes' own terms that never reach the server, exec decided on its command and
// recorded with its output, masking, streaming logs, forged and revoked tokens, and no cluster
// credential anywhere a client or an operator can read.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatementResult, StoredStatement } from '../src/core/records.js';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import path from 'node:path';
import { hasCommand, run } from './testkit/commands.js';
import {
  CONFIG_SECRETS,
  ENV_SECRET,
  EXEC_SECRET,
  FIELD_SECRET,
  SECRET_VALUE,
  startFakeKubeApi,
  type FakeKubeApi,
} from './testkit/kube-api.js';
import { REPO_ROOT, startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

/** The shipped default policy, with masking for agents. */
function policies(): PolicyConfig[] {
  return defaultKubernetesPolicies(['prod-k8s'], { mask: true });
}

describe.skipIf(!haveKubectl)('kubectl through Gatehouse', { timeout: 120_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: policies(),
      extra: { listeners: { http: { address: '127.0.0.1:0' } } },
    });
    agent = await gw.token({ subject: 'claude', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  it('get pods works', async () => {
    const r = await gw.kubectl(agent, ['get', 'pods']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/web/);
  });

  it('delete namespace prod is refused with the rule in kubectl output, and never reaches the API server', async () => {
    const r = await gw.kubectl(agent, ['delete', 'namespace', 'prod']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /Error from server \(Forbidden\): .*refused by rule k8s-agents-no-namespace-delete/,
    );
    expect(api.seen.some((s) => s.method === 'DELETE')).toBe(false);
  });

  it('exec -- ls / is allowed, relayed over v5.channel.k8s.io, and recorded with its output', async () => {
    const r = await gw.kubectl(agent, ['exec', 'plain', '--', 'ls', '/']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('bin\netc\nusr\nvar\n');
    const exec = api.execs.find((e) => e.command.join(' ') === 'ls /');
    expect(exec?.protocol).toBe('v5.channel.k8s.io');
    const statement = await findStatement(gw, (st) => st.text.includes('/pods/plain/exec'));
    expect(statement.effect).toBe('allow');
    expect(statement.kind).toBe('create pods/exec');
    expect(statement.params).toEqual(['ls', '/']);
    const ref = statement.result?.terminalRef;
    expect(ref?.format).toBe('asciicast-v2');
    const blob = await gw.gateway.recording.blobs.get(ref!.key);
    const cast = (JSON.parse(blob!.toString('utf8')) as { cast: string }).cast;
    expect(cast.split('\n')[0]).toMatch(/"version":2/);
    expect(cast).toContain('"o","bin\\netc\\nusr\\nvar\\n"');
  });

  it('sessions replay shows the exec output, and --play plays the terminal recording', async () => {
    const statement = await findStatement(gw, (st) =>
      st.text.includes('/pods/plain/exec?command=ls&command=%2F'),
    );
    const r = await run(
      process.execPath,
      [
        path.join(REPO_ROOT, 'bin', 'gatehouse.js'),
        'sessions',
        'replay',
        statement.sessionId,
        '--play',
        '--speed',
        '100',
      ],
      { env: { GATEHOUSE_CONFIG: path.join(gw.dir, 'gatehouse.yaml') } },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/create pods\/exec/);
    expect(r.stdout).toMatch(/terminal recording: \d+ event\(s\), output:\n\s+│ bin\n\s+│ etc/);
    // Played in the alternate screen (docs/security.md class 45).
    expect(r.stdout).toContain(
      '── terminal recording 1/1: default/plain (app) ls /\n\u001b[?1049h\u001b[H\u001b[2Jbin\netc\nusr\nvar\n',
    );
  });

  it('exec -- rm -rf /data is refused before it reaches the pod', async () => {
    const r = await gw.kubectl(agent, ['exec', 'plain', '--', 'rm', '-rf', '/data']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Forbidden/);
    expect(r.stderr).toMatch(/refused by rule/);
    expect(api.execs.some((e) => e.command[0] === 'rm')).toBe(false);
  });

  it('exec of a wrapper whose own options write a file or tamper with PID 1 is refused (class 154)', async () => {
    for (const command of [
      ['strace', '-o', '/var/lib/app/data.db', 'true'],
      ['time', '-o', '/var/lib/app/data.db', 'true'],
      ['strace', '-p', '1', '-e', 'inject=write:error=ENOSPC'],
    ]) {
      const r = await gw.kubectl(agent, ['exec', 'plain', '--', ...command]);
      expect(r.code, command.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(/refused by rule k8s-agents-no-destructive-exec/);
    }
    expect(api.execs.some((e) => e.command[0] === 'strace' || e.command[0] === 'time')).toBe(false);
  });

  it('refuses SPDY exec with how to switch to WebSockets', async () => {
    const before = api.execs.length;
    const r = await gw.kubectl(agent, ['exec', 'plain', '--', 'ls', '/'], {
      env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Forbidden.*WebSockets only.*KUBECTL_REMOTE_COMMAND_WEBSOCKETS/);
    expect(api.execs.length).toBe(before);
  });

  it('a token revoked while logs -f streams ends the stream', async () => {
    const issued = await gw.gateway.identity.issuer!.issue({
      subject: 'revoked-mid-stream',
      groups: [],
      agent: true,
      ttlMs: 3_600_000,
    });
    let out = '';
    let child: ChildProcess | undefined;
    const firstLine = new Promise<void>((resolve) => {
      void gw.kubectl(issued.token, ['logs', '-f', 'web'], {
        onSpawn: (p: ChildProcess) => {
          child = p;
          p.stdout?.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('log line 1')) resolve();
          });
        },
      });
    });
    await firstLine;
    const closed = new Promise<void>((resolve) => child!.once('close', () => resolve()));
    await gw.gateway.store.revokeServiceToken(issued.record.id, new Date());
    await closed;
    expect(out).not.toContain('log line 2');
  });

  it('a non-zero exit code comes back through the status channel', async () => {
    const r = await gw.kubectl(agent, ['exec', 'plain', '--', 'ls', '/missing-exit']);
    expect(r.code).toBe(127);
  });

  it('masks exec output for masked principals', async () => {
    const r = await gw.kubectl(agent, ['exec', 'plain', '--', 'cat', '/etc/app/config']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('region=eu-west-1');
    expect(r.stdout).not.toContain(EXEC_SECRET);
    expect(r.stdout).toMatch(/REDACTED/);
  });

  it('get secret -o yaml is held for review, then masked', async () => {
    const pending = gw.kubectl(agent, ['get', 'secret', 'db-creds', '-o', 'json']);
    const review = await gw.approver.next();
    expect(review.ctx.decision.ruleId).toBe('k8s-agents-review-secret-reads');
    review.approve();
    const r = await pending;
    expect(r.code).toBe(0);
    const obj = JSON.parse(r.stdout) as { data: Record<string, string> };
    const decoded = Buffer.from(obj.data.password!, 'base64').toString('utf8');
    expect(decoded).toMatch(/REDACTED/);
    expect(r.stdout).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
    expect(r.stdout).not.toContain(SECRET_VALUE);
  });

  it('get secrets -o json (a list: its items carry no kind) is held for review, then masked', async () => {
    const pending = gw.kubectl(agent, ['get', 'secrets', '-o', 'json']);
    const review = await gw.approver.next();
    expect(review.ctx.decision.ruleId).toBe('k8s-agents-review-secret-reads');
    review.approve();
    const r = await pending;
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as {
      items: { metadata: { name: string }; data: Record<string, string> }[];
    };
    expect(list.items.map((i) => i.metadata.name)).toContain('db-creds');
    for (const item of list.items)
      for (const v of Object.values(item.data))
        expect(Buffer.from(v, 'base64').toString('utf8')).toBe('[REDACTED:secret]');
    expect(r.stdout).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
  });

  it('masks Pod env values under sensitive names in get -o yaml', async () => {
    const r = await gw.kubectl(agent, ['get', 'pod', 'web', '-o', 'yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(ENV_SECRET);
    expect(r.stdout).toContain('LOG_LEVEL');
    expect(r.stdout).toContain('debug');
  });

  // docs/security.md, class 158: objects were masked by the detectors alone, past Secrets, env and ConfigMaps.
  it('masks values under field names in any object: an annotation, the text one holds, an argument (get, pages, watch, describe)', async () => {
    interface Pod {
      metadata: { name: string; resourceVersion: string; annotations: Record<string, string> };
      spec: { automountServiceAccountToken: boolean; volumes: unknown[]; containers: { args: string[] }[] };
    }
    const one = await gw.kubectl(agent, ['get', 'pod', 'conf-a', '-n', 'conf', '-o', 'json']);
    expect(one.code, one.stderr).toBe(0);
    const pod = JSON.parse(one.stdout) as Pod;
    expect(pod.metadata.annotations).toEqual({
      'example.com/db-password': '[REDACTED:password]',
      'example.com/config': 'mode: fast\npassword: "[REDACTED:password]"\n',
    });
    expect(pod.spec.containers[0]!.args).toEqual(['--port=8080', '--db-password=[REDACTED:password]']);
    // What a client decodes into types is left as it is: a `secret` volume, numbers, booleans.
    expect(pod.spec.volumes).toEqual([
      { name: 'tls', secret: { secretName: 'api-tls', defaultMode: 420 } },
      {
        name: 'kube-api-access-c1',
        projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] },
      },
    ]);
    expect(pod.spec.automountServiceAccountToken).toBe(true);
    expect(pod.metadata.resourceVersion).toBe('10');
    // A list read in pages of one: each page's continue token reaches kubectl as the API server wrote
    // it (a masked one would end the list at its first page, or fail with 410).
    const before = api.seen.length;
    const pages = await gw.kubectl(agent, ['get', 'pods', '-n', 'conf', '--chunk-size=1', '-o', 'json']);
    expect(pages.code, pages.stderr).toBe(0);
    const items = (JSON.parse(pages.stdout) as { items: Pod[] }).items;
    expect(items.map((i) => i.metadata.name)).toEqual(['conf-a', 'conf-b']);
    expect(items[1]!.metadata.annotations['example.com/db-password']).toBe('[REDACTED:password]');
    expect(api.seen.slice(before).filter((r) => r.url.includes('continue=')).length).toBe(1);
    // A watch's events, masked a line at a time.
    const watch = await gw.kubectl(agent, ['get', 'pods', '-n', 'conf', '--watch-only', '-o', 'json'], {
      timeoutMs: 10_000,
    });
    expect(watch.stdout).toContain('--db-password=[REDACTED:password]');
    // describe decodes the object into Go types (a number masked into a string would not decode).
    const described = await gw.kubectl(agent, ['describe', 'pod', 'conf-a', '-n', 'conf']);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toContain('--db-password=[REDACTED:password]');
    for (const out of [one.stdout, pages.stdout, watch.stdout, described.stdout])
      expect(out).not.toContain(FIELD_SECRET);
  });

  it('masks a ConfigMap entry under a sensitive env name and sensitive fields in its files (get and list)', async () => {
    const one = await gw.kubectl(agent, ['get', 'configmap', 'app-config', '-o', 'yaml']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain('LOG_LEVEL: debug');
    expect(one.stdout).toContain('db.url=jdbc:postgresql://db/app');
    expect(one.stdout).toContain('[REDACTED:env]');
    expect(one.stdout).toContain('[REDACTED:config]');
    const list = await gw.kubectl(agent, ['get', 'configmaps', '-o', 'json']);
    expect(list.code, list.stderr).toBe(0);
    const items = (JSON.parse(list.stdout) as { items: { data: Record<string, string> }[] }).items;
    expect(items[0]!.data['DB_PASSWORD']).toBe('[REDACTED:env]');
    expect(items[0]!.data['application.properties']).toBe(
      'db.url=jdbc:postgresql://db/app\ndb.password=[REDACTED:config]\n',
    );
    for (const out of [one.stdout, list.stdout])
      for (const secret of CONFIG_SECRETS) expect(out).not.toContain(secret);
  });

  it('logs -f streams: the first line arrives while the response is still open', async () => {
    let child: ChildProcess | undefined;
    let out = '';
    const firstLine = new Promise<void>((resolve) => {
      const check = (d: Buffer) => {
        out += d.toString();
        if (out.includes('log line 1')) resolve();
      };
      const pending = gw.kubectl(agent, ['logs', '-f', 'web'], {
        onSpawn: (p: ChildProcess) => {
          child = p;
          p.stdout?.on('data', check);
        },
      });
      void pending.then((r) => (result = r));
    });
    let result: Awaited<ReturnType<KubeTestGateway['kubectl']>> | undefined;
    await firstLine;
    expect(out).not.toContain('log line 2');
    api.finishLogs();
    await new Promise<void>((resolve) => child!.once('close', () => resolve()));
    await new Promise((r) => setImmediate(r));
    expect(result?.code).toBe(0);
    expect(out).toContain('log line 2');
  });

  it('logs --insecure-skip-tls-verify-backend is refused: the API server would not check the kubelet', async () => {
    const before = api.seen.length;
    const r = await gw.kubectl(agent, ['logs', 'web', '--insecure-skip-tls-verify-backend']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('insecureSkipTLSVerifyBackend is not forwarded');
    expect(api.seen.slice(before).some((s) => s.url.includes('insecureSkipTLSVerifyBackend'))).toBe(false);
  });

  it('refuses a forged token and a revoked one', async () => {
    const forged = await gw.kubectl('gh1.not-a-real-token', ['get', 'pods']);
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toMatch(/Unauthorized|must be logged in/);
    const issued = await gw.gateway.identity.issuer!.issue({
      subject: 'revoked-agent',
      groups: [],
      agent: true,
      ttlMs: 3_600_000,
    });
    await gw.gateway.store.revokeServiceToken(issued.record.id, new Date());
    const revoked = await gw.kubectl(issued.token, ['get', 'pods']);
    expect(revoked.code).not.toBe(0);
    expect(revoked.stderr).toMatch(/Unauthorized|must be logged in/);
    expect(await gw.gateway.store.listSessions({ subject: 'revoked-agent' })).toEqual([]);
  });

  it('the MCP kubernetes tool goes through the same gate', async () => {
    const client = new Client({ name: 'kube-mcp-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.gateway.http!.port}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${agent}` } },
      }),
    );
    try {
      const call = async (command: string) =>
        (await client.callTool({
          name: 'kubernetes',
          arguments: { connection: 'prod-k8s', command, reason: 'checking the web pod' },
        })) as { isError?: boolean; content: { type: string; text: string }[] };
      const pods = await call('get pods');
      expect(pods.isError).toBeFalsy();
      expect(pods.content[0]!.text).toContain('"web"');
      const del = await call('delete namespace prod');
      expect(del.isError).toBe(true);
      expect(del.content[0]!.text).toMatch(/refused by rule k8s-agents-no-namespace-delete/);
      const ls = await call('exec plain -- ls /');
      expect(ls.isError).toBeFalsy();
      expect(ls.content[0]!.text).toBe('bin\netc\nusr\nvar\n\nexit code: 0');
      const rm = await call('exec plain -- rm -rf /data');
      expect(rm.isError).toBe(true);
      expect(rm.content[0]!.text).toMatch(/refused by rule k8s-agents-no-destructive-exec/);
      expect(api.seen.some((s) => s.method === 'DELETE')).toBe(false);
      expect(api.execs.some((e) => e.command[0] === 'rm')).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('never shows the cluster credential to a client, a log or a record', async () => {
    // Every request the fake API server saw carried the cluster token, never a Gatehouse token.
    expect(api.seen.length).toBeGreaterThan(0);
    expect(api.seen.every((s) => s.authorization === `Bearer ${api.token}`)).toBe(true);
    expect(gw.logs.join('\n')).not.toContain(api.token);
    const sessions = await gw.gateway.store.listSessions({ limit: 1000 });
    for (const s of sessions) {
      const got = await gw.gateway.store.getSession(s.id);
      expect(JSON.stringify(got)).not.toContain(api.token);
      const events = await gw.gateway.store.getEvents(s.id, 0, 10_000);
      expect(JSON.stringify(events)).not.toContain(api.token);
    }
    const kubeconfig = readFileSync(gw.kubeconfig, 'utf8');
    expect(kubeconfig).not.toContain(api.token);
  });
});

async function findStatement(
  gw: KubeTestGateway,
  pred: (st: StoredStatement) => boolean,
): Promise<StoredStatement> {
  for (let i = 0; i < 200; i++) {
    const sessions = await gw.gateway.store.listSessions({ limit: 1000 });
    for (const s of sessions) {
      const got = await gw.gateway.store.getSession(s.id);
      const events = await gw.gateway.store.getEvents(s.id, 0, 10_000);
      for (const st of got?.statements ?? []) {
        if (!pred(st)) continue;
        const result = events.find((e) => e.type === 'result' && e.statement === st.id);
        if (result) return { ...st, result: result.data as unknown as StatementResult };
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no such statement was recorded');
}
