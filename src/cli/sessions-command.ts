// `gatehouse sessions list|show`: read the recorded sessions and statements from the store.
// Read-only. Human output escapes control characters: recorded text comes from clients and must not
// drive the operator's terminal.

import { Command, InvalidArgumentError, Option } from 'commander';
import { toMs } from '../config/duration.js';
import type { SessionStore } from '../core/ports.js';
import { terminalText } from '../core/visible-text.js';
import type {
  RecordedEffect,
  ResultSample,
  SessionFilter,
  SessionRecord,
  StoredStatement,
} from '../core/records.js';
import type { BlobStore } from '../recording/blob-store.js';
import { EVENT_TYPES } from '../recording/event-data.js';
import { eventLine, sampleRefOf } from '../recording/recording-export.js';
import { canonicalJson } from '../recording/canonical-json.js';
import { Timeline } from '../recording/replay-timeline.js';
import { CopyRowsReader, type CopyRowsSummary } from '../recording/copy-rows.js';
import { PLAYBACK_END, PLAYBACK_START, PlaybackFilter } from '../recording/terminal-playback.js';
import type { EventReader, StoredEvent } from '../store/event-queries.js';
import { processIo, type CliIo } from './cli-io.js';
import { textTable } from './text-table.js';

type ReadableStore = SessionStore & { close(): Promise<void> };

/** Counts per session; the stores in src/store provide it, other SessionStores fall back to getSession. */
interface StatementCounter {
  countStatements(sessionId: string): Promise<{ total: number; denied: number; review: number }>;
}

export interface SessionsCommandDeps {
  /** Loads the config (`--config`, else the default) and opens its store. */
  openStore(configPath?: string): Promise<ReadableStore>;
  readonly io?: CliIo;
  /** Clock for relative times such as `--since 1h`. */
  readonly now?: () => Date;
  /** For `replay`: the store's event record and the blob store holding large result samples. */
  openReplay?(configPath?: string): Promise<ReplayAccess>;
  /** How often `replay --follow` polls for new events (default 500 ms). */
  readonly followPollMs?: number;
}

export interface ReplayAccess {
  readonly store: SessionStore & EventReader;
  readonly blobs?: BlobStore;
  close(): Promise<void>;
}

/** Fetches the terminal recordings (asciicast text) a page of result events refers to. */
async function blobTerminals(
  events: readonly StoredEvent[],
  blobs: BlobStore | undefined,
  into: Map<string, string>,
  order: string[],
): Promise<void> {
  if (!blobs) return;
  for (const e of events) {
    const ref =
      e.type === EVENT_TYPES.result ? (e.data.terminalRef as { key?: unknown } | undefined) : undefined;
    const key = typeof ref?.key === 'string' ? ref.key : '';
    if (key === '' || into.has(key)) continue;
    const body = await blobs.get(key).catch(() => undefined);
    if (!body) continue;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { cast?: unknown };
      if (typeof parsed.cast === 'string') {
        into.set(key, parsed.cast);
        order.push(key);
      }
    } catch {
      // Shown as unavailable; `recordings verify` says why.
    }
  }
}

/** Plays asciicast v2 recordings on stdout with their timing (idle gaps capped, sped up by `speed`). */
async function playTerminals(io: CliIo, casts: readonly string[], speed: number): Promise<void> {
  const { parseAsciicast } = await import('../wire/asciicast/asciicast-writer.js');
  for (const [i, cast] of casts.entries()) {
    const { header, events } = parseAsciicast(cast);
    const text = (v: unknown): string => (typeof v === 'string' ? printable(v) : '');
    io.stdout.write(
      `\n── terminal recording ${i + 1}/${casts.length}: ${text(header.title)} ${text(header.command)}\n`,
    );
    // The output is the resource's, driven by the agent: played in the alternate screen, with only the
    // sequences that draw inside it (src/recording/terminal-playback.ts), so it cannot rewrite the
    // timeline above, set the clipboard or make the terminal type an answer (docs/security.md).
    const filter = new PlaybackFilter();
    io.stdout.write(PLAYBACK_START);
    let last = 0;
    try {
      for (const [t, code, data] of events) {
        if (code !== 'o') continue;
        const gap = Math.min(Math.max(0, t - last), 2) / speed;
        last = t;
        if (gap > 0) await new Promise((r) => setTimeout(r, gap * 1000));
        io.stdout.write(filter.write(data));
      }
    } finally {
      io.stdout.write(PLAYBACK_END);
    }
    io.stdout.write('\n── end of recording\n');
  }
}

