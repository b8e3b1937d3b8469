// `gatehouse recordings export|verify|purge|public-key`: the tamper-evident session records
// (docs/recording.md). verify works offline on an exported file with nothing but a public key.
// It must never print a private key; purge deletes only what is older than the bound it is given.

import type { KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import { toMs } from '../config/duration.js';
import type { SessionStore } from '../core/ports.js';
import type { BlobStore } from '../recording/blob-store.js';
import { exportRecording } from '../recording/recording-export.js';
import { verifyRecording, type VerifyReport } from '../recording/recording-verify.js';
import { publicKeyFromPem, type RecordSigningKey } from '../recording/record-signing-key.js';
import type { EventReader } from '../store/event-queries.js';
import { processIo, type CliIo } from './cli-io.js';

/** What these commands need from the configured gateway state. */
export interface RecordingAccess {
  readonly store: SessionStore &
    EventReader & { purgeSessions(before: Date, limit?: number): Promise<string[]> };
  readonly blobs: BlobStore;
  /** The record signing key, when the data dir has one (never created by the CLI). */
  readonly key: RecordSigningKey | undefined;
  close(): Promise<void>;
}

export interface RecordingsCommandDeps {
  open(configPath?: string): Promise<RecordingAccess>;
  /**
   * Deletes the sessions past retention at the date (ended before it; or never ended and last active
   * before it), with their events and blobs; returns how many.
   */
  purge(access: RecordingAccess, before: Date): Promise<number>;
  readonly io?: CliIo;
  readonly now?: () => Date;
}

/** Exit codes of `verify`: 0 intact and signed, 1 changed or invalid, 3 intact but not (fully) signed. */
export const VERIFY_EXIT = { ok: 0, tampered: 1, unsigned: 3 } as const;

function parseAge(v: string): number {
  if (!/^\d+(ms|s|m|h|d)$/.test(v) || toMs(v) <= 0) {
    throw new InvalidArgumentError('expected a duration such as 90d, 12h or 30m');
  }
  return toMs(v);
}

async function* fileLines(file: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let pending: string | undefined;
  for await (const line of rl) {
    // A trailing empty line (the final newline) is not a line of the export.
    if (pending !== undefined) yield pending;
    pending = line;
  }
  if (pending !== undefined && pending !== '') yield pending;
}

export function describeReport(r: VerifyReport): string {
  const out: string[] = [];
  out.push(`session ${r.session ?? '?'}: ${r.events} event(s), last seq ${r.lastSeq}`);
  const keySource = {
    given: 'given with --public-key',
    gateway: "the gateway's key, from its data dir",
    export: "from the export: pass --public-key to check it is the gateway's",
  } as const;
  if (r.key) out.push(`key ${r.key.fingerprint} (${keySource[r.key.source]})`);
  if (r.problem) {
    out.push(
      `CHANGED: line ${r.problem.line}${r.problem.seq !== undefined ? ` (event ${r.problem.seq})` : ''}: ${r.problem.message}`,
    );
  } else {
    out.push('chain: intact');
  }
  // A changed record: say what the signature covers up to the change, not why a session is unsigned.
  if (r.problem) {
    out.push(
      r.signedThrough > 0
        ? `signature: valid through event ${r.signedThrough}; nothing after the change at line ${r.problem.line} can be trusted`
        : `signature: not checked — the record was changed at line ${r.problem.line}, before any valid seal`,
    );
    for (const w of r.warnings) out.push(`warning: ${w}`);
    return out.join('\n') + '\n';
  }
  switch (r.signature) {
    case 'signed':
      out.push(`signature: valid, covers every event (through ${r.signedThrough})`);
      break;
    case 'partly-signed':
      out.push(
        `signature: valid through event ${r.signedThrough}; events after it are not covered by a signature`,
      );
      break;
    case 'unverified':
      out.push('signature: present but not checked — no public key (pass --public-key)');
      break;
    case 'unsigned':
      out.push(
        r.ended
          ? 'signature: none (the session ended without a signing key)'
          : 'signature: none — unsigned (session did not end): verifiable up to its last event only',
      );
      break;
  }
  if (r.blobs.verified > 0) out.push(`blobs: ${r.blobs.verified} verified`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join('\n') + '\n';
}

export function recordingsCommand(deps: RecordingsCommandDeps): Command {
  const io = deps.io ?? processIo();
  const now = deps.now ?? (() => new Date());
  const cmd = new Command('recordings')
    .description('export, verify and purge tamper-evident session records (docs/recording.md)')
    .option('-c, --config <file>', 'gatehouse.yaml to use');

  async function withAccess<T>(sub: Command, fn: (a: RecordingAccess) => Promise<T>): Promise<T> {
    const { config } = sub.optsWithGlobals<{ config?: string }>();
    const access = await deps.open(config);
    try {
      return await fn(access);
    } finally {
      await access.close();
    }
  }

  cmd
    .command('export')
    .description('write a session record as JSON Lines (header, events, seals, blobs)')
    .argument('<id>', 'session id')
    .option('-o, --output <file>', 'write here instead of stdout')
    .option('--no-blobs', 'leave large result samples out (verify then reports them missing)')
    .action(async (id: string, opts: { output?: string; blobs: boolean }, sub: Command) => {
      await withAccess(sub, async (a) => {
        if (!(await a.store.getSession(id))) {
          sub.error(`error: no session with id ${JSON.stringify(id)}`, {
            exitCode: 1,
            code: 'gatehouse.recordings',
          });
        }
        const out = opts.output ? createWriteStream(opts.output, { mode: 0o600 }) : undefined;
        const publicKey = a.key ? { spki: a.key.spki, fingerprint: a.key.keyId } : undefined;
        let n = 0;
        for await (const line of exportRecording(a.store, id, {
          ...(publicKey ? { publicKey } : {}),
          ...(opts.blobs ? { blobs: a.blobs } : {}),
          now,
        })) {
          if (out) {
            if (!out.write(`${line}\n`)) await once(out, 'drain');
          } else io.stdout.write(`${line}\n`);
          n++;
        }
        if (out) {
          out.end();
          await once(out, 'finish');
          io.stderr.write(`wrote ${n} line(s) to ${opts.output}\n`);
        }
      });
    });

  cmd
    .command('verify')
    .description('check the hash chain and signatures of an exported file (offline) or of a stored session')
    .argument('<id|file>', 'an exported .jsonl file, or a session id in the configured store')
    .option(
      '--public-key <file>',
      "the gateway's record-signing public key (PEM); default: the key in the export",
    )
    .option('--json', 'print the report as JSON')
    .action(async (target: string, opts: { publicKey?: string; json?: boolean }, sub: Command) => {
      let publicKey: KeyObject | undefined;
      if (opts.publicKey) {
        try {
          publicKey = publicKeyFromPem(readFileSync(opts.publicKey, 'utf8'));
        } catch (e) {
          sub.error(`error: cannot read the public key ${opts.publicKey}: ${(e as Error).message}`, {
            exitCode: 2,
            code: 'gatehouse.recordings',
          });
        }
      }
      let report: VerifyReport;
      if (existsSync(target)) {
        report = await verifyRecording(fileLines(target), publicKey ? { publicKey } : {});
      } else {
        report = await withAccess(sub, async (a) => {
          const stored = await a.store.getSession(target);
          if (!stored) {
            sub.error(`error: ${JSON.stringify(target)} is neither a file nor a recorded session`, {
              exitCode: 2,
              code: 'gatehouse.recordings',
            });
          }
          const key = publicKey ?? a.key?.publicKey;
          const lines = exportRecording(a.store, target, {
            blobs: a.blobs,
            ...(a.key ? { publicKey: { spki: a.key.spki, fingerprint: a.key.keyId } } : {}),
          });
          return verifyRecording(lines, {
            ...(key ? { publicKey: key, publicKeySource: publicKey ? 'given' : 'gateway' } : {}),
            endedInStore: stored.session.endedAt !== undefined,
          });
        });
      }
      io.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : describeReport(report));
      if (!report.intact) {
        sub.error('verification failed: the record was changed', {
          exitCode: VERIFY_EXIT.tampered,
          code: 'gatehouse.recordings.changed',
        });
      }
      if (report.signature !== 'signed') {
        sub.error('the chain is intact but not every event is covered by a signature', {
          exitCode: VERIFY_EXIT.unsigned,
          code: 'gatehouse.recordings.unsigned',
        });
      }
    });

  cmd
    .command('purge')
    .description(
      'delete sessions (statements, events, seals, blobs) that ended longer ago than a bound ' +
        '(a session that never ended: whose last activity is older)',
    )
    .requiredOption('--older-than <age>', 'e.g. 90d', parseAge)
    .action(async (opts: { olderThan: number }, sub: Command) => {
      const before = new Date(now().getTime() - opts.olderThan);
      const n = await withAccess(sub, (a) => deps.purge(a, before));
      io.stdout.write(`purged ${n} session(s) ended (or last active) before ${before.toISOString()}\n`);
    });

  cmd
    .command('public-key')
    .description("print the gateway's record-signing public key (PEM) for offline verification")
    .action(async (_opts: unknown, sub: Command) => {
      await withAccess(sub, async (a) => {
        if (!a.key) {
          sub.error('error: this data dir has no record signing key yet (the gateway creates it at start)', {
            exitCode: 1,
            code: 'gatehouse.recordings',
          });
        }
        const pem = a.key.publicKey.export({ format: 'pem', type: 'spki' }).toString();
        io.stdout.write(pem.endsWith('\n') ? pem : `${pem}\n`);
        io.stderr.write(`fingerprint ${a.key.keyId}\n`);
      });
    });

  return cmd;
}
