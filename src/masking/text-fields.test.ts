import { describe, expect, it } from 'vitest';
import { createDetectorSet } from './detector-set.js';
import { maskJsonText } from './json-masking.js';

const set = createDetectorSet({ hashKey: Buffer.alloc(32, 1) });

/** A text an API answered with instead of JSON, masked as HTTP bodies are (keys in text too). */
function masked(text: string, style: 'redact' | 'partial' = 'redact') {
  return maskJsonText(text, set, { style, keysInInvalidJson: true });
}

describe('field names in a text that is not JSON', () => {
  it('masks the cells of a CSV column the header names, with RFC 4180 quoting, and counts each', () => {
    const csv =
      'id,name,Password,notes\r\n' +
      '1,alice,hunter2,ok\r\n' +
      '2,"bob, jr","sw,ord""fish",x\r\n' +
      '3,carol,"two\nlines",y\r\n' +
      '4,dave,,z\r\n';
    const r = masked(csv);
    expect(r?.text).toBe(
      'id,name,Password,notes\r\n' +
        '1,alice,[REDACTED:password],ok\r\n' +
        '2,"bob, jr",[REDACTED:password],x\r\n' +
        '3,carol,[REDACTED:password],y\r\n' +
        '4,dave,,z\r\n',
    );
    expect(r?.counts).toEqual({ password: 3 });
  });

  it('reads the delimiter from the header (tab, semicolon, pipe) or from an Excel `sep=` line', () => {
    expect(masked('id\tapi_key\n1\tk-1\n')?.text).toBe('id\tapi_key\n1\t[REDACTED:apikey]\n');
    expect(masked('id;Token;x\n1;abc;2\n')?.text).toBe('id;Token;x\n1;[REDACTED:token];2\n');
    expect(masked('id|secret\n1|abc\n')?.text).toBe('id|secret\n1|[REDACTED:secret]\n');
    expect(masked('sep=;\nid;client_secret\n1;abc,def\n')?.text).toBe(
      'sep=;\nid;client_secret\n1;[REDACTED:client_secret]\n',
    );
    // After blank lines and comments, the first line with content is the header.
    expect(masked('# users\n\nid,password\n1,x\n')?.text).toBe(
      '# users\n\nid,password\n1,[REDACTED:password]\n',
    );
  });

  it('masks every cell of a record it cannot place (more or fewer cells than the header)', () => {
    // A writer that did not quote a comma shifts the password right; one that did not quote a line
    // break moves it to the next line's left: neither can be told from the other's cells.
    const r = masked('id,name,password\n1,a,b,hunter2\n2,x\n,swordfish\n3,c,ok\n');
    expect(r?.text).toBe(
      'id,name,password\n' +
        '[REDACTED:password],[REDACTED:password],[REDACTED:password],[REDACTED:password]\n' +
        '[REDACTED:password],[REDACTED:password]\n' +
        ',[REDACTED:password]\n' +
        '3,c,[REDACTED:password]\n',
    );
    expect(r?.text).not.toMatch(/hunter2|swordfish/);
  });

  it('masks YAML values under a sensitive key: plain, quoted, flow, block scalars and nested blocks', () => {
    const yaml = [
      'user: alice',
      'password: hunter 2 # old',
      'db:',
      '  host: x',
      "  secret_key: 'it''s here'",
      '  api_key: "a\\"b"',
      '  access_token: [a, b]',
      'private_key: |',
      '  -----BEGIN PRIVATE KEY-----',
      '  MIIEvg',
      '',
      '  -----END PRIVATE KEY-----',
      'secret:',
      '  current: s1',
      '  previous: s0',
      '- name: svc',
      '  Token: t-1',
      'next: 1',
      '',
    ].join('\n');
    const r = masked(yaml);
    expect(r?.text).toBe(
      [
        'user: alice',
        'password: "[REDACTED:password]"',
        'db:',
        '  host: x',
        "  secret_key: '[REDACTED:secret_key]'",
        '  api_key: "[REDACTED:apikey]"',
        '  access_token: "[REDACTED:access_token]"',
        'private_key: |',
        '  [REDACTED:private_key]',
        'secret:',
        '  "[REDACTED:secret]"',
        '- name: svc',
        '  Token: "[REDACTED:token]"',
        'next: 1',
        '',
      ].join('\n'),
    );
    expect(r?.text).not.toMatch(/hunter|it''s|MIIEvg|s1|s0|t-1/);
  });

  it('masks .env, properties and header lines, and key=value pairs in forms, query strings and logs', () => {
    expect(masked('DB_PASSWORD=hunter2\nAPI_TOKEN="a b c"\nHOST=x\n')?.text).toBe(
      'DB_PASSWORD=[REDACTED:password]\nAPI_TOKEN="[REDACTED:api_token]"\nHOST=x\n',
    );
    expect(masked('app.password = hunter2 with spaces\n')?.text).toBe('app.password = [REDACTED:password]\n');
    expect(masked('Authorization: Bearer abc.def\nX-Other: 1')?.text).toBe(
      'Authorization: "[REDACTED:authorization]"\nX-Other: 1',
    );
    // A `;` or `,` inside a value is masked with it; one ending it is not.
    expect(masked('client_id=x&client_secret=abc;d&state=1')?.text).toBe(
      'client_id=x&client_secret=[REDACTED:client_secret]&state=1',
    );
    expect(masked('session=1; token=abc; path=/')?.text).toBe('session=1; token=[REDACTED:token]; path=/');
    expect(masked('GET /cb?code=1&access_token=xyz HTTP/1.1')?.text).toBe(
      'GET /cb?code=1&access_token=[REDACTED:access_token] HTTP/1.1',
    );
    expect(masked('2026-12-06 connect user=app password=hunter2 host=db')?.text).toBe(
      '2026-12-06 connect user=app password=[REDACTED:password] host=db',
    );
    // A percent-encoded key is read decoded.
    expect(masked('pass%77ord=zz&a=1')?.text).toBe('pass%77ord=[REDACTED:password]&a=1');
  });

  it('masks NUL-separated pairs (/proc/<pid>/environ, env -0), each value to its NUL', () => {
    expect(masked('PATH=/bin\0DB_PASSWORD=hunter2\0HOME=/root\0')?.text).toBe(
      'PATH=/bin\0DB_PASSWORD=[REDACTED:password]\0HOME=/root\0',
    );
    expect(masked('GITHUB_TOKEN=t0k\0HOME=/root\0')?.text).toBe(
      'GITHUB_TOKEN=[REDACTED:token]\0HOME=/root\0',
    );
  });

  it('masks a bare value after a JSON-style key to where a JSON value would end, spaces included', () => {
    expect(masked('{"password": hunter 2, "user": "a"')?.text).toBe(
      '{"password": "[REDACTED:password]", "user": "a"',
    );
    expect(masked('{"token": {"a": [1, "x"]}, broken')?.text).toBe('{"token": "[REDACTED:token]", broken');
  });

  it('masks a value once where two forms read it, and keeps the style (partial)', () => {
    // A YAML line with a JSON-style key: the line and the JSON key both read it.
    const r = masked('"password": hunter2\n');
    expect(r?.text).toBe('"password": "[REDACTED:password]"\n');
    expect(r?.counts).toEqual({ password: 1 });
    const p = masked('id,password\n1,correct-horse-battery\n', 'partial');
    expect(p?.text).not.toContain('correct-horse-battery');
    expect(p?.counts).toEqual({ password: 1 });
  });

  it('leaves prose, and texts naming no sensitive field, as they are', () => {
    expect(masked('The weather is nice, thank you.\nNothing here: really.\n')).toBeNull();
    expect(masked('id,name\n1,alice\n')).toBeNull();
    expect(masked('user: alice\nhost=db\n')).toBeNull();
  });
});

