// What the API server writes on an exec's status channel (channel 3) and the reason it closes the
// WebSocket with are free text: a runtime error's message, which can quote a file or the command's
// output. Both were relayed as they came to a masked principal, after its stdout and stderr had been
// masked (docs/security.md class 230). Now the status is masked as the engine's other answers are and
// the close reason as a line of output; an unmasked operator still gets both as they came. Real kubectl
// and a WebSocket client against the fake API server through the gateway, under the shipped default
// policy.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import {
  STATUS_SECRET,
  STATUS_SECRET_COMMAND,
  startFakeKubeApi,
  type FakeKubeApi,
} from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

/** A person allowed to exec, unmasked. */
const OPERATOR: PolicyConfig = {
  id: 'operator',
  subjects: { subjects: ['operator'] },
  connections: ['prod-k8s'],
  rules: [{ id: 'operator-exec', effect: 'allow', match: { resources: ['pods', 'pods/exec'] } }],
};

const PIECES = ['Hunter2-status-Kq55', 'AKIAZXCVBNMASDFGH123'];

let api: FakeKubeApi;
let gw: KubeTestGateway;
let ca: string;

beforeAll(async () => {
  api = await startFakeKubeApi();
  gw = await startKubeTestGateway({
    api,
    policies: [...defaultKubernetesPolicies(['prod-k8s'], { mask: true }), OPERATOR],
  });
  ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
});
afterAll(async () => {
  await gw?.stop();
  await api?.close();
});

/** An exec of STATUS_SECRET_COMMAND over v5: the status channel's text and the close reason. */
async function execStatus(token: string): Promise<{ status: string; code: number; reason: string }> {
  const query = STATUS_SECRET_COMMAND.split(' ')
    .map((c) => `command=${encodeURIComponent(c)}`)
    .join('&');
  const ws = new WebSocket(
    `${gw.server.replace('https:', 'wss:')}/api/v1/namespaces/default/pods/plain/exec?${query}&stdout=true&stderr=true`,
    ['v5.channel.k8s.io'],
    { ca, headers: { authorization: `Bearer ${token}` } },
  );
  let status = '';
  ws.on('message', (data: Buffer) => {
    if (data[0] === 3) status += data.subarray(1).toString('utf8');
  });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
    ws.once('close', (code, reason) => resolve({ status, code, reason: reason.toString('utf8') }));
  });
}

describe('an exec’s status channel and close reason', () => {
  it('reach a masked agent masked (before: the runtime’s message and the close reason in clear)', async () => {
    const r = await execStatus(await gw.token({ subject: 'claude', agent: true }));
    expect(r.status).toContain('error executing command in container');
    expect(JSON.parse(r.status)).toMatchObject({ status: 'Failure', reason: 'InternalError' });
    expect(r.status).toMatch(/REDACTED/);
    for (const p of PIECES) expect(r.status + r.reason).not.toContain(p);
    expect(r.code).toBe(1011);
  });

  it.skipIf(!hasCommand('kubectl'))('kubectl shows the failure, masked', { timeout: 30_000 }, async () => {
    const agent = await gw.token({ subject: 'claude', agent: true });
    const r = await gw.kubectl(agent, ['exec', 'plain', '--', ...STATUS_SECRET_COMMAND.split(' ')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/REDACTED/);
    for (const p of PIECES) expect(r.stdout + r.stderr).not.toContain(p);
  });

  it('reach an unmasked operator as they came', async () => {
    const r = await execStatus(await gw.token({ subject: 'operator', agent: false }));
    expect(r.status).toContain(STATUS_SECRET);
    expect(r.reason).toContain('AKIAZXCVBNMASDFGH123');
  });
});
