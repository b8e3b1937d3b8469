// Verifies an exported session record offline (docs/recording.md §Verifying): every line canonical,
// the hash chain unbroken, every seal signed by the expected Ed25519 key, every blob matching its hash.
// It needs nothing but the lines and a public key, and names the first line that does not check out.

import type { KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import {
  eventHash,
  GENESIS_PREV,
  keyFingerprint,
  RECORD_FORMAT_VERSION,
  sealMessage,
  sha256Hex,
  type ChainedEvent,
} from './record-format.js';
import { publicKeyFromSpki, verifySeal } from './record-signing-key.js';

export type SignatureStatus =
  /** Every event is covered by a valid seal. */
  | 'signed'
  /** Events after the last valid seal are not covered by a signature. */
  | 'partly-signed'
  /** No seal: the session did not end (gateway stopped or crashed), or ended with no signing key. */
  | 'unsigned'
  /** Seals are present but there was no public key to check them with. */
  | 'unverified';

export interface VerifyProblem {
  /** 1-based line number in the export. */
  readonly line: number;
  /** The event's seq, when the line is (or claims to be) an event. */
  readonly seq?: number;
  readonly message: string;
}

export interface VerifyReport {
  /** Chain, seals and blobs all check out (a session that did not end can be intact and unsigned). */
  readonly intact: boolean;
  readonly session?: string;
  readonly events: number;
  readonly lastSeq: number;
  /** The first problem found; verification stops there. */
  readonly problem?: VerifyProblem;
  readonly signature: SignatureStatus;
  /** Last seq covered by a valid seal (0 when none). */
  readonly signedThrough: number;
  readonly ended: boolean;
  /** Fingerprint of the key the seals were checked with, and where it came from. */
  readonly key?: { readonly fingerprint: string; readonly source: KeySource };
  readonly blobs: { readonly verified: number; readonly missing: readonly string[] };
  readonly warnings: readonly string[];
}

/** Where the key the seals were checked with came from. */
export type KeySource = 'given' | 'gateway' | 'export';

export interface VerifyOptions {
  /** The gateway's public key; without it the key in the export's header is used (and said so). */
  readonly publicKey?: KeyObject;
  /** How the caller got publicKey (default `given`: --public-key). */
  readonly publicKeySource?: Exclude<KeySource, 'export'>;
  /**
   * Verifying a stored session: the store marks it ended. Its record must then hold its
   * `session.end`; without one, events were cut from its end (a session the gateway did not end is
   * not marked ended).
   */
  readonly endedInStore?: boolean;
}

const LINE_KEYS: Record<string, readonly string[]> = {
  header: ['exportedAt', 'format', 'publicKey', 'record', 'session', 'version'],
  event: ['event', 'hash', 'record'],
  seal: ['alg', 'at', 'hash', 'key', 'record', 'seq', 'session', 'signature'],
  blob: ['content', 'key', 'record', 'sha256'],
};
const EVENT_KEYS = ['at', 'data', 'prev', 'seq', 'session', 'statement', 'type', 'v'];
const HEX64 = /^[0-9a-f]{64}$/;

class Stop extends Error {
  constructor(readonly problem: VerifyProblem) {
    super(problem.message);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  return Object.keys(obj).find((k) => !allowed.includes(k));
}

export async function verifyRecording(
  lines: Iterable<string> | AsyncIterable<string>,
  opts: VerifyOptions = {},
): Promise<VerifyReport> {
  const warnings: string[] = [];
  let session: string | undefined;
  let key: { k: KeyObject; fingerprint: string; source: KeySource } | undefined;
  if (opts.publicKey) {
    key = {
      k: opts.publicKey,
      fingerprint: keyFingerprint(opts.publicKey.export({ format: 'der', type: 'spki' })),
      source: opts.publicKeySource ?? 'given',
    };
  }
  let lineNo = 0;
  let events = 0;
  let lastSeq = 0;
  let lastHash = GENESIS_PREV;
  let signedThrough = 0;
  let uncheckedSeals = 0;
  let ended = false;
  let sawHeader = false;
  let verifiedBlobs = 0;
  /** sha256 → key of blobs events refer to and that have not been seen yet. */
  const expectedBlobs = new Map<string, string>();

  const fail = (message: string, seq?: number): never => {
    throw new Stop({ line: lineNo, ...(seq !== undefined ? { seq } : {}), message });
  };

  try {
    for await (const raw of lines as AsyncIterable<string>) {
      lineNo++;
      const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (text === '') {
        fail('empty line');
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        fail(
          lineNo === 1
            ? 'the header is not valid JSON'
            : `line ${lineNo} is not valid JSON: it was changed or cut`,
        );
      }
      if (!isObject(value)) fail('not a JSON object');
      const obj = value as Record<string, unknown>;
      const record = obj.record;
      if (typeof record !== 'string' || !(record in LINE_KEYS))
        fail(`unknown record type ${JSON.stringify(record)}`);
      const extra = onlyKeys(obj, LINE_KEYS[record as string] as readonly string[]);
      if (extra !== undefined) fail(`unexpected field ${JSON.stringify(extra)} in a ${String(record)} line`);
      if (canonicalJson(obj) !== text) {
        const seq =
          record === 'event' && isObject(obj.event) && typeof obj.event.seq === 'number'
            ? obj.event.seq
            : undefined;
        fail('the line is not in canonical form: it was edited', seq);
      }

      if (!sawHeader) {
        if (record !== 'header') fail('the first line must be the header');
        sawHeader = true;
        if (obj.format !== 'gatehouse-recording' || obj.version !== RECORD_FORMAT_VERSION) {
          fail(`unsupported format ${JSON.stringify(obj.format)} version ${JSON.stringify(obj.version)}`);
        }
        if (typeof obj.session !== 'string') fail('the header names no session');
        session = obj.session as string;
        const pk = obj.publicKey;
        if (isObject(pk) && typeof pk.spki === 'string') {
          let fromFile: KeyObject | undefined;
          try {
            fromFile = publicKeyFromSpki(pk.spki);
          } catch {
            warnings.push('the public key in the header is not a valid key');
          }
          if (fromFile) {
            const fp = keyFingerprint(fromFile.export({ format: 'der', type: 'spki' }));
            if (key) {
              if (fp !== key.fingerprint)
                warnings.push(`the export names key ${fp}; verifying with the given key ${key.fingerprint}`);
            } else {
              key = { k: fromFile, fingerprint: fp, source: 'export' };
            }
          }
        }
        continue;
      }

      switch (record) {
        case 'header':
          fail('a second header');
          break;
        case 'event': {
          const e = obj.event;
          if (!isObject(e)) fail('an event line without an event');
          const ev = e as Record<string, unknown>;
          const seq = typeof ev.seq === 'number' ? ev.seq : undefined;
          const bad = onlyKeys(ev, EVENT_KEYS);
          if (bad !== undefined) fail(`unexpected field ${JSON.stringify(bad)} in the event`, seq);
          if (seq !== lastSeq + 1) {
            fail(
              seq === undefined
                ? 'the event has no seq'
                : seq > lastSeq + 1
                  ? `events ${lastSeq + 1}..${seq - 1} are missing`
                  : `event ${seq} is out of order (expected ${lastSeq + 1})`,
              seq,
            );
          }
          if (ev.session !== session)
            fail(`the event belongs to another session (${JSON.stringify(ev.session)})`, seq);
          if (ev.v !== RECORD_FORMAT_VERSION) fail(`unsupported event version ${JSON.stringify(ev.v)}`, seq);
          const hash = eventHash(ev as unknown as ChainedEvent);
          if (obj.hash !== hash) {
            fail(`event ${seq} was changed: its content does not match its hash`, seq);
          }
          if (ev.prev !== lastHash) {
            fail(
              `event ${seq} does not follow event ${lastSeq}: its prev is not the hash of the event before it`,
              seq,
            );
          }
          lastSeq = seq as number;
          lastHash = hash;
          events++;
          if (ev.type === 'session.end') ended = true;
          for (const field of ['sampleRef', 'terminalRef']) {
            const ref = isObject(ev.data) ? ev.data[field] : undefined;
            if (isObject(ref) && typeof ref.sha256 === 'string' && typeof ref.key === 'string') {
              expectedBlobs.set(ref.sha256, ref.key);
            }
          }
          break;
        }
        case 'seal': {
          const seq = typeof obj.seq === 'number' ? obj.seq : undefined;
          if (obj.session !== session) fail('the seal belongs to another session', lastSeq);
          if (seq !== undefined && seq > lastSeq) {
            fail(
              `a seal names event ${seq}, but the record ends at event ${lastSeq}: events signed at the end were removed`,
              lastSeq,
            );
          }
          if (seq !== lastSeq || obj.hash !== lastHash) {
            fail(
              `the seal after event ${lastSeq} does not cover it (it names event ${String(obj.seq)})`,
              lastSeq,
            );
          }
          if (
            obj.alg !== 'Ed25519' ||
            typeof obj.signature !== 'string' ||
            typeof obj.key !== 'string' ||
            typeof obj.at !== 'string'
          ) {
            fail('the seal is malformed', lastSeq);
          }
          if (!key) {
            uncheckedSeals++;
            warnings.push(`seal over event ${lastSeq} not checked: no public key (pass --public-key)`);
            break;
          }
          if (obj.key !== key.fingerprint) {
            fail(
              `the seal over event ${lastSeq} was made with key ${String(obj.key)}, not ${key.fingerprint}`,
              lastSeq,
            );
          }
          const message = sealMessage({
            session: obj.session as string,
            seq: lastSeq,
            hash: lastHash,
            alg: 'Ed25519',
            key: obj.key as string,
            at: obj.at as string,
          });
          if (!verifySeal(key.k, message, obj.signature as string)) {
            fail(`the signature of the seal over event ${lastSeq} is not valid`, lastSeq);
          }
          signedThrough = lastSeq;
          break;
        }
        case 'blob': {
          const sha = obj.sha256;
          if (typeof sha !== 'string' || !HEX64.test(sha)) fail('a blob line without a SHA-256');
          const expectedKey = expectedBlobs.get(sha as string);
          if (expectedKey === undefined || expectedKey !== obj.key) {
            fail(
              `blob ${JSON.stringify(obj.key)} is not referenced by any event before it: it, or its reference, was changed`,
            );
          }
          if (sha256Hex(canonicalJson(obj.content)) !== sha) {
            fail(
              `blob ${String(obj.key)} was changed: its content does not match the SHA-256 its event holds`,
            );
          }
          expectedBlobs.delete(sha as string);
          verifiedBlobs++;
          break;
        }
      }
    }
    if (!sawHeader) {
      lineNo = Math.max(lineNo, 1);
      fail('the export is empty');
    }
    if (opts.endedInStore && events > 0 && !ended) {
      fail(
        `the store says the session ended, but its record stops at event ${lastSeq} without its session.end: events at its end were removed`,
        lastSeq,
      );
    }
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return {
      intact: false,
      ...(session !== undefined ? { session } : {}),
      events,
      lastSeq,
      problem: e.problem,
      signature: signedThrough > 0 ? 'partly-signed' : 'unsigned',
      signedThrough,
      ended,
      ...(key ? { key: { fingerprint: key.fingerprint, source: key.source } } : {}),
      blobs: { verified: verifiedBlobs, missing: [...expectedBlobs.values()] },
      warnings,
    };
  }
  const signature: SignatureStatus =
    signedThrough === 0
      ? uncheckedSeals > 0
        ? 'unverified'
        : 'unsigned'
      : signedThrough === lastSeq
        ? 'signed'
        : 'partly-signed';
  if (expectedBlobs.size > 0)
    warnings.push(
      `${expectedBlobs.size} referenced blob(s) not in the export (exported without blobs, or purged)`,
    );
  return {
    intact: true,
    ...(session !== undefined ? { session } : {}),
    events,
    lastSeq,
    signature,
    signedThrough,
    ended,
    ...(key ? { key: { fingerprint: key.fingerprint, source: key.source } } : {}),
    blobs: { verified: verifiedBlobs, missing: [...expectedBlobs.values()] },
    warnings,
  };
}
