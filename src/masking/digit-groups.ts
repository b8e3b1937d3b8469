// A run of digit groups found in a text ("(415) 555-0123", "4111 1111 1111 1111"), as positions.
// Shared scratch between the number scanner and the phone/SSN/card rules; holds no copies of the text.

export const SEP_SPACE = 1;
export const SEP_DASH = 2;
export const SEP_DOT = 3;
/** Any separator with a parenthesis in it: "(", ")", ") ", " (". */
export const SEP_PAREN = 4;

export const MAX_GROUPS = 24;

export interface DigitGroups {
  text: string;
  /** 0: starts with a digit, 1: starts with "+", 2: starts with "(". */
  lead: 0 | 1 | 2;
  count: number;
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** sep[i] is the separator between group i and i + 1 (SEP_*). */
  readonly sep: Uint8Array;
  /** Length in characters of sep[i]. */
  readonly sepLen: Uint8Array;
}

export function newDigitGroups(): DigitGroups {
  return {
    text: '',
    lead: 0,
    count: 0,
    start: new Int32Array(MAX_GROUPS),
    end: new Int32Array(MAX_GROUPS),
    sep: new Uint8Array(MAX_GROUPS),
    sepLen: new Uint8Array(MAX_GROUPS),
  };
}

export function groupLen(g: DigitGroups, i: number): number {
  return (g.end[i] as number) - (g.start[i] as number);
}

/** The first digit of group i, as a number. */
export function firstDigit(g: DigitGroups, i: number): number {
  return g.text.charCodeAt(g.start[i] as number) - 48;
}

/** Group i as a string. */
export function groupText(g: DigitGroups, i: number): string {
  return g.text.slice(g.start[i], g.end[i]);
}

export function totalDigits(g: DigitGroups, from = 0, to = g.count - 1): number {
  let n = 0;
  for (let i = from; i <= to; i++) n += groupLen(g, i);
  return n;
}
