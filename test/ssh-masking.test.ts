// Masking of SSH output for masked principals, end to end with real OpenSSH on both sides: `cat .env`
// on the host, run through Gatehouse by an agent whose rules mask, shows neither the AWS key, its
// secret nor the card number — not on the client's terminal and not in the record — while the
// terminal escape sequences around them (colours, in exec output and in an interactive shell) arrive
// as they were.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import {
  findSshStatement,
  interactive,
  startSshTestGateway,
  type SshTestGateway,
} from './testkit/ssh-gateway.js';

const ACCESS_KEY = 'AKIAZ7QX3LMNB4KD6TRE';
const SECRET_KEY = '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';
const CARD = '4111 1111 1111 1111';
// No detector recognises these two: only the names they stand after (`DB_PASSWORD=`, `password:`).
const DB_PASSWORD = 'correct-horse-battery';
const GITHUB_TOKEN = 'plain0ld7okenText';
const SECRETS = [ACCESS_KEY, SECRET_KEY, CARD, CARD.replace(/ /g, ''), DB_PASSWORD, GITHUB_TOKEN];
const RED = '\x1b[1;31m';
const RESET = '\x1b[0m';

/** Everything the store holds about the sessions: rows, events, and the terminal recordings. */
async function everythingRecorded(gw: SshTestGateway): Promise<string> {
  let all = '';
  for (const s of await gw.gateway.store.listSessions({ limit: 1000 })) {
    all += JSON.stringify(await gw.gateway.store.getSession(s.id));
    const events = await gw.gateway.store.getEvents(s.id, 0, 10_000);
    all += JSON.stringify(events);
    for (const e of events) {
      const ref = (e.data as { terminalRef?: { key: string } }).terminalRef;
      if (ref) all += (await gw.gateway.recording.blobs.get(ref.key))?.toString('utf8') ?? '';
    }
  }
  return all;
}

