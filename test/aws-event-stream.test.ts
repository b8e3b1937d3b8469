// S3 SelectObjectContent answers with an AWS event stream (application/vnd.amazon.eventstream),
// which the gateway relayed unmasked: an agent whose object reads are masked read the same object's
// secrets through `select-object-content` (docs/security.md class 151). Through the gateway with the
// real AWS SDK, whose event-stream reader checks every message's CRCs; the upstream answers as S3 does.

import { randomBytes } from 'node:crypto';
import { S3Client, SelectObjectContentCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, stringHeader } from '../src/engines/http/event-stream-masking.js';
import {
  startCheckingUpstream,
  type CannedResponse,
  type CheckingUpstream,
  type RealCredentials,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const REAL: RealCredentials = {
  accessKeyId: 'AKIAGATEWAYREAL00151',
  secretAccessKey: `RealSecret${randomBytes(15).toString('hex')}`,
};
/** No detector recognises it: only its field name can mask it. */
const PASSWORD = 'correct-horse-battery';
const CARD = '4111 1111 1111 1111';

const records = (payload: string) =>
  encodeMessage({
    headers: [
      stringHeader(':message-type', 'event'),
      stringHeader(':event-type', 'Records'),
      stringHeader(':content-type', 'application/octet-stream'),
    ],
    payload: Buffer.from(payload),
  });
const bare = (type: string, payload = '', contentType?: string) =>
  encodeMessage({
    headers: [
      stringHeader(':message-type', 'event'),
      stringHeader(':event-type', type),
      ...(contentType ? [stringHeader(':content-type', contentType)] : []),
    ],
    payload: Buffer.from(payload),
  });

// The password is cut between two Records messages, as S3 cuts records wherever its buffer ends.
const STREAM = Buffer.concat([
  records(`{"user":"bob","password":"${PASSWORD.slice(0, 9)}`),
  records(`${PASSWORD.slice(9)}","team":"ops"}\n{"user":"al","note":"paid with ${CARD}"}\n`),
  bare(
    'Stats',
    '<Stats><BytesScanned>120</BytesScanned><BytesProcessed>120</BytesProcessed><BytesReturned>90</BytesReturned></Stats>',
    'text/xml',
  ),
  bare('End'),
]);

// A private key in a CSV field, its lines cut across Records messages at line ends (class 233): the
// message with BEGIN masked what it held, the next ones' lines went out in clear.
const KEY_BODY = [
  'MIICXgIBAAKBgQDvJRimdZenfajYSkS+rqvLPHlAhB428O/IrNGH20RlLsMw0lRG',
  '0/CHFOLTkwG/L1ci5CPlYYEhrBNhI87cTxIug+OiY2TotRH4aBHNSgp50WVCrCT4',
  'y2nBaIDLm7oEs0qng+JZgL2vr8QbkPEI4vHbNG7guuEg3/goabaxaHDrGQIDAQAB',
];
const KEY_STREAM = Buffer.concat([
  records(`id,key\n1,"-----BEGIN RSA PRIVATE KEY-----\n${KEY_BODY[0]}\n`),
  records(`${KEY_BODY[1]}\n`),
  records(`${KEY_BODY[2]}\n-----END RSA PRIVATE KEY-----"\n2,none\n`),
  bare('End'),
]);

describe('S3 Select through the gateway', { timeout: 60_000 }, () => {
  let up: CheckingUpstream;
  let gw: HttpTestGateway;
  let s3: S3Client;

  beforeAll(async () => {
    up = await startCheckingUpstream({
      credentials: [REAL],
      // Without a Content-Type the operation says it is an event stream; `labelled.json` is answered
      // with the event stream's own type, which was relayed as it came.
      respond: (req): CannedResponse =>
        req.method === 'POST'
          ? {
              status: 200,
              headers: (req.url ?? '').includes('labelled')
                ? { 'content-type': 'application/vnd.amazon.eventstream' }
                : {},
              body: (req.url ?? '').includes('keyed') ? KEY_STREAM : STREAM,
            }
          : { status: 200, headers: { 'content-length': '120' }, body: '' },
    });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_151: REAL.secretAccessKey },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET_151' } },
            endpoints: { s3: up.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['aws'],
          rules: [
            {
              id: 'masked-reads',
              effect: 'allow',
              match: { operations: ['s3:Get*', 's3:SelectObjectContent'] },
              mask: true,
            },
          ],
        },
      ],
    });
    const key = await gw.awsKey({ subject: 'claude', agent: true });
    s3 = new S3Client({
      endpoint: gw.endpoint('aws'),
      region: 'us-east-1',
      credentials: key,
      forcePathStyle: true,
      maxAttempts: 1,
    });
  }, 30_000);

  afterAll(async () => {
    s3?.destroy();
    await gw?.stop();
    await up?.stop();
  });

  for (const key of ['users.json', 'labelled.json'])
    it(`masks the records of ${key}, a value cut between two messages whole, and the SDK reads every message`, async () => {
      const r = await s3.send(
        new SelectObjectContentCommand({
          Bucket: 'data',
          Key: key,
          Expression: 'SELECT * FROM S3Object s',
          ExpressionType: 'SQL',
          InputSerialization: { JSON: { Type: 'LINES' } },
          OutputSerialization: { JSON: {} },
        }),
      );
      let text = '';
      const kinds: string[] = [];
      for await (const ev of r.Payload!) {
        if (ev.Records) text += Buffer.from(ev.Records.Payload!).toString('utf8');
        kinds.push(Object.keys(ev).find((k) => k !== '$unknown') ?? '?');
      }
      expect(up.seen.some((s) => s.method === 'POST' && s.url.includes('select'))).toBe(true);
      expect(text).not.toContain(PASSWORD.slice(0, 9));
      expect(text).not.toContain(PASSWORD.slice(9));
      expect(text).not.toContain(CARD);
      expect(text).toBe(
        '{"user":"bob","password":"[REDACTED:password]","team":"ops"}\n{"user":"al","note":"paid with [REDACTED:credit_card]"}\n',
      );
      expect(kinds).toContain('Stats');
      expect(kinds[kinds.length - 1]).toBe('End');
    });

  it('masks a private key whose lines are cut across messages whole (class 233; before: its later lines in clear)', async () => {
    const r = await s3.send(
      new SelectObjectContentCommand({
        Bucket: 'data',
        Key: 'keyed.csv',
        Expression: 'SELECT * FROM S3Object s',
        ExpressionType: 'SQL',
        InputSerialization: { CSV: { FileHeaderInfo: 'NONE' } },
        OutputSerialization: { CSV: {} },
      }),
    );
    let text = '';
    for await (const ev of r.Payload!)
      if (ev.Records) text += Buffer.from(ev.Records.Payload!).toString('utf8');
    for (const line of KEY_BODY) expect(text).not.toContain(line);
    expect(text).toBe('id,key\n1,"[REDACTED:private_key]"\n2,none\n');
  });
});
