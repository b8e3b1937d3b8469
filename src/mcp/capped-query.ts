// One statement over the extended protocol with a row limit on Execute, as a `pg` Submittable, so a
// tool call never pulls more than `maxRows + 1` rows through the gateway. It must not parse values.
//
// Parse → Bind → Describe(portal) → Execute(maxRows) → Sync, pipelined (PostgreSQL protocol §55.2.3).
// When the portal has more rows, the server answers PortalSuspended instead of CommandComplete, and
// the Sync that follows closes the portal. A modifying statement (… RETURNING) has already run to
// completion before its first row is sent, so the limit only ever truncates what is shown.

import type pg from 'pg';

/**
 * Most characters of cell text one result keeps, across all its rows (a bound on the gateway's memory
 * and on the response: rows are capped in number at the wire, but one row may hold 64 MiB, and
 * hundreds of columns). Rows past it are not kept; the result says it was capped.
 */
export const MAX_RESULT_CHARS = 1024 * 1024;
/** Most characters of one cell kept; a longer value is cut and says how long it was. */
export const MAX_CELL_CHARS = 64 * 1024;

/** Characters kept per cell for a result of `columns` columns: one full row always fits the budget. */
export function cellLimit(columns: number): number {
  return Math.min(MAX_CELL_CHARS, Math.max(256, Math.floor(MAX_RESULT_CHARS / Math.max(columns, 1))));
}

/**
 * A cell as kept: cut past `limit` characters with the length it had. The value is the one the gateway
 * sent, already masked: cutting it can only show less of what the masker let through.
 */
export function keptCell(v: string | null, limit: number): string | null {
  if (v === null || v.length <= limit) return v;
  let end = limit;
  // Do not split a surrogate pair.
  const c = v.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end -= 1;
  return `${v.slice(0, end)}… (cut: ${v.length} characters)`;
}

export interface CappedResult {
  readonly columns: readonly string[];
  /** Cells exactly as the gateway sent them, in text format; null for SQL NULL. */
  readonly rows: readonly (readonly (string | null)[])[];
  /** True when the statement had more rows than the limit, or than MAX_RESULT_CHARS could hold. */
  readonly capped: boolean;
  /** True when rows were left out because the result reached MAX_RESULT_CHARS. */
  readonly sizeCapped: boolean;
  /** Cells cut to their limit (cellLimit). */
  readonly cutCells: number;
  /** The command tag (`SELECT 3`, `UPDATE 1`), absent when capped. */
  readonly command?: string;
}

/** A PostgreSQL ErrorResponse as the gateway sent it. */
export interface PgErrorFields {
  readonly code?: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

interface FieldsMessage {
  readonly fields: readonly { readonly name: string }[];
}
interface DataRowMessage {
  readonly fields: readonly (string | null)[];
}
interface CommandCompleteMessage {
  readonly text: string;
}

/** The connection methods this query uses (pg's Connection; its typings lag behind the code). */
interface ExtendedConnection {
  parse(q: { text: string; name: string; types: number[] }): void;
  bind(c: { portal: string; statement: string; values: (string | null)[] }): void;
  describe(m: { type: 'P'; name: string }): void;
  execute(c: { portal: string; rows: number }): void;
  sync(): void;
}

export class CappedQuery implements pg.Submittable {
  readonly promise: Promise<CappedResult>;
  #resolve!: (r: CappedResult) => void;
  #reject!: (e: unknown) => void;
  #columns: string[] = [];
  readonly #rows: (string | null)[][] = [];
  #capped = false;
  #chars = 0;
  #sizeCapped = false;
  #cutCells = 0;
  #command: string | undefined;
  #done = false;

  constructor(
    private readonly text: string,
    private readonly params: readonly (string | null)[],
    private readonly maxRows: number,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  submit(connection: pg.Connection): void {
    const c = connection as unknown as ExtendedConnection;
    c.parse({ text: this.text, name: '', types: [] });
    c.bind({ portal: '', statement: '', values: [...this.params] });
    c.describe({ type: 'P', name: '' });
    // One more than shown, so "capped" is known without a second round trip.
    c.execute({ portal: '', rows: this.maxRows + 1 });
    c.sync();
  }

  handleRowDescription(msg: FieldsMessage): void {
    this.#columns = msg.fields.map((f) => f.name);
  }

  handleDataRow(msg: DataRowMessage): void {
    if (this.#capped || this.#rows.length >= this.maxRows) {
      this.#capped = true;
      return;
    }
    const limit = cellLimit(msg.fields.length);
    const row = msg.fields.map((v) => keptCell(v, limit));
    let chars = 0;
    for (let i = 0; i < row.length; i++) {
      const cell = row[i];
      if (cell === null || cell === undefined) continue;
      chars += cell.length;
      if (cell !== msg.fields[i]) this.#cutCells += 1;
    }
    // The first row is always kept (its cells are cut to fit): the caller sees something.
    if (this.#rows.length > 0 && this.#chars + chars > MAX_RESULT_CHARS) {
      this.#capped = true;
      this.#sizeCapped = true;
      return;
    }
    this.#chars += chars;
    this.#rows.push(row);
  }

  handlePortalSuspended(): void {
    this.#capped = true;
  }

  handleCommandComplete(msg: CommandCompleteMessage): void {
    this.#command = msg.text;
  }

  handleEmptyQuery(): void {
    this.#command = '';
  }

  handleCopyInResponse(connection: pg.Connection): void {
    // COPY FROM STDIN has no data to send from a tool call: refuse it the way psql would without input.
    (connection as unknown as { sendCopyFail(msg: string): void }).sendCopyFail(
      'COPY FROM STDIN is not supported by the MCP query tool',
    );
  }

  handleCopyData(): void {
    // COPY TO STDOUT data is not shown by the query tool.
  }

  handleError(err: unknown): void {
    // pg drops its reference to the query after an ErrorResponse; the Sync already sent makes the
    // server skip to ReadyForQuery, which pg waits for before the next query on this client.
    if (this.#done) return;
    this.#done = true;
    this.#reject(err);
  }

  handleReadyForQuery(): void {
    if (this.#done) return;
    this.#done = true;
    this.#resolve({
      columns: this.#columns,
      rows: this.#rows,
      capped: this.#capped,
      sizeCapped: this.#sizeCapped,
      cutCells: this.#cutCells,
      ...(this.#command !== undefined && !this.#capped ? { command: this.#command } : {}),
    });
  }
}

/** The fields of a pg DatabaseError (or anything shaped like one). */
export function pgErrorFields(e: unknown): PgErrorFields {
  if (typeof e === 'object' && e !== null && 'message' in e) {
    const o = e as { code?: unknown; message: unknown; detail?: unknown; hint?: unknown };
    return {
      ...(typeof o.code === 'string' ? { code: o.code } : {}),
      message: String(o.message),
      ...(typeof o.detail === 'string' ? { detail: o.detail } : {}),
      ...(typeof o.hint === 'string' ? { hint: o.hint } : {}),
    };
  }
  return { message: String(e) };
}