describe('object-literal keys: Python reprs, JavaScript and JSON5 (docs/security.md, class 209)', () => {
  it.each([
    ["{'user': 'ann', 'password': 'hunter2'}", "{'user': 'ann', 'password': '[REDACTED:password]'}"],
    ["[{'token': 'abc'}]", "[{'token': '[REDACTED:token]'}]"],
    ["{user: 'ann', password: 'hunter2'}", "{user: 'ann', password: '[REDACTED:password]'}"],
    ['{user: "ann", apiKey: "k-1"}', '{user: "ann", apiKey: "[REDACTED:apikey]"}'],
    ['{"password" /* old */ : "hunter2"}', '{"password" /* old */ : "[REDACTED:password]"}'],
    ["{'password': 'a\\'b'}", "{'password': '[REDACTED:password]'}"],
    ["User(password='hunter2', name='ann')", "User(password='[REDACTED:password]', name='ann')"],
    ["User(name='ann', password='a\\'b')", "User(name='ann', password='[REDACTED:password]')"],
    ['{secret: 42, other: 1}', '{secret: "[REDACTED:secret]", other: 1}'],
    ['garbage{password:"hunter2"}', 'garbage{password:"[REDACTED:password]"}'],
  ])('masks %s', (text, want) => {
    expect(masked(text)?.text).toBe(want);
  });

  it('leaves keys that are not sensitive, and a `::` that is not a key', () => {
    expect(masked("{'user': 'ann', 'note': 'x'}")).toBeNull();
    expect(masked('std::password::x, a')).toBeNull();
  });
});

