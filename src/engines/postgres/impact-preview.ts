// Impact preview for approval requests: what a held statement would touch, found on the gateway's
// own upstream connection in a READ ONLY transaction with statement_timeout 2 s. It runs EXPLAIN
// (never ANALYZE), a count(*) rebuilt from the statement's own FROM/WHERE, and catalog size lookups;
// it must never run the statement itself, nor any text it has not re-parsed and checked.

import { loadModule, parseSync, scanSync } from 'libpg-query';
import type { SqlStatement } from '../../core/sql-statement.js';
import {
  BackendCode,
  decodeDataRow,
  decodeErrorFields,
  encode,
  type Frame,
} from '../../wire/postgres/index.js';
import type { Identity } from '../../core/identity.js';
import { isBuiltinFunction } from '../../sql/postgres/function-risks.js';
import { loginFor, openUpstream, type UpstreamSession, type UpstreamTarget } from './upstream-connection.js';

// Structurally the approvals service's ImpactPreview port (engines do not import approvals).
export interface PreviewObject {
  readonly name: string;
  readonly type: string;
  readonly exists: boolean;
  readonly bytes?: number;
  readonly estimatedRows?: number;
}

export interface PreviewResult {
  readonly kind: 'plan' | 'objects' | 'none';
  readonly plan?: readonly string[];
  readonly rowCount?: number;
  readonly objects?: readonly PreviewObject[];
  readonly notes: readonly string[];
  readonly tookMs: number;
}

export interface PreviewInput {
  readonly connection: string;
  readonly statement: SqlStatement;
  readonly params?: readonly (string | null)[];
  /** The Bind's format codes (1: binary, the value in `params` as `\x<hex>`) and the Parse's declared types. */
  readonly paramFormats?: readonly number[];
  readonly paramTypes?: readonly number[];
  /** The requesting session's meaning-changing settings: the preview runs under them. */
  readonly settings?: Readonly<Record<string, string>>;
  /** The requester: the preview logs in as the upstream role this principal's sessions get. */
  readonly identity?: Identity;
}

export interface ImpactPreviewOptions {
  readonly resolveConnection: (name: string) => UpstreamTarget | undefined;
  readonly maxMessageBytes?: number;
  /** Server-side limit per preview query (default 2000 ms). */
  readonly statementTimeoutMs?: number;
  /** The whole preview, connection included, is abandoned after this (default 8000 ms). */
  readonly overallTimeoutMs?: number;
  /** Longest EXPLAIN output kept, in lines (default 60). */
  readonly maxPlanLines?: number;
}

const EXPLAINABLE = new Set(['select', 'insert', 'update', 'delete', 'merge']);
const DDL_CATEGORIES = new Set(['ddl-create', 'ddl-alter', 'ddl-drop', 'truncate', 'drop-database']);

/**
 * Functions a count(*) may call: PostgreSQL built-ins without side effects. A WHERE that calls
 * anything else (pg_terminate_backend, dblink, a user function…) is not counted: the READ ONLY
 * transaction stops writes, not every side effect.
 */
const COUNT_SAFE_FUNCTIONS = new Set([
  'now',
  'current_timestamp',
  'current_date',
  'clock_timestamp',
  'statement_timestamp',
  'transaction_timestamp',
  'lower',
  'upper',
  'length',
  'char_length',
  'btrim',
  'ltrim',
  'rtrim',
  'trim',
  'substring',
  'substr',
  'position',
  'coalesce',
  'nullif',
  'greatest',
  'least',
  'abs',
  'round',
  'floor',
  'ceil',
  'date_trunc',
  'date_part',
  'extract',
  'age',
  'to_timestamp',
  'to_date',
  'to_char',
  'make_interval',
  'array_length',
  'cardinality',
  'starts_with',
  'md5',
  'concat',
  'replace',
  'split_part',
  'jsonb_extract_path_text',
  'json_extract_path_text',
]);

