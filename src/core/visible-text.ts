// Client text as a person reads it before deciding: Unicode characters that reorder or hide text
// without showing themselves (bidirectional overrides and isolates, zero-width characters, the
// invisible tag characters) are replaced by a visible `⟨U+202E⟩`, so a statement, a reason or a
// name cannot look different from what it is (e.g. a WHERE clause that only appears to be outside
// a comment). Every surface an approver reads uses it: the console, the approval pages, Slack, e-mail, the CLI.

// Which characters: every one Unicode itself says is not drawn (Default_Ignorable_Code_Point: the soft
// hyphen, zero-width characters, the bidirectional marks, embeddings, overrides and isolates, word
// joiners, variation selectors U+FE00–U+FE0F and U+E0100–U+E01EF, Hangul fillers, the combining
// grapheme joiner, the tag characters U+E0000–U+E007F used to smuggle text to models and past people,
// and the code points reserved to stay invisible), every format character (General_Category Cf: they
// shape or annotate text rather than draw, e.g. the interlinear annotation marks U+FFF9–U+FFFB), and
// the bidirectional controls. Properties, not a list of examples: a character a list forgot, such as
// a variation selector after a quoted value (`'one\uFE00'` shown as `'one'`), was drawn as nothing
// (docs/security.md, class 296). Then what draws as a blank but is none to an upstream: every space
// separator but U+0020 (a no-break space, U+3000; to PostgreSQL and bash they are letters of a word),
// and the line and paragraph separators U+2028/U+2029 (drawn as a space, or by some readers as a line
// break, and a line break to neither PostgreSQL nor bash). And `⟨` itself, so that a client's text
// that spells the notation (`'one⟨U+FE00⟩'`) cannot pass for a revealed character: every `⟨` shown
// is this module's (class 341).
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Bidi_Control}\u2028\u2029\u27E8]|(?! )\p{Zs}/gu;

// The control characters but tab, line feed and carriage return (C0, DEL, C1): a page draws a form
// feed as nothing and the others as whatever the approver's font has (often nothing). Terminal
// surfaces ask to have them left and reveal them with the line feed and tab (terminalText).
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

// Blank lines and long runs of blanks: hundreds of blank lines (or thousands of spaces) between a
// statement's head and its tail put the tail below the fold, where an approver who read the head
// approves it unseen. A run of three or more blank lines, or of 64 or more blanks, is shown as a
// count (class 342).
const BLANK_LINES = /(?:[ \t]*(?:\r\n|\r|\n)){4,}/g;
const BLANK_RUN = /[ \t]{64,}/g;

function codePoint(c: string): string {
  return `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`;
}

/**
 * `s` as a person reads it before deciding: every invisible, reordering or blank-looking character and
 * every control character shown as `⟨U+XXXX⟩`, runs of blank lines and blanks counted.
 * `leaveControls`: a terminal surface that escapes control characters itself. `keepBlanks`: a replay of
 * what a terminal drew, where blanks are layout and nothing is decided.
 */
export function revealInvisible(
  s: string,
  o: { readonly leaveControls?: boolean; readonly keepBlanks?: boolean } = {},
): string {
  let shown = s.replace(INVISIBLE, codePoint);
  if (!o.leaveControls) shown = shown.replace(CONTROLS, codePoint);
  if (o.keepBlanks) return shown;
  return shown
    .replace(BLANK_LINES, (run) => `\n⟨${(run.match(/\r\n|\r|\n/g)?.length ?? 1) - 1} blank lines⟩\n`)
    .replace(BLANK_RUN, (run) => `⟨${run.length} blanks⟩`);
}

/**
 * `s` for a terminal: revealed as above, and every control character as `⟨U+001B⟩` too (a terminal would
 * act on it: clear the screen, move the cursor, set a title), but tab (shown as `tab`) and, with
 * `keepNewlines`, the line feed. The same notation as every other surface, and injective for the same
 * reason: a `⟨` the client typed is itself spelled out, whereas an escape of the terminal's own (`\x1b`)
 * read the same as the four characters a client can type. `keepBlanks`: a replay of what a terminal
 * drew (see revealInvisible).
 */
export function terminalText(
  s: string,
  o: { readonly keepNewlines: boolean; readonly tab: string; readonly keepBlanks?: boolean },
): string {
  return revealInvisible(s, { leaveControls: true, keepBlanks: o.keepBlanks ?? false }).replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => (c === '\n' && o.keepNewlines ? c : c === '\t' ? o.tab : codePoint(c)),
  );
}

/**
 * `s` cut to its first `max` characters (never between the halves of a surrogate pair), saying so in
 * words and with its whole length: a bare "…" could be the text's own end, and a person shown it
 * approves or reads the whole. `s` itself when it fits. `total`: the whole text's length when `s` is
 * only its beginning (a reader that keeps no more of a long text than it shows).
 */
export function clipShown(s: string, max: number, total = s.length): string {
  if (total <= max && s.length === total) return s;
  let end = Math.min(max, s.length);
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${s.slice(0, end)}… (clipped: ${total} characters in all)`;
}
