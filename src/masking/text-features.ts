// The pre-filter: one pass over a text that says which detector families could possibly match.
// It must stay cheap and allocation-free, and may say "maybe" wrongly but never "no" wrongly.

/**
 * A chain of at least 9 digits in groups separated by at most two of space - . ( ) +: payment card
 * (13+), phone (9+), SSN (9). Letters and other punctuation break a chain, so hex ids and UUIDs don't.
 */
export const F_DIGITS = 1 << 0;
/** An `@`: email. */
export const F_AT = 1 << 1;
/** A 9-digit chain and 2+ capitals: IBAN (every country's BBAN has a run of 9+ digits). */
export const F_IBAN = 1 << 2;
/** A [A-Za-z0-9_-] run of 15+ starting with a letter some token prefix starts with. */
export const F_TOKEN = 1 << 3;
/** A `$`: password hashes. */
export const F_DOLLAR = 1 << 4;
/** Five dashes in a row: PEM armour. */
export const F_DASH5 = 1 << 5;
/**
 * A [A-Za-z0-9+/_%=-] run of 20+: encoded runs, SAS signatures, Slack webhooks. `=` counts (padding,
 * and the SAS detector takes it anywhere in a value), so `sig=` and the 16 characters the SAS detector
 * needs at least are a run of 20.
 */
export const F_RUN20 = 1 << 6;
/** The same kind of run, 40+: AWS secret keys, Azure keys. */
export const F_RUN40 = 1 << 7;
/**
 * A place a field name may stand before a value (text-fields.ts): an `=`; a `:` followed by white
 * space or the text's end, or after a quote or white space (`"key" :`); a line break that is not the
 * text's last character (a table's next record, a YAML or `.env` line). No detector needs it: it says
 * whether a text's field names are worth reading, and it is never unset where text-fields.ts would find
 * a value (text-features.test.ts checks it on random texts).
 */
export const F_FIELDS = 1 << 8;

/** A word beginning with `-` and holding a letter, then a blank: the loops' `option`. */
const OPTION_SHAPE = /(?:^|[^A-Za-z0-9_-])-[0-9_-]*[A-Za-z][A-Za-z0-9_-]*[ \t]/;

/**
 * Whether F_FIELDS is in textFeatures(text), with the runtime's string search instead of a pass of
 * the pre-filter's loop (for a caller that needs this bit alone: a JSON document's every string).
 * With `tables: false`, for readers that read no table (terminal output): line breaks do not count.
 */
export function mayNameFields(text: string, options: { readonly tables?: boolean } = {}): boolean {
  // `=`, or a `|` drawing a table row whose cell may name a secret (class 336).
  if (text.includes('=') || text.includes('|')) return true;
  // An option and its value after a blank (`--db-password …`, class 398).
  if (text.includes('-') && OPTION_SHAPE.test(text)) return true;
  const last = text.length - 1;
  // A line break matters to a table alone (its next record); the other readers need a `=` or a `:`.
  // One that is not the last character: the first one found is last only when it is alone.
  if (options.tables !== false) {
    const nl = text.indexOf('\n');
    if (nl >= 0 && nl < last) return true;
    const cr = text.indexOf('\r');
    if (cr >= 0 && cr < last) return true;
  }
  const at = (j: number): number => (j >= 0 && j < text.length ? text.charCodeAt(j) : -1);
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) {
    if (colonBit(at(i - 1), at(i + 1)) !== 0) return true;
    // A key-like run ends at this `:` (a minified `{password:1}`, `x password:1`: the loops' `keyLen`).
    let j = i - 1;
    while (j >= 0 && (IN_WORD[CLASS_ID[text.charCodeAt(j)]!] === 1 || text.charCodeAt(j) === 36)) j--;
    if (j < i - 1 && keyRunBit(at, j + 1, i) !== 0) return true;
  }
  // An XML start tag (`<password>`, class 241).
  for (let i = text.indexOf('<'); i >= 0; i = text.indexOf('<', i + 1))
    if (tagBit(at(i + 1)) !== 0) return true;
  for (const c of [38, 92, 37]) {
    const ch = String.fromCharCode(c);
    for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1))
      if (escapeBit(c, i, at) !== 0) return true;
  }
  // A quote after a blank, `(` or `,` (`PASSWORD '…'`, `define('DB_PASSWORD', '…')`, class 265).
  for (const ch of ["'", '"'])
    for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1))
      if (quoteBit(at(i - 1)) !== 0) return true;
  return false;
}

