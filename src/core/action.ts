// Protocol-neutral Actions: what an engine asks the gate about. One union, switched on `kind` by policy
// (which owns each protocol's matchers). Every Action also describes itself (`describe`), so the gate
// and the record never need a branch per protocol. Build actions with the constructors below.

import type { SqlStatement } from './sql-statement.js';

/** How an action reads in the record and in logs; filled in by the action's constructor. */
export interface ActionDescription {
  /** How it reached the gateway (`simple-query`, `parse`, `http`, `exec`…). */
  readonly via: string;
  /** The statement, request line or command as decided (never a credential). */
  readonly text: string;
  /** Its kind in lower-case words (`select`, `drop table`, `s3:DeleteBucket`, `delete namespaces`…). */
  readonly kind: string;
  /** Risk categories, when the protocol's classifier gives them. */
  readonly categories: readonly string[];
  /** Parameters bound to the statement, when known. */
  readonly params?: readonly (string | null)[];
}

interface ActionBase {
  readonly connection: string;
  readonly describe: ActionDescription;
}

/** How a SQL action reached the gateway, for records and for rules that care. */
export type SqlVia = 'simple-query' | 'parse' | 'copy-data' | 'function-call' | 'mcp' | 'startup';

export interface SqlAction extends ActionBase {
  readonly kind: 'sql';
  readonly via: SqlVia;
  /** The statement as classified from the parse tree. */
  readonly statement: SqlStatement;
  /** Bind parameters in text form, when known (extended protocol), for approvals and records. */
  readonly params?: readonly (string | null)[];
  /**
   * The session's effective run-time settings when the statement was decided (DateStyle, TimeZone…):
   * an impact preview runs under them, and an approval is bound to them.
   */
  readonly settings?: Readonly<Record<string, string>>;
}

export interface HttpAction extends ActionBase {
  readonly kind: 'http';
  readonly method: string;
  readonly path: string;
  /** `service:Operation` for AWS requests (e.g. `s3:DeleteBucket`); undefined for generic HTTP. */
  readonly operation?: string;
  /** Resource the operation acts on (bucket, bucket/key, table, function ARN…). */
  readonly resource?: string;
}

export type Action = SqlAction | HttpAction;

export function sqlAction(fields: {
  readonly connection: string;
  readonly via: SqlVia;
  readonly statement: SqlStatement;
  readonly params?: readonly (string | null)[] | undefined;
  readonly settings?: Readonly<Record<string, string>> | undefined;
}): SqlAction {
  const { connection, via, statement, params, settings } = fields;
  return {
    kind: 'sql',
    connection,
    via,
    statement,
    ...(params ? { params } : {}),
    ...(settings ? { settings } : {}),
    describe: {
      via,
      text: statement.text,
      kind: statement.kind,
      categories: statement.categories,
      ...(params ? { params } : {}),
    },
  };
}

export function httpAction(fields: {
  readonly connection: string;
  readonly method: string;
  readonly path: string;
  readonly operation?: string | undefined;
  readonly resource?: string | undefined;
}): HttpAction {
  const { connection, method, path, operation, resource } = fields;
  return {
    kind: 'http',
    connection,
    method,
    path,
    ...(operation !== undefined ? { operation } : {}),
    ...(resource !== undefined ? { resource } : {}),
    describe: {
      via: 'http',
      text: `${method} ${path}`,
      kind: operation ?? method.toLowerCase(),
      categories: [],
    },
  };
}

/** A short human description of an action for logs and records. */
export function describeAction(action: Action): string {
  return action.describe.text;
}