const RELKIND: Readonly<Record<string, string>> = {
  r: 'table',
  i: 'index',
  S: 'sequence',
  v: 'view',
  m: 'materialized view',
  p: 'partitioned table',
  f: 'foreign table',
  t: 'toast table',
  I: 'partitioned index',
  c: 'composite type',
};

let parserReady: Promise<void> | undefined;
function ensureParser(): Promise<void> {
  parserReady ??= loadModule();
  return parserReady;
}

type Node = Record<string, unknown>;

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The tree without `location` fields, for comparing two parses of the same expression. */
function withoutLocations(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutLocations);
  if (!isNode(v)) return v;
  const out: Node = {};
  for (const [k, x] of Object.entries(v))
    if (k !== 'location' && k !== 'stmt_location' && k !== 'stmt_len') out[k] = withoutLocations(x);
  return out;
}

function parseOne(text: string): Node | undefined {
  try {
    const r = parseSync(text) as { stmts?: { stmt?: unknown }[] };
    if (r.stmts?.length !== 1) return undefined;
    const stmt = r.stmts[0]?.stmt;
    return isNode(stmt) ? stmt : undefined;
  } catch {
    return undefined;
  }
}

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** `EXPLAIN <text>` when it re-parses as exactly one EXPLAIN without ANALYZE (or any option). */
export function explainText(text: string): string | undefined {
  const sql = `EXPLAIN ${text}`;
  const stmt = parseOne(sql);
  const explain = stmt?.['ExplainStmt'];
  if (!isNode(explain)) return undefined;
  if (Array.isArray(explain['options']) && explain['options'].length > 0) return undefined;
  return sql;
}

export interface CountPlan {
  readonly sql: string;
  /** Highest $n the count uses: the params to bind (types left to the server). */
  readonly paramCount: number;
  /** $n not used by the count's WHERE but below paramCount: bound as text so types resolve. */
  readonly unusedParams: readonly number[];
}

/**
 * Rebuilds `SELECT count(*) FROM <target> WHERE <the statement's own WHERE>` for a plain UPDATE or
 * DELETE, or explains why not. The WHERE is sliced from the text at the top-level WHERE/RETURNING
 * tokens, and the result is re-parsed: its WHERE tree must equal the original's, or nothing is run.
 */