/**
 * F_FIELDS when the code unit `c` at `i` starts a mark of a key and its value written escaped
 * (text-fields.ts `escapedFormKeySpans`, `encodedPairSpans`, class 219), case aside: `&q` or `&#` (an
 * HTML character reference: `&quot;`, `&#34;`, `&#58;`), `\u0022` or `\u003a` (a JSON or JavaScript
 * escape), `%22`, `%3a` or `%3d` (percent-encoding). `at(j)`: the unit at j, -1 past the end.
 */
function escapeBit(c: number, i: number, at: (j: number) => number): number {
  if (c === 38) {
    const n = at(i + 1);
    return n === 35 || (n | 32) === 113 ? F_FIELDS : 0;
  }
  if (c === 92) {
    if ((at(i + 1) | 32) !== 117 || at(i + 2) !== 48 || at(i + 3) !== 48) return 0;
    const a = at(i + 4);
    const b = at(i + 5) | 32;
    return (a === 50 && b === 50) || (a === 51 && b === 97) ? F_FIELDS : 0;
  }
  if (c === 37) {
    const a = at(i + 1);
    const b = at(i + 2) | 32;
    return (a === 50 && b === 50) || (a === 51 && (b === 97 || b === 100)) ? F_FIELDS : 0;
  }
  return 0;
}

/**
 * F_FIELDS for a key-like run `[from, to)` ended by `:` (`at(j)`: the unit at j, -1 or NaN outside the
 * text, which the loops' accessors give): a key text-fields.ts reads starts with a letter, `_` or `$` somewhere in the run (after a `$`,
 * which ends a key there: `0$A:`), or goes on from a run before a `.` (`db.12:`). A time (`23:05`) is
 * not a key. The look back is bounded by the run, and runs do not overlap: linear.
 */
function keyRunBit(at: (j: number) => number, from: number, to: number): number {
  if (at(from - 1) === 46) return F_FIELDS;
  for (let j = from; j < to; j++) {
    const c = at(j);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36) return F_FIELDS;
  }
  return 0;
}

/**
 * F_FIELDS when a quote follows a blank, a `(` or a `,` (`prev`): a quoted value after its name with
 * no `=` or `:` between (SQL's `PASSWORD '…'`, `IDENTIFIED BY '…'`, `define('DB_PASSWORD', '…')`:
 * text-fields.ts `codeStringSpans`, class 265).
 */
function quoteBit(prev: number): number {
  return prev === 32 || prev === 9 || prev === 40 || prev === 44 ? F_FIELDS : 0;
}

/**
 * F_FIELDS when `next`, the unit after a `<`, may start an XML element's name (text-fields.ts, class
 * 241), or is another `<`: a heredoc or a here-string (`read -r password <<< …`, class 398).
 */
function tagBit(next: number): number {
  return (next >= 65 && next <= 90) || (next >= 97 && next <= 122) || next === 95 || next === 60
    ? F_FIELDS
    : 0;
}

/**
 * `:` then white space, a quote or the end (`next` -1), or a quote or white space then `:`: where a
 * key may end (a quote after it: a minified literal's `{password:"…"}`, text-fields.ts, class 209; a
 * backtick, `[` or `{` after it: `{password:[…]}`, class 219).
 */
function colonBit(prev: number, next: number): number {
  return next === 32 ||
    next === 34 ||
    next === 39 ||
    next === 96 ||
    next === 91 ||
    next === 123 ||
    next === 9 ||
    next === 10 ||
    next === 13 ||
    next === -1 ||
    prev === 34 ||
    prev === 39 ||
    prev === 32 ||
    prev === 9 ||
    prev === 10 ||
    prev === 13
    ? F_FIELDS
    : 0;
}

const TOKEN_MIN_RUN = 15;

