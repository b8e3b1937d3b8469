// Exec output of a masked principal, written by the pod in two pieces: a pause mid-line (the relay sent
// an unfinished line after 40 ms of quiet, then the rest, each masked alone) or a line longer than 4096
// characters (cut there). A key split so reached the client whole in clear (docs/security.md class 87).
// And values under sensitive field names in exec output (`env`, `/proc/1/environ`) and in logs, which
// the detectors alone had passed (class 150). Real kubectl through the shipped default policy against
// the fake API server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import {
  ENV_PASSWORD,
  ENV_TOKEN,
  EXEC_SECRET,
  startFakeKubeApi,
  type FakeKubeApi,
} from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

describe.skipIf(!haveKubectl)('masked exec output and logs', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: defaultKubernetesPolicies(['prod-k8s'], { mask: true }),
    });
    agent = await gw.token({ subject: 'claude', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  for (const file of ['/etc/app/slow-config', '/etc/app/long-line'])
    it(`cat ${file}: the key is masked whole`, async () => {
      const r = await gw.kubectl(agent, ['exec', 'plain', '--', 'cat', file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain(EXEC_SECRET.slice(0, 10));
      expect(r.stdout).not.toContain(EXEC_SECRET.slice(10));
      expect(r.stdout).toMatch(/\[REDACTED:[a-z_]+\]\n$/);
    });

  it('env and /proc/1/environ: values under sensitive names are masked whole, the others pass', async () => {
    const r = await gw.kubectl(agent, ['exec', 'plain', '--', 'env']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'HOME=/root\nDB_PASSWORD=[REDACTED:password]\nGITHUB_TOKEN=[REDACTED:token]\nLOG_LEVEL=info\n',
    );
    const environ = await gw.kubectl(agent, ['exec', 'plain', '--', 'cat', '/proc/1/environ']);
    expect(environ.code).toBe(0);
    expect(environ.stdout).toBe(
      'HOME=/root\0DB_PASSWORD=[REDACTED:password]\0GITHUB_TOKEN=[REDACTED:token]\0',
    );
    const recorded = await recordedAfterExec(gw, 'command=env');
    expect(recorded).toContain('LOG_LEVEL=info');
    for (const s of [ENV_PASSWORD, ENV_TOKEN]) expect(recorded).not.toContain(s);
  });

  it('logs: values under sensitive field names are masked whole, line by line', async () => {
    const r = await gw.kubectl(agent, ['logs', 'web', '--tail=7']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'log line 1: started\nconfig loaded: host=db user=app password=[REDACTED:password]\n' +
        'GITHUB_TOKEN: "[REDACTED:token]"\nlog line 2: done\n',
    );
  });
});

/** Everything recorded (sessions, events, terminal recordings) once the exec `marker` names has its result. */
async function recordedAfterExec(gw: KubeTestGateway, marker: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    let all = '';
    let done = false;
    for (const s of await gw.gateway.store.listSessions({ limit: 1000 })) {
      const got = await gw.gateway.store.getSession(s.id);
      const events = await gw.gateway.store.getEvents(s.id, 0, 10_000);
      all += JSON.stringify(got) + JSON.stringify(events);
      for (const e of events) {
        const ref = (e.data as { terminalRef?: { key: string } }).terminalRef;
        if (ref) all += (await gw.gateway.recording.blobs.get(ref.key))?.toString('utf8') ?? '';
      }
      const st = got?.statements.find((x) => x.text.includes(marker));
      if (st && events.some((e) => e.type === 'result' && e.statement === st.id)) done = true;
    }
    if (done) return all;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no recorded result for an exec with ${marker}`);
}