export function buildCount(statement: SqlStatement): CountPlan | { readonly skipped: string } {
  const text = statement.text;
  const stmt = parseOne(text);
  const body = stmt?.['UpdateStmt'] ?? stmt?.['DeleteStmt'];
  if (!stmt || !isNode(body)) return { skipped: 'count(*) is built only for UPDATE and DELETE' };
  if (body['withClause']) return { skipped: 'count(*) skipped: the statement has a WITH clause' };
  if (body['usingClause'] || body['fromClause'])
    return { skipped: 'count(*) skipped: the statement joins other tables (USING/FROM)' };
  const where = body['whereClause'];
  if (isNode(where) && 'CurrentOfExpr' in where)
    return { skipped: 'count(*) skipped: WHERE CURRENT OF a cursor' };
  const unsafe = statement.functions.filter((f) => !COUNT_SAFE_FUNCTIONS.has(f.replace(/^pg_catalog\./, '')));
  if (unsafe.length) return { skipped: `count(*) skipped: the statement calls ${unsafe.join(', ')}` };
  const rel = body['relation'];
  if (!isNode(rel) || typeof rel['relname'] !== 'string')
    return { skipped: 'count(*) skipped: no target table' };
  const alias =
    isNode(rel['alias']) && typeof rel['alias']['aliasname'] === 'string'
      ? ` AS ${quoteIdent(rel['alias']['aliasname'])}`
      : '';
  const target = `${rel['inh'] !== true ? 'ONLY ' : ''}${typeof rel['schemaname'] === 'string' ? `${quoteIdent(rel['schemaname'])}.` : ''}${quoteIdent(rel['relname'])}${alias}`;

  let whereText = '';
  if (where !== undefined) {
    const bytes = Buffer.from(text, 'utf8');
    let tokens: { start: number; end: number; text: string }[];
    try {
      tokens = scanSync(text).tokens;
    } catch {
      return { skipped: 'count(*) skipped: the statement could not be scanned' };
    }
    let depth = 0;
    let whereTok: { end: number } | undefined;
    let returningTok: { start: number } | undefined;
    for (const t of tokens) {
      if (t.text === '(' || t.text === '[') depth++;
      else if (t.text === ')' || t.text === ']') depth--;
      else if (depth === 0 && /^where$/i.test(t.text) && !whereTok) whereTok = t;
      else if (depth === 0 && /^returning$/i.test(t.text) && whereTok) returningTok = t;
    }
    if (!whereTok) return { skipped: 'count(*) skipped: the WHERE clause could not be located' };
    whereText = bytes
      .subarray(whereTok.end, returningTok?.start ?? bytes.length)
      .toString('utf8')
      .trim();
  }
  // A trailing line comment would swallow nothing here, but keep the WHERE on its own line anyway.
  const sql = `SELECT count(*) FROM ${target}${where !== undefined ? ` WHERE ${whereText}\n` : ''}`;
  const check = parseOne(sql)?.['SelectStmt'];
  if (!isNode(check)) return { skipped: 'count(*) skipped: the rebuilt count did not parse' };
  const from = Array.isArray(check['fromClause']) ? check['fromClause'] : [];
  if (
    from.length !== 1 ||
    JSON.stringify(withoutLocations(from[0])) !== JSON.stringify(withoutLocations({ RangeVar: rel }))
  ) {
    return { skipped: 'count(*) skipped: the rebuilt count reads a different table' };
  }
  if (JSON.stringify(withoutLocations(check['whereClause'])) !== JSON.stringify(withoutLocations(where))) {
    return { skipped: "count(*) skipped: the rebuilt WHERE differs from the statement's" };
  }
  if (
    check['withClause'] ||
    check['groupClause'] ||
    check['havingClause'] ||
    check['limitCount'] ||
    check['lockingClause']
  ) {
    return { skipped: 'count(*) skipped: the rebuilt count is not a plain count' };
  }
  const used = new Set<number>();
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (isNode(v)) {
      const p = v['ParamRef'];
      if (isNode(p) && typeof p['number'] === 'number') used.add(p['number']);
      Object.values(v).forEach(collect);
    }
  };
  collect(where);
  const paramCount = used.size ? Math.max(...used) : 0;
  const unusedParams: number[] = [];
  for (let i = 1; i <= paramCount; i++) if (!used.has(i)) unusedParams.push(i);
  return { sql, paramCount, unusedParams };
}

// ---- a minimal extended-protocol exchange on the preview connection (55.2.3) ------------------