// One class id per UTF-16 code unit: a full table avoids a range check per character, and a switch on
// small ids compiles to a jump table. Everything not listed (spaces, punctuation, non-ASCII) is 0.
const DIGIT = 1;
const UPPER = 2;
const LOWER = 3;
const UNDERSCORE = 4;
const DASH = 5;
/** `+`, `/`, `%`: inside base64 (and URL-encoded base64) runs, not inside tokens. */
const B64_ONLY = 6;
/** `=`: inside runs (base64 padding, `sig=…`), not inside tokens; it ends a digit chain. */
const EQUALS = 7;

/** The classes the loops count in a word (`word++`): letters, digits, `_` and `-`. */
const IN_WORD: Uint8Array = Uint8Array.from([0, 1, 1, 1, 1, 1, 0, 0]);

const CLASS_ID: Uint8Array = (() => {
  const t = new Uint8Array(65536);
  for (let c = 48; c <= 57; c++) t[c] = DIGIT;
  for (let c = 65; c <= 90; c++) t[c] = UPPER;
  for (let c = 97; c <= 122; c++) t[c] = LOWER;
  t[95] = UNDERSCORE;
  t[45] = DASH;
  t[43] = B64_ONLY;
  t[47] = B64_ONLY;
  t[37] = B64_ONLY;
  t[61] = EQUALS;
  return t;
})();

/** First letters of the token prefixes: AKIA/AIza…, gh*_/glpat-, xox*, sk…, rk_, whsec_, eyJ. */
const TOKEN_START: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (const ch of 'Agxsrwe') t[ch.charCodeAt(0)] = 1;
  return t;
})();

function runBits(len: number): number {
  return len < 20 ? 0 : len < 40 ? F_RUN20 : F_RUN20 | F_RUN40;
}

/**
 * Feature bits (F_*) of the UTF-8 bytes `b[start, end)`: exactly `textFeatures(b.toString('utf8',
 * start, end))`, without decoding. Why the two are equal (the differential test in
 * text-features.test.ts checks it on random bytes, valid UTF-8 or not):
 *
 * - UTF-8 decoding maps every ASCII byte (< 0x80) to the same code unit, in order, and never makes an
 *   ASCII code unit out of anything else: every non-ASCII byte sequence, valid or not, becomes one or
 *   more code units >= 0x80 (a character, a surrogate pair, or U+FFFD for each invalid subsequence;
 *   overlong forms of ASCII are invalid, and a decoder never swallows an ASCII byte into an invalid
 *   sequence). So the decoded text is the ASCII bytes in order with each maximal run of non-ASCII
 *   bytes replaced by a non-empty run of code units >= 0x80.
 * - Every code unit >= 0x80 is class 0 in CLASS_ID and none is 32, 46, 40, 41, 64 or 36, so in
 *   textFeatures it takes the default branch's `else`: the token and run checks (which see word = 0
 *   and run = 0 after the first such unit), then chain = word = run = dashes = 0, with gap, f, upper
 *   and wordFirst unchanged. One such unit and several in a row therefore leave the same state, and
 *   a byte >= 0x80 here is such a unit (CLASS_ID[byte] is 0; the default branch is taken).
 * - textFeatures' all-spaces shortcut returns 0, which is what its loop returns for such a text
 *   (white space sets no bit), so leaving it out here changes nothing.
 *
 * Keep the loop below identical to textFeatures' (a change to one is a change to both).
 */
