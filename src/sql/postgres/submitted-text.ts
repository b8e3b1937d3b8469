// The submitted SQL string as the parser sees it: UTF-8 bytes, and slices of it by byte offset
// (libpg-query reports stmt_location/stmt_len and token positions in bytes, not UTF-16 units).

export type TextCheck =
  { readonly ok: true; readonly ascii: boolean } | { readonly ok: false; readonly message: string };

/**
 * Rejects text that PostgreSQL could never receive as a query: a NUL ends a protocol string
 * (PostgreSQL protocol 53.7, String type), and a lone UTF-16 surrogate has no UTF-8 encoding, so the
 * parser would see different bytes than any server would.
 */
export function checkText(text: string): TextCheck {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) {
      if (code === 0) return { ok: false, message: 'query text contains a NUL character' };
      continue;
    }
    ascii = false;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff))
        return { ok: false, message: 'query text is not valid Unicode' };
      i += 1;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return { ok: false, message: 'query text is not valid Unicode' };
    }
  }
  return { ok: true, ascii };
}

/** The text with its UTF-8 encoding, for slicing by the parser's byte offsets. */
export class SubmittedText {
  readonly bytes: Uint8Array;

  constructor(
    readonly text: string,
    private readonly ascii: boolean,
  ) {
    this.bytes = Buffer.from(text, 'utf8');
  }

  get byteLength(): number {
    return this.bytes.length;
  }

  /** The text between two byte offsets (offsets the parser reports always fall on character boundaries). */
  slice(startByte: number, endByte: number): string {
    const start = Math.max(0, Math.min(startByte, this.bytes.length));
    const end = Math.max(start, Math.min(endByte, this.bytes.length));
    if (this.ascii) return this.text.slice(start, end);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, end - start).toString('utf8');
  }
}
