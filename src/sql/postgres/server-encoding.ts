// Identifiers a server whose database encoding is not UTF-8 may read as another name than the
// parser does. The parser (libpg-query) reads every text as UTF-8: it truncates an identifier longer
// than NAMEDATALEN-1 (63) bytes at a UTF-8 character boundary, and folds only ASCII letters of an
// unquoted one. The server converts the text to its database encoding first and truncates there, at
// 63 bytes of that encoding (byte-wise under SQL_ASCII), and in a single-byte encoding it also
// lower-cases an unquoted identifier's non-ASCII letters by its locale (scansup.c
// downcase_identifier, truncate_identifier). So two names the gateway reads as one can be two
// upstream (`PREPARE "é…32 times"`, `PREPARE "é…31 times"` in a LATIN1 database), and the reverse.
// A text whose identifiers could be read otherwise is refused: docs/security.md, class 180. Pure.

import type { ScanToken } from './pg-parser-runtime.js';

/** NAMEDATALEN - 1: the longest identifier PostgreSQL keeps (pg_config_manual.h). */
const MAX_IDENTIFIER_BYTES = 63;

/** Multi-byte server encodings other than UTF-8 (a character takes at most 4 bytes in each). */
const MULTIBYTE_SERVER_ENCODINGS = new Set([
  'EUC_JP',
  'EUC_CN',
  'EUC_KR',
  'EUC_TW',
  'EUC_JIS_2004',
  'MULE_INTERNAL',
]);

/** Single-byte server encodings: a character is one byte (SQL_ASCII keeps the UTF-8 bytes as they are). */
const SINGLE_BYTE_SERVER_ENCODING =
  /^(SQL_ASCII|LATIN([1-9]|10)|ISO_8859_[5-8]|WIN(866|874|125[0-8])|KOI8[RU])$/;

/** True when the server reads identifiers as the parser does: its database encoding is UTF-8. */
export function readsIdentifiersAsParser(serverEncoding: string | undefined): boolean {
  return serverEncoding !== undefined && /^utf-?8$/i.test(serverEncoding);
}

/** Tokens that hold no identifier: strings and comments (their bytes are the server's to convert). */
const NOT_IDENTIFIERS = new Set(['SCONST', 'USCONST', 'BCONST', 'XCONST', 'C_COMMENT', 'SQL_COMMENT']);

/**
 * Why the server, reading in `serverEncoding`, could take an identifier of `text` for another name
 * than the parser reads, or undefined. `bytes` is the text's UTF-8 encoding and `tokens` the
 * scanner's tokens over it. A token that is not a string or a comment and holds a non-ASCII
 * character (or is a `U&"…"` identifier, whose escapes may make one) is an identifier: refused when
 * it is unquoted and the encoding may fold its case otherwise (any encoding but the multi-byte ones),
 * or when it may be longer than 63 bytes in UTF-8 or in the server's encoding (counted over the
 * token as written, which bounds what its escapes make; an unknown encoding counts 4 bytes a
 * character).
 */
export function identifierReadOtherwise(
  bytes: Uint8Array,
  tokens: readonly ScanToken[],
  serverEncoding: string | undefined,
): string | undefined {
  if (readsIdentifiersAsParser(serverEncoding)) return undefined;
  const encoding = (serverEncoding ?? '').toUpperCase();
  const multibyte = MULTIBYTE_SERVER_ENCODINGS.has(encoding);
  const singleByte = SINGLE_BYTE_SERVER_ENCODING.test(encoding);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const token of tokens) {
    if (NOT_IDENTIFIERS.has(token.tokenName)) continue;
    const raw = buffer.subarray(token.start, token.end);
    const unicodeEscaped = raw.length > 2 && (raw[0] === 0x55 || raw[0] === 0x75) && raw[1] === 0x26;
    if (!unicodeEscaped && raw.every((b) => b < 0x80)) continue;
    const written = raw.toString('utf8');
    const quoted = unicodeEscaped || written.startsWith('"');
    // A single-byte encoding lower-cases by its locale: under SQL_ASCII (or one not known) any byte
    // may count as a capital; elsewhere the capitals are the characters that have a lower case.
    const folds =
      singleByte && encoding !== 'SQL_ASCII'
        ? [...written].some((ch) => ch.toLowerCase() !== ch && ch.charCodeAt(0) >= 0x80)
        : true;
    if (!quoted && !multibyte && folds)
      return (
        `the unquoted identifier ${written} holds non-ASCII letters, which a server whose database encoding ` +
        `is ${serverEncoding ?? 'unknown'} may fold to lower case otherwise than Gatehouse reads them; quote it`
      );
    // Bytes it may take upstream: one a character in a single-byte encoding (SQL_ASCII: its UTF-8
    // bytes), at most four elsewhere.
    const name = quoted ? written.slice(unicodeEscaped ? 3 : 1, -1) : written;
    const utf8Bytes = Buffer.byteLength(name, 'utf8');
    let bound = 0;
    if (encoding === 'SQL_ASCII') bound = utf8Bytes;
    else for (const ch of name) bound += singleByte || ch.charCodeAt(0) < 0x80 ? 1 : 4;
    if (bound > MAX_IDENTIFIER_BYTES || utf8Bytes > MAX_IDENTIFIER_BYTES)
      return (
        `the identifier ${written.length > 80 ? `${written.slice(0, 80)}…` : written} holds non-ASCII ` +
        `characters and may be longer than ${MAX_IDENTIFIER_BYTES} bytes, where a server whose database ` +
        `encoding is ${serverEncoding ?? 'unknown'} cuts it at another character than Gatehouse does; use a shorter name`
      );
  }
  return undefined;
}