describe('keys in minified literals, compact protobuf text, and escaped or percent-encoded forms (class 219)', () => {
  it.each([
    // Minified JavaScript and JSON5: the value right after the `:`.
    ['{password:90817263}', '{password:"[REDACTED:password]"}'],
    ['{a:1,token:abcdef,b:2}', '{a:1,token:"[REDACTED:token]",b:2}'],
    ['{ password:hunter2}', '{ password:"[REDACTED:password]"}'],
    ['{password:["a","b"]}', '{password:"[REDACTED:password]"}'],
    ['{password:{v:"hunter2"}}', '{password:"[REDACTED:password]"}'],
    ['{password:`hunter2`}', '{password:"[REDACTED:password]"}'],
    ['f({$password:"hunter2"})', 'f({$password:"[REDACTED:password]"})'],
    // Go's compact protobuf text, as gRPC services log a request.
    ['req: user:"ann" password:"hunter2" ', 'req: user:"ann" password:"[REDACTED:password]" '],
    ["user:'ann' token:'abc'", "user:'ann' token:'[REDACTED:token]'"],
    // A Ruby hash with symbol keys, as Hash#inspect prints it before Ruby 3.4.
    ['{:user=>"ann", :password=>"hunter2"}', '{:user=>"ann", :password=>"[REDACTED:password]"}'],
    ['{:api_key => 12345, :a=>1}', '{:api_key => "[REDACTED:apikey]", :a=>1}'],
    // JSON in an HTML attribute, escaped by character references.
    [
      '{&quot;user&quot;:&quot;ann&quot;,&quot;password&quot;:&quot;hunter2&quot;}',
      '{&quot;user&quot;:&quot;ann&quot;,&quot;password&quot;:&quot;[REDACTED:password]&quot;}',
    ],
    ['{&#34;password&#34;:&#34;a\\&#34;b&#34;}', '{&#34;password&#34;:&#34;[REDACTED:password]&#34;}'],
    [
      '{&#x22;password&#x22;&#58;&#x22;hunter2&#x22;}',
      '{&#x22;password&#x22;&#58;&#x22;[REDACTED:password]&#x22;}',
    ],
    [
      '{&quot;pin_password&quot;:1234,&quot;a&quot;:1}',
      '{&quot;pin_password&quot;:[REDACTED:password],&quot;a&quot;:1}',
    ],
    // JSON in a JavaScript or JSON string, its quotes written \u0022.
    [
      String.raw`{\u0022password\u0022:\u0022hunter2\u0022}`,
      String.raw`{\u0022password\u0022:\u0022[REDACTED:password]\u0022}`,
    ],
    [
      String.raw`{\\u0022password\\u0022\\u003a\\u0022a\\\\\u0022b\\u0022}`,
      String.raw`{\\u0022password\\u0022\\u003a\\u0022[REDACTED:password]\\u0022}`,
    ],
    // Percent-encoded JSON and queries inside a parameter.
    ['?state=%7B%22token%22%3A%22abc%22%7D', '?state=%7B%22token%22%3A%22[REDACTED:token]%22%7D'],
    ['?state=%7B%22token%22%3A%22a%5C%22b%22%7D', '?state=%7B%22token%22%3A%22[REDACTED:token]%22%7D'],
    ['?next=%2Fa%3Fpassword%3Dhunter2%26x%3D1', '?next=%2Fa%3Fpassword%3D[REDACTED:password]%26x%3D1'],
    ['password%3Dhunter2', 'password%3D[REDACTED:password]'],
  ])('masks %s', (text, want) => {
    expect(masked(text)?.text).toBe(want);
  });

  it('leaves keys that are not sensitive, times, a `::`, and escapes that name nothing', () => {
    expect(masked('{a:1,b:x}')).toBeNull();
    expect(masked('at 10:30 {id:7}')).toBeNull();
    expect(masked('std::password::x, a')).toBeNull();
    expect(masked('{&quot;user&quot;:&quot;ann&quot;} %22x%22 \\u0022y\\u0022')).toBeNull();
  });
});

