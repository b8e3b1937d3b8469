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
// (docs/security.md, class 296).
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Bidi_Control}]/gu;

/** `s` with every invisible or reordering format character shown as `⟨U+XXXX⟩`. */
export function revealInvisible(s: string): string {
  return s.replace(INVISIBLE, (c) => `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`);
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
