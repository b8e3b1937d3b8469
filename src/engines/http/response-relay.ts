// Sends the upstream's response to the client: object bodies and streams are piped untouched (a 1 GB
// S3 GetObject is never buffered); JSON and XML API responses are buffered under a cap and masked by
// field name and content; an object body is scanned only when the decision carries a mask obligation.
// A body that must be masked but cannot be (too large, undecodable) is withheld, never sent unmasked.

import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Readable, Transform, Writable } from 'node:stream';
import { CredentialScrub, scrubHeaders, scrubText } from './credential-echo.js';
import { EventStreamError, EventStreamMasker } from './event-stream-masking.js';
import { LineMasker, LineTooLong, lineFraming } from './line-masking.js';
import { unmaskableBinary } from './binary-field-names.js';
import { maskBodyOffLoop } from './body-masking.js';
import type { ErrorResponse } from './error-responses.js';
import { maskResponseHeaders } from './header-masking.js';
import { isBodyDigestHeader, relayResponseHeaders } from './http-headers.js';
import type { ResponseMasking } from './http-settings.js';
import { readXmlElement } from './xml-text.js';
import { STALLED_ERROR, wasStalled } from '../write-stall.js';

export type BodyKind = 'json' | 'xml' | 'stream' | 'text' | 'binary';

export function bodyKind(contentType: string | undefined): BodyKind {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (t === '') return 'binary';
  if (
    t === 'application/json' ||
    t === 'text/json' ||
    t.startsWith('application/x-amz-json') ||
    t.endsWith('+json')
  )
    return 'json';
  if (t === 'application/xml' || t === 'text/xml' || t.endsWith('+xml')) return 'xml';
  if (
    t === 'text/event-stream' ||
    t === 'application/x-ndjson' ||
    t === 'application/vnd.amazon.eventstream' ||
    t.startsWith('multipart/')
  )
    return 'stream';
  if (
    t.startsWith('text/') ||
    t === 'application/x-www-form-urlencoded' ||
    t === 'application/javascript' ||
    t === 'application/yaml'
  )
    return 'text';
  return 'binary';
}

export interface UpstreamResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Readable;
}

export interface RelayOptions {
  readonly method: string;
  readonly masking: ResponseMasking;
  /** The response is object data (S3 GetObject). */
  readonly objectBody: boolean;
  /** The decision carries a mask obligation: object bodies are scanned too, and headers masked. */
  readonly scanObjects: boolean;
  /** The upstream's Set-Cookie headers are not relayed (the connection's `responseCookies`). */
  readonly withholdCookies: boolean;
  /**
   * The operation answers with an AWS event stream whatever its Content-Type says (S3
   * SelectObjectContent): a success is masked as one (event-stream-masking.ts).
   */
  readonly eventStream?: boolean;
  /** Renders a withheld response in the client's protocol. */
  readonly withhold: (message: string) => ErrorResponse;
  /**
   * The forms of the connection's own credential (credential-echo.ts): replaced wherever the
   * upstream echoes them, in the headers and the body, for every principal (class 257).
   */
  readonly credentialForms?: readonly Buffer[];
}

