// PostgreSQL statement classifier: splits a submitted string into statements with the real PostgreSQL
// parser and classifies each from its parse tree (never from the text). Anything unparsable is `unknown`.
import { readsCopiedData } from './copied-data.js';
import type { SqlClassification, SqlClassifier, SqlStatement } from '../../core/sql-statement.js';
import { AdmissionFilter } from './admission-filter.js';
import { categoriesOf, maskOf } from './category-mask.js';
import { fromTemplate, type LiteralTemplate, makeTemplate, templateKey } from './literal-template.js';
import { OffThreadClassifier } from './off-thread-classifier.js';
import { LruCache } from './lru-cache.js';
import { isObject } from './parse-tree.js';
import { PgParserRuntime, type ScanToken } from './pg-parser-runtime.js';
import { parseSqlcommenter } from './sqlcommenter.js';
import { readsStoredSettings } from './stored-settings.js';
import { checkText, SubmittedText } from './submitted-text.js';
import { TreeWalker } from './tree-walker.js';
import { unparsed } from './unparsed.js';

export interface PostgresClassifierOptions {
  /**
   * Entries in the LRU cache of results keyed by exact text (default 10,000; 0 disables it). A text is
   * cached from its second classification on, so that one-off texts do not churn the cache.
   */
  readonly cacheSize?: number;
  /**
   * Entries in the cache of literal templates (literal-template.ts: texts that differ only in integer
   * constants share a classification; default 10,000; 0 disables it).
   */
  readonly templateCacheSize?: number;
  /** Longer texts are not classified but denied as unparsed (default 32 MiB of UTF-16 code units). */
  readonly maxTextLength?: number;
  /**
   * How `classifyBounded` treats long texts: classified on a worker thread when longer than
   * `inlineChars` (default 16 Ki), for at most `timeoutMs` (default 10 s; off-thread-classifier.ts).
   */
  readonly offThread?: { readonly inlineChars?: number; readonly timeoutMs?: number };
}

export interface PostgresClassifier extends SqlClassifier {
  classify(text: string): SqlClassification;
  /**
   * libpg_query's fingerprint of the text (same for statements that differ only in constants), for
   * grouping in records or a verdict cache; undefined when the text does not parse.
   */
  fingerprint(text: string): string | undefined;
  /** Texts answered from a literal template, and templates held (for tests and benchmarks). */
  templateStats(): { readonly hits: number; readonly templates: number };
  /**
   * classify() for a text a client sent: one longer than the off-thread bound (16 Ki characters by
   * default) is classified on a worker thread, in turn with other owners' long texts, for a bounded
   * time, so that no text holds the event loop (off-thread-classifier.ts); `owner` names who sent it
   * (the principal). Shorter texts are answered at once, as classify() answers them.
   */
  classifyBounded(text: string, owner: string): SqlClassification | Promise<SqlClassification>;
  /** Stops the worker thread of classifyBounded, if one was started. */
  close(): Promise<void>;
}

const DEFAULT_CACHE_SIZE = 10_000;
const DEFAULT_MAX_TEXT_LENGTH = 32 * 1024 * 1024;
/** Texts longer than this are classified every time instead of being kept in the cache. */
const MAX_CACHED_TEXT_LENGTH = 64 * 1024;
/** Total key length the cache may hold (about 64 MB of UTF-16), whatever the entry count. */
const MAX_CACHED_TOTAL_LENGTH = 32 * 1024 * 1024;

const EMPTY: SqlClassification = Object.freeze({ statements: Object.freeze([]) });

interface RawStatement {
  readonly stmt?: unknown;
  readonly stmt_location?: number;
  readonly stmt_len?: number;
}

let sharedRuntime: Promise<PgParserRuntime> | undefined;

/** The parser runtime, loaded once per process and shared (classifier, lineage analyzer). */
export function sharedParserRuntime(): Promise<PgParserRuntime> {
  sharedRuntime ??= PgParserRuntime.create().catch((error: unknown) => {
    sharedRuntime = undefined;
    throw error;
  });
  return sharedRuntime;
}

/** Loads the parser (once per process) and returns a classifier with its own result cache. */
export async function createPostgresClassifier(
  options: PostgresClassifierOptions = {},
): Promise<PostgresClassifier> {
  return new LibpgQueryClassifier(await sharedParserRuntime(), options);
}

class LibpgQueryClassifier implements PostgresClassifier {
  readonly #runtime: PgParserRuntime;
  readonly #cache: LruCache<SqlClassification>;
  readonly #templates: LruCache<LiteralTemplate>;
  #templateHits = 0;
  readonly #admission: AdmissionFilter;
  readonly #maxTextLength: number;
  readonly #offThread: OffThreadClassifier;