describe('`key: value` anywhere in a line, XML elements, and keys with escaped characters (classes 240, 241)', () => {
  it.each([
    [
      '10:00 INFO login user=ann password: hunter2 ok',
      '10:00 INFO login user=ann password: [REDACTED:password]',
    ],
    ['token:abc123 next', 'token:[REDACTED:token]'], // to the line's end (class 262)
    ['token:abc123 --next', 'token:[REDACTED:token] --next'],
    // Inside a quoted string, to its closing quote; the fields after it stay.
    ['msg="login password=abc def rejected" user=bob', 'msg="login password=[REDACTED:password]" user=bob'],
    ['10:01 db DB_PASSWORD=correct horse staple', '10:01 db DB_PASSWORD=[REDACTED:password]'],
    ['> Authorization: Bearer abc.def', '> Authorization: [REDACTED:authorization]'],
    ['x password :hunter2', 'x password :[REDACTED:password]'],
    // grep -n and grep over several files put their prefix before a YAML file's top-level key.
    ['3:password: hunter2', '3:password: [REDACTED:password]'],
    ['config.yml:3:password: hunter2', 'config.yml:3:password: [REDACTED:password]'],
    [
      '<settings><password>hunter2</password></settings>',
      '<settings><password>[REDACTED:password]</password></settings>',
    ],
    ['<ns:Token a="1"><![CDATA[abc]]></ns:Token>', '<ns:Token a="1">[REDACTED:token]</ns:Token>'],
    [
      '{&quot;pass&#119;ord&quot;:&quot;hunter2&quot;}',
      '{&quot;pass&#119;ord&quot;:&quot;[REDACTED:password]&quot;}',
    ],
    ['%22pass%77ord%22%3A%22hunter2%22', '%22pass%77ord%22%3A%22[REDACTED:password]%22'],
    ["{'pass\\x77ord': 'hunter2'}", "{'pass\\x77ord': '[REDACTED:password]'}"],
  ])('masks %s', (text, want) => {
    expect(masked(text)?.text).toBe(want);
  });

  it('leaves times, URLs, other keys and elements, and a YAML block to its own reader', () => {
    expect(masked('at 10:30:05 see http://x/a:b')).toBeNull();
    expect(masked('user: ann\n<name>ann</name>')).toBeNull();
    expect(masked('password: |\n  hunter2\nuser: ann\n')?.text).toBe(
      'password: |\n  [REDACTED:password]\nuser: ann\n',
    );
  });
});

