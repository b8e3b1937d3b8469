import { describe, expect, it } from 'vitest';
import { createDetectorSet } from './detector-set.js';
import { maskJsonText, sensitiveKeyTag } from './json-masking.js';

const set = createDetectorSet({ hashKey: Buffer.alloc(32, 1) });

describe('maskJsonText', () => {
  it('masks values under sensitive key names whatever they hold, case- and separator-insensitively', () => {
    const r = maskJsonText(
      '{"user":"alice","password":"hunter2","nested":{"SecretAccessKey":"abc","Client-Secret":7}}',
      set,
      { style: 'redact' },
    );
    expect(r?.text).toBe(
      '{"user":"alice","password":"[REDACTED:password]","nested":{"SecretAccessKey":"[REDACTED:secret_access_key]","Client-Secret":"[REDACTED:client_secret]"}}',
    );
    expect(r?.counts).toEqual({ password: 1, secret_access_key: 1, client_secret: 1 });
  });

  it('masks every leaf of an object or array under a sensitive key, keeping true/false/null', () => {
    const r = maskJsonText('{"tokens":["a",{"b":"c"},3,null,true]}', set, {
      style: 'redact',
      keyNames: ['tokens'],
    });
    expect(r?.text).toBe(
      '{"tokens":["[REDACTED:tokens]",{"b":"[REDACTED:tokens]"},"[REDACTED:tokens]",null,true]}',
    );
  });

  it('masks the value of an SSM SecureString whatever its name, before or after its Type (class 231)', () => {
    const r = maskJsonText(
      '{"Parameters":[{"Name":"/app/signing","Type":"SecureString","Value":"Qm7tR2vX9pLk"},' +
        '{"Value":"Vb3nH8jK1mZq","Name":"/app/x","type":"securestring"},' +
        '{"Name":"/app/region","Type":"String","Value":"eu-west-1"}]}',
      set,
      { style: 'redact' },
    );
    expect(r?.text).toBe(
      '{"Parameters":[{"Name":"/app/signing","Type":"SecureString","Value":"[REDACTED:securestring]"},' +
        '{"Value":"[REDACTED:securestring]","Name":"/app/x","type":"securestring"},' +
        '{"Name":"/app/region","Type":"String","Value":"eu-west-1"}]}',
    );
    expect(r?.counts).toEqual({ securestring: 2 });
  });

  it('supports * wildcards in key names', () => {
    const r = maskJsonText('{"db_password":"x","password_policy":"strict","pw":"y"}', set, {
      style: 'redact',
      keyNames: ['*_password'],
    });
    expect(r?.text).toBe('{"db_password":"[REDACTED:password]","password_policy":"strict","pw":"y"}');
  });

  it('reads an environment variable name by its end: GITHUB_TOKEN, STRIPE_API_KEY; not nextToken or DISCOUNT_CARD', () => {
    const doc =
      '{"GITHUB_TOKEN":"a1","STRIPE_API_KEY":"a2","JWT_SECRET_KEY":"a3","nextToken":"p1","page_token":"p2",' +
      '"DISCOUNT_CARD":"gold","PASSWORD_MIN_LENGTH":8,"AWS_ACCESS_KEY_ID":"id"}';
    const r = maskJsonText(doc, set, { style: 'redact' });
    expect(JSON.parse(r?.text ?? '{}')).toEqual({
      GITHUB_TOKEN: '[REDACTED:token]',
      STRIPE_API_KEY: '[REDACTED:apikey]',
      JWT_SECRET_KEY: '[REDACTED:secret_key]',
      nextToken: 'p1',
      page_token: 'p2',
      DISCOUNT_CARD: 'gold',
      PASSWORD_MIN_LENGTH: 8,
      AWS_ACCESS_KEY_ID: 'id',
    });
    expect(sensitiveKeyTag()('SLACK_BOT_TOKEN')).toBe('token');
    expect(sensitiveKeyTag()('slack_bot_token')).toBeUndefined();
    // An env name of the Kubernetes shape in a name/value object (an ECS task definition, a Pod spec).
    const env = maskJsonText(
      '[{"name":"GITHUB_TOKEN","value":"a1"},{"name":"LOG_LEVEL","value":"info"}]',
      set,
      {
        style: 'redact',
      },
    );
    expect(env?.text).toBe(
      '[{"name":"GITHUB_TOKEN","value":"[REDACTED:token]"},{"name":"LOG_LEVEL","value":"info"}]',
    );
  });

  it('masks detector findings inside any string, keeping the rest of the document byte for byte', () => {
    const doc = '{\n  "id": 12345678901234567890,\n  "note": "card 4111 1111 1111 1111 ok",\n  "n": 1.50\n}';
    const r = maskJsonText(doc, set, { style: 'redact' });
    expect(r?.text).toBe(
      '{\n  "id": 12345678901234567890,\n  "note": "card [REDACTED:credit_card] ok",\n  "n": 1.50\n}',
    );
  });

  it('masks numbers that are card numbers (as strings)', () => {
    expect(maskJsonText('{"n": 4111111111111111}', set, { style: 'redact' })?.text).toBe(
      '{"n": "[REDACTED:credit_card]"}',
    );
  });

  it('turns the null style into JSON null for values, redact for keys', () => {
    const r = maskJsonText('{"password":"x","mail":"alice@example.com","bob@example.com":1}', set, {
      style: 'null',
    });
    expect(r?.text).toBe('{"password":null,"mail":null,"[REDACTED:email]":1}');
  });

  it('handles escapes and re-encodes masked strings correctly', () => {
    const r = maskJsonText('{"note":"line\\n\\"4111111111111111\\" \\u00e9"}', set, { style: 'redact' });
    expect(r?.text).toBe('{"note":"line\\n\\"[REDACTED:credit_card]\\" é"}');
    expect(JSON.parse(r?.text ?? '')).toEqual({ note: 'line\n"[REDACTED:credit_card]" é' });
  });

  it('masks JSON held inside a JSON string', () => {
    const inner = JSON.stringify({ password: 'hunter2', ok: 1 });
    const r = maskJsonText(JSON.stringify({ payload: inner }), set, { style: 'redact' });
    expect(JSON.parse(JSON.parse(r?.text ?? '').payload)).toEqual({ password: '[REDACTED:password]', ok: 1 });
  });

  it('uses the style chooser with the key name, and hash for keys gives the same output as elsewhere', () => {
    const r = maskJsonText('{"password":"hunter2","mail":"alice@example.com"}', set, {
      style: (d) => (d === 'password' ? 'hash' : 'partial'),
    });
    expect(r?.text).toBe(
      `{"password":"${set.maskWhole('hunter2', 'hash', 'password')}","mail":"*****@******e.com"}`,
    );
  });

  it('returns null when nothing changed', () => {
    expect(maskJsonText('{"a":[1,2,{"b":"alice"}],"c":true,"d":null}', set, { style: 'redact' })).toBeNull();
    expect(maskJsonText('[]', set, { style: 'redact' })).toBeNull();
    expect(maskJsonText('"alice"', set, { style: 'redact' })).toBeNull();
  });

  it('masks the value of a name/value object whose name is a sensitive key, wherever the name is', () => {
    const ecs =
      '{"environment":[{"name":"DB_PASSWORD","value":"hunter2"},{"name":"HOST","value":"db"}],' +
      '"vars":[{"value":{"a":"s3cr3t"},"type":"PLAINTEXT","name":"API_TOKEN"}],' +
      '"Parameters":[{"ParameterKey":"AdminPassword","ParameterValue":7},{"ParameterKey":"Env","ParameterValue":"prod"}],' +
      '"OptionSettings":[{"Namespace":"aws:env","OptionName":"SECRET_KEY","Value":"abc"}]}';
    const r = maskJsonText(ecs, set, { style: 'redact' });
    expect(r?.text).toBe(
      '{"environment":[{"name":"DB_PASSWORD","value":"[REDACTED:password]"},{"name":"HOST","value":"db"}],' +
        '"vars":[{"value":{"a":"[REDACTED:api_token]"},"type":"PLAINTEXT","name":"API_TOKEN"}],' +
        '"Parameters":[{"ParameterKey":"AdminPassword","ParameterValue":"[REDACTED:password]"},{"ParameterKey":"Env","ParameterValue":"prod"}],' +
        '"OptionSettings":[{"Namespace":"aws:env","OptionName":"SECRET_KEY","Value":"[REDACTED:secret_key]"}]}',
    );
    expect(r?.counts).toEqual({ password: 2, api_token: 1, secret_key: 1 });
    // A name that is not sensitive, or a name member that is not a string, masks nothing.
    expect(
      maskJsonText('{"name":"HOST","value":"db","key":{"password":1}}', set, { style: 'redact' })?.text,
    ).toBe('{"name":"HOST","value":"db","key":{"password":"[REDACTED:password]"}}');
    expect(maskJsonText('{"name":"HOST","value":"db"}', set, { style: 'redact' })).toBeNull();
    // Any name member counts, before or after the value, and not only the first one.
    for (const o of [
      '{"name":"HOST","value":"s1","key":"password"}',
      '{"value":"s1","name":"HOST","key":"password"}',
      '{"name":"HOST","key":"password","value":"s1"}',
    ])
      expect(maskJsonText(o, set, { style: 'redact' })?.text).toBe(
        o.replace('"s1"', '"[REDACTED:password]"'),
      );
  });

  it("reads a string's content for field names in an HTTP body (a config file, a DSN, a command line)", () => {
    const doc = JSON.stringify({
      config: 'db:\n  password: hunter2\n  host: x\n',
      dsn: 'host=db user=app password=s3cret',
      command: ['app', '--db-password=flagpw'],
      greeting: 'Ann: hi',
    });
    const r = maskJsonText(doc, set, { style: 'redact', keysInInvalidJson: true });
    expect(JSON.parse(r!.text)).toEqual({
      config: 'db:\n  password: "[REDACTED:password]"\n  host: x\n',
      dsn: 'host=db user=app password=[REDACTED:password]',
      command: ['app', '--db-password=[REDACTED:password]'],
      greeting: 'Ann: hi',
    });
    expect(r?.counts).toEqual({ password: 3 });
    // Elsewhere (a PostgreSQL json cell) a string's content is left to the detectors, as before.
    expect(maskJsonText(doc, set, { style: 'redact' })).toBeNull();
  });

  it('falls back to text scanning for invalid JSON', () => {
    for (const bad of [
      '{"a": 4111111111111111',
      "{'a': '4111111111111111'}",
      '{"a":1} 4111111111111111',
      '[4111111111111111,]',
    ]) {
      expect(maskJsonText(bad, set, { style: 'redact' })?.text).toContain('[REDACTED:credit_card]');
    }
    // Invalid JSON with only a sensitive key and no detectable content stays as it is.
    expect(maskJsonText('{"password": hunter2}', set, { style: 'redact' })).toBeNull();
  });

  it('survives deep nesting by falling back to text scanning', () => {
    const deep = `${'['.repeat(600)}"4111111111111111"${']'.repeat(600)}`;
    expect(maskJsonText(deep, set, { style: 'redact' })?.text).toContain('[REDACTED:credit_card]');
  });
});
