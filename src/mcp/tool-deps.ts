// What the MCP tools are given: the caller (verified), the current policy and connections, the
// classifier, the loopback sessions into the gateway's own listener, and optional approvals/masking.
// Types only; the composition root (main.ts) supplies the values.

import type { Identity } from '../core/identity.js';
import type { Logger, PolicyDecider } from '../core/ports.js';
import type { SqlClassifier } from '../core/sql-statement.js';
import type { MaskingConfig } from '../masking/index.js';
import type { ApprovalDesk } from './approval-desk.js';
import type { HeldStatements } from './held-statements.js';
import type { KubernetesLoopback } from './kubernetes-tool.js';
import type { LoopbackSessions } from './loopback-sessions.js';
import type { SshLoopback } from './ssh-tool.js';

/** The principal of one MCP request: verified from its bearer token on every HTTP request. */
export interface Caller {
  readonly identity: Identity;
  /** Presented only to the gateway's own listener (loopback), never to an upstream. */
  readonly token: string;
}

export interface ConnectionInfo {
  readonly name: string;
  readonly protocol: string;
  readonly description?: string;
}

export interface McpToolDeps {
  readonly policy: () => PolicyDecider;
  readonly classifier: SqlClassifier;
  readonly connections: () => readonly ConnectionInfo[];
  readonly loopback: LoopbackSessions;
  /** Statements the gate holds for a decision after their tool call returned. */
  readonly held: HeldStatements;
  /** Most rows a query result shows (the tool's `max_rows` may only lower it). */
  readonly maxRows: () => number;
  /** Absent when approvals are not configured. */
  readonly approvals?: () => ApprovalDesk | undefined;
  /** The `masking:` config, to flag masked columns in describe_schema; absent when not configured. */
  readonly masking?: () => MaskingConfig | undefined;
  /** The gateway's own listener of a kubernetes connection (the `kubernetes` tool); absent: none. */
  readonly kubernetes?: (connection: string) => KubernetesLoopback | undefined;
  /** The gateway's SSH listener for an ssh connection (the `ssh_exec` tool); absent: none. */
  readonly ssh?: (connection: string) => SshLoopback | undefined;
  readonly logger: Logger;
}
