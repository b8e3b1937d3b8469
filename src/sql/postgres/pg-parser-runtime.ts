// Runs the real PostgreSQL 18 parser (libpg-query's WebAssembly build) synchronously, and replaces an
// instance that failed. It must never hand out a result from an instance whose state may be corrupt.
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';

/**
 * The part of libpg-query's Emscripten module this file calls. libpg-query's public wrapper keeps one
 * module instance per process and cannot replace it; a deep parse tree overflows the engine stack
 * inside the WebAssembly code (RangeError), which leaves the parser's global state half-unwound and,
 * after a few repeats, corrupts its memory. So we own the instances, and retire one after any throw.
 */
interface PgQueryWasm {
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(queryPtr: number): number;
  _wasm_free_parse_result(resultPtr: number): void;
  _wasm_scan(queryPtr: number): number;
  _wasm_fingerprint(queryPtr: number): number;
  _wasm_free_string(ptr: number): void;
  UTF8ToString(ptr: number): string;
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
}

type PgQueryFactory = (options: Record<string, unknown>) => Promise<PgQueryWasm>;

const require = createRequire(import.meta.url);
const REQUIRED_EXPORTS = [
  '_malloc',
  '_free',
  '_wasm_parse_query_raw',
  '_wasm_free_parse_result',
  '_wasm_scan',
  '_wasm_fingerprint',
  '_wasm_free_string',
  'UTF8ToString',
] as const;

/** An instance whose linear memory grew past this is replaced once idle, to give the memory back. */
const MAX_INSTANCE_MEMORY_BYTES = 512 * 1024 * 1024;

export type ParseOutcome =
  | { readonly ok: true; readonly json: string }
  | {
      readonly ok: false;
      readonly message: string;
      /** 0-based position of the error in characters (code points), as PostgreSQL reports it. */
      readonly cursorPosition?: number;
      /** Set when the parser instance failed (not a syntax error): the instance has been replaced. */
      readonly crashed?: true;
    };

export interface ScanToken {
  readonly start: number;
  readonly end: number;
  readonly tokenName: string;
}

export type ScanOutcome =
  | { readonly ok: true; readonly tokens: readonly ScanToken[] }
  | { readonly ok: false; readonly message: string; readonly crashed?: true };

/** The WebAssembly JS API, typed here because the project's lib settings (no DOM) leave it undeclared. */
interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<object>;
  Instance: new (module: object, imports: object) => object;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let compiled: Promise<object> | undefined;

function compileOnce(): Promise<object> {
  compiled ??= readFile(require.resolve('libpg-query/wasm/libpg-query.wasm')).then((bytes) =>
    wasmApi.compile(bytes),
  );
  return compiled;
}

async function instantiate(): Promise<PgQueryWasm> {
  const module = await compileOnce();
  const factory = require('libpg-query/wasm/libpg-query.js') as PgQueryFactory;
  const instance = await factory({
    // Reuse the one compiled module: a new instance then costs a few milliseconds, not a compile.
    instantiateWasm(imports: object, done: (instance: object) => void) {
      done(new wasmApi.Instance(module, imports));
      return {};
    },
    // The parser must never write to the gateway's stdout/stderr (an abort message would).
    print: () => undefined,
    printErr: () => undefined,
  });
  for (const name of REQUIRED_EXPORTS) {
    if (typeof instance[name] !== 'function') {
      throw new Error(`libpg-query WebAssembly module lacks ${name}: unsupported libpg-query version`);
    }
  }
  return instance;
}

/**
 * Synchronous access to the parser with a warm spare: when the active instance throws, the spare takes
 * over at once and a new spare is built in the background. Until one is ready, calls fail (closed).
 */
export class PgParserRuntime {
  #active: PgQueryWasm | undefined;
  #spare: PgQueryWasm | undefined;
  #refilling: Promise<void> | undefined;
  #replacements = 0;

  private constructor(active: PgQueryWasm, spare: PgQueryWasm) {
    this.#active = active;
    this.#spare = spare;
  }

  static async create(): Promise<PgParserRuntime> {
    const [active, spare] = await Promise.all([instantiate(), instantiate()]);
    return new PgParserRuntime(active, spare);
  }

  /** How many times an instance has been retired (failures and memory recycling). */
  get replacements(): number {
    return this.#replacements;
  }

