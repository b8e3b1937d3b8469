// Relays one session channel between the client and the host once its exec or shell was admitted:
// stdin (and window changes, signals) up, stdout/stderr down — masked for masked principals — with
// backpressure both ways, then the exit status and the end of the channel. Everything the client saw
// and typed is recorded as an asciicast v2 terminal recording, settled with the statement.

import type { Writable } from 'node:stream';
import type ssh2 from 'ssh2';
import type { Admission, GateSession } from '../../gate/gate.js';
import { TerminalMasker, maskTerminalText, sensitiveKeyTag } from '../../masking/index.js';
import type { DetectorSet } from '../../masking/index.js';
import { AsciicastWriter } from '../../wire/asciicast/asciicast-writer.js';
import { holdForRoom } from './byte-pipe.js';

/** An unfinished output line is sent (masked) after this much quiet, so prompts still show. */
const MASK_FLUSH_MS = 40;

export interface TerminalSize {
  readonly cols: number;
  readonly rows: number;
}

export interface RelayOptions {
  readonly session: GateSession;
  readonly admission: Admission & { readonly allowed: true };
  readonly client: ssh2.ServerChannel;
  readonly upstream: ssh2.ClientChannel;
  readonly size: TerminalSize | undefined;
  readonly title: string;
  readonly command?: string;
  readonly recordMaxBytes: number;
  readonly detectors: DetectorSet;
  /** Told about every chunk of input (before it goes up) and output (as the client sees it). */
  readonly tap?: {
    input?(data: Buffer): void;
    output?(text: string): void;
    /** The client's input ended: the tap sends the end up itself (input.end()) once it may. */
    end?(): void;
  };
  /** Told about every terminal resize. */
  readonly onResize?: (cols: number, rows: number) => void;
  /** Told once the relay has ended (both sides closed), with how it ended. */
  readonly onEnd?: () => void;
  /** The client's TCP socket under its channel: output waits while it is full (byte-pipe.ts). */
  readonly clientSocket?: Writable;
}

export interface TerminalRelay {
  /** Records and forwards a terminal resize. */
  resize(size: TerminalSize & { readonly width: number; readonly height: number }): void;
  /** Forwards a signal the client asked to deliver. */
  signal(name: string): void;
  /** Ends the relay from Gatehouse's side: `message` on stderr, exit status 255, both channels closed. */
  end(message: string): void;
  /** Sends client input to the host (recorded), for a tap that holds input back (shell-lines.ts). */
  readonly input: { write(data: Buffer): boolean; end(): void };
}