describe.skipIf(!hasSshd())('ssh output masking', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let agent: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({
      sshd,
      policies: defaultSshPolicies(['prod-bastion'], { mask: true }),
    });
    agent = await gw.token({ subject: 'masked-agent', agent: true });
    const put = (name: string, text: string) => sshd.put(name, text);
    put(
      '.env',
      `APP_ENV=production\nAWS_ACCESS_KEY_ID=${ACCESS_KEY}\nAWS_SECRET_ACCESS_KEY=${SECRET_KEY}\n` +
        `BILLING_TEST_CARD="${CARD}"\nDB_PASSWORD=${DB_PASSWORD}\nGITHUB_TOKEN=${GITHUB_TOKEN}\nLOG_LEVEL=info\n`,
    );
    put('config.yml', `database:\n  host: db.internal\n  password: "${DB_PASSWORD}"\n  port: 5432\n`);
    put('colored.txt', `${RED}card ${CARD}${RESET} and ${RED}key ${ACCESS_KEY}${RESET}\n`);
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it('cat .env: the key, its secret and the card reach neither the client nor the record', async () => {
    const r = await gw.ssh(agent, [`cat ${path.join(sshd.work, '.env')}`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    // What is not secret passes as it is.
    expect(r.stdout).toContain('APP_ENV=production\n');
    expect(r.stdout).toContain('LOG_LEVEL=info\n');
    expect(r.stdout).toMatch(/^AWS_ACCESS_KEY_ID=\S+$/m);
    for (const s of SECRETS) expect(r.stdout).not.toContain(s);
    const st = await findSshStatement(gw, (s) => s.text.startsWith('cat ') && s.text.endsWith('.env'));
    expect(st.effect).toBe('allow');
    expect(r.stdout).toContain('DB_PASSWORD=[REDACTED:password]\n');
    expect(r.stdout).toContain('GITHUB_TOKEN=[REDACTED:token]\n');
    expect(st.result?.masked).toMatchObject({
      aws_access_key_id: 1,
      aws_secret_access_key: 1,
      credit_card: 1,
      password: 1,
      token: 1,
    });
    const recorded = await everythingRecorded(gw);
    expect(recorded).toContain('LOG_LEVEL=info');
    for (const s of SECRETS) expect(recorded).not.toContain(s);
  });

  it('cat config.yml: a value under a sensitive YAML key is masked, the rest of the file is not', async () => {
    const r = await gw.ssh(agent, [`cat ${path.join(sshd.work, 'config.yml')}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('database:\n  host: db.internal\n  password: [REDACTED:password]\n  port: 5432\n');
    const recorded = await everythingRecorded(gw);
    expect(recorded).not.toContain(DB_PASSWORD);
  });

  // docs/security.md, classes 240–242: a value after its name on the same line, in XML, and on the
  // lines after its name when they come in a later write (here two files with a pause between them,
  // as a large file's pieces do).
  it('masks a value named on an earlier write: a YAML block, an XML element, a PEM key; and `name: value` mid-line', async () => {
    const dir = sshd.work;
    const put = (name: string, text: string) => sshd.put(name, text);
    const KEY_BODY = 'MIIEowIBAAKCAQEAq7BFUpkGp3+XQLNkw1yrdIs0sb39cVnHU2Qx';
    put('split-1.txt', `db:\n  password: |\n<settings>\n  <password>\n-----BEGIN RSA PRIVATE KEY-----\n`);
    put(
      'split-2.txt',
      `    ${DB_PASSWORD}-block\n${GITHUB_TOKEN}-xml\n${KEY_BODY}\n-----END RSA PRIVATE KEY-----\n  </password>\n</settings>\n`,
    );
    put(
      'log.txt',
      `10:00 INFO login user=ann password: ${DB_PASSWORD}-log ok\n<token>${GITHUB_TOKEN}-el</token>\n`,
    );
    const r = await gw.ssh(agent, [
      `cat ${path.join(dir, 'split-1.txt')}; sleep 0.5; cat ${path.join(dir, 'split-2.txt')} ${path.join(dir, 'log.txt')}`,
    ]);
    expect(r.code).toBe(0);
    for (const s of [DB_PASSWORD, GITHUB_TOKEN, KEY_BODY]) expect(r.stdout).not.toContain(s);
    expect(r.stdout).toContain('10:00 INFO login user=ann password: [REDACTED:password]');
    expect(r.stdout).toContain('</settings>\n');
    // grep -n puts its prefix before a YAML file's top-level key: `2:password: …`.
    put('top.yml', `name: app\npassword: ${DB_PASSWORD}-top\n`);
    const g = await gw.ssh(agent, [`grep -n -e password -e name ${path.join(dir, 'top.yml')}`]);
    expect(g.code).toBe(0);
    expect(g.stdout).toBe('1:name: app\n2:password: [REDACTED:password]\n');
    const recorded = await everythingRecorded(gw);
    for (const s of [DB_PASSWORD, GITHUB_TOKEN, KEY_BODY]) expect(recorded).not.toContain(s);
  });

  it('keeps the escape sequences around a masked value in exec output', async () => {
    const r = await gw.ssh(agent, [`cat ${path.join(sshd.work, 'colored.txt')}`]);
    expect(r.code).toBe(0);
    for (const s of SECRETS) expect(r.stdout).not.toContain(s);
    expect(r.stdout.startsWith(`${RED}card `)).toBe(true);
    expect(r.stdout.split(RED).length - 1).toBe(2);
    expect(r.stdout.split(RESET).length - 1).toBe(2);
    expect(r.stdout).toContain(`${RESET} and ${RED}key `);
    expect(r.stdout.endsWith(`${RESET}\n`)).toBe(true);
  });

  it('masks an interactive shell’s output, escape sequences intact, and its recording', async () => {
    const sh = interactive(gw, agent);
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-shell');
    held.approve();
    await sh.waitFor(/\$ $/m);
    sh.type(`cat ${path.join(sshd.work, 'colored.txt')}\r`);
    /* eslint-disable no-control-regex -- the colour codes are what is checked */
    await sh.waitFor(/and \x1b\[1;31mkey [^\r\n]*\x1b\[0m\r\n/);
    await sh.waitFor(/\x1b\[0m\r\n[^]*\$ (\x1b\[K)?$/);
    /* eslint-enable no-control-regex */
    sh.type('exit\r');
    await sh.exited;
    const out = sh.output();
    for (const s of SECRETS) expect(out).not.toContain(s);
    expect(out).toContain(`${RED}card `);
    const shell = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.kind === 'shell');
    expect(shell.result?.masked).toMatchObject({ credit_card: 1, aws_access_key_id: 1 });
    const recorded = await everythingRecorded(gw);
    for (const s of SECRETS) expect(recorded).not.toContain(s);
  });
});