  constructor(runtime: PgParserRuntime, options: PostgresClassifierOptions) {
    this.#runtime = runtime;
    this.#cache = new LruCache({
      maxEntries: options.cacheSize ?? DEFAULT_CACHE_SIZE,
      maxTotalKeyLength: MAX_CACHED_TOTAL_LENGTH,
    });
    this.#templates = new LruCache({
      maxEntries: options.templateCacheSize ?? DEFAULT_CACHE_SIZE,
      maxTotalKeyLength: MAX_CACHED_TOTAL_LENGTH,
    });
    this.#admission = new AdmissionFilter(4 * (options.cacheSize ?? DEFAULT_CACHE_SIZE));
    this.#maxTextLength = options.maxTextLength ?? DEFAULT_MAX_TEXT_LENGTH;
    this.#offThread = new OffThreadClassifier({
      ...options.offThread,
      maxTextLength: this.#maxTextLength,
    });
  }

  classifyBounded(text: string, owner: string): SqlClassification | Promise<SqlClassification> {
    if (typeof text !== 'string' || text.length <= this.#offThread.inlineChars) return this.classify(text);
    // Past the classifier's own bound the answer is known without parsing.
    if (text.length > this.#maxTextLength) return this.classify(text);
    return this.#offThread.classify(text, owner);
  }

  close(): Promise<void> {
    return this.#offThread.close();
  }

  classify(text: string): SqlClassification {
    if (typeof text !== 'string') return unparsed('', 'query text is not a string');
    const cached = this.#cache.get(text);
    if (cached !== undefined) return cached;
    const result = this.#classifyByTemplate(text);
    // Only texts seen before are cached (admission-filter.ts explains why one-offs are not).
    if (text.length <= MAX_CACHED_TEXT_LENGTH && this.#admission.seenBefore(text))
      this.#cache.set(text, result);
    return result;
  }

  /** From a literal template when one fits, else parsed (and a template made when the text allows). */
  #classifyByTemplate(text: string): SqlClassification {
    // Within the length bounds only: a template must never answer a text too long to classify.
    const key =
      text.length <= MAX_CACHED_TEXT_LENGTH && text.length <= this.#maxTextLength
        ? templateKey(text)
        : undefined;
    if (key === undefined) return this.#classifyUncached(text);
    const template = this.#templates.get(key.key);
    if (template !== undefined) {
      this.#templateHits++;
      return fromTemplate(text, template);
    }
    let tree: unknown;
    const result = this.#classifyUncached(text, (t) => (tree = t));
    if (tree !== undefined) {
      const made = makeTemplate(text, key.runs, result, tree);
      if (made !== undefined) this.#templates.set(key.key, made);
    }
    return result;
  }

  templateStats(): { readonly hits: number; readonly templates: number } {
    return { hits: this.#templateHits, templates: this.#templates.size };
  }

  fingerprint(text: string): string | undefined {
    if (typeof text !== 'string' || text.length === 0 || text.length > this.#maxTextLength) return undefined;
    if (!checkText(text).ok) return undefined;
    return this.#runtime.fingerprint(Buffer.from(text, 'utf8'));
  }

  /** `onTree` sees the parse tree of a text that parsed. */
  #classifyUncached(text: string, onTree?: (tree: unknown) => void): SqlClassification {
    if (text.length === 0) return EMPTY;
    if (text.length > this.#maxTextLength) {
      return unparsed(text, `query text is too long to classify (${text.length} > ${this.#maxTextLength})`);
    }
    const check = checkText(text);
    if (!check.ok) return unparsed(text, check.message);
    try {
      const submitted = new SubmittedText(text, check.ascii);
      const outcome = this.#runtime.parse(submitted.bytes);
      if (!outcome.ok) return unparsed(text, outcome.message, outcome.cursorPosition);
      const tree: unknown = JSON.parse(outcome.json);
      onTree?.(tree);
      const raws = isObject(tree) && Array.isArray(tree['stmts']) ? (tree['stmts'] as RawStatement[]) : [];
      if (raws.length === 0) return this.#zeroStatements(submitted);
      const comments = text.includes('/*') ? this.#commentTokens(submitted) : undefined;
      const statements = raws.map((raw) => classifyRawStatement(raw, submitted, comments));
      return Object.freeze({ statements: Object.freeze(statements) });
    } catch (error) {
      // A tree too deep for the walker's stack, or any surprise: deny rather than guess.
      const reason = error instanceof RangeError ? 'statement is nested too deeply' : String(error);
      return unparsed(text, `statement could not be classified: ${reason}`);
    }
  }

  /**
   * PostgreSQL answers EmptyQueryResponse to text holding only whitespace, comments and semicolons;
   * anything else that yields no statement is suspicious and denied.
   */
  #zeroStatements(submitted: SubmittedText): SqlClassification {
    const scan = this.#runtime.scan(submitted.bytes);
    if (!scan.ok) return unparsed(submitted.text, scan.message);
    const onlyNoise = scan.tokens.every(
      (token) =>
        token.tokenName === 'C_COMMENT' ||
        token.tokenName === 'SQL_COMMENT' ||
        token.tokenName === 'ASCII_59',
    );
    return onlyNoise ? EMPTY : unparsed(submitted.text, 'no statement found in non-empty query text');
  }

  /** The `/* … *\/` comment tokens, found by PostgreSQL's own scanner (so quotes and dollar quotes count). */
  #commentTokens(submitted: SubmittedText): readonly ScanToken[] {
    const scan = this.#runtime.scan(submitted.bytes);
    return scan.ok ? scan.tokens.filter((token) => token.tokenName === 'C_COMMENT') : [];
  }
}

