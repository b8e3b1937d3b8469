import { describe, expect, it } from 'vitest';
import { createDetectorSet } from './detector-set.js';
import { sensitiveKeyTag } from './json-masking.js';
import { escapeLengthAt, maskTerminalText, TerminalMasker } from './terminal-masker.js';

const detectors = createDetectorSet({ enabled: 'all' });
const KEY = 'AKIAIOSFODNN7EXAMPLE';

describe('terminal masking', () => {
  it('measures escape sequences', () => {
    expect(escapeLengthAt('\x1b[01;32mx', 0)).toBe(8);
    expect(escapeLengthAt('\x1b]0;title\x07x', 0)).toBe(10);
    expect(escapeLengthAt('\x1b]0;t\x1b\\x', 0)).toBe(7);
    expect(escapeLengthAt('\x1b(Bx', 0)).toBe(3);
    expect(escapeLengthAt('x', 0)).toBe(0);
  });

  it('masks a secret split by colour codes and keeps every escape sequence', () => {
    const text = `key=\x1b[1m${KEY.slice(0, 8)}\x1b[0m${KEY.slice(8)}\r\n`;
    const r = maskTerminalText(text, detectors)!;
    expect(r.text).not.toContain(KEY.slice(8));
    expect(r.text).toContain('\x1b[1m');
    expect(r.text).toContain('\x1b[0m');
    expect(r.text).toMatch(/REDACTED/);
    expect(r.text.endsWith('\r\n')).toBe(true);
    expect(Object.values(r.counts).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('leaves clean output alone', () => {
    expect(maskTerminalText('\x1b[01;34mdir\x1b[0m  file.txt\r\n', detectors)).toBeNull();
  });

  it('masks a stream line by line and holds an unfinished line until flushed', () => {
    const m = new TerminalMasker(detectors);
    expect(m.push(Buffer.from(`key=${KEY.slice(0, 6)}`))).toBe('');
    const out = m.push(Buffer.from(`${KEY.slice(6)}\nprompt$ `));
    expect(out).not.toContain(KEY);
    expect(m.flush()).toBe('prompt$ ');
  });
});

describe('TerminalMasker: a secret written in pieces', () => {
  const KEY = 'AKIAIOSFODNN7EXAMPLE';
  it('is masked whole when output goes quiet mid-secret, and a prompt still shows', () => {
    const m = new TerminalMasker(createDetectorSet(), 4096, true);
    let out = m.push(Buffer.from(`aws_access_key_id=${KEY.slice(0, 10)}`));
    out += m.quiet();
    // One run of token characters: nothing of it is sent before the line goes on.
    expect(out).toBe('');
    out += m.push(Buffer.from(`${KEY.slice(10)}\nprompt$ `));
    out += m.quiet();
    expect(out).not.toContain(KEY.slice(0, 10));
    expect(out).toMatch(/^aws_access_key_id=\[REDACTED:[a-z_]+\]\nprompt\$ $/);
    expect(m.flush()).toBe('');
  });

  it('is masked whole across the maxPending cut of a long line, and of one long token run', () => {
    const m = new TerminalMasker(createDetectorSet(), 4096, true);
    const line = `${'x'.repeat(4089)} ${KEY}\n`;
    const out = m.push(Buffer.from(line.slice(0, 4100))) + m.push(Buffer.from(line.slice(4100)));
    expect(out).not.toContain(KEY.slice(0, 10));
    expect(out).toMatch(/REDACTED/);
    const run = new TerminalMasker(createDetectorSet(), 4096, true);
    const long = `key ${'x'.repeat(5000)}\n`;
    const sent = run.push(Buffer.from(long.slice(0, 4200)));
    expect(sent.length).toBeLessThan(4200);
    expect(sent + run.push(Buffer.from(long.slice(4200)))).toBe(long);
  });

  it('masks the rest of a secret begun in text already sent (a card split at a space)', () => {
    const m = new TerminalMasker(createDetectorSet(), 4096, true);
    let out = m.push(Buffer.from('card 4111 1111 '));
    out += m.quiet();
    out += m.push(Buffer.from('1111 1111 done\n'));
    expect(out).not.toContain('4111 1111 1111 1111');
    expect(out).toMatch(/REDACTED/);
    expect(out).toMatch(/done\n$/);
  });
});

describe('TerminalMasker with a terminal (echo shows as typed)', () => {
  it('sends an unfinished line whole when quiet, and masks the rest of a secret begun in it', () => {
    const m = new TerminalMasker(createDetectorSet());
    expect(m.push(Buffer.from('$ ca'))).toBe('');
    expect(m.quiet()).toBe('$ ca');
    expect(m.push(Buffer.from('t'))).toBe('');
    expect(m.quiet()).toBe('t');
    let out = m.push(Buffer.from('\r\nkey=AKIAIOSFOD'));
    out += m.quiet();
    out += m.push(Buffer.from('NN7EXAMPLE\r\n'));
    expect(out).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(out).not.toContain('NN7EXAMPLE');
    expect(out).toMatch(/REDACTED/);
  });

  it('never splits an escape sequence when it holds a token run', () => {
    const m = new TerminalMasker(createDetectorSet(), 4096, true);
    m.push(Buffer.from('$ \u001b[K'));
    expect(m.quiet()).toBe('$ \u001b[K');
    m.push(Buffer.from('x \u001b[1;3'));
    expect(m.quiet()).toBe('x ');
    expect(m.flush()).toBe('\u001b[1;3');
  });
});

describe('terminal output: values under sensitive field names', () => {
  const keys = sensitiveKeyTag();
  // Nothing a detector recognises: only the names say these are secrets.
  const PW = 'correct-horse-battery';
  const GH = 'plain0ld7okenText';

  it('masks `env` and `.env` lines, YAML keys, flags and JSON keys, and leaves other lines as they are', () => {
    const text =
      `APP_ENV=production\nDB_PASSWORD=${PW}\nGITHUB_TOKEN=${GH}\nLOG_LEVEL=info\n` +
      `  password: "${PW}"\n` +
      `root  1234  0.0 app --db-password=${PW} --port 8080\n` +
      `{"user":"bob","secret":"${PW}"}\n`;
    const r = maskTerminalText(text, detectors, 0, keys)!;
    expect(r.text).not.toContain(PW);
    expect(r.text).not.toContain(GH);
    expect(r.text).toContain('APP_ENV=production\n');
    expect(r.text).toContain('LOG_LEVEL=info\n');
    expect(r.text).toContain('DB_PASSWORD=[REDACTED:password]\n');
    expect(r.text).toContain('GITHUB_TOKEN=[REDACTED:token]\n');
    expect(r.text).toContain('--port 8080\n');
    expect(r.text).toContain('"user":"bob"');
    expect(r.counts.password).toBeGreaterThanOrEqual(3);
    // Without the names, only the detectors: these pass.
    expect(maskTerminalText(text, detectors)).toBeNull();
  });

  it('keeps escape sequences around a masked value, and masks a value begun in a line already sent', () => {
    const r = maskTerminalText(`\x1b[32mDB_PASSWORD\x1b[0m=\x1b[1m${PW}\x1b[0m\n`, detectors, 0, keys)!;
    expect(r.text).not.toContain(PW);
    expect(r.text).toContain('\x1b[32m');
    expect(r.text).toMatch(/REDACTED:password/);
    const m = new TerminalMasker(createDetectorSet(), 4096, false, keys);
    let out = m.push(Buffer.from('DB_PASSWORD=corr'));
    out += m.quiet();
    out += m.push(Buffer.from('ect-horse-battery\n'));
    expect(out).not.toContain('ect-horse-battery');
  });

  it('holds an unfinished `KEY=value` line without a terminal until its value is whole', () => {
    const m = new TerminalMasker(createDetectorSet(), 4096, true, keys);
    let out = m.push(Buffer.from(`GITHUB_TOKEN=${GH.slice(0, 5)}`));
    out += m.quiet();
    out += m.push(Buffer.from(`${GH.slice(5)}\n`));
    expect(out).toBe('GITHUB_TOKEN=[REDACTED:token]\n');
  });

  it('reads a line naming a sensitive column as a table header, wherever it is in the stream', () => {
    // A chunk's first line may be any line of the output; read as a header, the worst is a column of
    // data masked (docs/security.md class 379: before, the rows under a header passed in clear).
    expect(maskTerminalText('name,password\nbob,x1\n', detectors, 0, keys)?.text).toBe(
      'name,password\nbob,[REDACTED:password]\n',
    );
  });
});

// docs/security.md, class 379: values under a header naming a sensitive column.
describe('TerminalMasker: columns under a header naming a secret', () => {
  const keys = sensitiveKeyTag();
  const P = 'marigold-anvil-5531';
  const run = (chunks: string[]): string => {
    const m = new TerminalMasker(createDetectorSet(), 4096, false, keys);
    return chunks.map((c) => m.push(Buffer.from(c))).join('') + m.flush();
  };

  it.each([
    ['CSV', `id,user,password\n1,bob,${P}\n2,ann,"${P},x"\n`],
    ['CSV, a value holding the delimiter unquoted', `id,user,password\n1,bob,${P},x\n`],
    ['TSV (mysql -B)', `id\tuser\tpassword\n1\tbob\t${P}\n`],
    ['sqlite3 list mode', `id|user|password\n1|bob|${P}\n`],
    ['psql aligned', ` id | user | password \n----+------+----------\n  1 | bob  | ${P}\n(1 row)\n`],
    [
      'a MySQL box',
      `+----+----------+\n| id | password |\n+----+----------+\n| 1  | ${P} |\n+----+----------+\n`,
    ],
    [
      'a line-drawn box',
      `┌────┬──────────┐\n│ id │ password │\n├────┼──────────┤\n│ 1  │ ${P} │\n└────┴──────────┘\n`,
    ],
    ['Markdown', `| id | password |\n|----|----------|\n| 1 | ${P} |\n`],
    ['columns placed by a rule of dashes', `id  password     note\n--  -----------  ----\n1   ${P}  x\n`],
    ['a value wider than its column', `id  password  note\n--  --------  ----\n1   ${P} x\n`],
    ['coloured header', `\x1b[1mid,password\x1b[0m\n1,${P}\n`],
  ])('%s', (_name, text) => {
    const out = run([text]);
    expect(out).not.toContain(P);
    expect(out).toContain('[REDACTED:password]');
  });

  it('the header in one write, the rows in later ones', () => {
    const out = run(['id,user,password\n', `1,bob,${P}\n`, `2,ann,${P}\n`]);
    expect(out).not.toContain(P);
    const psql = run([' id | password \n----+----------\n', `  1 | ${P}\n`]);
    expect(psql).not.toContain(P);
    const cols = run(['id  password\n--  --------------------\n', `1   ${P}\n`]);
    expect(cols).not.toContain(P);
  });

  it('the header carried past many rows', () => {
    const rows = Array.from({ length: 400 }, (_, i) => `${i},user${i},${P}\n`).join('');
    const out = run(['id,user,password\n', rows.slice(0, 9000), rows.slice(9000)]);
    expect(out).not.toContain(P);
  });

  it('ends a table at a blank line or a line without its delimiter, and keeps other columns', () => {
    const out = run([`id,user,password\n1,bob,${P}\n(1 row)\nplain, words here\n`]);
    expect(out).toBe('id,user,password\n1,bob,[REDACTED:password]\n(1 row)\nplain, words here\n');
  });
});

// docs/security.md, class 242: a value on the lines after its name, the name in an earlier write.
describe('TerminalMasker: a value whose name came in an earlier write', () => {
  const keys = sensitiveKeyTag();
  const run = (chunks: string[]): string => {
    const m = new TerminalMasker(createDetectorSet(), 4096, false, keys);
    return chunks.map((c) => m.push(Buffer.from(c))).join('') + m.flush();
  };

  it.each([
    ['a YAML block', ['db:\n  password: |\n', '    hunter2-a\n', '    hunter2-b\n', 'port: 1\n']],
    ['a YAML key with its value below', ['password:\n', '  hunter2-a\n']],
    ['an XML element', ['<settings>\n<password>\n', 'hunter2-a\n', 'hunter2-b\n</password>\n']],
    [
      'a PEM key',
      ['-----BEGIN RSA PRIVATE KEY-----\n', 'hunter2aAAAAB3NzaC1yc2E\n', '-----END RSA PRIVATE KEY-----\n'],
    ],
    ['a coloured key', ['\x1b[32mpassword\x1b[0m: >\n', '  hunter2-a\n']],
    // class 398
    ['a heredoc', ['db_password = <<-EOF\n', '  hunter2-a\n', '  hunter2-b\n', '  EOF\n']],
    ['a shell heredoc', ["export DB_PASSWORD=$(cat <<'EOF'\n", 'hunter2-a\n', 'EOF\n)\n']],
    ['a property list', ['<dict>\n\t<key>APIToken</key>\n', '\t<string>hunter2-a</string>\n</dict>\n']],
  ])('%s', (_name, chunks) => {
    const out = run(chunks);
    expect(out).not.toContain('hunter2');
    expect(out).toContain('[REDACTED:');
  });

  it('keeps nothing once a heredoc has ended', () => {
    expect(run(['password = <<EOT\n', 'hunter2-a\n', 'EOT\n', 'name = <<EOT\n', 'ann\nEOT\n'])).toBe(
      'password = <<EOT\n[REDACTED:password]\nEOT\nname = <<EOT\nann\nEOT\n',
    );
  });

  it('keeps nothing once the value has ended, and what follows is as it was', () => {
    expect(run(['password: |\n', '  hunter2-a\n', 'name: ann\n', '  indented\n'])).toBe(
      'password: |\n[REDACTED:password]\nname: ann\n  indented\n',
    );
    expect(run(['<password>\n', 'hunter2-a\n</password>\n', '<name>\n', 'ann\n'])).toBe(
      '<password>\n[REDACTED:password]\n</password>\n<name>\nann\n',
    );
  });
});

describe('terminal output: a sensitive name after any character a name is not made of (class 237)', () => {
  const keys = sensitiveKeyTag();
  const PW = 'correct-horse-battery';
  it.each([
    `2:DB_PASSWORD=${PW}`,
    `./app/.env:DB_PASSWORD=${PW}`,
    `.env:12:DB_PASSWORD=${PW}`,
    `      - "DB_PASSWORD=${PW}"`,
    `      - 'API_TOKEN=${PW}'`,
    `ls: cannot access 'DB_PASSWORD=${PW}': No such file or directory`,
    `[DB_PASSWORD=${PW}]`,
    `<DB_PASSWORD=${PW}>`,
    `{DB_PASSWORD=${PW}}`,
    `|DB_PASSWORD=${PW}|`,
    `-DB_PASSWORD=${PW}`,
    `.DB_PASSWORD=${PW}`,
  ])('masks %s', (line) => {
    const r = maskTerminalText(`${line}\n`, detectors, 0, keys);
    expect(r?.text ?? line).not.toContain(PW);
  });

  it('leaves names that are not sensitive, and words ending in one, as they are', () => {
    for (const line of ['2:LOG_LEVEL=info', 'grep: app/.env: x=1', 'mode:rw=1'])
      expect(maskTerminalText(`${line}\n`, detectors, 0, keys)).toBeNull();
  });
});

describe('terminal output: a KEY=value line after cat -n or grep put a prefix before it (class 238)', () => {
  const keys = sensitiveKeyTag();
  it.each([
    '     2\tDB_PASSWORD=correct horse battery',
    '2:DB_PASSWORD=correct horse battery',
    '2-DB_PASSWORD=correct horse battery',
    '.env:DB_PASSWORD=correct horse battery',
    './app/.env:12:DB_PASSWORD=correct horse battery',
  ])('masks the whole value of %j', (line) => {
    const r = maskTerminalText(`${line}\n`, detectors, 0, keys);
    expect(r?.text ?? line).not.toMatch(/correct|horse|battery/);
  });

  it('leaves other prefixed lines alone', () => {
    for (const line of ['2:LOG_LEVEL=info level', 'app.log:12:error: x=1 y z', '     3\tname = value'])
      expect(maskTerminalText(`${line}\n`, detectors, 0, keys)).toBeNull();
  });
});

describe('config directives in terminal output (class 266)', () => {
  const keys = sensitiveKeyTag();
  it('masks the value of a line that is a sensitive name and one word, and a .netrc line', () => {
    const text =
      'bind 127.0.0.1\nrequirepass r3dis-pw-99\n  masterauth r3dis-pw-98\nport 6379\n' +
      'machine api.example.com login bob password n3trc-pw-1 account acct-7\n' +
      'machine h\n  login bob\n  password n3trc-pw-2\n';
    const r = maskTerminalText(text, detectors, 0, keys)!;
    for (const v of ['r3dis-pw-99', 'r3dis-pw-98', 'n3trc-pw-1', 'n3trc-pw-2', 'acct-7'])
      expect(r.text).not.toContain(v);
    expect(r.text).toContain('requirepass [REDACTED:requirepass]\n');
    expect(r.text).toContain('machine api.example.com login bob password [REDACTED:password] account');
    expect(r.text).toContain('bind 127.0.0.1\n');
    expect(r.text).toContain('port 6379\n');
  });

  it("masks a .pgpass line's password, all of it after the fourth colon", () => {
    const r = maskTerminalText(
      'db.internal:5432:app:bob:pgpass-pw-1\n*:*:*:replicator:r3pl:pw-2\n',
      detectors,
      0,
      keys,
    )!;
    expect(r.text).toBe(
      'db.internal:5432:app:bob:[REDACTED:password]\n*:*:*:replicator:[REDACTED:password]\n',
    );
    for (const text of [
      'root:x:0:0:root:/root:/bin/bash\n',
      'sudo:x:27:bob\n',
      '12:30:45\n',
      'app/.env:1:HOME_PAGE=https://example.com/a:b\n',
    ])
      expect(maskTerminalText(text, detectors, 0, keys)).toBeNull();
  });

  it("masks a registry credential in Docker's config.json, and not an auth that is no credential", () => {
    const auth = Buffer.from('deploy:registry-pw-9').toString('base64');
    const r = maskTerminalText(
      `{\n  "auths": {\n    "registry.example.com": {\n      "auth": "${auth}"\n    }\n  }\n}\n`,
      detectors,
      0,
      keys,
    )!;
    expect(r.text).not.toContain(auth);
    expect(r.text).toContain('"registry.example.com"');
    expect(maskTerminalText('{"auth": "none", "mode": "basic"}\n', detectors, 0, keys)).toBeNull();
  });

  it('leaves prose and other two-word lines alone', () => {
    for (const text of [
      'password required for login\n',
      'ls -l\ntotal 4\n',
      'login bob\n',
      'machine learning is fun\n',
    ])
      expect(maskTerminalText(text, detectors, 0, keys)).toBeNull();
  });
});

describe('passwords on a command line in terminal output (class 267)', () => {
  const keys = sensitiveKeyTag();
  it.each([
    ['0 3 * * * /usr/bin/mysqldump -uroot -pS3cretPw1 app > /backup/app.sql', 'S3cretPw1', '-uroot -p'],
    ["root  812  0.0  mysql -h db -u app -p'quoted pw 2' app", 'quoted pw 2', 'mysql -h db -u app -p'],
    ["sshpass -p 'ssh pw 3' ssh host", 'ssh pw 3', 'sshpass -p '],
    ['redis-cli -h cache -a r3disPw4 ping', 'r3disPw4', ' ping'],
    ['curl -s -u deploy:curlPw5 https://api.example.com', 'curlPw5', '-u deploy:'],
    ['openssl enc -aes256 -pass pass:opensslPw6 -in x', 'opensslPw6', '-pass pass:'],
    ['docker login -u bob -p dockerPw7 registry.example.com', 'dockerPw7', 'registry.example.com'],
    ['ldapsearch -x -D cn=admin -w ldapPw8 -b dc=x', 'ldapPw8', '-b dc=x'],
  ])('%s', (line, secret, kept) => {
    const r = maskTerminalText(`${line}\n`, detectors, 0, keys)!;
    expect(r.text).not.toContain(secret);
    expect(r.text).toContain(kept);
    expect(r.text).toContain('[REDACTED:password]');
  });

  it('leaves other options alone', () => {
    for (const line of [
      'mysql -p app',
      'curl -u deploy https://x',
      'mkdir -p /tmp/x && ls -p',
      'docker run -p 8080:80 nginx',
    ])
      expect(maskTerminalText(`${line}\n`, detectors, 0, keys)).toBeNull();
  });
});
