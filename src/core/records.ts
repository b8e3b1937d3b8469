// Session and statement records: what the gateway writes before it forwards anything.
// Records hold what the client saw (masked) and never an upstream credential.

import type { SqlCategory } from './sql-statement.js';
import type { TokenKind } from './identity.js';

export interface SessionRecord {
  readonly id: string;
  readonly startedAt: Date;
  readonly endedAt?: Date;
  readonly subject: string;
  readonly groups: readonly string[];
  readonly tokenKind: TokenKind;
  readonly agent: boolean;
  readonly issuer: string;
  /** Remote address of the client (`ip:port`). */
  readonly clientAddress: string;
  /** User name the client claimed in its startup packet: recorded, never trusted. */
  readonly clientUser?: string;
  readonly application?: string;
  readonly connection: string;
  readonly protocol: string;
  readonly endReason?: string;
}

export type RecordedEffect = 'allow' | 'deny' | 'review';

export interface StatementRecord {
  readonly id: string;
  readonly sessionId: string;
  /** 1-based order within the session. */
  readonly seq: number;
  readonly at: Date;
  readonly via: string;
  readonly text: string;
  readonly kind: string;
  readonly categories: readonly SqlCategory[] | readonly string[];
  readonly effect: RecordedEffect;
  readonly ruleId: string;
  readonly message?: string;
  readonly params?: readonly (string | null)[];
  /**
   * A request body read whole for review (HTTP, AWS, Kubernetes): its SHA-256 (hex) and size in bytes,
   * what the approval was bound to (docs/approvals.md). Never the body itself.
   */
  readonly body?: { readonly sha256: string; readonly bytes: number };
  /** The prompt or task that caused this statement, when known (docs/recording.md, prompt lineage). */
  readonly lineage?: StatementLineage;
}

/** Where a statement's prompt lineage came from, most specific first. */
export type LineageSource = 'comment' | 'application-name' | 'context-api';

/** Links a statement to the prompt or tool call that caused it. Never used for policy. */
export interface StatementLineage {
  readonly source: LineageSource;
  readonly promptId?: string;
  readonly toolUseId?: string;
  /** W3C traceparent from a sqlcommenter comment. */
  readonly traceparent?: string;
  /** The agent's own session id (e.g. Claude Code's session_id), from the context API. */
  readonly agentSessionId?: string;
  /** Prompt text, when the source knows it; the recorder stores it once per session and prompt. */
  readonly prompt?: string;
  /**
   * The context API's current prompt for the principal, when a comment or application_name declared
   * another one: the declaration is the client's claim, and the record keeps what it overrode.
   */
  readonly contextPromptId?: string;
  /** That prompt's text, when known; the recorder stores it in a `prompt` event, as `prompt`. */
  readonly contextPrompt?: string;
}

/** The latest prompt context a principal declared through the context API. */
export interface PromptContext {
  readonly promptId: string;
  readonly prompt?: string;
  readonly toolUseId?: string;
  /** Tool name and a short summary of its input (e.g. the Bash command), from PreToolUse. */
  readonly tool?: string;
  readonly agentSessionId?: string;
  readonly at: Date;
}

export interface StatementResult {
  readonly durationMs: number;
  /** Rows returned or affected, when the protocol reports it. */
  readonly rows?: number;
  readonly error?: { readonly code: string; readonly message: string };
  /** Per detector/rule counts of masked values, filled by the masking step. */
  readonly masked?: Readonly<Record<string, number>>;
  /** The first rows exactly as the client saw them (after masking), when sampling is on. */
  readonly sample?: ResultSample;
  /** A sample too large to keep inline, moved to the blob store by the recorder. */
  readonly sampleRef?: ResultSampleRef;
  /** A terminal session (Kubernetes exec/attach) as the client saw it; the recorder moves it to the blob store. */
  readonly terminal?: TerminalRecording;
  /** Where the recorder put `terminal`: a blob whose SHA-256 the hash chain covers. */
  readonly terminalRef?: TerminalRecordingRef;
}

/** A terminal recording: asciicast v2 text (output, input, resizes), masked as the client saw it. */
export interface TerminalRecording {
  readonly format: 'asciicast-v2';
  readonly text: string;
  readonly events: number;
  /** True when the recording was cut at its size cap. */
  readonly truncated: boolean;
}

export interface TerminalRecordingRef {
  /** '' when the blob store was unavailable and the recording was lost. */
  readonly key: string;
  /** Lower-case hex SHA-256 of the blob (the canonical JSON of {format, cast}). */
  readonly sha256: string;
  readonly format: 'asciicast-v2';
  readonly bytes: number;
  readonly events: number;
  readonly truncated: boolean;
}

/** Where a large result sample lives: a blob whose SHA-256 the hash chain covers. */
export interface ResultSampleRef {
  readonly key: string;
  /** Lower-case hex SHA-256 of the blob (the canonical JSON of the ResultSample). */
  readonly sha256: string;
  readonly bytes: number;
  readonly rows: number;
  readonly truncated: boolean;
}

export interface ResultSample {
  readonly columns: readonly string[];
  /** Cells as text (binary-format cells as `\x` hex); null for SQL NULL. */
  readonly rows: readonly (readonly (string | null)[])[];
  /** True when rows or bytes were cut at the cap. */
  readonly truncated: boolean;
}

/**
 * Collects a result sample for one statement, fed by the engine with what it sends the client.
 * `wants` turns false at the cap so the engine stops decoding rows for it.
 */
export interface ResultSampler {
  readonly wants: boolean;
  columns(names: readonly string[]): void;
  row(cells: readonly (string | null)[]): void;
  result(): ResultSample | undefined;
}

/** Makes a sampler per admitted statement; `undefined` when sampling is off. */
export type ResultSamplerFactory = () => ResultSampler | undefined;

export interface StoredStatement extends StatementRecord {
  readonly result?: StatementResult;
}

/**
 * One event of a session's tamper-evident record (docs/recording.md): approval events
 * (`approval.requested|notified|approved|denied|executed|expired|withdrawn`), prompt context and
 * others. The store chains it with the session's other events; `data` must be JSON (no secrets).
 */
export interface SessionEvent {
  readonly type: string;
  readonly at: Date;
  readonly statementId?: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface SessionFilter {
  readonly subject?: string;
  /** With `subject`: only that principal's sessions from this issuer. */
  readonly issuer?: string;
  /** true: agents' sessions only; false: people's only. */
  readonly agent?: boolean;
  readonly protocol?: string;
  readonly connection?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly effect?: RecordedEffect;
  readonly category?: string;
  readonly text?: string;
  readonly limit?: number;
}

export interface ServiceTokenRecord {
  /** Token id (`jti`); the token itself is never stored. */
  readonly id: string;
  readonly subject: string;
  readonly groups: readonly string[];
  readonly agent: boolean;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt?: Date;
  readonly description?: string;
  /**
   * The person the token acts for (an e-mail address, lower-cased): an agent's owner. Two identities
   * naming one person are one approver, so the owner never approves the agent's requests under
   * any identity that names them (docs/approvals.md, "One person, one vote").
   */
  readonly person?: string;
}