  /** Parses `bytes` (UTF-8, no NUL) and returns the libpg-query JSON parse tree text. */
  parse(bytes: Uint8Array): ParseOutcome {
    return this.#run(bytes, (wasm, ptr) => {
      const result = wasm._wasm_parse_query_raw(ptr);
      if (result === 0) throw new Error('parser returned no result (out of memory)');
      try {
        const words = wasm.HEAPU32;
        // struct PgQueryParseResult { char *parse_tree; char *stderr_buffer; PgQueryError *error; }
        const treePtr = words[result >>> 2]!;
        const errorPtr = words[(result >>> 2) + 2]!;
        if (errorPtr !== 0) {
          // struct PgQueryError { char *message; char *funcname; char *filename; int lineno; int cursorpos; ... }
          const messagePtr = words[errorPtr >>> 2]!;
          const cursorpos = words[(errorPtr >>> 2) + 4]!;
          const message = messagePtr === 0 ? 'syntax error' : wasm.UTF8ToString(messagePtr);
          return cursorpos > 0
            ? { ok: false, message, cursorPosition: cursorpos - 1 }
            : { ok: false, message };
        }
        if (treePtr === 0) throw new Error('parser returned neither a tree nor an error');
        return { ok: true, json: wasm.UTF8ToString(treePtr) };
      } finally {
        wasm._wasm_free_parse_result(result);
      }
    });
  }

  /** Runs PostgreSQL's scanner (lexer) over `bytes`; token offsets are UTF-8 byte offsets. */
  scan(bytes: Uint8Array): ScanOutcome {
    const outcome = this.#runString(bytes, (wasm, ptr) => wasm._wasm_scan(ptr));
    if (!outcome.ok) return outcome;
    if (!outcome.text.startsWith('{')) return { ok: false, message: outcome.text };
    const parsed = JSON.parse(outcome.text) as { tokens?: ScanToken[] };
    return { ok: true, tokens: parsed.tokens ?? [] };
  }

  /** libpg_query's statement fingerprint (16 hex digits), or undefined when the text does not parse. */
  fingerprint(bytes: Uint8Array): string | undefined {
    const outcome = this.#runString(bytes, (wasm, ptr) => wasm._wasm_fingerprint(ptr));
    if (!outcome.ok) return undefined;
    return /^[0-9a-f]{16}$/.test(outcome.text) ? outcome.text : undefined;
  }

  #runString(
    bytes: Uint8Array,
    call: (wasm: PgQueryWasm, ptr: number) => number,
  ): { ok: true; text: string } | { ok: false; message: string; crashed?: true } {
    return this.#run(bytes, (wasm, ptr) => {
      const result = call(wasm, ptr);
      if (result === 0) throw new Error('parser returned no result (out of memory)');
      try {
        return { ok: true, text: wasm.UTF8ToString(result) };
      } finally {
        wasm._wasm_free_string(result);
      }
    });
  }

  #run<T>(
    bytes: Uint8Array,
    body: (wasm: PgQueryWasm, ptr: number) => T,
  ): T | { ok: false; message: string; crashed: true } {
    const wasm = this.#active;
    if (wasm === undefined) {
      this.#refill();
      return { ok: false, message: 'SQL parser is restarting after a failure', crashed: true };
    }
    let ptr = 0;
    try {
      ptr = wasm._malloc(bytes.length + 1);
      if (ptr === 0) throw new Error('parser out of memory');
      const heap = wasm.HEAPU8;
      heap.set(bytes, ptr);
      heap[ptr + bytes.length] = 0;
      const result = body(wasm, ptr);
      wasm._free(ptr);
      if (wasm.HEAPU8.length > MAX_INSTANCE_MEMORY_BYTES) this.#retire(wasm);
      return result;
    } catch (error) {
      // Any throw out of the WebAssembly code (stack overflow, abort, out-of-bounds access) means the
      // instance's state is unknown: never call it again, not even to free memory.
      this.#retire(wasm);
      const reason = error instanceof Error ? error.message : String(error);
      return { ok: false, message: `SQL parser failed (${reason})`, crashed: true };
    }
  }

  #retire(wasm: PgQueryWasm): void {
    if (this.#active !== wasm) return;
    this.#replacements += 1;
    this.#active = this.#spare;
    this.#spare = undefined;
    this.#refill();
  }

  #refill(): void {
    if (this.#refilling !== undefined) return;
    this.#refilling = (async () => {
      try {
        while (this.#active === undefined || this.#spare === undefined) {
          const fresh = await instantiate();
          if (this.#active === undefined) this.#active = fresh;
          else this.#spare = fresh;
        }
      } catch {
        // Leave the gap; the next call fails closed and tries again.
      } finally {
        this.#refilling = undefined;
      }
    })();
  }
}