export function startTerminalRelay(o: RelayOptions): TerminalRelay {
  const { client, upstream, session, admission } = o;
  const startMs = performance.now();
  const recording = new AsciicastWriter(
    {
      width: o.size?.cols ?? 80,
      height: o.size?.rows ?? 24,
      timestamp: Math.floor(Date.now() / 1000),
      title: o.title,
      ...(o.command !== undefined ? { command: o.command } : {}),
    },
    { maxBytes: o.recordMaxBytes, startMs },
  );
  const masking = admission.decision.effect !== 'deny' && Boolean(admission.decision.obligations.mask);
  // Values under sensitive field names (`DB_PASSWORD=…`, `password: …`) are masked whole too.
  const keys = sensitiveKeyTag();
  const out = masking ? new TerminalMasker(o.detectors, undefined, false, keys) : undefined;
  const err = masking ? new TerminalMasker(o.detectors, undefined, false, keys) : undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let exit: { code: number } | { signal: string; dump: boolean; desc: string } | undefined;
  let ended = false;
  let gatehouseEnded: string | undefined;

  const hostOutput = {
    pause: () => {
      upstream.pause();
      upstream.stderr.pause();
    },
    resume: () => {
      upstream.resume();
      upstream.stderr.resume();
    },
  };
  const send = (
    to: NodeJS.WritableStream & { write(b: Buffer | string): boolean },
    data: Buffer | string,
  ) => {
    if (ended) return;
    if (typeof data === 'string' && data === '') return;
    recording.event(performance.now(), 'o', data);
    if (o.tap?.output) o.tap.output(typeof data === 'string' ? data : data.toString('utf8'));
    // Backpressure: the host waits (stdout and stderr) while the client's window or socket is full.
    holdForRoom(to.write(data), hostOutput, to as unknown as Writable, o.clientSocket);
  };
  const flushMaskers = (): void => {
    flushTimer = undefined;
    if (out) send(client, out.flush());
    if (err) send(client.stderr, err.flush());
  };
  // Output went quiet: an unfinished line is sent as far as it can be before it ends (a prompt shows;
  // a trailing token waits for the rest of its line, so a secret written in pieces is masked whole).
  const quietMaskers = (): void => {
    flushTimer = undefined;
    if (out) send(client, out.quiet());
    if (err) send(client.stderr, err.quiet());
  };
  const fromHost =
    (to: NodeJS.WritableStream & { write(b: Buffer | string): boolean }, m: TerminalMasker | undefined) =>
    (d: Buffer) => {
      if (!m) return send(to, d);
      send(to, m.push(d));
      if (m.pending && flushTimer === undefined) flushTimer = setTimeout(quietMaskers, MASK_FLUSH_MS);
    };
  upstream.on('data', fromHost(client, out));
  upstream.stderr.on('data', fromHost(client.stderr, err));

  const toHost = (d: Buffer): boolean => {
    if (ended) return true;
    // On a terminal, keystrokes are kept as keys, their text hidden: what the terminal showed is in the
    // output's echo, and what it did not show (a password) is not kept. Without one, input is data
    // (a script fed to the command) and is kept as sent.
    if (o.size !== undefined) recording.keystrokes(performance.now(), d);
    else if (masking) {
      const text = d.toString('utf8');
      recording.event(performance.now(), 'i', maskTerminalText(text, o.detectors, 0, keys)?.text ?? text);
    } else recording.event(performance.now(), 'i', d);
    if (!upstream.write(d)) {
      client.pause();
      upstream.once('drain', () => client.resume());
      return false;
    }
    return true;
  };
  client.on('data', (d: Buffer) => {
    if (o.tap?.input) o.tap.input(d);
    else toHost(d);
  });
  client.on('end', () => {
    if (ended) return;
    if (o.tap?.end) o.tap.end();
    else upstream.end();
  });

  upstream.on('exit', (code: number | null, signal?: string, dump?: boolean, desc?: string) => {
    exit =
      code !== null && code !== undefined
        ? { code }
        : { signal: signal ?? 'KILL', dump: Boolean(dump), desc: desc ?? '' };
  });

  const finish = (): void => {
    if (ended) return;
    clearTimeout(flushTimer);
    if (out || err) flushMaskers();
    ended = true;
    if (gatehouseEnded === undefined) {
      if (exit && 'code' in exit) client.exit(exit.code);
      else if (exit) client.exit(exit.signal, exit.dump, exit.desc);
    }
    client.end();
    upstream.close();
    const masked: Record<string, number> = {};
    for (const m of [out, err])
      if (m) for (const [k, n] of Object.entries(m.counts)) masked[k] = (masked[k] ?? 0) + n;
    const code = exit && 'code' in exit ? exit.code : undefined;
    session.settle(admission, {
      durationMs: Math.round((performance.now() - startMs) * 1000) / 1000,
      ...(gatehouseEnded !== undefined
        ? { error: { code: 'session_ended', message: gatehouseEnded } }
        : code !== undefined && code !== 0
          ? { error: { code: `exit_${code}`, message: `the command exited with code ${code}` } }
          : exit && 'signal' in exit
            ? { error: { code: 'signal', message: `the command was killed by signal ${exit.signal}` } }
            : exit === undefined
              ? { error: { code: 'no_exit_status', message: 'the channel closed without an exit status' } }
              : {}),
      ...(Object.keys(masked).length > 0 ? { masked } : {}),
      terminal: {
        format: 'asciicast-v2',
        text: recording.text(),
        events: recording.events,
        truncated: recording.truncated,
      },
    });
    o.onEnd?.();
  };
  upstream.on('close', finish);
  client.on('close', finish);

  return {
    resize(size) {
      recording.resize(performance.now(), size.cols, size.rows);
      o.onResize?.(size.cols, size.rows);
      upstream.setWindow(size.rows, size.cols, size.height, size.width);
    },
    signal(name) {
      upstream.signal(name);
    },
    end(message) {
      if (ended) return;
      gatehouseEnded = message;
      recording.event(performance.now(), 'm', message);
      client.stderr.write(`\r\ngatehouse: ${message}\r\n`);
      client.exit(255);
      finish();
    },
    input: {
      write: toHost,
      end: () => {
        if (!ended) upstream.end();
      },
    },
  };
}