export interface RelayOutcome {
  readonly status: number;
  readonly masked?: Record<string, number>;
  /** For the record: an upstream error code, a withheld response, or a broken stream. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** `partial`: a 206 that would have to be masked or scanned, which a fragment cannot be (withheld). */
type Plan = 'relay' | 'mask' | 'scan' | 'lines' | 'events' | 'partial';

function plan(method: string, up: UpstreamResponse, o: RelayOptions): Plan {
  const s = up.statusCode;
  if (method === 'HEAD' || s === 204 || s === 304 || s < 200) return 'relay';
  const contentType = headerText(up.headers['content-type']);
  const kind = bodyKind(contentType);
  let p: Plan;
  if (o.eventStream === true && s >= 200 && s < 300) p = 'events';
  else if (o.objectBody && s >= 200 && s < 300) p = o.scanObjects ? 'scan' : 'relay';
  else if (kind === 'json' || kind === 'xml') p = 'mask';
  // The same data in another representation is masked too (class 144): an agent can ask an API that
  // negotiates its format for text/csv, text/plain, NDJSON or an event stream instead of JSON.
  else if (kind === 'stream')
    p =
      lineFraming(contentType) !== undefined
        ? 'lines'
        : isAmazonEventStream(contentType)
          ? 'events'
          : isMultipart(contentType) && !isByteranges(contentType)
            ? 'scan'
            : 'relay';
  else if (kind === 'text') p = 'scan';
  else p = o.scanObjects ? 'scan' : 'relay';
  // A Range response is a fragment: a secret cut at its edge is no longer one a detector or a field
  // name finds, and the client can ask for every piece in turn. multipart/byteranges hides its parts'
  // types. So a partial response that must be masked, or whose parts' types are unknown, is withheld.
  if (s === 206 && (p !== 'relay' || (!o.objectBody && isByteranges(contentType)))) return 'partial';
  return p;
}

function isAmazonEventStream(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/vnd.amazon.eventstream';
}

function isMultipart(contentType: string | undefined): boolean {
  return (contentType ?? '').trim().toLowerCase().startsWith('multipart/');
}

function isByteranges(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'multipart/byteranges';
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The longest unfinished line of an event stream's data held for its end (S3 Select records are far shorter). */
const MAX_EVENT_LINE = 1024 * 1024;

type Decoder = (b: Buffer, options: { maxOutputLength: number }) => Promise<Buffer>;

// Decoded with a cap on the output (maxOutputLength): a few hundred KiB of gzip or br can expand to
// gigabytes, and the cap must hold while decoding, not be checked once everything is in memory.
/** The same decoders as streams, for a stream masked as it streams (its units are capped). */
const STREAM_DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

const DECODERS: Readonly<Record<string, Decoder>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

function isOutputTooLarge(e: unknown): boolean {
  return e instanceof RangeError || (e as { code?: string } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

class Withheld extends Error {}

/** Stops reading an upstream body we will not use (undici reports a bare destroy as an error). */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

async function readUpTo(body: Readable, max: number, declared: number | undefined): Promise<Buffer> {
  if (declared !== undefined && declared > max) {
    discard(body);
    throw new Withheld(`it is larger than ${max} bytes`);
  }
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      discard(body);
      throw new Withheld(`it is larger than ${max} bytes`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}

/** The texts a body that is not UTF-8 is scanned as: latin-1, and UTF-16 after a byte-order mark. */
function nonUtf8Readings(body: Buffer): string[] {
  const out = [body.toString('latin1')];
  const bom = body.length >= 2 ? (body[0]! << 8) | body[1]! : 0;
  if (bom === 0xfffe) out.push(new TextDecoder('utf-16le').decode(body));
  else if (bom === 0xfeff) out.push(new TextDecoder('utf-16be').decode(body));
  return out;
}

function errorCodeOf(kind: BodyKind, text: string): string | undefined {
  if (kind === 'xml') return readXmlElement(text, 'Code');
  if (kind === 'json') {
    const m = /"(?:__type|code|Code)"\s*:\s*"([^"]{1,200})"/.exec(text);
    return m?.[1]?.split('#').pop();
  }
  return undefined;
}

/** Masks a body without holding the event loop (body-masking.ts); a failed masking thread withholds it. */
async function maskText(kind: 'json' | 'xml' | 'text', text: string, m: ResponseMasking) {
  try {
    return await maskBodyOffLoop(kind, text, m);
  } catch (e) {
    throw new Withheld(`it could not be masked (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * Why a response did not get through: the client stopped reading it and was closed (write-stall.ts),
 * or the stream broke. `socket` is the response's socket as it was when the response started (node
 * detaches it from the response when it closes).
 */
export function brokenStream(socket: unknown, e: unknown): { code: string; message: string } {
  if (wasStalled(socket as Writable | null)) return { ...STALLED_ERROR };
  return {
    code: 'stream_broken',
    message: `the response stream broke: ${e instanceof Error ? e.message : String(e)}`.slice(0, 300),
  };
}

/**
 * Sends a whole (buffered, masked) body and waits until it is out: a client that does not read it
 * is closed by its socket's write-stall watch, and the request's record says so.
 */
export async function endBody(
  res: ServerResponse,
  body: Buffer,
): Promise<{ code: string; message: string } | undefined> {
  const socket = res.socket;
  res.end(body);
  // Not stream.finished: a response queued behind a pipelined one never closes when its socket does.
  await new Promise<void>((resolve) => {
    if (res.writableFinished || res.destroyed || !socket || socket.destroyed) return resolve();
    const done = (): void => {
      res.off('finish', done);
      res.off('close', done);
      socket.off('close', done);
      resolve();
    };
    res.on('finish', done);
    res.on('close', done);
    socket.on('close', done);
  });
  return wasStalled(socket) ? brokenStream(socket, undefined) : undefined;
}

function send(res: ServerResponse, r: ErrorResponse): void {
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

/** Counts of what was masked in the headers, added to a relayed response's (the record holds both). */
function withHeaderCounts(outcome: RelayOutcome, counts: Record<string, number>): RelayOutcome {
  if (Object.keys(counts).length === 0) return outcome;
  const masked: Record<string, number> = { ...outcome.masked };
  for (const [k, n] of Object.entries(counts)) masked[k] = (masked[k] ?? 0) + n;
  return { ...outcome, masked };
}

export async function relayResponse(
  res: ServerResponse,
  up: UpstreamResponse,
  o: RelayOptions,
): Promise<RelayOutcome> {
  const headers = relayResponseHeaders(up.headers, { withholdCookies: o.withholdCookies });
  // Headers reach the client with the body they describe, masked as it is (docs/security.md, class 157).
  const counts: Record<string, number> = o.scanObjects ? maskResponseHeaders(headers, o.masking) : {};
  // The connection's credential, echoed in a header, is never relayed, to any principal (class 257).
  const echoed = scrubHeaders(headers, o.credentialForms ?? []);
  if (echoed > 0) counts[CREDENTIAL] = (counts[CREDENTIAL] ?? 0) + echoed;
  let relayed = false;
  const head: Head = (status) => {
    res.writeHead(status, headers);
    relayed = true;
  };
  const outcome = await relayWith(res, up, o, headers, head);
  // A withheld response was answered with Gatehouse's own headers, not these.
  return relayed ? withHeaderCounts(outcome, counts) : outcome;
}

/** Writes the response's head with the upstream's headers (as relayed, and as changed since). */
type Head = (status: number) => void;

async function relayWith(
  res: ServerResponse,
  up: UpstreamResponse,
  o: RelayOptions,
  headers: Record<string, string | string[]>,
  head: Head,
): Promise<RelayOutcome> {
  const p = plan(o.method.toUpperCase(), up, o);
  const status = up.statusCode;
  const upstreamError =
    status >= 400 ? { code: `http_${status}`, message: `the upstream answered ${status}` } : undefined;
  if (p === 'partial') {
    discard(up.body);
    const message =
      'Gatehouse withheld the response because it must be masked and it is a partial (Range) response, ' +
      'which cannot be: nothing was sent. Ask for the whole body, without a Range header.';
    send(res, o.withhold(message));
    return { status, error: { code: 'withheld', message } };
  }
  if (
    p === 'relay' &&
    o.credentialForms !== undefined &&
    o.credentialForms.length > 0 &&
    !storedCodedObject(up, o)
  )
    return relayScrubbed(res, up, o.credentialForms, o, headers, head, upstreamError);
  if (p === 'relay') {
    head(status);
    const socket = res.socket;
    try {
      await pipeline(up.body, res);
    } catch (e) {
      return { status, error: brokenStream(socket, e) };
    }
    return { status, ...(upstreamError ? { error: upstreamError } : {}) };
  }

  if (p === 'lines' || p === 'events') return relayLines(res, up, o, headers, head, upstreamError, p);

  const kind = bodyKind(headerText(up.headers['content-type']));
  // An API's text answer is held to the API cap; an object's (or a binary body's) scan to its own.
  const apiText = (kind === 'text' || kind === 'stream') && !o.objectBody;
  const cap = p === 'mask' || apiText ? o.masking.maxBodyBytes : o.masking.objectScanMaxBytes;
  const declaredText = headerText(up.headers['content-length']);
  const declared =
    declaredText !== undefined && /^\d{1,15}$/.test(declaredText) ? Number(declaredText) : undefined;
  let raw: Buffer;
  let text: string;
  try {
    raw = await readUpTo(up.body, cap, declared);
    const encoding = (headerText(up.headers['content-encoding']) ?? 'identity').trim().toLowerCase();
    let decoded = raw;
    if (encoding !== 'identity' && encoding !== '') {
      const decode = DECODERS[encoding];
      if (!decode) throw new Withheld(`its content-encoding ${encoding} cannot be decoded for masking`);
      decoded = await decode(raw, { maxOutputLength: cap }).catch((e: unknown) => {
        throw new Withheld(
          isOutputTooLarge(e)
            ? `it is larger than ${cap} bytes once decoded`
            : `its ${encoding} encoding is corrupt`,
        );
      });
    }
    // A binary API answer read for a masked principal that names a sensitive field where masking
    // cannot find its value (CBOR, MessagePack, BSON), or whose encoding carries no names: withheld.
    if (p === 'scan' && kind === 'binary' && !o.objectBody) {
      const why = unmaskableBinary(headerText(up.headers['content-type']), decoded, o.masking.fieldNames);
      if (why !== undefined) throw new Withheld(`${why}; ask for JSON`);
    }
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(decoded);
    } catch {
      if (p === 'scan') {
        // Not UTF-8: a binary object, or text in another encoding (one latin-1 byte is enough). It is
        // scanned as latin-1 (every byte one character, so ASCII secrets read as themselves) and as
        // UTF-16 when it starts with a byte-order mark. Nothing found: it goes out as it came. A
        // finding cannot be masked in place without knowing the encoding, so the body is withheld.
        const scanKind = kind === 'xml' ? 'xml' : 'json';
        for (const reading of nonUtf8Readings(decoded)) {
          if (
            (await maskText(scanKind, reading, o.masking)) !== null ||
            scrubText(reading, o.credentialForms ?? []).n > 0
          )
            throw new Withheld('it is not UTF-8 and holds values masking would have to change');
        }
        head(status);
        const stalled = await endBody(res, raw);
        return { status, ...(stalled ? { error: stalled } : upstreamError ? { error: upstreamError } : {}) };
      }
      throw new Withheld('it is not valid UTF-8');
    }
  } catch (e) {
    if (!(e instanceof Withheld)) throw e;
    const message = `Gatehouse withheld the response because it must be masked and ${e.message}; nothing was sent. Ask for less data (a page, a range), or ask an administrator to raise the masking cap.`;
    send(res, o.withhold(message));
    return { status, error: { code: 'withheld', message } };
  }

  // An API's text or multipart answer may hold JSON (a part, an embedded document), CSV, YAML or a
  // form: it is masked as JSON that does not parse is, every value a sensitive field name stands before
  // (src/masking/text-fields.ts) as well as what the detectors find. So is an object a rule has masked
  // (an export in CSV, a config file), whatever its content type says.
  const kindForMask = kind === 'xml' ? 'xml' : 'json';
  let result: Awaited<ReturnType<typeof maskText>>;
  try {
    result = await maskText(kindForMask, text, o.masking);
    // The connection's credential, echoed in the body, whatever name it is under (class 257).
    const echo = scrubText(result?.text ?? text, o.credentialForms ?? []);
    if (echo.n > 0)
      result = {
        text: echo.text,
        counts: { ...result?.counts, [CREDENTIAL]: (result?.counts[CREDENTIAL] ?? 0) + echo.n },
        isNull: false,
      };
  } catch (e) {
    if (!(e instanceof Withheld)) throw e;
    const message = `Gatehouse withheld the response because it must be masked and ${e.message}; nothing was sent.`;
    send(res, o.withhold(message));
    return { status, error: { code: 'withheld', message } };
  }
  const code = status >= 400 ? errorCodeOf(kind, result?.text ?? text) : undefined;
  const error = upstreamError
    ? {
        code: upstreamError.code,
        message: code ? `the upstream answered ${status} ${code}` : upstreamError.message,
      }
    : undefined;
  if (!result) {
    head(status);
    const stalled = await endBody(res, raw);
    return { status, ...(stalled ? { error: stalled } : error ? { error } : {}) };
  }
  const body = Buffer.from(result.text, 'utf8');
  for (const name of Object.keys(headers)) if (isBodyDigestHeader(name)) delete headers[name];
  headers['content-length'] = String(body.length);
  head(status);
  const stalled = await endBody(res, body);
  return { status, masked: { ...result.counts }, ...(stalled ? { error: stalled } : error ? { error } : {}) };
}

/** What the record counts a replaced echo of the connection's credential under. */
const CREDENTIAL = 'connection-credential';

/**
 * A body relayed as it streams, from a connection that injects a credential: every echo of it is
 * replaced as it passes (the same length, so Content-Length holds). A compressed body is decoded
 * first and sent decoded (an echo inside gzip is not in its bytes); one Gatehouse cannot decode is
 * withheld (class 257).
 */
/**
 * An S3 object kept coded (stored with `Content-Encoding: gzip`, as a static site's files often are):
 * its bytes are what was stored, not an echo of this request, so they go out as stored rather than
 * decoded to look for the connection's session token (docs/security.md class 276).
 */
function storedCodedObject(up: UpstreamResponse, o: RelayOptions): boolean {
  const encoding = (headerText(up.headers['content-encoding']) ?? 'identity').trim().toLowerCase();
  return (
    o.objectBody && up.statusCode >= 200 && up.statusCode < 300 && encoding !== 'identity' && encoding !== ''
  );
}

async function relayScrubbed(
  res: ServerResponse,
  up: UpstreamResponse,
  forms: readonly Buffer[],
  o: RelayOptions,
  headers: Record<string, string | string[]>,
  head: Head,
  upstreamError: { code: string; message: string } | undefined,
): Promise<RelayOutcome> {
  const status = up.statusCode;
  const encoding = (headerText(up.headers['content-encoding']) ?? 'identity').trim().toLowerCase();
  const stages: (Readable | Transform)[] = [up.body];
  if (encoding !== 'identity' && encoding !== '') {
    const make = STREAM_DECODERS[encoding];
    if (make === undefined) {
      discard(up.body);
      const message = `Gatehouse withheld the response because its content-encoding ${encoding} cannot be decoded, and the connection's credential must be looked for in it; nothing was sent. Ask for it without compression (Accept-Encoding: identity).`;
      send(res, o.withhold(message));
      return { status, error: { code: 'withheld', message } };
    }
    stages.push(make());
    for (const name of Object.keys(headers)) if (isBodyDigestHeader(name)) delete headers[name];
  }
  const scrub = new CredentialScrub(forms);
  stages.push(scrub);
  head(status);
  const socket = res.socket;
  const found = (): { masked?: Record<string, number> } =>
    scrub.found > 0 ? { masked: { [CREDENTIAL]: scrub.found } } : {};
  try {
    await pipeline([...stages, res] as unknown as readonly NodeJS.ReadWriteStream[]);
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('Z_'))
      return {
        status,
        ...found(),
        error: {
          code: 'withheld',
          message: `Gatehouse cut the response because its ${encoding} encoding could not be decoded; the rest was not sent.`,
        },
      };
    return { status, ...found(), error: brokenStream(socket, e) };
  }
  return { status, ...found(), ...(upstreamError ? { error: upstreamError } : {}) };
}

/** NDJSON and event streams, masked unit by unit as they stream (line-masking.ts). */
async function relayLines(
  res: ServerResponse,
  up: UpstreamResponse,
  o: RelayOptions,
  headers: Record<string, string | string[]>,
  head: Head,
  upstreamError: { code: string; message: string } | undefined,
  p: 'lines' | 'events',
): Promise<RelayOutcome> {
  const status = up.statusCode;
  const encoding = (headerText(up.headers['content-encoding']) ?? 'identity').trim().toLowerCase();
  let decoder: Transform | undefined;
  if (encoding !== 'identity' && encoding !== '') {
    const make = STREAM_DECODERS[encoding];
    if (make === undefined) {
      discard(up.body);
      const message = `Gatehouse withheld the response because it must be masked and its content-encoding ${encoding} cannot be decoded for masking; nothing was sent.`;
      send(res, o.withhold(message));
      return { status, error: { code: 'withheld', message } };
    }
    decoder = make();
  }
  for (const name of Object.keys(headers)) if (isBodyDigestHeader(name)) delete headers[name];
  const scrub =
    o.credentialForms !== undefined && o.credentialForms.length > 0
      ? new CredentialScrub(o.credentialForms)
      : undefined;
  const masker =
    p === 'lines'
      ? new LineMasker(lineFraming(headerText(up.headers['content-type']))!, o.masking)
      : new EventStreamMasker({
          masking: o.masking,
          maxLine: Math.min(o.masking.maxBodyBytes, MAX_EVENT_LINE),
        });
  head(status);
  const socket = res.socket;
  const masked = (): { masked?: Record<string, number> } => {
    const counts: Record<string, number> = { ...masker.counts };
    if (scrub !== undefined && scrub.found > 0) counts[CREDENTIAL] = (counts[CREDENTIAL] ?? 0) + scrub.found;
    return Object.keys(counts).length > 0 ? { masked: counts } : {};
  };
  try {
    const stages: (Transform | Readable)[] = [up.body];
    if (decoder !== undefined) stages.push(decoder);
    stages.push(masker);
    if (scrub !== undefined) stages.push(scrub);
    await pipeline([...stages, res] as unknown as readonly NodeJS.ReadWriteStream[]);
  } catch (e) {
    if (
      e instanceof LineTooLong ||
      e instanceof EventStreamError ||
      e instanceof TypeError ||
      (e as { code?: string }).code?.startsWith('Z_')
    )
      return {
        status,
        ...masked(),
        error: {
          code: 'withheld',
          message: `Gatehouse cut the stream because it must be masked and ${e instanceof LineTooLong ? `it holds ${e.message}` : e instanceof EventStreamError ? `it could not be masked: ${e.message}` : 'it could not be decoded'}; the rest was not sent.`,
        },
      };
    return { status, ...masked(), error: brokenStream(socket, e) };
  }
  return { status, ...masked(), ...(upstreamError ? { error: upstreamError } : {}) };
}
