import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../store/event-queries.js';
import { terminalRecording } from './terminal-recording.js';

const ev = (seq: number, type: string, data: Record<string, unknown>, at = 1_000 + seq): StoredEvent => ({
  session: 's',
  seq,
  type,
  at: new Date(at),
  data,
  prev: '',
  hash: '',
});

describe('terminal recordings in a record', () => {
  it('builds an asciicast from terminal.start/output events', async () => {
    const got = await terminalRecording(
      [
        ev(1, 'terminal.start', { width: 100, height: 30 }),
        ev(2, 'terminal.output', { t: 0.5, data: '$ ls\r\n' }),
      ],
      undefined,
    );
    expect(got?.kind).toBe('cast');
    const lines = got?.kind === 'cast' ? got.text.split('\n') : [];
    expect(JSON.parse(lines[0]!)).toMatchObject({ version: 2, width: 100, height: 30 });
    expect(JSON.parse(lines[1]!)).toEqual([0.5, 'o', '$ ls\r\n']);
  });

  it('checks a blob-stored cast against its hash', async () => {
    const blobs = {
      kind: 'local' as const,
      put: async () => undefined,
      get: async () => Buffer.from('{"version":2}\n'),
      deletePrefix: async () => 0,
    };
    const got = await terminalRecording(
      [ev(1, 'terminal.asciicast', { castRef: { key: 'k', sha256: '00' } })],
      blobs,
    );
    expect(got).toEqual({
      kind: 'unavailable',
      reason: 'the recording blob does not match its hash (changed)',
    });
  });

  it('finds nothing in a database session', async () => {
    expect(await terminalRecording([ev(1, 'statement', {})], undefined)).toBeUndefined();
  });

  it('reads a Kubernetes exec recording from its result event (terminalRef)', async () => {
    const body = Buffer.from(
      JSON.stringify({ cast: '{"version":2}\n[0.1,"o","bin\\n"]\n', format: 'asciicast-v2' }),
    );
    const sha256 = createHash('sha256').update(body).digest('hex');
    const blobs = {
      kind: 'local' as const,
      put: async () => undefined,
      get: async () => body,
      deletePrefix: async () => 0,
    };
    const got = await terminalRecording([ev(1, 'result', { terminalRef: { key: 'k', sha256 } })], blobs);
    expect(got).toEqual({ kind: 'cast', text: '{"version":2}\n[0.1,"o","bin\\n"]\n' });
    const changed = await terminalRecording(
      [ev(1, 'result', { terminalRef: { key: 'k', sha256: '00' } })],
      blobs,
    );
    expect(changed?.kind).toBe('unavailable');
  });
});
