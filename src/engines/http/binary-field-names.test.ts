import { describe, expect, it } from 'vitest';
import { unmaskableBinary } from './binary-field-names.js';
import { DEFAULT_RESPONSE_FIELDS } from './field-names.js';

const names = [...DEFAULT_RESPONSE_FIELDS];
const check = (type: string | undefined, body: Buffer | string) =>
  unmaskableBinary(type, typeof body === 'string' ? Buffer.from(body, 'latin1') : body, names);

describe('binary answers masking cannot read (docs/security.md, class 206)', () => {
  it.each([
    ['application/msgpack', '\x81\xa8password\xa5hello'],
    ['application/cbor', '\xa1hpasswordehello'],
    ['application/x-jackson-smile', ':)\n\x03\xfa\x87password\x44hello\xfb'],
    ['application/bson', '\x16\x00\x00\x00\x02api_key\x00\x06\x00\x00\x00hello\x00\x00'],
    [undefined, '\x81\xabDB-PASSWORD\xa5hello'],
    ['application/octet-stream', '\x81\xaesecretAccessKey\xa5hello'],
  ])('%s naming a sensitive field is withheld', (type, body) => {
    expect(check(type, body)).toMatch(/names a sensitive field/);
  });

  it('finds a name in UTF-16 after a byte-order mark', () => {
    expect(
      check(
        'application/x-custom',
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('\u0001token\u0002', 'utf16le')]),
      ),
    ).toMatch(/sensitive field/);
  });

  it.each([
    'application/x-protobuf',
    'application/grpc+proto',
    'application/vnd.google.protobuf',
    'avro/binary',
    'application/x-thrift',
    'application/ion',
  ])('%s carries no names: withheld whatever it holds', (type) => {
    expect(check(type, '\x12\x05hello')).toMatch(/no field names/);
  });

  it('lets through JSON under any label, and binary that names no sensitive field', () => {
    expect(check('application/octet-stream', '{"password":"x"}')).toBeUndefined();
    expect(check('application/msgpack', '\x81\xa4user\xa3ann')).toBeUndefined();
    expect(check('image/png', '\x89PNG\r\n\x1a\n\x00\xff')).toBeUndefined();
    expect(check('application/pdf', '%PDF-1.7 stream')).toBeUndefined();
  });

  it('reads names with a configured extra field, as the matcher does (case, - _ . ignored)', () => {
    expect(
      unmaskableBinary('application/msgpack', Buffer.from('\x81\xa9X.Tenant-K\xa3abc', 'latin1'), [
        'tenant_k',
      ]),
    ).toMatch(/sensitive field/);
  });
});