function frame(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

/** A Bind's parameters as the statement got them: text, or (format 1) the bytes `\x<hex>` renders. */
export interface BoundParams {
  readonly values: readonly (string | null)[];
  /** Format code of each value (0 text, 1 binary), as long as `values`. */
  readonly formats: readonly number[];
}

/**
 * The values and formats to bind: each parameter in the format the client bound it in. A binary
 * value's rendering (`\x` and hex, as bindParamsAsText writes it) is turned back into its bytes;
 * one that is not such a rendering is refused (the preview says it is unavailable).
 */
export function boundAsSent(
  params: readonly (string | null)[],
  formats: readonly number[] = [],
): BoundParams {
  const out: number[] = params.map((_, i) => (formats.length === 1 ? formats[0]! : (formats[i] ?? 0)));
  for (const [i, f] of out.entries()) {
    if (f !== 0 && f !== 1) throw new Error(`parameter $${i + 1} has format code ${f}`);
    const v = params[i];
    if (f === 1 && v !== null && v !== undefined && !/^\\x(?:[0-9a-f]{2})*$/.test(v))
      throw new Error(`parameter $${i + 1} is binary and was not kept whole`);
  }
  return { values: params, formats: out };
}

function isBound(p: readonly (string | null)[] | BoundParams): p is BoundParams {
  return !Array.isArray(p);
}

function bindMessage(bound: BoundParams): Buffer {
  const { values: params, formats } = bound;
  const parts: Buffer[] = [cstr(''), cstr('')];
  const n = Buffer.alloc(2 + 2 * formats.length);
  n.writeInt16BE(formats.length);
  formats.forEach((f, i) => n.writeInt16BE(f, 2 + 2 * i));
  parts.push(n);
  const count = Buffer.alloc(2);
  count.writeInt16BE(params.length);
  parts.push(count);
  params.forEach((p, i) => {
    const len = Buffer.alloc(4);
    if (p === null) {
      len.writeInt32BE(-1);
      parts.push(len);
    } else {
      const v = formats[i] === 1 ? Buffer.from(p.slice(2), 'hex') : Buffer.from(p, 'utf8');
      len.writeInt32BE(v.length);
      parts.push(len, v);
    }
  });
  parts.push(Buffer.from([0, 0])); // results in text format
  return frame('B', Buffer.concat(parts));
}

function executeMessage(): Buffer {
  const max = Buffer.alloc(4);
  max.writeInt32BE(0);
  return frame('E', Buffer.concat([cstr(''), max]));
}

const SYNC = frame('S', Buffer.alloc(0));
const TEXT_OID = 25;

interface QueryAnswer {
  readonly rows: (string | null)[][];
  readonly error?: string;
  /** The error's SQLSTATE. */
  readonly code?: string;
}

/** Whether any domain outside PostgreSQL's own schemas has a CHECK constraint ('true' or 'false'). */
const DOMAIN_CHECKS_SQL =
  'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_type t ON t.oid = c.contypid ' +
  "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE c.contype = 'c' " +
  "AND n.nspname NOT IN ('pg_catalog', 'information_schema'))::text";

class PreviewConnection {
  #waiting: { onFrame: (f: Frame) => boolean; onFail: (e: Error) => void } | undefined;
  #failed: Error | undefined;

  constructor(private readonly up: UpstreamSession) {
    up.socket.on('data', (chunk: Buffer) => {
      try {
        up.reader.push(chunk);
        this.#drain();
      } catch (e) {
        this.#fail(e instanceof Error ? e : new Error(String(e)));
      }
    });
    up.socket.on('error', (e) => this.#fail(e));
    up.socket.on('close', () => this.#fail(new Error('upstream closed the preview connection')));
  }

  #fail(e: Error): void {
    this.#failed ??= e;
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.onFail(this.#failed);
  }

  #drain(): void {
    for (let f = this.up.reader.next(); f; f = this.up.reader.next()) {
      const w = this.#waiting;
      if (w?.onFrame(f)) this.#waiting = undefined;
    }
  }

  /** Sends the messages and collects DataRows and the first error up to ReadyForQuery. */
  exchange(messages: readonly Buffer[]): Promise<QueryAnswer> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      const rows: (string | null)[][] = [];
      let error: string | undefined;
      let code: string | undefined;
      this.#waiting = {
        onFail: reject,
        onFrame: (f) => {
          if (f.type === BackendCode.DataRow)
            rows.push(decodeDataRow(f.body).map((c) => (c === null ? null : c.toString('utf8'))));
          else if (f.type === BackendCode.ErrorResponse && error === undefined) {
            const fields = decodeErrorFields(f.body);
            error = fields.M ?? 'error';
            code = fields.C;
          } else if (f.type === BackendCode.ReadyForQuery) {
            resolve({
              rows,
              ...(error !== undefined ? { error } : {}),
              ...(code !== undefined ? { code } : {}),
            });
            return true;
          }
          return false;
        },
      };
      this.up.socket.write(Buffer.concat(messages));
      this.#drain();
    });
  }

  simple(sql: string): Promise<QueryAnswer> {
    return this.exchange([encode.query(sql)]);
  }

  extended(
    sql: string,
    params: readonly (string | null)[] | BoundParams,
    paramTypes: readonly number[] = [],
  ): Promise<QueryAnswer> {
    const bound = isBound(params) ? params : boundAsSent(params);
    return this.exchange([encode.parse('', sql, paramTypes), bindMessage(bound), executeMessage(), SYNC]);
  }

  close(): void {
    this.up.socket.end(encode.terminate());
    this.up.socket.destroy();
  }
}

