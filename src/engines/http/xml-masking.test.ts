import { describe, expect, it } from 'vitest';
import { createDetectorSet, maskJsonText } from '../../masking/index.js';
import { DEFAULT_RESPONSE_FIELDS, fieldMatcher } from './field-names.js';
import { maskXmlText } from './xml-masking.js';

const set = createDetectorSet();
const fields = fieldMatcher(DEFAULT_RESPONSE_FIELDS);
const asText = (t: string) =>
  maskJsonText(t, set, { keyNames: DEFAULT_RESPONSE_FIELDS, style: 'redact', keysInInvalidJson: true });
const mask = (xml: string) => maskXmlText(xml, set, 'redact', fields, asText);

describe('maskXmlText', () => {
  it('masks sensitive elements whole, keeping the document shape', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">\n' +
      '  <CreateAccessKeyResult><AccessKey><UserName>bob</UserName><SecretAccessKey>abc/def+ghi</SecretAccessKey>' +
      '<Status>Active</Status></AccessKey></CreateAccessKeyResult>\n</CreateAccessKeyResponse>';
    const r = mask(xml)!;
    expect(r.text).toBe(xml.replace('abc/def+ghi', '[REDACTED:secretaccesskey]'));
    expect(r.counts).toEqual({ secretaccesskey: 1 });
  });

  it('masks the token sts:GetWebIdentityToken hands out (class 58)', () => {
    // Not a shape a detector knows: an opaque token stands for the gateway's AWS identity elsewhere.
    const token = 'opaque.token-value.abc123';
    const xml =
      '<GetWebIdentityTokenResponse><GetWebIdentityTokenResult><WebIdentityToken>' +
      token +
      '</WebIdentityToken><Expiration>2026-01-01T00:00:00Z</Expiration></GetWebIdentityTokenResult></GetWebIdentityTokenResponse>';
    const r = mask(xml)!;
    expect(r.text).not.toContain(token);
    expect(r.text).toContain('[REDACTED:webidentitytoken]');
  });

  it('masks everything nested under a sensitive element, namespaced or not', () => {
    const r = mask(
      '<a:Root xmlns:a="urn:x"><a:Password><Value>p1</Value><Old>p0</Old></a:Password><Name>n</Name></a:Root>',
    )!;
    expect(r.text).toBe(
      '<a:Root xmlns:a="urn:x"><a:Password><Value>[REDACTED:password]</Value><Old>[REDACTED:password]</Old></a:Password><Name>n</Name></a:Root>',
    );
  });

  it('scans other text and attributes by content, decoding and re-encoding entities', () => {
    const r = mask(
      '<R><Note a="x@example.com">mail ann@example.com &amp; co</Note><![CDATA[bob@example.com]]></R>',
    )!;
    expect(r.text).toBe(
      '<R><Note a="[REDACTED:email]">mail [REDACTED:email] &amp; co</Note><![CDATA[[REDACTED:email]]]></R>',
    );
    expect(r.counts).toEqual({ email: 3 });
  });

  it('returns null when nothing changes, and scans a document it cannot follow as text', () => {
    expect(mask('<R><Key>reports/2026.txt</Key><Size>10</Size></R>')).toBeNull();
    const broken = mask('<R><A>ann@example.com</B></R>')!;
    expect(broken.text).toBe('<R><A>[REDACTED:email]</B></R>');
    const dtd = mask('<!DOCTYPE x [<!ENTITY e "ann@example.com">]><R>&e;</R>')!;
    expect(dtd.text).not.toContain('ann@example.com');
    // Read as text, a sensitive element's content is masked by its name (class 241): before, the
    // detectors alone read it, and found nothing in a password.
    const settings = mask(
      '<!DOCTYPE settings><settings><server><password>hunter2</password></server></settings>',
    )!;
    expect(settings.text).toBe(
      '<!DOCTYPE settings><settings><server><password>[REDACTED:password]</password></server></settings>',
    );
  });
  it('reads a name/value pair of elements as its JSON form is read, whichever comes first (class 367)', () => {
    for (const [name, value] of [
      ['ParameterKey', 'ParameterValue'],
      ['OptionName', 'Value'],
      ['Name', 'Value'],
      ['key', 'value'],
    ]) {
      const xml = `<r><member><${value}>hunter2xyz</${value}><${name}>DB_PASSWORD</${name}></member><member><${name}>region</${name}><${value}>eu-west-1</${value}></member></r>`;
      const r = mask(xml)!;
      expect(r.text).not.toContain('hunter2xyz');
      expect(r.text).toContain('[REDACTED:password]');
      expect(r.text).toContain('eu-west-1');
    }
    const cdata = mask('<r><member><Name>api_key</Name><Value><![CDATA[k-123]]></Value></member></r>')!;
    expect(cdata.text).not.toContain('k-123');
  });

  it('masks a value beside <Type>SecureString</Type> and a default beside <NoEcho>true</NoEcho> (class 367, 368)', () => {
    const ssm = mask(
      '<r><Parameter><Name>/a/b</Name><Value>v-secret-1</Value><Type>SecureString</Type></Parameter></r>',
    )!;
    expect(ssm.text).not.toContain('v-secret-1');
    const summary = mask(
      '<r><member><ParameterKey>Signing</ParameterKey><DefaultValue>v-secret-2</DefaultValue><NoEcho>true</NoEcho></member>' +
        '<member><ParameterKey>Region</ParameterKey><DefaultValue>eu-west-1</DefaultValue><NoEcho>false</NoEcho></member></r>',
    )!;
    expect(summary.text).not.toContain('v-secret-2');
    expect(summary.text).toContain('[REDACTED:noecho]');
    expect(summary.text).toContain('eu-west-1');
  });

  it('reads a text an element holds by the field names in it, as a JSON string value is read (class 367)', () => {
    const yaml = mask(
      '<r><TemplateBody>Resources:\n  Db:\n    MasterUserPassword: hunter2xyz\n</TemplateBody></r>',
    )!;
    expect(yaml.text).not.toContain('hunter2xyz');
    const json = mask('<r><Body>{&quot;password&quot;: &quot;hunter2xyz&quot;}</Body></r>')!;
    expect(json.text).not.toContain('hunter2xyz');
    expect(json.text).toContain('&quot;password&quot;');
    // ARNs, times and plain words are left as they were.
    expect(mask('<r><Arn>arn:aws:iam::123456789012:role/x</Arn><T>2024-01-01T00:00:00Z</T></r>')).toBeNull();
  });
});
