import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildKubeconfig, kubeCommand } from './kube-command.js';
import type { CliIo } from './cli-io.js';

function io(env: NodeJS.ProcessEnv): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    stdin: (async function* () {})(),
    env,
  };
}

describe('kubeconfig and the exec credential plugin', () => {
  it('points kubectl at the listener with the exec plugin and no credential', () => {
    const text = buildKubeconfig({
      connection: 'prod-k8s',
      server: 'https://gatehouse.internal:6443',
      caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      execCommand: ['gatehouse'],
      tokenFile: '/home/a/.config/gatehouse/token',
    });
    const k = parse(text) as {
      clusters: { cluster: { server: string } }[];
      users: { user: { exec: { apiVersion: string; command: string; args: string[] }; token?: string } }[];
      'current-context': string;
    };
    expect(k.clusters[0]!.cluster.server).toBe('https://gatehouse.internal:6443');
    expect(k.users[0]!.user.exec).toMatchObject({
      apiVersion: 'client.authentication.k8s.io/v1',
      command: 'gatehouse',
      args: ['kube', 'credentials', '--token-file', '/home/a/.config/gatehouse/token'],
    });
    expect(k.users[0]!.user.token).toBeUndefined();
    expect(k['current-context']).toBe('prod-k8s');
  });

  it('prints an ExecCredential from GATEHOUSE_TOKEN, else the token file, else fails', async () => {
    const a = io({ GATEHOUSE_TOKEN: 'tok-from-env' });
    await kubeCommand({ io: a }).parseAsync(['credentials'], { from: 'user' });
    expect(JSON.parse(a.out.join(''))).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'tok-from-env' },
    });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-kube-'));
    writeFileSync(path.join(dir, 'token'), 'tok-from-file\n');
    const b = io({});
    await kubeCommand({ io: b }).parseAsync(['credentials', '--token-file', path.join(dir, 'token')], {
      from: 'user',
    });
    expect(JSON.parse(b.out.join('')).status.token).toBe('tok-from-file');
    const c = io({ XDG_CONFIG_HOME: dir });
    const cmd = kubeCommand({ io: c }).exitOverride();
    cmd.commands.forEach((s) => s.exitOverride().configureOutput({ writeErr: () => undefined }));
    await expect(cmd.parseAsync(['credentials'], { from: 'user' })).rejects.toThrow(/no Gatehouse token/);
  });
});