// ---- the previewer ---------------------------------------------------------------------------

function isDdl(s: SqlStatement): boolean {
  return s.categories.some((c) => DDL_CATEGORIES.has(c));
}

/** A `COPY … FROM STDIN`: rows the client sends after the statement starts. */
function copiesFromClient(text: string): boolean {
  const copy = parseOne(text)?.['CopyStmt'];
  return (
    isNode(copy) && copy['is_from'] === true && copy['filename'] === undefined && copy['is_program'] !== true
  );
}

function schemasDropped(text: string): string[] {
  const drop = parseOne(text)?.['DropStmt'];
  if (!isNode(drop) || drop['removeType'] !== 'OBJECT_SCHEMA' || !Array.isArray(drop['objects'])) return [];
  return drop['objects']
    .map((o) =>
      isNode(o) && isNode(o['String']) && typeof o['String']['sval'] === 'string'
        ? o['String']['sval']
        : undefined,
    )
    .filter((s): s is string => s !== undefined);
}

export class ImpactPreviewer {
  constructor(private readonly opts: ImpactPreviewOptions) {}

  async preview(input: PreviewInput): Promise<PreviewResult> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    const s = input.statement;
    const wantsPlan = EXPLAINABLE.has(s.kind);
    const wantsObjects = !wantsPlan && isDdl(s);
    if (!wantsPlan && !wantsObjects) {
      if (s.kind === 'copy') {
        await ensureParser();
        if (copiesFromClient(s.text))
          return {
            kind: 'none',
            notes: [
              'COPY … FROM STDIN: the rows are the ones the client sent, collected by Gatehouse before it ' +
                'asked for this approval and shown with the request (clipped past 64 KiB); the approval is ' +
                'bound to their digest, and nothing was sent to the database before it. Approving loads ' +
                `exactly those rows into ${s.tables.map((t) => (t.schema ? `${t.schema}.${t.name}` : t.name)).join(', ') || 'the table'}`,
            ],
            tookMs: took(),
          };
      }
      return { kind: 'none', notes: [`no impact preview for a ${s.kind} statement`], tookMs: took() };
    }
    const target = this.opts.resolveConnection(input.connection);
    if (!target)
      return { kind: 'none', notes: [`connection ${input.connection} is not configured`], tookMs: took() };
    // The planner runs code while it plans (docs/security.md, class 62): it folds an IMMUTABLE call
    // whose arguments are constants, and evaluates a STABLE one compared with a column. A statement
    // held for approval that calls a function PostgreSQL does not ship is not planned here, or that
    // function would run before anyone approved it.
    const userCode = wantsPlan ? s.functions.filter((f) => !isBuiltinFunction(f.split('.'))) : [];
    if (userCode.length > 0 || (wantsPlan && s.categories.includes('procedural')))
      return {
        kind: 'none',
        notes: [
          `EXPLAIN skipped: the statement calls ${userCode.join(', ') || 'code PostgreSQL does not ship'}, which ` +
            'the planner may run while it plans; nothing of it runs before the approval',
        ],
        tookMs: took(),
      };
    await ensureParser();