describe('JSON keys whose quotes are escaped (class 193)', () => {
  it("masks a document's sensitive values inside an array's and a record's text, at any depth, keeping the text's form", () => {
    const cases: [string, string][] = [
      [
        String.raw`{"{\"user\": \"bob\", \"password\": \"hunter2\"}"}`,
        String.raw`{"{\"user\": \"bob\", \"password\": \"[REDACTED:password]\"}"}`,
      ],
      [
        `("{""user"": ""bob"", ""password"": ""hunter2""}",1)`,
        `("{""user"": ""bob"", ""password"": ""[REDACTED:password]""}",1)`,
      ],
      [
        String.raw`("{""{\\""password\\"": \\""hunter2\\""}""}")`,
        String.raw`("{""{\\""password\\"": \\""[REDACTED:password]\\""}""}")`,
      ],
      [
        String.raw`{"{\"token\": 12345, \"user\": \"bob\"}"}`,
        String.raw`{"{\"token\": [REDACTED:token], \"user\": \"bob\"}"}`,
      ],
    ];
    for (const [text, want] of cases) expect(masked(text)?.text, text).toBe(want);
    // Keys that name nothing sensitive are left as they are.
    expect(masked(String.raw`{"{\"user\": \"bob\"}"}`)).toBeNull();
  });
});

describe('HTML form fields (docs/security.md, class 210)', () => {
  it('masks a value under a sensitive name, any password input, a meta content and a textarea', () => {
    const page =
      '<input type="text" name="user" value="ann">\n' +
      '<input name="api_key" value="k-1" class="x">\n' +
      "<INPUT value='p-2' type=password name=smtp>\n" +
      '<input id=db_password value=p-3>\n' +
      '<textarea name="private_key">-----BEGIN\nx\n</textarea >\n' +
      '<meta name="access_token" content="t-4">';
    expect(masked(page)?.text).toBe(
      '<input type="text" name="user" value="ann">\n' +
        '<input name="api_key" value="[REDACTED:apikey]" class="x">\n' +
        "<INPUT value='[REDACTED:password]' type=password name=smtp>\n" +
        '<input id=db_password value=[REDACTED:password]>\n' +
        '<textarea name="private_key">[REDACTED:private_key]</textarea >\n' +
        '<meta name="access_token" content="[REDACTED:access_token]">',
    );
  });

  it('masks a value a settings file names by an attribute, in any element (class 343)', () => {
    expect(masked('<add key="DbPassword" value="p-1" />\n<add key="Region" value="eu" />')?.text).toBe(
      '<add key="DbPassword" value="[REDACTED:password]" />\n<add key="Region" value="eu" />',
    );
    expect(masked('<property name="db.password" value="p-2"/>')?.text).toBe(
      '<property name="db.password" value="[REDACTED:password]"/>',
    );
    // No value attribute: the element's own text, to the next tag; blanks around it stay.
    expect(masked('<entry key="api_key"> k-3 </entry><entry key="x">y</entry>')?.text).toBe(
      '<entry key="api_key"> [REDACTED:apikey] </entry><entry key="x">y</entry>',
    );
    // .NET's applicationSettings: the value is a `<value>` child's text.
    expect(
      masked('<setting name="Password" serializeAs="String">\n  <value>p-4</value>\n</setting>')?.text,
    ).toBe(
      '<setting name="Password" serializeAs="String">\n  <value>[REDACTED:password]</value>\n</setting>',
    );
    // A self-closed element has no text; one without attributes is not named by one.
    expect(masked('<entry key="api_key"/>after')).toBeNull();
  });

  it("masks a Terraform variable's default and an output's quoted value under a sensitive label (class 344)", () => {
    expect(
      masked(
        'variable "db_password" {\n  type    = string\n  default = "p-1"\n}\nvariable "region" {\n  default = "eu"\n}\n',
      )?.text,
    ).toBe(
      'variable "db_password" {\n  type    = string\n  default = "[REDACTED:password]"\n}\nvariable "region" {\n  default = "eu"\n}\n',
    );
    expect(masked('variable "api_token" { default = 1234 }\nvariable "n" { default = 2 }')?.text).toBe(
      'variable "api_token" { default = [REDACTED:api_token] }\nvariable "n" { default = 2 }',
    );
    // An output's expression names no secret; a block without a default holds none.
    expect(masked('output "db_password" {\n  value = aws_db_instance.x.password\n}')).toBeNull();
    expect(
      masked('variable "db_password" { type = string }\nvariable "region" {\n  default = "eu"\n}'),
    ).toBeNull();
  });

  it('masks the value under a quoted name in brackets before = (class 346)', () => {
    expect(masked(`declare -A c=([region]="eu" ["db password"]="p-1" ['api token']=k-2 )`)?.text).toBe(
      `declare -A c=([region]="eu" ["db password"]="[REDACTED:password]" ['api token']=[REDACTED:api_token] )`,
    );
    expect(masked('a["region"]=eu')).toBeNull();
  });

  it('leaves fields under other names, and text that only looks like a tag', () => {
    expect(masked('<input name="q" value="password"> <b>password</b> a<b')).toBeNull();
    // An unclosed textarea under a sensitive name: its text to the end is masked.
    expect(masked('<textarea name="notes">x</textarea><textarea name="secret">s-1\nmore')?.text).toBe(
      '<textarea name="notes">x</textarea><textarea name="secret">[REDACTED:secret]',
    );
  });
});