function classifyRawStatement(
  raw: RawStatement,
  submitted: SubmittedText,
  comments: readonly ScanToken[] | undefined,
): SqlStatement {
  const start = raw.stmt_location ?? 0;
  // stmt_len 0 means "to the end of the string" (libpg_query RawStmt).
  const end = raw.stmt_len === undefined || raw.stmt_len === 0 ? submitted.byteLength : start + raw.stmt_len;
  const walker = new TreeWalker();
  const kind = walker.walkStatement(raw.stmt);
  if (readsStoredSettings(walker.tables, raw.stmt)) walker.add(maskOf('secrets'));
  const statement: {
    text: string;
    kind: string;
    categories: SqlStatement['categories'];
    tables: SqlStatement['tables'];
    functions: SqlStatement['functions'];
    operators?: SqlStatement['operators'];
    fields?: SqlStatement['fields'];
    preparedName?: string;
    savepoint?: string;
    chain?: true;
    temporary?: true;
    untargeted?: true;
    readsElsewhere?: true;
    reachesUnknown?: true;
    sinceMajor?: number;
    targets?: SqlStatement['targets'];
    relationArgs?: SqlStatement['relationArgs'];
    comments?: Readonly<Record<string, string>>;
    types?: SqlStatement['types'];
    settings?: SqlStatement['settings'];
    sessionObjects?: SqlStatement['sessionObjects'];
  } = {
    text: submitted.slice(start, end).trim(),
    kind,
    categories: categoriesOf(walker.categories),
    tables: Object.freeze(walker.tables),
    functions: Object.freeze(walker.functions),
  };
  if (walker.operators.length > 0) statement.operators = Object.freeze(walker.operators);
  if (walker.fields.length > 0) statement.fields = Object.freeze(walker.fields);
  if (walker.types.length > 0) statement.types = Object.freeze(walker.types);
  if (walker.preparedName !== undefined) statement.preparedName = walker.preparedName;
  if (walker.savepoint !== undefined) statement.savepoint = walker.savepoint;
  if (walker.chain) statement.chain = true;
  if (walker.temporary) statement.temporary = true;
  if (walker.untargeted) statement.untargeted = true;
  if (walker.readsElsewhere) statement.readsElsewhere = true;
  if (readsCopiedData(statement.tables, statement.functions)) {
    // Statistics samples and TOAST chunks are copies of columns of tables the statement does not
    // name: a rule that allows reading some tables does not grant them, and a rule that denies or
    // holds some tables matches them (docs/security.md, class 174).
    statement.readsElsewhere = true;
    statement.reachesUnknown = true;
  }
  if (walker.sinceMajor > 0) statement.sinceMajor = walker.sinceMajor;
  if (walker.targets.length > 0) statement.targets = Object.freeze(walker.targets);
  if (walker.relationArgs.length > 0) statement.relationArgs = Object.freeze([...walker.relationArgs]);
  if (walker.settings.length > 0) statement.settings = Object.freeze([...walker.settings]);
  if (walker.sessionObjects.length > 0) statement.sessionObjects = Object.freeze([...walker.sessionObjects]);
  if (comments !== undefined) {
    const pairs = commentPairs(submitted, comments, start, end);
    if (pairs !== undefined) statement.comments = pairs;
  }
  return Object.freeze(statement);
}

function commentPairs(
  submitted: SubmittedText,
  tokens: readonly ScanToken[],
  start: number,
  end: number,
): Readonly<Record<string, string>> | undefined {
  let merged: Map<string, string> | undefined;
  for (const token of tokens) {
    if (token.start < start || token.end > end) continue;
    const pairs = parseSqlcommenter(submitted.slice(token.start + 2, token.end - 2));
    if (pairs === undefined) continue;
    merged ??= new Map();
    for (const [key, value] of pairs) merged.set(key, value);
  }
  return merged === undefined ? undefined : Object.freeze(Object.fromEntries(merged));
}