/** Fetches the blob-stored samples a page of events refers to (missing ones are left out). */
async function blobSamples(
  events: readonly StoredEvent[],
  blobs: BlobStore | undefined,
  into: Map<string, ResultSample>,
): Promise<void> {
  if (!blobs) return;
  for (const e of events) {
    const ref = e.type === EVENT_TYPES.result ? sampleRefOf(e) : undefined;
    if (!ref || ref.key === '' || into.has(ref.key)) continue;
    const body = await blobs.get(ref.key).catch(() => undefined);
    if (!body) continue;
    try {
      into.set(ref.key, JSON.parse(body.toString('utf8')) as ResultSample);
    } catch {
      // A blob that is not JSON is shown as unavailable; `recordings verify` says why.
    }
  }
}

const EFFECTS: readonly RecordedEffect[] = ['allow', 'deny', 'review'];

/** An ISO-8601 time, or a duration (`90s`, `15m`, `1h`, `7d`) meaning that long before now. */
export function parseTimeBound(value: string, now: Date): Date {
  if (/^\d+(ms|s|m|h|d)$/.test(value)) return new Date(now.getTime() - toMs(value));
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = Date.parse(value);
    if (Number.isFinite(t)) return new Date(t);
  }
  throw new InvalidArgumentError(
    'expected an ISO-8601 time (2026-03-01T10:00:00Z) or a duration such as 30m, 1h or 7d',
  );
}

function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10_000) {
    throw new InvalidArgumentError('expected a whole number from 1 to 10000');
  }
  return Number(value);
}

/** Makes client-controlled text safe to print: C0/C1 controls and DEL become visible escapes. */
export function printable(s: string, keepNewlines = false): string {
  // Invisible and reordering characters are shown too (src/core/visible-text.ts).
  return terminalText(s, { keepNewlines, tab: '\t' });
}

function time(d: Date): string {
  return d.toISOString().replace('T', ' ');
}

function hasCounter(store: ReadableStore): store is ReadableStore & StatementCounter {
  return typeof (store as Partial<StatementCounter>).countStatements === 'function';
}

async function counts(
  store: ReadableStore,
  id: string,
): Promise<{ total: number; denied: number; review: number }> {
  if (hasCounter(store)) return store.countStatements(id);
  const got = await store.getSession(id);
  const sts = got?.statements ?? [];
  return {
    total: sts.length,
    denied: sts.filter((s) => s.effect === 'deny').length,
    review: sts.filter((s) => s.effect === 'review').length,
  };
}

