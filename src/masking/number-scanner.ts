// Finds digit-group runs in a text and decides, per run, whether it holds a payment card, a phone
// number or a US SSN. Hand-written (no regex) because it runs on most cells with 9+ digits.

import { isAlnumCode, isDigitCode } from './char-class.js';
import {
  MAX_GROUPS,
  SEP_DASH,
  SEP_DOT,
  SEP_PAREN,
  SEP_SPACE,
  groupLen,
  groupText,
  newDigitGroups,
  totalDigits,
} from './digit-groups.js';
import type { DigitGroups } from './digit-groups.js';
import type { Finding } from './finding.js';
import { isCardGrouping, isPaymentCardNumber } from './payment-card.js';
import { isPhoneNumber } from './phone-number.js';
import { isUsSsn } from './us-ssn.js';

export interface NumberScanOptions {
  readonly card: boolean;
  readonly phone: boolean;
  readonly ssn: boolean;
  /** Accept `123456789` as an SSN (column rules only: far too many 9-digit numbers are not SSNs). */
  readonly bareSsn: boolean;
}

// Module scratch: scanNumbers never re-enters itself, and JavaScript runs it to completion.
const scratch = newDigitGroups();

export function scanNumbers(text: string, opts: NumberScanOptions, out: Finding[]): void {
  const g = scratch;
  g.text = text;
  const n = text.length;
  let i = 0;
  let lastEnd = -1;
  while (i < n) {
    const c = text.charCodeAt(i);
    let lead: 0 | 1 | 2 = 0;
    if (c < 48 || c > 57) {
      if ((c === 43 || c === 40) && i + 1 < n && isDigitCode(text.charCodeAt(i + 1))) lead = c === 43 ? 1 : 2;
      else {
        i++;
        continue;
      }
    }
    const candStart = i;
    let p = lead === 0 ? i : i + 1;
    // Fast path for the common short digit run inside an id, hash or word ("da39a3ee…", "v18"):
    // fewer than 9 digits with no separator after them cannot be part of anything.
    let q0 = p;
    while (q0 < n && isDigitCode(text.charCodeAt(q0))) q0++;
    if (q0 - p < 9 && (q0 >= n || !isSeparatorCode(text.charCodeAt(q0)))) {
      i = q0;
      continue;
    }
    let k = 0;
    for (;;) {
      const gs = p;
      while (p < n && isDigitCode(text.charCodeAt(p))) p++;
      g.start[k] = gs;
      g.end[k] = p;
      k++;
      if (k === MAX_GROUPS || p >= n) break;
      // A separator is at most two characters: one of space - . plus optional parentheses.
      let q = p;
      let plain = 0;
      let kind = 0;
      let paren = false;
      while (q < n && q - p < 2) {
        const s = text.charCodeAt(q);
        if (s === 40 || s === 41) paren = true;
        else {
          if (s === 32) kind = SEP_SPACE;
          else if (s === 45) kind = SEP_DASH;
          else if (s === 46) kind = SEP_DOT;
          else break;
          plain++;
        }
        q++;
      }
      if (q === p || plain > 1 || q >= n || !isDigitCode(text.charCodeAt(q))) break;
      g.sep[k - 1] = paren ? SEP_PAREN : kind;
      g.sepLen[k - 1] = q - p;
      p = q;
    }
    g.count = k;
    g.lead = lead;
    if (totalDigits(g) >= 9) {
      const before = out.length;
      analyze(g, candStart, opts, out, candStart === lastEnd);
      if (out.length > before) lastEnd = (out[out.length - 1] as Finding).end;
    }
    i = p;
  }
  g.text = '';
}

/** A character that may sit between digit groups: space - . ( ) */
function isSeparatorCode(c: number): boolean {
  return c === 32 || c === 45 || c === 46 || c === 40 || c === 41;
}

/** A letter, digit or `_` glued to the number, or a decimal point before it: not a standalone number. */
function badLeft(text: string, j: number): boolean {
  if (j < 0) return false;
  const c = text.charCodeAt(j);
  return isAlnumCode(c) || c === 95 || (c === 46 && j > 0 && isDigitCode(text.charCodeAt(j - 1)));
}

function badRight(text: string, p: number): boolean {
  if (p >= text.length) return false;
  const c = text.charCodeAt(p);
  return isAlnumCode(c) || c === 95;
}

/** Part of an identifier such as `ORD-415-555-0123` or `v1.123-45-6789`: not a phone or SSN. */
function compoundLeft(text: string, j: number): boolean {
  if (j < 1) return false;
  const c = text.charCodeAt(j);
  return (c === 45 || c === 46 || c === 47) && isAlnumCode(text.charCodeAt(j - 1));
}

function compoundRight(text: string, p: number): boolean {
  if (p + 1 >= text.length) return false;
  const c = text.charCodeAt(p);
  return (c === 45 || c === 46 || c === 47) && isAlnumCode(text.charCodeAt(p + 1));
}

// Group ranges [cardFrom[i], cardTo[i]] that scanCards found to be cards, for the current run.
const cardFrom = new Int32Array(MAX_GROUPS);
const cardTo = new Int32Array(MAX_GROUPS);
let cardCount = 0;

/**
 * `cleanLeft`: the run starts right where the previous finding ended, so what precedes it will be
 * masked and is no boundary problem (otherwise masking the first would reveal the second).
 */
