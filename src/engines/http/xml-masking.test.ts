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
});
