import { describe, expect, it } from 'vitest';
import { readConfigXml, withConfigBody } from './s3-config-body.js';
import { s3NeedsBody } from './s3-classifier.js';

const PUT_REPLICATION = {
  protocol: 's3' as const,
  operation: 's3:PutBucketReplication',
  resource: 'scratch',
};

describe('S3 configuration bodies (class 110)', () => {
  it('reads every text but tag keys and values, and the role a configuration names', () => {
    const r = readConfigXml(
      '<?xml version="1.0" encoding="UTF-8"?><ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<Role>arn:aws:iam::123456789012:role/replicator</Role><Rule><Filter><Tag><Key>copy-of</Key><Value>vault</Value></Tag></Filter>' +
        '<Destination><Bucket>arn:aws:s3:::v&#97;ult</Bucket></Destination><Status>Enabled</Status></Rule></ReplicationConfiguration>',
    );
    expect(r).toEqual({
      texts: ['arn:aws:iam::123456789012:role/replicator', 'arn:aws:s3:::vault', 'Enabled'],
      roles: ['arn:aws:iam::123456789012:role/replicator'],
    });
  });

  it('an attribute value holding `>` does not end its tag; a self-closed element opens nothing', () => {
    const r = readConfigXml('<A x="a>b" y=\'<\'><B/><C>name</C></A>');
    expect(r).toEqual({ texts: ['name'], roles: [] });
  });

  it('refuses what could hide a text from this reading, and malformed documents', () => {
    for (const xml of [
      '<A><Bucket><!-- x -->vault</Bucket></A>',
      '<A><Bucket><![CDATA[vault]]></Bucket></A>',
      '<!DOCTYPE a [<!ENTITY e "vault">]><A>&e;</A>',
      '<A><?pi vault?></A>',
      '<A><B>vault</A>',
      '<A><B>vault</B>',
      '<A><B vault</B></A>',
    ])
      expect(typeof readConfigXml(xml), xml).toBe('string');
  });

  it('a body not read, not UTF-8 or not well formed is unknown; a policy is read as JSON', () => {
    expect(withConfigBody(PUT_REPLICATION, 'replication', undefined).operation).toBeUndefined();
    expect(
      withConfigBody(PUT_REPLICATION, 'replication', Buffer.from([0x3c, 0x41, 0xff, 0x3e])).operation,
    ).toBeUndefined();
    const policy = withConfigBody(
      { protocol: 's3', operation: 's3:PutBucketPolicy', resource: 'scratch' },
      'policy',
      Buffer.from(JSON.stringify({ Statement: [{ Resource: 'arn:aws:s3:::vault/*' }] })),
    );
    expect(policy.mentions).toEqual(['arn:aws:s3:::vault/*']);
    const passing = withConfigBody(
      PUT_REPLICATION,
      'replication',
      Buffer.from('<R><Role>arn:aws:iam::123456789012:role/admin</Role></R>'),
    );
    expect(passing.implied?.map((i) => [i.operation, i.resource])).toEqual([
      ['iam:PassRole', 'arn:aws:iam::123456789012:role/admin'],
    ]);
  });

  it('asks for the bodies of configuration writes, not of object data or tags', () => {
    expect(s3NeedsBody('PUT', { replication: '' })).toBe(true);
    expect(s3NeedsBody('PUT', { logging: '' })).toBe(true);
    expect(s3NeedsBody('POST', { restore: '' })).toBe(true);
    expect(s3NeedsBody('POST', { delete: '' })).toBe(true);
    expect(s3NeedsBody('GET', { replication: '' })).toBe(false);
    expect(s3NeedsBody('PUT', {})).toBe(false);
    expect(s3NeedsBody('PUT', { tagging: '' })).toBe(false);
    expect(s3NeedsBody('POST', { select: '', 'select-type': '2' })).toBe(false);
  });
});
