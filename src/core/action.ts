// Protocol-neutral Actions: what an engine asks the gate about. One union, switched on `kind`.
// Engines build these from their wire protocol; the gate and policy never see protocol bytes.

import type { SqlStatement } from './sql-statement.js';

/** How a SQL action reached the gateway, for records and for rules that care. */
export type SqlVia = 'simple-query' | 'parse' | 'copy-data' | 'function-call' | 'mcp';

export interface SqlAction {
  readonly kind: 'sql';
  readonly connection: string;
  readonly via: SqlVia;
  /** The statement as classified from the parse tree. */
  readonly statement: SqlStatement;
  /** Bind parameters in text form, when known (extended protocol), for approvals and records. */
  readonly params?: readonly (string | null)[];
}

export interface HttpAction {
  readonly kind: 'http';
  readonly connection: string;
  readonly method: string;
  readonly path: string;
  /** `service:Operation` for AWS requests (e.g. `s3:DeleteBucket`); undefined for generic HTTP. */
  readonly operation?: string;
  /** Resource the operation acts on (bucket, bucket/key, table, function ARN…). */
  readonly resource?: string;
}

export type Action = SqlAction | HttpAction;

/** A short human description of an action for logs and records. */
export function describeAction(action: Action): string {
  switch (action.kind) {
    case 'sql':
      return action.statement.text;
    case 'http':
      return `${action.operation ?? action.method} ${action.path}`;
  }
}