describe('a quoted value after its name in code and SQL, and more .env names (class 265)', () => {
  it.each([
    ["define( 'DB_PASSWORD', 'wp-pass' );", "define( 'DB_PASSWORD', "],
    ["$password = 'php-pass';", '$password = '],
    ['const apiKey = "js-key";', 'const apiKey = '],
    ["self.api_key = 'py-key'", 'self.api_key = '],
    ['password := "go-pass"', 'password :'],
    ['api = os.environ.get("API_TOKEN", "py-default")', 'os.environ.get("API_TOKEN", '],
    ["ALTER ROLE app WITH LOGIN PASSWORD 'sql-pass';", 'ALTER ROLE app WITH LOGIN PASSWORD '],
    [
      "CREATE USER x IDENTIFIED WITH caching_sha2_password BY 'my-pass';",
      'IDENTIFIED WITH caching_sha2_password BY ',
    ],
    ["set password 'redis-pass'", 'set password '],
    ['DB_PASS=env-pass', 'DB_PASS='],
    ['SECRET_KEY_BASE=rails-base', 'SECRET_KEY_BASE='],
    ['JWT_SIGNING_KEY=jwt-key', 'JWT_SIGNING_KEY='],
    ["define('SECURE_AUTH_KEY', 'wp-salt');", "define('SECURE_AUTH_KEY', "],
  ])('%s', (line, kept) => {
    const out = masked(line)?.text;
    expect(out).toBeDefined();
    expect(out).toContain(kept);
    expect(out).toContain('[REDACTED:');
    expect(out).not.toMatch(/(wp|php|js|py|go|sql|my|redis|env|rails|jwt)-(pass|key|default|base|salt)/);
  });

  it.each([
    'if password == "x": pass',
    'SENSITIVE = ["password", "token", "secret"]',
    'the "password" field is required',
    "say 'hi' to bob",
    "x = 'password'",
    "BYPASS=1 and COMPASS='north'",
    "config('app.name', 'Gatehouse')",
  ])('%s stays', (line) => {
    expect(masked(line)).toBeNull();
  });
});

