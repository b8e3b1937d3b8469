// Client text as a person reads it before deciding: Unicode characters that reorder or hide text
// without showing themselves (bidirectional overrides and isolates, zero-width characters, the
// invisible tag characters) are replaced by a visible `⟨U+202E⟩`, so a statement, a reason or a
// name cannot look different from what it is (e.g. a WHERE clause that only appears to be outside
// a comment). Every surface an approver reads uses it: the console, the approval pages, Slack, e-mail, the CLI.

// U+00AD soft hyphen, U+061C Arabic letter mark, U+180E Mongolian vowel separator, U+200B–U+200F
// zero-width space/non-joiner/joiner and the LTR/RTL marks, U+202A–U+202E embeddings and overrides,
// U+2060–U+2064 word joiner and invisible operators, U+2066–U+2069 isolates, U+FEFF, and the tag
// characters U+E0000–U+E007F (invisible, used to smuggle text to models and past people).
const INVISIBLE =
  /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;

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
