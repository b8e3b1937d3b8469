import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDetectorSet } from '../../masking/index.js';
import {
  encodeMessage,
  EventStreamError,
  EventStreamMasker,
  headerString,
  readMessage,
  stringHeader,
  type EventMessage,
} from './event-stream-masking.js';
import { DEFAULT_RESPONSE_FIELDS, fieldMatcher } from './field-names.js';

const event = (type: string, payload: string, contentType?: string): EventMessage => ({
  headers: [
    stringHeader(':message-type', 'event'),
    stringHeader(':event-type', type),
    ...(contentType ? [stringHeader(':content-type', contentType)] : []),
  ],
  payload: Buffer.from(payload, 'utf8'),
});

async function mask(messages: (EventMessage | Buffer)[], maxLine = 4096) {
  const m = new EventStreamMasker({
    masking: {
      detectors: createDetectorSet(),
      enabledDetectors: 'all',
      fieldNames: DEFAULT_RESPONSE_FIELDS,
      fields: fieldMatcher(DEFAULT_RESPONSE_FIELDS),
      style: 'redact',
    },
    maxLine,
  });
  const bytes = Buffer.concat(messages.map((x) => (Buffer.isBuffer(x) ? x : encodeMessage(x))));
  // Fed in 7-byte pieces: messages and their preludes arrive cut anywhere.
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
  let out = Buffer.alloc(0);
  for await (const c of Readable.from(pieces).pipe(m)) out = Buffer.concat([out, c as Buffer]);
  const decoded: EventMessage[] = [];
  for (let rest = out; rest.length > 0;) {
    const r = readMessage(rest)!;
    decoded.push(r.message);
    rest = rest.subarray(r.length);
  }
  return { out, bytes, decoded, counts: m.counts };
}

const PASSWORD = 'correct-horse-battery';

describe('AWS event stream masking', () => {
  it('reads what it writes, and refuses a message whose CRC does not match', () => {
    const m: EventMessage = {
      headers: [
        stringHeader(':event-type', 'Records'),
        { name: 'flag', type: 0, value: Buffer.alloc(0) },
        { name: 'n', type: 4, value: Buffer.from([0, 0, 1, 0]) },
        { name: 'id', type: 9, value: Buffer.alloc(16, 7) },
      ],
      payload: Buffer.from('a,b\n'),
    };
    const b = encodeMessage(m);
    const r = readMessage(b)!;
    expect(r.length).toBe(b.length);
    expect(headerString(r.message, ':event-type')).toBe('Records');
    expect(encodeMessage(r.message)).toEqual(b);
    expect(readMessage(b.subarray(0, b.length - 1))).toBeUndefined();
    const bad = Buffer.from(b);
    bad[b.length - 6] = bad[b.length - 6]! ^ 1;
    expect(() => readMessage(bad)).toThrow(EventStreamError);
    const badPrelude = Buffer.from(b);
    badPrelude[5] = badPrelude[5]! ^ 1;
    expect(() => readMessage(badPrelude)).toThrow(EventStreamError);
  });

  it('masks records joined across messages: a value cut between two is masked whole', async () => {
    const r = await mask([
      event('Records', `{"user":"bob","password":"${PASSWORD.slice(0, 7)}`, 'application/octet-stream'),
      event(
        'Records',
        `${PASSWORD.slice(7)}"}\n{"user":"al","note":"card 4111 1111 1111 1111"}\n`,
        'application/octet-stream',
      ),
      event('Stats', '<Stats><BytesScanned>10</BytesScanned></Stats>', 'text/xml'),
      {
        headers: [stringHeader(':message-type', 'event'), stringHeader(':event-type', 'End')],
        payload: Buffer.alloc(0),
      },
    ]);
    const text = r.out.toString('latin1');
    expect(text).not.toContain(PASSWORD.slice(0, 7));
    expect(text).not.toContain(PASSWORD.slice(7));
    expect(text).not.toContain('4111 1111');
    const records = r.decoded.filter((m) => headerString(m, ':event-type') === 'Records');
    expect(records.map((m) => m.payload.toString()).join('')).toBe(
      '{"user":"bob","password":"[REDACTED:password]"}\n{"user":"al","note":"card [REDACTED:credit_card]"}\n',
    );
    expect(r.decoded.map((m) => headerString(m, ':event-type'))).toEqual(['Records', 'Stats', 'End']);
    expect(r.counts).toEqual({ password: 1, credit_card: 1 });
  });

  it('joins Records and PayloadChunk pieces whatever their content type says (JSON lines cut mid-record)', async () => {
    for (const type of ['Records', 'PayloadChunk']) {
      const r = await mask([
        event(type, `{"user":"bob","password":"${PASSWORD.slice(0, 7)}`),
        event(type, `${PASSWORD.slice(7)}"}\n`, 'application/json'),
      ]);
      const out = r.decoded.map((m) => m.payload.toString()).join('');
      expect(out).toBe('{"user":"bob","password":"[REDACTED:password]"}\n');
    }
  });

  it('masks a JSON event alone (a Bedrock or Kinesis chunk) and passes a clean stream byte for byte', async () => {
    const r = await mask([event('chunk', `{"secret":"${PASSWORD}","n":1}`, 'application/json')]);
    expect(r.decoded[0]!.payload.toString()).toBe('{"secret":"[REDACTED:secret]","n":1}');
    const clean = await mask([
      event('Records', '1,alice\n2,bob\n', 'application/octet-stream'),
      event('Records', '3,carol\n', 'application/octet-stream'),
      event('Stats', '<Stats/>', 'text/xml'),
    ]);
    expect(clean.out).toEqual(clean.bytes);
  });

  it('masks pieces longer than the inline bound (on the masking thread)', async () => {
    const line = (i: number) => `{"i":${i},"pad":"${'x'.repeat(200)}","token":"${PASSWORD}-${i}"}\n`;
    const body = Array.from({ length: 600 }, (_, i) => line(i)).join('');
    expect(body.length).toBeGreaterThan(64 * 1024);
    const r = await mask(
      [event('Records', body.slice(0, 70_000)), event('Records', body.slice(70_000))],
      1 << 20,
    );
    const out = r.decoded.map((m) => m.payload.toString()).join('');
    expect(out).not.toContain(PASSWORD);
    expect(out.split('\n').filter(Boolean)).toHaveLength(600);
    expect(r.counts.token).toBe(600);
  });

  it('cuts the stream at a line longer than it holds, at a broken message, and at a stream ending inside one', async () => {
    await expect(mask([event('Records', 'x'.repeat(100), 'application/octet-stream')], 50)).rejects.toThrow(
      EventStreamError,
    );
    const b = encodeMessage(event('Records', 'a\n'));
    b[b.length - 1] = b[b.length - 1]! ^ 1;
    await expect(mask([b])).rejects.toThrow(/CRC/);
    await expect(mask([encodeMessage(event('Records', 'a\n')).subarray(0, 20)])).rejects.toThrow(
      /inside a message/,
    );
  });
});