// docs/security.md, class 398.
describe('a value under a sensitive name in the spellings code and tools use', () => {
  const PW = 'marigold-anvil-5531';
  it.each([
    ['a Terraform heredoc default', `variable "db_password" {\n  default = <<EOT\n${PW}\nEOT\n}\n`],
    ['an HCL heredoc', `db_password = <<-EOF\n  ${PW}\n  EOF\n`],
    ['a shell heredoc', `export DB_PASSWORD=$(cat <<'EOF'\n${PW}\nEOF\n)\n`],
    ['a Ruby squiggly heredoc', `x["password"] = <<~EOS\n  ${PW}\nEOS\n`],
    ['a Python subscript', `os.environ["DB_PASSWORD"] = "${PW}"\n`],
    ['a PHP subscript', `$config['db_password'] = '${PW}';\n`],
    ['a Ruby ENV subscript', `ENV["API_TOKEN"] = "${PW}"\n`],
    ['a property list', `<dict>\n\t<key>APIToken</key>\n\t<string>${PW}</string>\n</dict>\n`],
    ['an entry of key and string', `<entry><key>password</key><string>${PW}</string></entry>\n`],
    ['a Hadoop property', `<property>\n  <name>db.password</name>\n  <value>${PW}</value>\n</property>\n`],
    ['a Ruby symbol at a line start', `{\n  :password => "${PW}",\n}\n`],
    ["Make's ?=", `PASSWORD ?= ${PW}\n`],
    ["Make's +=", `API_TOKEN += ${PW}\n`],
    ["R's <-", `password <- "${PW}"\n`],
    ['an option and the next word', `myapp --db-password ${PW} --port 5\n`],
    ['a quoted option value', `kubectl get pods --token "${PW}"\n`],
    ['a tagged block scalar', `password: !vault |\n  ${PW}\nother: x\n`],
    ['a here-string read into a name', `read -r password <<< "${PW}"\n`],
    ['a here-string read with options', `IFS= read -s -p 'x' API_TOKEN <<<${PW}\n`],
    ['a bare here-string', `read password <<<${PW}`],
    ['a dotted name ending in secret.key', `<name>fs.s3a.secret.key</name>\n<value>${PW}</value>\n`],
  ])('%s', (_name, text) => {
    const r = masked(text);
    expect(r?.text ?? text).not.toContain(PW);
    expect(r?.text).toContain('[REDACTED:');
  });

  it('leaves the help text of an option, a comparison and what follows a heredoc', () => {
    expect(masked('  --token string   Bearer token for authentication\n')).toBeNull();
    expect(masked('  --password PASSWORD  the password\n')).toBeNull();
    expect(masked('  --api-key <key>  the key\n')).toBeNull();
    expect(masked('if x["password"] == "y": pass\n')).toBeNull();
    expect(masked('password = <<EOT\nsecret-1\nEOT\nname = <<EOT\nann\nEOT\n')?.text).toBe(
      'password = <<EOT\n[REDACTED:password]\nEOT\nname = <<EOT\nann\nEOT\n',
    );
    expect(masked('-5 apples and -x 3 --port 8080\n')).toBeNull();
  });
});

// docs/security.md, class 399.
describe('a value under a label, a header or a numbered item', () => {
  const PW = 'marigold-anvil-5531';
  it.each([
    ["redis-cli's CONFIG GET", `1) "port"\n2) "6379"\n3) "requirepass"\n4) "${PW}"\n`],
    ["redis-cli's HGETALL, unquoted value", `1) "password"\n2) ${PW}\n`],
    ['a label of two words', `Secret Key: ${PW}\n`],
    ['an indented label of two words', `  Client Secret: ${PW}\n`],
    ['a header ending in a sensitive name', `> X-Api-Key: ${PW}\n`],
    ['an auth token header', `X-Auth-Token: ${PW}\n`],
    ['an element named for its value', `<password value="${PW}"/>\n`],
    ['an env-style key ending in api_key', `stripe_api_key = ${PW}\n`],
  ])('%s', (_name, text) => {
    const r = masked(text);
    expect(r?.text ?? text).not.toContain(PW);
    expect(r?.text).toContain('[REDACTED:');
  });

  it('leaves an even item, a label whose two words name nothing, and a value element of another name', () => {
    expect(masked('1) "x"\n2) "password"\n3) "y"\n4) "z"\n')).toBeNull();
    expect(masked('Access Key: minio-admin\n')).toBeNull();
    expect(masked('<user value="app"/>\n')).toBeNull();
    expect(masked('nextToken: abc\n')).toBeNull();
  });
});
