// The `describe_schema` tool: tables and columns of a PostgreSQL connection, read from
// information_schema through the gateway's own listener (so policy decides it like any read), with
// columns flagged when a masking column rule would mask them for this caller. Never reads data rows.

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { createColumnMatcher, resolveMaskingProfile, type MaskingConfig } from '../masking/index.js';
import type { Decision } from '../core/decision.js';
import { normaliseReason, withPromptComment } from './prompt-comment.js';
import { COMMENT_KEYS, notSql } from './query-tool.js';
import { foresee, outcomeResult, runStatement } from './statement-runner.js';
import type { Caller, McpToolDeps } from './tool-deps.js';
import { textResult, toolError } from './tool-text.js';

/** Most columns one call lists; narrow with `schema`/`table` beyond it. */
export const MAX_SCHEMA_COLUMNS = 2000;

export const describeInputShape = {
  connection: z.string().min(1).max(200).describe('connection name, from list_connections'),
  schema: z.string().min(1).max(200).optional().describe('only this schema'),
  table: z.string().min(1).max(200).optional().describe('only this table (or view)'),
  reason: z.string().max(2000).optional().describe('why you look, in a sentence (recorded)'),
};

/** System schemas are left out; they are PostgreSQL's, not the application's. */
const CATALOG_SQL = `SELECT c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type, c.is_nullable
FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg\\_%'
  AND ($1::text IS NULL OR c.table_schema = $1::text)
  AND ($2::text IS NULL OR c.table_name = $2::text)
ORDER BY c.table_schema, c.table_name, c.ordinal_position`;

interface ColumnOut {
  name: string;
  type: string;
  nullable: boolean;
  masked?: string;
}
interface TableOut {
  schema: string;
  name: string;
  type: string;
  columns: ColumnOut[];
  /** What reading the table would get this caller: allow | review | deny, with the rule. */
  read?: { effect: string; rule: string };
  /** Detectors scan every value of this table's results (mask obligation). */
  masking?: boolean;
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** The caller's decision for `SELECT * FROM schema.table`: the one a read of the table would get. */
function readDecision(
  deps: McpToolDeps,
  caller: Caller,
  connection: string,
  schema: string,
  table: string,
): Decision | undefined {
  const c = deps.classifier.classify(`SELECT * FROM ${quoteIdent(schema)}.${quoteIdent(table)}`);
  const st = c.statements[0];
  return st && !st.parseError ? foresee(deps, caller, connection, st) : undefined;
}

/** How a column is masked under a decision's mask obligation (by the profile's column rules), or undefined. */
export function columnMasker(config: MaskingConfig | undefined, decision: Decision | undefined) {
  if (!config || !decision || decision.effect === 'deny' || !decision.obligations.mask) return undefined;
  const mask = decision.obligations.mask;
  try {
    const profile = resolveMaskingProfile(config, typeof mask === 'object' ? mask.profile : undefined);
    const match = createColumnMatcher(profile.columns);
    return (schema: string, table: string, column: string) => {
      const rule = match(schema, table, column);
      if (!rule) return undefined;
      return rule.detectors
        ? `scanned by ${rule.detectors.join(', ')}`
        : `masked whole (rule ${rule.column})`;
    };
  } catch {
    return undefined;
  }
}

export async function describeSchemaTool(
  deps: McpToolDeps,
  caller: Caller,
  args: {
    connection: string;
    schema?: string | undefined;
    table?: string | undefined;
    reason?: string | undefined;
  },
  signal: AbortSignal,
): Promise<CallToolResult> {
  const wrong = notSql(deps, args.connection);
  if (wrong) return wrong;
  const reason = args.reason ? normaliseReason(args.reason) : '';
  const text = withPromptComment(CATALOG_SQL, {
    [COMMENT_KEYS.tool]: 'describe_schema',
    ...(reason ? { [COMMENT_KEYS.reason]: reason } : {}),
  });
  const statement = deps.classifier.classify(text).statements[0];
  if (!statement) return toolError('internal error: the catalog query did not classify');
  const run = {
    caller,
    connection: args.connection,
    text,
    statement,
    params: [args.schema ?? null, args.table ?? null],
    maxRows: MAX_SCHEMA_COLUMNS,
    signal,
  };
  const outcome = await runStatement(deps, run);
  if (outcome.kind !== 'rows') return outcomeResult(deps, run, outcome);

  const tables = new Map<string, TableOut>();
  const masking = deps.masking?.();
  const maskers = new Map<string, ReturnType<typeof columnMasker>>();
  for (const [schema, table, type, column, dataType, nullable] of outcome.result.rows) {
    if (schema == null || table == null || column == null) continue;
    const key = `${schema}.${table}`;
    let t = tables.get(key);
    if (!t) {
      const decision = readDecision(deps, caller, args.connection, schema, table);
      maskers.set(key, columnMasker(masking, decision));
      t = {
        schema,
        name: table,
        type: type === 'VIEW' ? 'view' : type === 'BASE TABLE' ? 'table' : (type ?? 'table').toLowerCase(),
        columns: [],
        ...(decision ? { read: { effect: decision.effect, rule: decision.ruleId } } : {}),
        ...(decision && decision.effect !== 'deny' && decision.obligations.mask ? { masking: true } : {}),
      };
      tables.set(key, t);
    }
    const masked = maskers.get(key)?.(schema, table, column);
    t.columns.push({
      name: column,
      type: dataType ?? 'unknown',
      nullable: nullable === 'YES',
      ...(masked ? { masked } : {}),
    });
  }

  const list = [...tables.values()];
  if (list.length === 0) {
    return textResult(
      `No tables found on ${args.connection}${args.schema ? ` in schema ${args.schema}` : ''}${args.table ? ` named ${args.table}` : ''}.`,
      { status: 'ok', connection: args.connection, tables: [] },
    );
  }
  const lines: string[] = [];
  for (const t of list) {
    const read = t.read
      ? t.read.effect === 'allow'
        ? ''
        : ` — reading it: ${t.read.effect} (rule ${t.read.rule})`
      : '';
    lines.push(`${t.schema}.${t.name} (${t.type})${read}${t.masking ? ' — results masked' : ''}`);
    for (const c of t.columns)
      lines.push(
        `  ${c.name} ${c.type}${c.nullable ? '' : ' not null'}${c.masked ? `  [masked: ${c.masked}]` : ''}`,
      );
  }
  if (outcome.result.capped)
    lines.push(
      `(more than ${MAX_SCHEMA_COLUMNS} columns: narrow with the schema or table argument to see the rest)`,
    );
  if (list.some((t) => t.masking)) {
    lines.push(
      'Note: in tables marked "results masked", values that look sensitive (emails, card numbers, keys…) are also masked wherever they appear.',
    );
  }
  return textResult(lines.join('\n'), {
    status: 'ok',
    connection: args.connection,
    tables: list,
    capped: outcome.result.capped,
  });
}
