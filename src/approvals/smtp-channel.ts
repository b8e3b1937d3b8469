// Optional e-mail notifier: a minimal SMTP client (RFC 5321: EHLO, STARTTLS per RFC 3207, AUTH PLAIN
// per RFC 4954, MAIL/RCPT/DATA) that sends one plain-text message per notice. Header values are
// stripped of line breaks so client-controlled text cannot inject headers or recipients.

import net from 'node:net';
import tls from 'node:tls';
import { revealInvisible } from '../core/visible-text.js';
import type { ApprovalNotice, NotificationChannel } from './approval-notifier.js';
import { boundText } from './approval-types.js';
import { previewSummary } from './slack.js';

export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  readonly tls: 'none' | 'starttls' | 'implicit';
  readonly user?: string;
  readonly password?: () => Promise<string>;
  readonly from: string;
  readonly to: readonly string[];
  readonly timeoutMs?: number;
}

// eslint-disable-next-line no-control-regex
const oneLine = (s: string) => s.replace(/[\r\n\u0000]+/g, ' ');

function address(s: string): string {
  const a = oneLine(s).trim();
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(a)) throw new Error('invalid e-mail address in approvals.notifiers.smtp');
  return a;
}

/** RFC 2047 encoded-word for non-ASCII header text. */
function headerText(s: string): string {
  const t = oneLine(s);
  return /^[\x20-\x7e]*$/.test(t) ? t : `=?UTF-8?B?${Buffer.from(t, 'utf8').toString('base64')}?=`;
}

/**
 * The message's subject and body. Every piece of text that is not the message's own (names, the
 * statement, reasons, comments) is shown as a person must read it before deciding (src/core/visible-text.ts:
 * invisible, blank-looking and control characters spelled out, runs of blank lines counted) where it
 * is put in, so the message's own lines and marks are never re-read as the client's.
 */
export function emailText(notice: ApprovalNotice): { subject: string; body: string } {
  const r = notice.request;
  const v = (s: string | undefined): string => revealInvisible(s ?? '');
  const who = `${v(r.requester.subject)} (${v(r.requester.issuer)})${r.requester.agent ? ', an AI agent' : ''}`;
  if (notice.event !== 'approval.requested') {
    const word = notice.event.slice('approval.'.length);
    return {
      subject: `Gatehouse request ${v(r.id)} ${word}`,
      body: `Approval request ${v(r.id)} from ${who} on ${v(r.connection)} was ${word}${r.decidedBy ? ` by ${v(r.decidedBy)}` : ''}.${r.decisionComment ? `\nComment: ${v(r.decisionComment)}` : ''}\n\n${v(notice.url)}\n`,
    };
  }
  const lines = [
    `${who} asks for approval on connection ${v(r.connection)}.`,
    '',
    r.kind === 'access'
      ? `Time-bound access: grant ${v(r.grantName)} for ${Math.round((r.requestedDurationMs ?? 0) / 60_000)} minutes.`
      : `Statement (${r.mode === 'hold' ? 'held: the client is waiting' : 'deferred'}):\n\n${quoted(r.statement?.text ?? '')}`,
    // The parameters, the session's settings and the preview's plan hold the client's words too (a
    // value, a custom setting, a literal the plan quotes): behind the quote mark as well (class 260).
    ...(r.statement?.params?.length
      ? ['', 'Parameters (as the client sent them):', quoted(JSON.stringify(r.statement.params))]
      : []),
    ...(boundText(r) ? ['', 'Session:', quoted(boundText(r) ?? '')] : []),
    '',
    ...(r.reason !== undefined
      ? ['Reason (as the client gave it):', quoted(r.reason)]
      : ['Reason: (none given)']),
    ...(r.kind === 'statement' ? ['', 'Impact preview:', quoted(previewSummary(r.preview).join('\n'))] : []),
    '',
    `Approve or deny: ${v(notice.url)}`,
    `Request ${v(r.id)}, rule ${v(r.ruleName)}, expires ${r.expiresAt.toISOString()}.`,
  ];
  return {
    subject: `Gatehouse: approval needed for ${v(r.requester.subject)} on ${v(r.connection)}`,
    body: `${lines.join('\n')}\n`,
  };
}

/**
 * Client text (a statement, a reason, parameters, session settings, a plan quoting a literal), shown
 * as a person must read it, with every line behind `  | `: a line of it cannot pass for one of the
 * message's own ("Impact preview:", "Approve or deny: <a link elsewhere>"). What a mail reader might
 * draw as a line break besides these (U+2028, U+0085, a form feed) is spelled out, not broken on.
 */