function analyze(
  g: DigitGroups,
  candStart: number,
  opts: NumberScanOptions,
  out: Finding[],
  cleanLeft: boolean,
): void {
  const text = g.text;
  const k = g.count;
  const before = candStart - 1;
  const last = g.end[k - 1] as number;
  const leftBad = !cleanLeft && badLeft(text, before);
  const rightBad = badRight(text, last);
  cardCount = 0;
  if (opts.card) scanCards(g, leftBad, rightBad, out);
  if (!opts.phone && !opts.ssn) return;
  if (!mayHoldPhoneOrSsn(g, opts.bareSsn)) return;
  const leftOk = !leftBad && (cleanLeft || !compoundLeft(text, before));
  const rightOk = !rightBad && !compoundRight(text, last);
  // Groups outside the cards are numbers of their own: "4111111111111111 (415) 555-0123".
  let a = 0;
  for (let c = 0; c <= cardCount; c++) {
    const b = c < cardCount ? (cardFrom[c] as number) - 1 : k - 1;
    if (b >= a) scanPhonesAndSsns(g, a, b, candStart, a > 0 || leftOk, b < k - 1 || rightOk, opts, out);
    if (c < cardCount) a = (cardTo[c] as number) + 1;
  }
}

/**
 * Every phone or SSN shape needs a leading "+", or a 3-digit group (NANP area code and exchange, SSN
 * area), or (bare SSN) a 9-digit group: a cheap test that spares dates and times the full search.
 */
function mayHoldPhoneOrSsn(g: DigitGroups, bareSsn: boolean): boolean {
  if (g.lead === 1) return true;
  for (let i = 0; i < g.count; i++) {
    const len = groupLen(g, i);
    if (len === 3 || (bareSsn && len === 9)) return true;
  }
  return false;
}

/** A space between group i and i + 1: where one number written in groups may end and another begin. */
function spaceAfter(g: DigitGroups, i: number): boolean {
  for (let p = g.end[i] as number; p < (g.start[i + 1] as number); p++)
    if (g.text.charCodeAt(p) === 32) return true;
  return false;
}

/** Most groups a phone number is written in (`+1 (415) 555 01 23` …). */
const MAX_PHONE_GROUPS = 6;

/**
 * Phones and SSNs among groups lo..hi. Several may share a run when spaces separate them
 * ("123-45-6789 2024-05-01"), so each sub-run that starts and ends at a space is tried, longest first.
 */
function scanPhonesAndSsns(
  g: DigitGroups,
  lo: number,
  hi: number,
  candStart: number,
  leftOk: boolean,
  rightOk: boolean,
  opts: NumberScanOptions,
  out: Finding[],
): void {
  const text = g.text;
  let s = lo;
  while (s <= hi) {
    if (s === lo ? leftOk : spaceAfter(g, s - 1)) {
      let lead: 0 | 1 | 2 = 0;
      let start = g.start[s] as number;
      if (s === 0) {
        lead = g.lead;
        start = candStart;
      } else if (text.charCodeAt(start - 1) === 40) {
        lead = 2;
        start--;
      }
      let matched = -1;
      let digits = 0;
      const maxE = Math.min(hi, s + MAX_PHONE_GROUPS - 1);
      for (let e = s; e <= maxE; e++) digits += groupLen(g, e);
      for (let e = maxE; e >= s && matched < 0; e--) {
        if (e < maxE) digits -= groupLen(g, e + 1);
        if (digits < 9 || digits > 15 || (e === hi ? !rightOk : !spaceAfter(g, e))) continue;
        const end = g.end[e] as number;
        if (opts.phone && isPhoneNumber(g, s, e, lead)) {
          out.push({ detector: 'phone', start, end, text: text.slice(start, end) });
          matched = e;
        } else if (opts.ssn && isUsSsn(g, s, e, lead, opts.bareSsn)) {
          out.push({ detector: 'ssn', start, end, text: text.slice(start, end) });
          matched = e;
        }
      }
      if (matched >= 0) {
        s = matched + 1;
        continue;
      }
    }
    s++;
  }
}

/**
 * Cards may sit inside a longer run ("4111 1111 1111 1111 12 25"), so every run of consecutive groups
 * with one consistent separator (space or dash) is tried, longest first from each start.
 */
function scanCards(g: DigitGroups, leftBad: boolean, rightBad: boolean, out: Finding[]): void {
  const k = g.count;
  let s = 0;
  while (s < k) {
    const startOk = s === 0 ? !leftBad : g.sep[s - 1] !== SEP_DOT;
    let best = -1;
    if (startOk) {
      const kind = s < k - 1 ? (g.sep[s] as number) : 0;
      let digits = 0;
      for (let e = s; e < k; e++) {
        if (e > s) {
          const sp = g.sep[e - 1];
          if (sp !== kind || g.sepLen[e - 1] !== 1 || (sp !== SEP_SPACE && sp !== SEP_DASH)) break;
        }
        digits += groupLen(g, e);
        if (digits > 19) break;
        if (digits < 13) continue;
        const endOk = e === k - 1 ? !rightBad : g.sep[e] !== SEP_DOT;
        if (endOk && isCardAt(g, s, e)) best = e;
      }
    }
    if (best >= 0) {
      const start = g.start[s] as number;
      const end = g.end[best] as number;
      out.push({ detector: 'credit_card', start, end, text: g.text.slice(start, end) });
      cardFrom[cardCount] = s;
      cardTo[cardCount] = best;
      cardCount++;
      s = best + 1;
    } else s++;
  }
}

function isCardAt(g: DigitGroups, s: number, e: number): boolean {
  if (s !== e) {
    const lens: number[] = [];
    for (let i = s; i <= e; i++) lens.push(groupLen(g, i));
    if (!isCardGrouping(lens)) return false;
  }
  const first = g.text.charCodeAt(g.start[s] as number);
  // No issuer range starts with 0, 1 or 7.
  if (first === 48 || first === 49 || first === 55) return false;
  let digits = '';
  for (let i = s; i <= e; i++) digits += groupText(g, i);
  return isPaymentCardNumber(digits);
}
