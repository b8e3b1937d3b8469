// Plays a recorded terminal's output into the operator's own terminal (`gatehouse sessions replay
// --play`). The output came from the resource (a pod, a host) the agent drove, so it is hostile: it
// must not reach past the playback. Played as recorded, it could move the cursor up and rewrite the
// timeline printed just above it (a reader sees another statement), clear the scrollback, set the
// clipboard (OSC 52), the title or hyperlinks, or ask the terminal to answer (device status, window
// reports, mouse reporting), and the answer arrives on the operator's shell as typed input.
//
// So playback happens in the alternate screen, which the recording cannot leave, and only the
// control sequences that draw inside a screen are passed: cursor moves, erases, scrolling, colours,
// character sets, cursor visibility and autowrap. Everything else (OSC/DCS/APC/PM/SOS strings, C1
// controls, RIS, mode changes, reports, the alternate-screen switches themselves) is dropped.

const ESC = '\u001b';

/** Enters the alternate screen, clean, for a playback. */
export const PLAYBACK_START = `${ESC}[?1049h${ESC}[H${ESC}[2J`;
/** Restores what a recording may have left set, then leaves the alternate screen. */
export const PLAYBACK_END = `${ESC}[0m${ESC}(B${ESC})B${ESC}[?25h${ESC}[?7h${ESC}[r${ESC}[?1049l`;

/** CSI finals (no private prefix, no intermediates) that only draw inside the screen. */
const CSI_FINALS = new Set('ABCDEFGHIJKLMPSTXZ@`abdefgmrsu'.split(''));
/** DEC private modes (`CSI ? n h/l`) a playback may set: autowrap, cursor blink and visibility. */
const PRIVATE_MODES = new Set(['7', '12', '25']);
/** Longest CSI kept (parameters and all); longer ones are dropped. */
const MAX_CSI = 64;

type State = 'ground' | 'esc' | 'escInter' | 'csi' | 'string' | 'stringEsc';

/** A stream filter: feed it output chunks in order (a sequence may span chunks). */
export class PlaybackFilter {
  #state: State = 'ground';
  #seq = '';

  write(chunk: string): string {
    let out = '';
    for (const c of chunk) {
      const code = c.codePointAt(0)!;
      switch (this.#state) {
        case 'ground':
          if (c === ESC) {
            this.#state = 'esc';
            this.#seq = ESC;
          } else if (code < 0x20) {
            if (c === '\n' || c === '\r' || c === '\t' || c === '\b') out += c;
          } else if (code >= 0x7f && code <= 0x9f) {
            // DEL and C1 controls (0x9b is a one-byte CSI to some terminals): dropped.
          } else out += c;
          break;
        case 'esc':
          if (c === '[') {
            this.#state = 'csi';
            this.#seq += c;
          } else if (c === ']' || c === 'P' || c === '_' || c === '^' || c === 'X') {
            this.#state = 'string';
          } else if (code >= 0x20 && code <= 0x2f) {
            this.#state = 'escInter';
            this.#seq += c;
          } else if (c === ESC) {
            this.#seq = ESC;
          } else {
            // Save/restore cursor, index, reverse index, next line, keypad modes: screen-local.
            if ('78DEM=>'.includes(c)) out += this.#seq + c;
            this.#state = 'ground';
          }
          break;
        case 'escInter':
          if (code >= 0x20 && code <= 0x2f) {
            this.#seq += c;
            if (this.#seq.length > 4) this.#state = 'ground';
          } else {
            // Character set designation (ESC ( 0 for line drawing) only.
            if (this.#seq.length === 2 && '()'.includes(this.#seq[1]!) && code >= 0x30 && code <= 0x7e)
              out += this.#seq + c;
            this.#state = c === ESC ? 'esc' : 'ground';
            if (c === ESC) this.#seq = ESC;
          }
          break;
        case 'csi':
          if (code >= 0x40 && code <= 0x7e) {
            const seq = this.#seq + c;
            if (allowedCsi(seq.slice(2, -1), c)) out += seq;
            this.#state = 'ground';
          } else if (code >= 0x20 && code <= 0x3f && this.#seq.length < MAX_CSI) {
            this.#seq += c;
          } else if (c === ESC) {
            this.#state = 'esc';
            this.#seq = ESC;
          } else {
            // Too long, or a byte no CSI holds: the sequence is dropped whole.
            this.#state = 'ground';
          }
          break;
        case 'string':
          if (c === '\u0007') this.#state = 'ground';
          else if (c === ESC) this.#state = 'stringEsc';
          break;
        case 'stringEsc':
          this.#state = c === '\\' ? 'ground' : c === ESC ? 'stringEsc' : 'string';
          break;
      }
    }
    return out;
  }
}

function allowedCsi(params: string, final: string): boolean {
  if (params.startsWith('?')) {
    const modes = params.slice(1).split(';');
    return (final === 'h' || final === 'l') && modes.every((m) => PRIVATE_MODES.has(m));
  }
  // Other private prefixes (<, =, >) and intermediates ask the terminal for reports or settings.
  if (!/^[0-9;:]*$/.test(params)) return false;
  if (!CSI_FINALS.has(final)) return false;
  // ED 3 erases the scrollback (the timeline printed before the playback).
  if (final === 'J' && params.split(';').includes('3')) return false;
  return true;
}