export function bytesFeatures(b: Uint8Array, start: number, end: number): number {
  const byteAt = (j: number): number => (j >= start && j < end ? (b[j] as number) : -1);
  let f = 0;
  /** The length of the current key-like run (word characters and `$`): a key ended by `:`. */
  let keyLen = 0;
  let chain = 0;
  let gap = 0;
  let upper = 0;
  let word = 0;
  let wordFirst = 0;
  let run = 0;
  let dashes = 0;
  /** 1 while the current word began with `-`, 2 once it holds a letter too (an option: its value may follow a blank). */
  let option = 0;
  for (let i = start; i < end; i++) {
    const c = b[i] as number;
    switch (CLASS_ID[c]) {
      case LOWER:
        if (word++ === 0) wordFirst = c;
        if (option === 1) option = 2;
        keyLen++;
        run++;
        chain = 0;
        dashes = 0;
        break;
      case DIGIT:
        if (++chain >= 9) f |= F_DIGITS;
        gap = 0;
        if (word++ === 0) wordFirst = c;
        keyLen++;
        run++;
        dashes = 0;
        break;
      case UPPER:
        upper++;
        if (word++ === 0) wordFirst = c;
        if (option === 1) option = 2;
        keyLen++;
        run++;
        chain = 0;
        dashes = 0;
        break;
      case DASH:
        if (++dashes >= 5) f |= F_DASH5;
        if (++gap > 2) chain = 0;
        if (word++ === 0) {
          wordFirst = c;
          option = 1;
        }
        keyLen++;
        run++;
        break;
      case UNDERSCORE:
        if (word++ === 0) wordFirst = c;
        keyLen++;
        run++;
        chain = 0;
        dashes = 0;
        break;
      case B64_ONLY:
        if (word >= TOKEN_MIN_RUN && TOKEN_START[wordFirst] === 1) f |= F_TOKEN;
        word = 0;
        run++;
        if (c !== 43 || ++gap > 2) chain = 0;
        dashes = 0;
        keyLen = 0;
        option = 0;
        if (c === 37) f |= escapeBit(c, i, byteAt);
        break;
      case EQUALS:
        if (word >= TOKEN_MIN_RUN && TOKEN_START[wordFirst] === 1) f |= F_TOKEN;
        word = 0;
        run++;
        chain = 0;
        dashes = 0;
        keyLen = 0;
        option = 0;
        f |= F_FIELDS;
        break;
      default:
        if (word >= TOKEN_MIN_RUN && TOKEN_START[wordFirst] === 1) f |= F_TOKEN;
        if (run >= 20) f |= runBits(run);
        if (c === 36) keyLen++;
        else {
          // A key-like run ended by `:` (`{password:1}`, `x password:1`: classes 219 and 240).
          if (c === 58 && keyLen > 0) f |= keyRunBit(byteAt, i - keyLen, i);
          keyLen = 0;
        }
        word = 0;
        run = 0;
        dashes = 0;
        // A blank after a word that began with `-`: an option and its value (`--db-password …`, class 398).
        if (option === 2 && (c === 32 || c === 9)) f |= F_FIELDS;
        option = 0;
        if (c === 32 || c === 46 || c === 40 || c === 41) {
          if (++gap > 2) chain = 0;
        } else {
          chain = 0;
          if (c === 64) f |= F_AT;
          else if (c === 36) f |= F_DOLLAR;
          else if (c === 58)
            f |= colonBit(i > start ? (b[i - 1] as number) : -1, i + 1 < end ? (b[i + 1] as number) : -1);
          else if ((c === 10 || c === 13) && i + 1 < end) f |= F_FIELDS;
          // A table row drawn with `|`: a cell naming a secret, its value in the next (class 336).
          else if (c === 124) f |= F_FIELDS;
          else if (c === 38 || c === 92) f |= escapeBit(c, i, byteAt);
          else if (c === 60) f |= tagBit(byteAt(i + 1));
          else if (c === 34 || c === 39) f |= quoteBit(byteAt(i - 1));
        }
    }
  }
  if (word >= TOKEN_MIN_RUN && TOKEN_START[wordFirst] === 1) f |= F_TOKEN;
  if (run >= 20) f |= runBits(run);
  if ((f & F_DIGITS) !== 0 && upper >= 2) f |= F_IBAN;
  return f;
}