function quoted(text: string): string {
  return revealInvisible(text)
    .split(/\r\n|\r|\n/)
    .map((l) => `  | ${l}`)
    .join('\n');
}

export function buildMessage(
  from: string,
  to: readonly string[],
  subject: string,
  body: string,
  now = new Date(),
): string {
  const b64 = Buffer.from(body.replace(/\r?\n/g, '\r\n'), 'utf8')
    .toString('base64')
    .replace(/.{1,76}/g, '$&\r\n');
  return [
    `From: ${address(from)}`,
    `To: ${to.map(address).join(', ')}`,
    `Subject: ${headerText(subject)}`,
    `Date: ${now.toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64,
  ].join('\r\n');
}

/** Reads SMTP replies: a reply ends at a line whose code is followed by a space (RFC 5321 §4.2). */
class ReplyReader {
  #buf = '';
  #waiters: ((r: { code: number; text: string }) => void)[] = [];
  #replies: { code: number; text: string }[] = [];
  #lines: string[] = [];

  push(chunk: string): void {
    this.#buf += chunk;
    let i: number;
    while ((i = this.#buf.indexOf('\n')) >= 0) {
      const line = this.#buf.slice(0, i).replace(/\r$/, '');
      this.#buf = this.#buf.slice(i + 1);
      this.#lines.push(line);
      if (/^\d{3}(\s|$)/.test(line)) {
        const reply = { code: Number(line.slice(0, 3)), text: this.#lines.join('\n') };
        this.#lines = [];
        const w = this.#waiters.shift();
        if (w) w(reply);
        else this.#replies.push(reply);
      }
    }
  }

  next(): Promise<{ code: number; text: string }> {
    const r = this.#replies.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

export async function sendMail(s: SmtpSettings, message: string): Promise<void> {
  const timeout = s.timeoutMs ?? 15_000;
  let socket: net.Socket =
    s.tls === 'implicit'
      ? tls.connect({ host: s.host, port: s.port, servername: s.host })
      : net.connect({ host: s.host, port: s.port });
  let reader = new ReplyReader();
  const attach = (sock: net.Socket, r: ReplyReader) =>
    sock.on('data', (d: Buffer) => r.push(d.toString('utf8')));
  attach(socket, reader);
  let failure: Error | undefined;
  const failed = new Promise<never>((_, reject) => {
    const fail = (e: Error) => {
      failure ??= e;
      reject(failure);
    };
    socket.on('error', fail);
    const t = setTimeout(() => fail(new Error('SMTP timed out')), timeout);
    t.unref();
    socket.once('close', () => clearTimeout(t));
  });
  failed.catch(() => undefined);
  const expect = async (codes: readonly number[], what: string) => {
    const r = await Promise.race([reader.next(), failed]);
    if (!codes.includes(r.code)) throw new Error(`SMTP ${what} refused: ${r.code}`);
    return r;
  };
  const send = (line: string) => socket.write(`${line}\r\n`);
  try {
    await expect([220], 'greeting');
    send('EHLO gatehouse');
    await expect([250], 'EHLO');
    if (s.tls === 'starttls') {
      send('STARTTLS');
      await expect([220], 'STARTTLS');
      socket.removeAllListeners('data');
      const secure = tls.connect({ socket, servername: s.host });
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      });
      socket = secure;
      reader = new ReplyReader();
      attach(socket, reader);
      send('EHLO gatehouse');
      await expect([250], 'EHLO');
    }
    if (s.user !== undefined && s.password) {
      const secret = await s.password();
      send(`AUTH PLAIN ${Buffer.from(`\0${s.user}\0${secret}`, 'utf8').toString('base64')}`);
      await expect([235], 'AUTH');
    }
    send(`MAIL FROM:<${address(s.from)}>`);
    await expect([250], 'MAIL FROM');
    for (const to of s.to) {
      send(`RCPT TO:<${address(to)}>`);
      await expect([250, 251], 'RCPT TO');
    }
    send('DATA');
    await expect([354], 'DATA');
    // Dot-stuffing (RFC 5321 §4.5.2); the base64 body never starts a line with a dot anyway.
    socket.write(`${message.replace(/^\./gm, '..')}\r\n.\r\n`);
    await expect([250], 'message');
    send('QUIT');
    await Promise.race([reader.next(), failed]).catch(() => undefined);
  } finally {
    socket.end();
    socket.destroy();
  }
}

export function smtpChannel(s: SmtpSettings): NotificationChannel {
  return {
    name: 'email',
    wants: () => true,
    async send(notice) {
      const { subject, body } = emailText(notice);
      await sendMail(s, buildMessage(s.from, s.to, subject, body, notice.at));
    },
  };
}
