// The MCP `ssh_exec` tool, driven by the MCP SDK's client, in front of a real sshd: it goes through the
// gateway's own SSH listener, so the same gate decides (a read runs, a destructive command is refused
// with the rule and never reaches the host, a write is held until a person approves), output is masked
// for a masked agent, and the command is recorded like one from ssh, the caller's reason with it.

import { chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

interface ToolResult {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
}

const CARD = '4111 1111 1111 1111';
const ACCESS_KEY = 'AKIAZ7QX3LMNB4KD6TRE';

describe.skipIf(!hasSshd())('the MCP ssh_exec tool', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let client: Client;
  let data: string;

  const call = async (command: string, connection = 'prod-bastion') =>
    (await client.callTool({
      name: 'ssh_exec',
      arguments: { connection, command, reason: 'checking the disk before the deploy' },
    })) as ToolResult;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({
      sshd,
      policies: defaultSshPolicies(['prod-bastion'], { mask: true }),
      extra: {
        listeners: { ssh: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      },
    });
    const st = statSync(sshd.work);
    data = path.join(sshd.work, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'keep.txt'), 'precious\n');
    writeFileSync(
      path.join(sshd.work, '.env'),
      `AWS_ACCESS_KEY_ID=${ACCESS_KEY}\nCARD="${CARD}"\nMODE=blue\n`,
    );
    for (const f of [data, path.join(data, 'keep.txt'), path.join(sshd.work, '.env')])
      chownSync(f, st.uid, st.gid);
    const agent = await gw.token({ subject: 'mcp-ssh-agent', agent: true });
    client = new Client({ name: 'ssh-mcp-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.gateway.http!.port}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${agent}` } },
      }),
    );
  });

  afterAll(async () => {
    await client?.close();
    await gw?.stop();
    await sshd?.stop();
  });

  it('is offered when there is an ssh connection', async () => {
    const { tools } = await client.listTools();
    const tool = tools.find((t) => t.name === 'ssh_exec');
    expect(tool).toBeDefined();
    expect(Object.keys(tool!.inputSchema.properties ?? {})).toEqual(['connection', 'command', 'reason']);
  });

  it('runs a read command and records it as ssh does, with the reason', async () => {
    const r = await call(`df -h ${sshd.work}`);
    expect(r.isError).toBeFalsy();
    expect(r.content[0]!.text).toMatch(/^Filesystem/);
    expect(r.content[0]!.text).toMatch(/\nexit code: 0$/);
    expect(r.structuredContent).toEqual({ exitCode: 0 });
    const st = await findSshStatement(gw, (s) => s.text === `df -h ${sshd.work}`);
    expect(st.via).toBe('ssh-exec');
    expect(st.effect).toBe('allow');
    expect(st.result?.terminalRef?.format).toBe('asciicast-v2');
    const session = (await gw.gateway.store.getSession(st.sessionId))!.session;
    expect(session.subject).toBe('mcp-ssh-agent');
    expect(session.protocol).toBe('ssh');
    expect(session.application).toBe('gatehouse_mcp/ssh_exec reason="checking the disk before the deploy"');
  });

  it('returns a refusal with its rule, and nothing runs on the host', async () => {
    const r = await call(`rm -rf ${data}`);
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/refused by rule ssh-agents-no-destructive/);
    expect(r.structuredContent).toEqual({ exitCode: 126 });
    expect(existsSync(path.join(data, 'keep.txt'))).toBe(true);
  });

  it('holds a write for a person; approved, it runs', async () => {
    const target = path.join(sshd.work, 'from-mcp.txt');
    const running = call(`touch ${target}`);
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    expect(existsSync(target)).toBe(false);
    held.approve();
    const r = await running;
    expect(r.isError).toBeFalsy();
    expect(r.content[0]!.text).toMatch(/stderr:\ngatehouse: held for approval/);
    expect(r.content[0]!.text).toMatch(/exit code: 0$/);
    expect(existsSync(target)).toBe(true);
  });

  it('masks secrets in the output for a masked agent', async () => {
    const r = await call(`cat ${path.join(sshd.work, '.env')}`);
    expect(r.isError).toBeFalsy();
    const text = r.content[0]!.text;
    expect(text).toContain('MODE=blue');
    expect(text).not.toContain(ACCESS_KEY);
    expect(text).not.toContain(CARD);
  });

  it('passes on exit codes, and refuses what is not an ssh connection', async () => {
    const r = await call(`ls ${path.join(sshd.work, 'nope')}`);
    expect(r.isError).toBeFalsy();
    expect(r.content[0]!.text).toMatch(/No such file/);
    expect(r.structuredContent).toEqual({ exitCode: 2 });
    const none = await call('id', 'no-such');
    expect(none.isError).toBe(true);
    expect(none.content[0]!.text).toBe('There is no ssh connection no-such on this gateway.');
  });
});