/** Feature bits (F_*) of `text`. */
export function textFeatures(text: string): number {
  const n = text.length;
  // pgbench's filler and padded CHAR(n) columns are all spaces: let the native trim answer.
  // (Its line breaks, never its last character, are all the loop would see: F_FIELDS.)
  if (n > 8 && text.charCodeAt(0) === 32 && text.charCodeAt(n - 1) === 32 && text.trim() === '')
    return text.includes('\n') || text.includes('\r') ? F_FIELDS : 0;
  const textAt = (j: number): number => (j < n ? text.charCodeAt(j) : -1);
  let f = 0;
  /** The length of the current key-like run (word characters and `$`): a key ended by `:`. */
  let keyLen = 0;
  let chain = 0;
  let gap = 0;
  let upper = 0;
  let word = 0;
  let wordFirst = 0;
  let run = 0;
  let dashes = 0;
  /** 1 while the current word began with `-`, 2 once it holds a letter too (an option: its value may follow a blank). */
  let option = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    switch (CLASS_ID[c]) {
      case LOWER:
        if (word++ === 0) wordFirst = c;
        if (option === 1) option = 2;
        keyLen++;
        run++;
        chain = 0;
        dashes = 0;
        break;
      case DIGIT:
        if (++chain >= 9) f |= F_DIGITS;
        gap = 0;
        if (word++ === 0) wordFirst = c;
        keyLen++;
        run++;
        dashes = 0;
        break;
      case UPPER:
        upper++;
        if (word++ === 0) wordFirst = c;
        if (option === 1) option = 2;
        keyLen++;
        run++;
        chain = 0;
        dashes = 0;
        break;
      case DASH:
        if (++dashes >= 5) f |= F_DASH5;
        if (++gap > 2) chain = 0;
        if (word++ === 0) {
          wordFirst = c;
          option = 1;
        }
        keyLen++;
        run++;
        break;
      case UNDERSCORE:
        if (word++ === 0) wordFirst = c;
        keyLen++;
        run++;
        chain = 0;
        dashes = 0;
        break;
      case B64_ONLY:
        if (word >= TOKEN_MIN_RUN && TOKEN_START[wordFirst] === 1) f |= F_TOKEN;
        word = 0;
        run++;
        // "+" may lead a phone number; "/" and "%" end a digit chain.
        if (c !== 43 || ++gap > 2) chain = 0;
        dashes = 0;
        keyLen = 0;
        option = 0;
        if (c === 37) f |= escapeBit(c, i, textAt);
        break;
      case EQUALS:
        if (word >= TOKEN_MIN_RUN && TOKEN_START[wordFirst] === 1) f |= F_TOKEN;
        word = 0;
        run++;
        chain = 0;
        dashes = 0;
        keyLen = 0;
        option = 0;
        f |= F_FIELDS;
        break;
      default:
        if (word >= TOKEN_MIN_RUN && TOKEN_START[wordFirst] === 1) f |= F_TOKEN;
        if (run >= 20) f |= runBits(run);
        if (c === 36) keyLen++;
        else {
          // A key-like run ended by `:` (`{password:1}`, `x password:1`: classes 219 and 240).
          if (c === 58 && keyLen > 0) f |= keyRunBit(textAt, i - keyLen, i);
          keyLen = 0;
        }
        word = 0;
        run = 0;
        dashes = 0;
        // A blank after a word that began with `-`: an option and its value (`--db-password …`, class 398).
        if (option === 2 && (c === 32 || c === 9)) f |= F_FIELDS;
        option = 0;
        if (c === 32 || c === 46 || c === 40 || c === 41) {
          if (++gap > 2) chain = 0;
        } else {
          chain = 0;
          if (c === 64) f |= F_AT;
          else if (c === 36) f |= F_DOLLAR;
          else if (c === 58)
            f |= colonBit(i > 0 ? text.charCodeAt(i - 1) : -1, i + 1 < n ? text.charCodeAt(i + 1) : -1);
          else if ((c === 10 || c === 13) && i + 1 < n) f |= F_FIELDS;
          else if (c === 124) f |= F_FIELDS;
          else if (c === 38 || c === 92) f |= escapeBit(c, i, textAt);
          else if (c === 60) f |= tagBit(textAt(i + 1));
          else if (c === 34 || c === 39) f |= quoteBit(textAt(i - 1));
        }
    }
  }
  if (word >= TOKEN_MIN_RUN && TOKEN_START[wordFirst] === 1) f |= F_TOKEN;
  if (run >= 20) f |= runBits(run);
  if ((f & F_DIGITS) !== 0 && upper >= 2) f |= F_IBAN;
  return f;
}
