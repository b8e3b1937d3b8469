// User-defined dictionaries: a list of words or phrases matched case-insensitively as whole words.
// Single words go through one scan and a Set (cost independent of dictionary size); phrases use a regex.

import { isAlnumCode } from './char-class.js';
import type { Finding } from './finding.js';

export interface DictionaryConfig {
  readonly name: string;
  /** Words or phrases. Empty entries are ignored. */
  readonly words: readonly string[];
}

/**
 * A word character: ASCII letter, digit or `_`, or any non-ASCII code unit that is not a space or
 * general/CJK punctuation (an approximation of \p{L}\p{N} that needs no per-character regex).
 */
function isWordChar(c: number): boolean {
  if (c < 128) return isAlnumCode(c) || c === 95;
  return !(c === 0xa0 || (c >= 0x2000 && c <= 0x206f) || (c >= 0x3000 && c <= 0x303f) || c === 0xfeff);
}

const SINGLE_WORD = /^[\p{L}\p{N}_]+$/u;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Parses a dictionary file's text: one entry per line, `#` starts a comment line, blanks ignored. */
export function parseDictionaryText(text: string): string[] {
  const words: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const w = line.trim();
    if (w !== '' && !w.startsWith('#')) words.push(w);
  }
  return words;
}

export function compileDictionary(cfg: DictionaryConfig): (text: string, out: Finding[]) => void {
  const words = new Set<string>();
  const phrases: string[] = [];
  let minLen = Infinity;
  let maxLen = 0;
  for (const raw of cfg.words) {
    const w = raw.trim();
    if (w === '') continue;
    if (SINGLE_WORD.test(w)) {
      words.add(w.toLowerCase());
      minLen = Math.min(minLen, w.length);
      maxLen = Math.max(maxLen, w.length);
    } else phrases.push(w);
  }
  const name = cfg.name;
  const phraseRe =
    phrases.length === 0
      ? undefined
      : new RegExp(
          `(?<![\\p{L}\\p{N}_])(?:${phrases
            .sort((a, b) => b.length - a.length)
            .map((p) => escapeRegex(p).replace(/\s+/g, '\\s+'))
            .join('|')})(?![\\p{L}\\p{N}_])`,
          'giu',
        );
  return (text, out) => {
    if (words.size > 0) {
      const n = text.length;
      let i = 0;
      while (i < n) {
        if (!isWordChar(text.charCodeAt(i))) {
          i++;
          continue;
        }
        let j = i + 1;
        while (j < n && isWordChar(text.charCodeAt(j))) j++;
        const len = j - i;
        if (len >= minLen && len <= maxLen) {
          const w = text.slice(i, j);
          if (words.has(w.toLowerCase())) out.push({ detector: name, start: i, end: j, text: w });
        }
        i = j;
      }
    }
    if (phraseRe) {
      phraseRe.lastIndex = 0;
      for (let m = phraseRe.exec(text); m !== null; m = phraseRe.exec(text)) {
        out.push({ detector: name, start: m.index, end: m.index + m[0].length, text: m[0] });
      }
    }
  };
}
