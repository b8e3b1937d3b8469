// The connection's own credential, sent back by the upstream. Gatehouse injects a bearer token, a
// basic password or an API key header into every request of a generic HTTP connection; an upstream
// that echoes its request (httpbin's /headers and /anything, a debug endpoint, an error page quoting
// the request, PHP's phpinfo()) hands it to whoever asked, in a header or a body. Field-name masking
// does not find it under a name it does not know (`X-Tenant-Auth`), in a response header of an
// unmasked principal, or in a binary body nobody scans. So every byte of a response from such a
// connection goes through here, for every principal: each form the credential can be echoed in is
// replaced by as many `*` (the body keeps its length, so its Content-Length stays true). docs/security.md,
// class 257.

import { Transform, type TransformCallback } from 'node:stream';

/** Shorter values are not looked for: they would be found in ordinary text (and are no credential). */
const MIN_FORM_BYTES = 4;

/**
 * The byte forms an echo can carry the credential values in: as sent, escaped for JSON (`\/`, `\"`,
 * `\\`), percent-encoded (a query string or a form that quotes the request), longest first.
 */
export function credentialForms(values: readonly string[]): readonly Buffer[] {
  const out = new Set<string>();
  for (const v of values) {
    if (v.length === 0) continue;
    out.add(v);
    out.add(JSON.stringify(v).slice(1, -1));
    out.add(JSON.stringify(v).slice(1, -1).replace(/\//g, '\\/'));
    out.add(encodeURIComponent(v));
  }
  return [...out]
    .map((s) => Buffer.from(s, 'utf8'))
    .filter((b) => b.length >= MIN_FORM_BYTES)
    .sort((a, b) => b.length - a.length);
}

const STAR = 0x2a;

/** Overwrites every occurrence of every form in `buf` with `*`, in place; returns how many. */
function scrubInPlace(buf: Buffer, forms: readonly Buffer[]): number {
  let n = 0;
  for (const f of forms) {
    let i = buf.indexOf(f);
    while (i !== -1) {
      buf.fill(STAR, i, i + f.length);
      n++;
      i = buf.indexOf(f, i + f.length);
    }
  }
  return n;
}

/** A string with every form replaced (same length in bytes); `n` says how many were. */
export function scrubText(text: string, forms: readonly Buffer[]): { text: string; n: number } {
  if (forms.length === 0) return { text, n: 0 };
  const buf = Buffer.from(text, 'utf8');
  const n = scrubInPlace(buf, forms);
  return n === 0 ? { text, n } : { text: buf.toString('utf8'), n };
}

/** Header values with every form replaced, in place; returns how many were. */
export function scrubHeaders(headers: Record<string, string | string[]>, forms: readonly Buffer[]): number {
  if (forms.length === 0) return 0;
  let n = 0;
  for (const [k, v] of Object.entries(headers)) {
    if (Array.isArray(v)) {
      headers[k] = v.map((one) => {
        const r = scrubText(one, forms);
        n += r.n;
        return r.text;
      });
    } else {
      const r = scrubText(v, forms);
      n += r.n;
      headers[k] = r.text;
    }
  }
  return n;
}

/** The length of the longest tail of `buf` that is the start (not the whole) of some form. */
function pendingPrefix(buf: Buffer, forms: readonly Buffer[]): number {
  let best = 0;
  for (const f of forms) {
    for (let k = Math.min(f.length - 1, buf.length); k > best; k--) {
      if (buf.compare(f, 0, k, buf.length - k, buf.length) === 0) {
        best = k;
        break;
      }
    }
  }
  return best;
}

/**
 * A stream with every form replaced, across chunk boundaries: a tail that could be the start of a
 * form is held back until the next chunk or the end, so a form split between two writes is found
 * whole; everything else goes on at once. For a stream that may pause mid-message (a WebSocket),
 * `flushAfterMs` lets a held tail go after that long without more data.
 */
export class CredentialScrub extends Transform {
  readonly #forms: readonly Buffer[];
  readonly #flushAfterMs: number | undefined;
  #tail: Buffer = Buffer.alloc(0);
  #timer: NodeJS.Timeout | undefined;
  found = 0;

  constructor(forms: readonly Buffer[], options: { flushAfterMs?: number } = {}) {
    super();
    this.#forms = forms;
    this.#flushAfterMs = options.flushAfterMs;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    clearTimeout(this.#timer);
    let buf = this.#tail.length === 0 ? chunk : Buffer.concat([this.#tail, chunk]);
    // Copied (to be overwritten) only when it holds a form: most chunks hold none.
    if (this.#forms.some((f) => buf.includes(f))) {
      if (buf === chunk) buf = Buffer.from(chunk);
      this.found += scrubInPlace(buf, this.#forms);
    }
    const cut = buf.length - pendingPrefix(buf, this.#forms);
    this.#tail = buf.subarray(cut);
    if (cut > 0) this.push(buf.subarray(0, cut));
    if (this.#tail.length > 0 && this.#flushAfterMs !== undefined) {
      this.#timer = setTimeout(() => {
        if (this.#tail.length === 0 || this.destroyed) return;
        this.push(this.#tail);
        this.#tail = Buffer.alloc(0);
      }, this.#flushAfterMs);
      this.#timer.unref();
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    clearTimeout(this.#timer);
    if (this.#tail.length > 0) this.push(this.#tail);
    this.#tail = Buffer.alloc(0);
    done();
  }

  override _destroy(err: Error | null, done: (error: Error | null) => void): void {
    clearTimeout(this.#timer);
    done(err);
  }
}