    const open: { conn?: PreviewConnection } = {};
    let timer: NodeJS.Timeout | undefined;
    const overall = this.opts.overallTimeoutMs ?? 8_000;
    try {
      const work = async (): Promise<PreviewResult> => {
        const up = await openUpstream(
          target,
          {
            application_name: 'gatehouse-impact-preview',
            client_encoding: 'UTF8',
            standard_conforming_strings: 'on',
            backslash_quote: 'safe_encoding',
          },
          this.opts.maxMessageBytes ?? 16 * 1024 * 1024,
          loginFor(target, input.identity),
        );
        const conn = new PreviewConnection(up);
        open.conn = conn;
        const timeout = Math.max(100, Math.floor(this.opts.statementTimeoutMs ?? 2_000));
        const begin = await conn.simple(
          `BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${timeout}; SET LOCAL lock_timeout = ${Math.min(timeout, 1000)}`,
        );
        if (begin.error !== undefined)
          throw new Error(`could not start a read-only transaction: ${begin.error}`);
        // The requesting session's settings (DateStyle, TimeZone, search_path, role…), for this
        // transaction only: '01/02/2024' or `x = NULL` must mean here what they will mean there.
        const login = loginFor(target, input.identity);
        for (const [name, value] of Object.entries(input.settings ?? {})) {
          if (name === 'session_authorization' && value === login.user) continue; // who it logs in as anyway
          const set = await conn.extended('SELECT pg_catalog.set_config($1, $2, true)', [name, value]);
          if (set.error !== undefined)
            throw new Error(`could not apply the session's setting ${name} = '${value}': ${set.error}`);
        }
        const result = wantsPlan
          ? await this.#plan(
              conn,
              s,
              boundAsSent(input.params ?? [], input.paramFormats),
              input.paramTypes ?? [],
            )
          : await this.#objects(conn, s);
        await conn.simple('ROLLBACK').catch(() => undefined);
        return { ...result, tookMs: took() };
      };
      return await Promise.race([
        work(),
        new Promise<PreviewResult>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the preview took longer than ${overall} ms`)), overall);
        }),
      ]);
    } catch (e) {
      return {
        kind: 'none',
        notes: [`impact preview unavailable: ${e instanceof Error ? e.message : String(e)}`],
        tookMs: took(),
      };
    } finally {
      clearTimeout(timer);
      open.conn?.close();
    }
  }

  async #plan(
    conn: PreviewConnection,
    s: SqlStatement,
    params: BoundParams,
    declared: readonly number[],
  ): Promise<Omit<PreviewResult, 'tookMs'>> {
    const notes: string[] = [];
    // PostgreSQL runs a domain's CHECK when it reads a value of the domain — a literal or a parameter
    // of an array, a row or a range of it at parse time, a cast to it when the count runs — and a
    // CHECK may call any function (class 214). Where the database has such a CHECK, nothing of the
    // statement is planned or counted before the approval.
    const checks = await conn.simple(DOMAIN_CHECKS_SQL);
    if (checks.error !== undefined || checks.rows[0]?.[0] !== 'false')
      return {
        kind: 'none',
        notes: [
          'EXPLAIN skipped: the database has domains with CHECK constraints, which PostgreSQL runs (with any ' +
            'function they call) when it reads a literal or a parameter of them while it plans; nothing of the ' +
            'statement runs before the approval',
        ],
      };
    const explain = explainText(s.text);
    if (!explain)
      return {
        kind: 'none',
        notes: ['EXPLAIN skipped: the statement does not re-parse as one explainable statement'],
      };
    // The statement's own parameter types, as its Parse declared them (0: the server infers, as it did).
    const plan = await conn.extended(explain, params, declared);
    if (plan.error !== undefined) return { kind: 'none', notes: [`EXPLAIN failed: ${plan.error}`] };
    const max = this.opts.maxPlanLines ?? 60;
    const lines = plan.rows.map((r) => r[0] ?? '');
    if (lines.length > max) notes.push(`EXPLAIN output cut at ${max} of ${lines.length} lines`);
    let rowCount: number | undefined;
    if (s.kind === 'update' || s.kind === 'delete') {
      const count = buildCount(s);
      if ('skipped' in count) notes.push(count.skipped);
      else {
        // A parameter the count's WHERE does not use is bound as a text null (its value does not
        // matter; its type must resolve); the others as the statement got them.
        const unused = (i: number) => count.unusedParams.includes(i + 1);
        const types = Array.from({ length: count.paramCount }, (_, i) =>
          unused(i) ? TEXT_OID : (declared[i] ?? 0),
        );
        const bound: BoundParams = {
          values: Array.from({ length: count.paramCount }, (_, i) =>
            unused(i) ? null : (params.values[i] ?? null),
          ),
          formats: Array.from({ length: count.paramCount }, (_, i) =>
            unused(i) ? 0 : (params.formats[i] ?? 0),
          ),
        };
        const r = await conn.extended(count.sql, bound, types);
        // Not the server's message: the count reads the rows, and an error over them can quote a
        // value (`invalid input syntax for type integer: "<the value>"`) the requester may not read.
        if (r.error !== undefined)
          notes.push(
            `count(*) failed (SQLSTATE ${r.code ?? 'unknown'}); the server's message is not shown, as it can quote the rows' values`,
          );
        else rowCount = Number(r.rows[0]?.[0] ?? NaN);
      }
    }
    return {
      kind: 'plan',
      plan: lines.slice(0, max),
      ...(rowCount !== undefined && Number.isFinite(rowCount) ? { rowCount } : {}),
      notes,
    };
  }

  async #objects(conn: PreviewConnection, s: SqlStatement): Promise<Omit<PreviewResult, 'tookMs'>> {
    const objects: PreviewObject[] = [];
    const notes: string[] = [];
    const seen = new Set<string>();
    for (const t of s.tables.slice(0, 50)) {
      const name = t.schema ? `${quoteIdent(t.schema)}.${quoteIdent(t.name)}` : quoteIdent(t.name);
      if (seen.has(name)) continue;
      seen.add(name);
      const r = await conn.extended(
        `select c.oid::regclass::text, c.relkind::text, pg_total_relation_size(c.oid)::text, greatest(c.reltuples, 0)::bigint::text
           from pg_class c where c.oid = to_regclass($1)`,
        [name],
      );
      if (r.error !== undefined) {
        notes.push(`size of ${t.schema ? `${t.schema}.` : ''}${t.name} unavailable: ${r.error}`);
        break; // the transaction is aborted now
      }
      const row = r.rows[0];
      if (!row)
        objects.push({ name: t.schema ? `${t.schema}.${t.name}` : t.name, type: 'relation', exists: false });
      else {
        objects.push({
          name: row[0] ?? name,
          type: RELKIND[row[1] ?? ''] ?? 'relation',
          exists: true,
          bytes: Number(row[2]),
          ...(row[1] === 'r' || row[1] === 'm' || row[1] === 'p' ? { estimatedRows: Number(row[3]) } : {}),
        });
      }
    }
    for (const schema of schemasDropped(s.text)) {
      const r = await conn.extended(
        `select count(*)::text, coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint::text
           from pg_namespace n left join pg_class c on c.relnamespace = n.oid and c.relkind in ('r', 'm', 'p')
          where n.nspname = $1 group by n.oid`,
        [schema],
      );
      const row = r.rows[0];
      if (r.error !== undefined) notes.push(`size of schema ${schema} unavailable: ${r.error}`);
      else if (!row) objects.push({ name: schema, type: 'schema', exists: false });
      else {
        objects.push({ name: schema, type: 'schema', exists: true, bytes: Number(row[1]) });
        notes.push(`schema ${schema} holds ${row[0] ?? '?'} tables`);
      }
    }
    if (objects.length === 0 && notes.length === 0) notes.push('no objects found in the statement to size');
    return { kind: 'objects', objects, notes };
  }
}
