import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDetectorSet } from '../../masking/index.js';
import { DEFAULT_RESPONSE_FIELDS, fieldMatcher } from './field-names.js';
import type { ResponseMasking } from './http-settings.js';
import { LineMasker, LineTooLong, lineFraming, type LineFraming } from './line-masking.js';

const masking = (maxBodyBytes = 1024): ResponseMasking => ({
  detectors: createDetectorSet(),
  enabledDetectors: 'all',
  fieldNames: DEFAULT_RESPONSE_FIELDS,
  fields: fieldMatcher(DEFAULT_RESPONSE_FIELDS),
  style: 'redact',
  maxBodyBytes,
  objectScanMaxBytes: maxBodyBytes,
});

async function run(framing: LineFraming, pieces: string[], max?: number): Promise<string> {
  const m = new LineMasker(framing, masking(max));
  let out = '';
  for await (const c of Readable.from(pieces.map((p) => Buffer.from(p))).pipe(m)) out += String(c);
  return out;
}

describe('LineMasker', () => {
  it('knows the stream types it masks', () => {
    expect(lineFraming('text/event-stream; charset=utf-8')).toBe('events');
    expect(lineFraming('application/x-ndjson')).toBe('lines');
    expect(lineFraming('application/vnd.amazon.eventstream')).toBeUndefined();
  });

  it('masks a line cut across pieces whole, keeping line ends', async () => {
    const out = await run('lines', ['{"password":"pw-12', '34567"}\r\n{"a":1}\n', '{"token":"t-1"}']);
    expect(out).toBe('{"password":"[REDACTED:password]"}\r\n{"a":1}\n{"token":"[REDACTED:token]"}');
  });

  it('masks an event whose JSON is split over data lines, with CR, LF or CRLF line ends', async () => {
    for (const nl of ['\n', '\r', '\r\n']) {
      const event = `event: x${nl}data: {"password":${nl}data: "pw-1234567"}${nl}${nl}`;
      const out = await run('events', [
        event.slice(0, 20),
        event.slice(20),
        `data: ann@example.com${nl}${nl}`,
      ]);
      expect(out).not.toContain('pw-1234567');
      expect(out).not.toContain('ann@example.com');
      expect(out.startsWith('event: x')).toBe(true);
      expect(out).toContain('[REDACTED:password]');
    }
  });

  it('relays an event with nothing to mask as it came', async () => {
    expect(await run('events', ['id: 1\rdata: a\rdata: b\r\r'])).toBe('id: 1\rdata: a\rdata: b\r\r');
  });

  it('ends the stream at a unit longer than the cap', async () => {
    await expect(run('lines', ['x'.repeat(2000)], 1024)).rejects.toBeInstanceOf(LineTooLong);
  });
});