function indent(text: string, prefix: string): string {
  return printable(text, true)
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

/** Events `show` reads at most, for the rows of COPYs (as the console's session page). */
const MAX_SHOW_EVENTS = 20_000;

function hasEvents(store: ReadableStore): store is ReadableStore & EventReader {
  return typeof (store as Partial<EventReader>).getEvents === 'function';
}

/** The rows each COPY FROM STDIN sent, by statement id, from the session's copy.data and copy.end events. */
async function copyRows(store: ReadableStore, id: string): Promise<Map<string, CopyRowsSummary>> {
  const out = new Map<string, CopyRowsSummary>();
  if (!hasEvents(store)) return out;
  const readers = new Map<string, CopyRowsReader>();
  for (let after = 0, read = 0; read < MAX_SHOW_EVENTS;) {
    const page = await store.getEvents(id, after, 1000);
    for (const e of page) {
      if (!e.statement || (e.type !== EVENT_TYPES.copyData && e.type !== EVENT_TYPES.copyEnd)) continue;
      let reader = readers.get(e.statement);
      if (!reader) readers.set(e.statement, (reader = new CopyRowsReader()));
      if (e.type === EVENT_TYPES.copyData) reader.add(e.data);
      else {
        out.set(e.statement, reader.summary(e.data));
        readers.delete(e.statement);
      }
    }
    if (page.length < 1000) break;
    after = page[page.length - 1]!.seq;
    read += page.length;
  }
  for (const [statement, reader] of readers) out.set(statement, reader.summary(undefined));
  return out;
}

function statementLine(st: StoredStatement, start: Date, copy?: CopyRowsSummary): string {
  const offset = `+${((st.at.getTime() - start.getTime()) / 1000).toFixed(3)}s`;
  const parts = [
    `#${st.seq}`,
    offset,
    st.effect,
    `rule=${printable(st.ruleId)}`,
    printable(st.kind),
    `[${st.categories.map((c) => printable(c)).join(',')}]`,
  ];
  const r = st.result;
  if (r) {
    if (r.rows !== undefined) parts.push(`rows=${r.rows}`);
    parts.push(`${r.durationMs.toFixed(1)}ms`);
    if (r.error) parts.push(`error=${printable(r.error.code)}: ${printable(r.error.message)}`);
    if (r.masked && Object.keys(r.masked).length > 0) {
      parts.push(
        `masked=${Object.entries(r.masked)
          .map(([k, v]) => `${printable(k)}:${v}`)
          .join(',')}`,
      );
    }
  } else if (st.effect === 'allow') {
    parts.push('(no result recorded)');
  }
  let out = `  ${parts.join('  ')}\n`;
  if (st.message) out += `${indent(`message: ${st.message}`, '      ')}\n`;
  out += `${indent(st.text, '      ')}\n`;
  if (st.params && st.params.length > 0)
    out += `${indent(`params: ${JSON.stringify(st.params)}`, '      ')}\n`;
  if (st.body) out += `${indent(`body: ${st.body.bytes} bytes, sha256 ${st.body.sha256}`, '      ')}\n`;
  if (copy) out += `${indent(copy.head, '      ')}\n${indent(copy.shown, '      │ ')}\n`;
  return out;
}

function sessionHeader(s: SessionRecord, c: { total: number; denied: number; review: number }): string {
  const client = [printable(s.clientAddress)];
  if (s.clientUser !== undefined) client.push(`user=${printable(s.clientUser)}`);
  if (s.application !== undefined) client.push(`application=${printable(s.application)}`);
  const ended = s.endedAt
    ? `${time(s.endedAt)}${s.endReason ? ` (${printable(s.endReason)})` : ''}`
    : 'still open (or the gateway stopped before ending it)';
  const rows: [string, string][] = [
    ['subject', `${printable(s.subject)}${s.agent ? ' (agent)' : ''}`],
    ['groups', s.groups.map((g) => printable(g)).join(', ') || '-'],
    ['token', `${s.tokenKind}, issuer ${printable(s.issuer)}`],
    ['client', client.join('  ')],
    ['connection', `${printable(s.connection)} (${printable(s.protocol)})`],
    ['started', time(s.startedAt)],
    ['ended', ended],
    ['statements', `${c.total} (${c.denied} denied, ${c.review} review)`],
  ];
  return `session ${printable(s.id)}\n` + rows.map(([k, v]) => `  ${k.padEnd(11)} ${v}`).join('\n') + '\n';
}

export function sessionsCommand(deps: SessionsCommandDeps): Command {
  const io = deps.io ?? processIo();
  const now = deps.now ?? (() => new Date());
  const cmd = new Command('sessions')
    .description('list, show and replay recorded sessions and their statements')
    .option('-c, --config <file>', 'gatehouse.yaml to use');

  async function withStore<T>(sub: Command, fn: (store: ReadableStore) => Promise<T>): Promise<T> {
    const { config } = sub.optsWithGlobals<{ config?: string }>();
    const store = await deps.openStore(config);
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  cmd
    .command('list')
    .description('list sessions, newest first')
    .option('--subject <name>', 'only sessions of this subject')
    .option('--connection <name>', 'only sessions on this connection')
    .option('--since <time>', 'started at or after: ISO-8601 time or a duration ago (30m, 1h, 7d)')
    .option('--until <time>', 'started before: ISO-8601 time or a duration ago')
    .addOption(
      new Option('--decision <effect>', 'only sessions with a statement that got this decision').choices(
        EFFECTS,
      ),
    )
    .option('--category <name>', 'only sessions with a statement in this category (e.g. ddl-drop)')
    .option('--text <text>', 'only sessions with a statement containing this text (case-insensitive)')
    .option('--limit <n>', 'at most this many sessions (default 50)', parseLimit)
    .option('--json', 'print JSON (dates as ISO-8601 strings)')
    .action(
      async (
        opts: {
          subject?: string;
          connection?: string;
          since?: string;
          until?: string;
          decision?: RecordedEffect;
          category?: string;
          text?: string;
          limit?: number;
          json?: boolean;
        },
        sub: Command,
      ) => {
        let filter: SessionFilter;
        try {
          const t = now();
          filter = {
            ...(opts.subject !== undefined ? { subject: opts.subject } : {}),
            ...(opts.connection !== undefined ? { connection: opts.connection } : {}),
            ...(opts.since !== undefined ? { since: parseTimeBound(opts.since, t) } : {}),
            ...(opts.until !== undefined ? { until: parseTimeBound(opts.until, t) } : {}),
            ...(opts.decision !== undefined ? { effect: opts.decision } : {}),
            ...(opts.category !== undefined ? { category: opts.category } : {}),
            ...(opts.text !== undefined ? { text: opts.text } : {}),
            ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
          };
        } catch (e) {
          sub.error(`error: ${(e as Error).message}`, { exitCode: 2, code: 'gatehouse.sessions' });
        }
        const rows = await withStore(sub, async (store) => {
          const list = await store.listSessions(filter);
          return Promise.all(list.map(async (s) => ({ session: s, counts: await counts(store, s.id) })));
        });
        if (opts.json) {
          const out = rows.map((r) => ({
            ...r.session,
            statements: r.counts.total,
            denied: r.counts.denied,
            review: r.counts.review,
          }));
          io.stdout.write(JSON.stringify(out, null, 2) + '\n');
          return;
        }
        if (rows.length === 0) {
          io.stdout.write('no sessions\n');
          return;
        }
        io.stdout.write(
          textTable([
            ['ID', 'STARTED', 'SUBJECT', 'AGENT', 'CONNECTION', 'STATEMENTS', 'DENIED'],
            ...rows.map(({ session: s, counts: c }) => [
              printable(s.id),
              time(s.startedAt),
              printable(s.subject),
              s.agent ? 'yes' : 'no',
              printable(s.connection),
              String(c.total),
              String(c.denied),
            ]),
          ]),
        );
      },
    );

  cmd
    .command('show')
    .description('show one session and every statement in it, in order')
    .argument('<id>', 'session id (from `sessions list`)')
    .option('--json', 'print JSON (dates as ISO-8601 strings)')
    .action(async (id: string, opts: { json?: boolean }, sub: Command) => {
      // A statement's reviewed body (digest and size) comes with it from the store (statement_records).
      const read = await withStore(sub, async (store) => {
        const session = await store.getSession(id);
        return session && { got: session, copies: await copyRows(store, id) };
      });
      const got = read?.got;
      if (!got)
        sub.error(`error: no session with id ${printable(id)}`, { exitCode: 1, code: 'gatehouse.sessions' });
      if (opts.json) {
        io.stdout.write(JSON.stringify(got, null, 2) + '\n');
        return;
      }
      const c = {
        total: got.statements.length,
        denied: got.statements.filter((s) => s.effect === 'deny').length,
        review: got.statements.filter((s) => s.effect === 'review').length,
      };
      let out = sessionHeader(got.session, c);
      if (got.statements.length > 0)
        out +=
          '\n' +
          got.statements
            .map((st) => statementLine(st, got.session.startedAt, read.copies.get(st.id)))
            .join('');
      io.stdout.write(out);
    });

  cmd
    .command('replay')
    .description(
      'print a session as a timeline: prompts, statements, decisions, results and samples, approvals',
    )
    .argument('<id>', 'session id (from `sessions list`)')
    .option('-f, --follow', 'keep printing new events of a live session until it ends')
    .option('--json', 'print the events as JSON Lines (the export format)')
    .option('--max-rows <n>', 'sample rows shown per statement (default 10)', parseLimit)
    .option(
      '--play',
      'then play the terminal recordings (Kubernetes exec) in this terminal, with their timing',
    )
    .option('--speed <x>', 'playback speed for --play (default 1)', parseFloat)
    .action(
      async (
        id: string,
        opts: { follow?: boolean; json?: boolean; maxRows?: number; play?: boolean; speed?: number },
        sub: Command,
      ) => {
        if (!deps.openReplay)
          sub.error('error: replay is not available in this build', {
            exitCode: 1,
            code: 'gatehouse.sessions',
          });
        const { config } = sub.optsWithGlobals<{ config?: string }>();
        const access = await deps.openReplay(config);
        try {
          const got = await access.store.getSession(id);
          if (!got)
            sub.error(`error: no session with id ${printable(id)}`, {
              exitCode: 1,
              code: 'gatehouse.sessions',
            });
          const samples = new Map<string, ResultSample>();
          const terminals = new Map<string, string>();
          const terminalOrder: string[] = [];
          const timeline = new Timeline({
            samples,
            terminals,
            ...(opts.maxRows !== undefined ? { maxRows: opts.maxRows } : {}),
          });
          if (!opts.json) {
            const c = {
              total: got.statements.length,
              denied: got.statements.filter((s) => s.effect === 'deny').length,
              review: got.statements.filter((s) => s.effect === 'review').length,
            };
            io.stdout.write(`${sessionHeader(got.session, c)}\n`);
          }
          let after = 0;
          let ended = false;
          let printed = 0;
          for (;;) {
            const page = await access.store.getEvents(id, after, 1000);
            if (page.length > 0) {
              after = (page[page.length - 1] as StoredEvent).seq;
              printed += page.length;
              if (page.some((e) => e.type === EVENT_TYPES.sessionEnd)) ended = true;
              if (opts.json) {
                io.stdout.write(page.map((e) => `${canonicalJson(eventLine(e))}\n`).join(''));
              } else {
                await blobSamples(page, access.blobs, samples);
                await blobTerminals(page, access.blobs, terminals, terminalOrder);
                io.stdout.write(timeline.render(page));
              }
            }
            if (page.length === 1000) continue;
            if (!opts.follow || ended) break;
            await new Promise((r) => setTimeout(r, deps.followPollMs ?? 500));
          }
          if (opts.play && !opts.json && terminalOrder.length > 0) {
            const speed = opts.speed !== undefined && opts.speed > 0 ? opts.speed : 1;
            await playTerminals(
              io,
              terminalOrder.map((k) => terminals.get(k)!),
              speed,
            );
          }
          if (!opts.json && printed === 0) {
            io.stdout.write(
              '(no recorded events: the session predates recording, or was recorded by an older gateway)\n',
            );
          }
        } finally {
          await access.close();
        }
      },
    );

  return cmd;
}
