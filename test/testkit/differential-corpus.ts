// The corpus the differential tests replay, directly against PostgreSQL and through the gateway:
// issue 11's examples of every SQL class, the policy-bypass probes (test/policy-bypass.test.ts),
// lexer corner cases, and everyday agent reads that must keep working. Every text runs against the
// fixture in differential.ts (canary, api_keys, t, "tëst", evil.t, purge_canary(), canary_report…).
// Add every bypass found later here: it then runs both ways, on every test run.

export interface CorpusEntry {
  readonly text: string | Buffer;
  /** Where it comes from, or what it probes. */
  readonly why: string;
}

/** Reads an agent does every day: Gatehouse must forward each of them, and the server must write nothing. */
export const BENIGN_READS: readonly string[] = [
  'SELECT * FROM canary',
  'SELECT count(*) FROM t WHERE id > 3',
  'SELECT v FROM t ORDER BY id DESC LIMIT 3 OFFSET 1',
  'SELECT t.id, c.v FROM t JOIN canary c ON c.id = t.id WHERE t.v LIKE $$v%$$',
  'WITH x AS (SELECT id FROM t WHERE id < 5) SELECT sum(id) FROM x',
  'SELECT now(), version(), current_user, current_database()',
  "SELECT date_trunc('day', now()) - interval '1 day', extract(year FROM now())",
  "SELECT lower(v), upper(v), length(v), substr(v, 1, 1), replace(v, 'v', 'w') FROM t",
  "SELECT string_agg(v, ',' ORDER BY id), array_agg(id), json_agg(v) FROM t",
  "SELECT jsonb_build_object('a', 1) ->> 'a', to_jsonb(t) FROM t LIMIT 1",
  'SELECT id, row_number() OVER (ORDER BY id DESC), lag(v) OVER (ORDER BY id) FROM t',
  'SELECT * FROM generate_series(1, 3) g, unnest(ARRAY[1, 2]) u',
  "SELECT pg_size_pretty(pg_total_relation_size('t')), pg_typeof(1), current_setting('work_mem')",
  "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  'SELECT relname FROM pg_class WHERE relkind = $$r$$ ORDER BY 1 LIMIT 5',
  "SELECT coalesce(NULL, 1), nullif(1, 1), greatest(1, 2), '1'::int + 1, CAST('2' AS bigint)",
  "SELECT md5('x'), gen_random_uuid() IS NOT NULL, format('%s-%s', 1, 'a'), to_char(1234.5, '9999.9')",
  "SELECT regexp_replace('abc', 'b', 'x'), split_part('a,b', ',', 2), 'a' || 'b'",
  "SELECT has_table_privilege('canary', 'SELECT'), pg_backend_pid() > 0",
  'SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()',
  'EXPLAIN SELECT * FROM t WHERE id = 1',
  // A free-text setting (search_path, application_name) is untraceable for a masked principal under
  // column rules (docs/security.md class 268): the demo agent's is refused, as code may have set it.
  'SHOW work_mem',
  'SELECT 1; SELECT 2; SELECT 3',
  'BEGIN; SELECT count(*) FROM canary; COMMIT',
  'BEGIN READ ONLY; SELECT 1; ROLLBACK',
  'VALUES (1, $$a$$), (2, $$b$$)',
  'TABLE canary',
  'SELECT * FROM "tëst"',
  "SET application_name = 'agent'",
  'SET statement_timeout = 5000',
  'RESET ALL',
];

/** Issue 11's SQL examples (classes 1, 2 and 4) and the policy-bypass probes, one text each. */
export const ATTACKS: readonly CorpusEntry[] = [
  // class 1: the lexer
  { text: 'SET standard_conforming_strings = off', why: 'class 1: a pinned setting' },
  { text: 'SET LOCAL standard_conforming_strings TO 0', why: 'class 1' },
  { text: "SELECT set_config('standard_conforming_strings', 'off', false)", why: 'class 1' },
  { text: "SET client_encoding = 'SJIS'", why: 'class 1' },
  { text: "SET NAMES 'BIG5'", why: 'class 1' },
  { text: "SELECT set_config('client_encoding', 'GBK', false)", why: 'class 1' },
  { text: 'SET backslash_quote = on', why: 'class 1' },
  {
    text: "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
    why: 'class 1',
  },
  {
    text: "SELECT set_config(name, 'off', false) FROM pg_settings WHERE name LIKE 'standard%'",
    why: 'class 1',
  },
  { text: "ALTER ROLE CURRENT_USER SET client_encoding = 'SJIS'", why: 'class 1' },
  { text: 'ALTER DATABASE current SET standard_conforming_strings = off', why: 'class 1' },
  {
    text: "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET client_encoding = 'SJIS' AS 'select 1'",
    why: 'class 1',
  },
  { text: "SELECT 'x\\', ' ; DROP TABLE canary; -- '", why: 'class 1: the split text, under the pin' },
  { text: "SELECT E'x\\', ' ; DROP TABLE canary; -- '", why: 'class 1: an E string' },
  {
    text: Buffer.from("SELECT '\x95\\', ' ; DROP TABLE canary; -- '", 'latin1'),
    why: 'class 1: SJIS 0x95 0x5C',
  },
  {
    text: Buffer.from("SELECT '\xa5\\'; DELETE FROM canary; -- '", 'latin1'),
    why: 'class 1: BIG5 0xA5 0x5C',
  },
  { text: 'SELECT sneaky_strings()', why: 'class 1: a function that changes a pin out of sight' },
  // class 2: names Gatehouse must own
  { text: 'PREPARE r AS SELECT * FROM no_such_table', why: 'class 2' },
  { text: 'EXECUTE q', why: 'class 2: a name never prepared' },
  { text: 'PREPARE w AS DELETE FROM canary WHERE id = $1', why: 'class 2' },
  { text: 'MOVE ALL IN cur', why: 'class 2: a portal driven from SQL' },
  { text: 'FETCH ALL IN gatehouse_p1', why: 'class 2: a reserved name' },
  // class 4: settings that change a statement's meaning
  { text: 'SET transform_null_equals = on', why: 'class 4' },
  { text: "UPDATE api_keys SET service = 'x' WHERE key_id = NULL", why: 'class 4' },
  { text: "SELECT set_config('transform_null_equals', 'on', false)", why: 'class 4' },
  // policy-bypass probes
  { text: 'SELECT 1; DROP TABLE t', why: 'bypass: a second statement' },
  { text: 'SELECT 1;DROP TABLE t;', why: 'bypass' },
  { text: 'DROP/**/TABLE t', why: 'bypass: comments between keywords' },
  { text: 'dRoP \n\t  TaBlE -- comment\n t', why: 'bypass' },
  { text: '/* x */ DROP /* y */ TABLE /* z */ "t"', why: 'bypass' },
  { text: 'DROP TABLE "tëst"', why: 'bypass: Unicode name' },
  { text: 'ＤＲＯＰ TABLE t', why: 'bypass: full-width letters do not parse' },
  { text: 'SELECT $$DROP TABLE t$$ AS s', why: 'bypass: SQL inside a dollar quote' },
  { text: "SELECT E'\\'; DROP TABLE t; --' AS s", why: 'bypass' },
  { text: 'SELECT $tag$ $$ ; DELETE FROM t; $tag$ AS s', why: 'bypass' },
  { text: 'DELETE FROM t', why: 'bypass: unbounded write' },
  { text: 'TRUNCATE t', why: 'bypass' },
  { text: 'PREPARE del AS DELETE FROM t', why: 'bypass' },
  { text: 'SELECT pg_terminate_backend(pg_backend_pid())', why: 'bypass: server functions' },
  { text: 'SELECT pg_reload_conf()', why: 'bypass' },
  { text: "SELECT dblink_exec('dbname=postgres', 'DROP TABLE t')", why: 'bypass' },
  { text: "SELECT pg_read_file('/etc/hostname')", why: 'bypass' },
  { text: 'SELECT lo_unlink(1234)', why: 'bypass' },
  { text: 'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', why: 'bypass: writable CTE' },
  { text: 'WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d', why: 'bypass' },
  { text: 'EXPLAIN ANALYZE DELETE FROM t WHERE id = 2', why: 'bypass' },
  { text: 'COPY (DELETE FROM t WHERE id = 3 RETURNING *) TO STDOUT', why: 'bypass' },
  { text: 'EXPLAIN DELETE FROM t', why: 'bypass: EXPLAIN only plans' },
  { text: 'DELETE FROM t WHERE true', why: 'bypass' },
  { text: "UPDATE t SET v = 'x' WHERE 'a' = 'a'", why: 'bypass' },
  { text: 'CREATE RULE r AS ON SELECT TO t DO INSTEAD NOTHING', why: 'bypass' },
  { text: 'CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()', why: 'bypass' },
  { text: 'CALL p()', why: 'bypass' },
  { text: "DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", why: 'bypass' },
  { text: 'SET search_path TO evil, public', why: 'bypass' },
  { text: "SELECT set_config('search_path', 'evil', false)", why: 'bypass' },
  { text: 'SELECT * FROM evil.t', why: 'bypass' },
  { text: 'ALTER TABLE evil.t RENAME TO harmless', why: 'bypass' },
  { text: 'ALTER TABLE t RENAME TO u', why: 'bypass' },
  { text: 'SELECT rolpassword FROM pg_authid', why: 'bypass' },
  { text: 'SELEC * FROM t', why: 'bypass: does not parse' },
  { text: 'SELECT 1; DROP TABLE', why: 'bypass' },
  // user code behind a SELECT (issue 11 §9's known hole)
  { text: 'SELECT purge_canary()', why: 'a user function that deletes, called from a SELECT' },
  { text: 'SELECT * FROM purge_canary()', why: 'the same, in FROM' },
  { text: 'SELECT public.purge_canary()', why: 'the same, schema-qualified' },
  { text: 'SELECT id FROM t WHERE id = purge_canary()', why: 'the same, in WHERE' },
  { text: 'SELECT pg_catalog.lower(v) FROM t', why: 'a built-in, schema-qualified' },
  { text: 'SELECT canary_count()', why: 'a harmless user function: reviewed for agents all the same' },
  // other writes, each run so the harness sees them as writes
  { text: "INSERT INTO canary VALUES (9, 'x')", why: 'write' },
  { text: 'SELECT nextval($$s$$)', why: 'write: sequence' },
  { text: 'SELECT * FROM t FOR UPDATE', why: 'lock' },
  { text: 'LOCK TABLE t IN ACCESS EXCLUSIVE MODE', why: 'lock' },
  { text: 'CREATE TABLE gh_new (a int)', why: 'ddl' },
  { text: 'CREATE TEMP TABLE gh_tmp AS SELECT 1 AS a', why: 'ddl' },
  { text: 'SELECT * INTO gh_copy FROM t', why: 'ddl' },
  { text: 'ALTER TABLE t ADD COLUMN w int', why: 'ddl' },
  { text: 'ALTER TABLE t DROP COLUMN v', why: 'ddl' },
  { text: 'CREATE INDEX ON t (v)', why: 'ddl' },
  { text: "COMMENT ON TABLE t IS 'x'", why: 'ddl' },
  { text: 'GRANT SELECT ON canary TO PUBLIC', why: 'privilege' },
  { text: 'CREATE ROLE gh_diff_evil', why: 'privilege' },
  { text: 'SET ROLE NONE', why: 'privilege' },
  { text: "SELECT lo_from_bytea(0, 'x')", why: 'write: a large object' },
  { text: 'NOTIFY ch, $$x$$', why: 'write: a notification to other sessions' },
  { text: "SELECT pg_notify('ch', 'x')", why: 'write: a notification to other sessions' },
  { text: 'LISTEN ch', why: 'session' },
  { text: 'SELECT pg_advisory_lock(42)', why: 'lock' },
  { text: 'DECLARE c CURSOR FOR SELECT * FROM t; FETCH 2 FROM c; CLOSE c', why: 'cursor' },
  { text: 'PREPARE q2 AS SELECT 1; EXECUTE q2; DEALLOCATE q2', why: 'prepared' },
  { text: 'COPY t TO STDOUT', why: 'copy out' },
  { text: 'COPY t FROM STDIN', why: 'copy in' },
  { text: "COPY t TO PROGRAM 'true'", why: 'a program' },
  { text: 'VACUUM t', why: 'cannot run in a transaction block' },
  { text: 'DISCARD ALL', why: 'session' },
  { text: 'COMMIT; DROP TABLE canary', why: 'ends the transaction, then drops' },
];

/** Ends the harness's transaction and writes: the direct harness's control runs it, the wire test too. */
export const ESCAPE = 'ROLLBACK; DELETE FROM canary WHERE id = 1';

/**
 * Reads that run hidden code (docs/testing-differential.md): a SELECT that runs user code without
 * naming a function. The classifier sees each as a plain read, and on a read-write transaction
 * PostgreSQL deletes the canary's rows; Gatehouse runs agents' reads in read-only transactions, so
 * through the gateway the server refuses the write (25006): test/read-only-reads.test.ts and the
 * wire test.
 */
export const HIDDEN_CODE_READS: readonly CorpusEntry[] = [
  { text: 'SELECT * FROM canary_report', why: 'a view whose query calls purge_canary()' },
  { text: 'SELECT 1 ### 2', why: 'a user-defined operator whose function deletes' },
  { text: 'SELECT 1::canary_pair', why: 'a user-defined cast whose function deletes' },
  { text: 'SELECT 1::canary_checked', why: 'a domain whose CHECK calls purge_canary()' },
];

/** Lexer corner cases, each on its own. */
export const LEXER_CASES: readonly CorpusEntry[] = [
  { text: '', why: 'empty' },
  { text: ';;;', why: 'only semicolons' },
  { text: '-- only a comment', why: 'only a comment' },
  { text: '/* c */', why: 'only a block comment' },
  { text: 'SELECT 1 --', why: '-- at the very end' },
  { text: 'SELECT 1 -- ; DROP TABLE canary', why: 'a statement in a line comment' },
  { text: 'SELECT 1 /* /* nested */ ; DROP TABLE canary; */', why: 'nested block comments' },
  { text: 'SELECT 1 /* unterminated', why: 'an unterminated comment' },
  { text: 'SELECT $$a;b$$', why: 'a dollar quote' },
  { text: 'SELECT $a$ $$ ; DROP TABLE canary; $$ $a$', why: 'tagged dollar quote around $$' },
  { text: 'SELECT $a$x$b$; DROP TABLE canary; $b$y$a$', why: 'another tag inside' },
  { text: 'SELECT $é$ ; DROP TABLE canary; $é$', why: 'a non-ASCII tag' },
  { text: "SELECT E'\\''", why: "E'' with \\'" },
  { text: "SELECT E'\\\\'; DROP TABLE canary; --'", why: "E'' ending in \\\\" },
  { text: "SELECT E'\\x27; DROP TABLE canary; --'", why: "E'' with \\x27" },
  { text: "SELECT E'\\u0027; DROP TABLE canary; --'", why: "E'' with \\u0027" },
  { text: "SELECT E'\\047'", why: 'octal escape' },
  { text: "SELECT U&'d\\0061t\\+000061'", why: "U&''" },
  { text: "SELECT U&'d!0061t' UESCAPE '!'", why: 'UESCAPE' },
  { text: "SELECT U&'\\0027; DROP TABLE canary; --'", why: "U&'' with an escaped quote" },
  { text: "SELECT U&'x' UESCAPE ''''", why: 'UESCAPE quote (invalid)' },
  { text: 'SELECT U&"a\\0062" FROM (SELECT 1 AS ab) x', why: 'U&"" identifier' },
  { text: 'SELECT 1 AS "a""; DROP TABLE canary; --"', why: 'a quoted identifier' },
  { text: "SELECT 'é日本😀', '\u2028', '\u00a0'", why: 'multibyte UTF-8' },
  { text: 'SELECT\u00a01', why: 'a non-breaking space is not whitespace to PostgreSQL' },
  { text: '\ufeffSELECT 1', why: 'a byte order mark' },
  { text: "SELECT 'a' 'b'", why: 'adjacent literals (need a newline)' },
  { text: "SELECT 'a'\n'b'", why: 'string continuation' },
  {
    text: "SELECT 'a' -- c\n'b'",
    why: 'continuation across a comment: the server reads one literal, libpg_query fails (#365), refused',
  },
  {
    text: "SELECT E'' -- c\n'\\'' , 1; DROP TABLE canary; --'",
    why: "the same gap after E'': still refused",
  },
  {
    text: Buffer.from([0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0x27, 0xff, 0x27]),
    why: 'invalid byte 0xFF',
  },
  { text: Buffer.from("SELECT '\xc0\xaf'", 'latin1'), why: 'overlong UTF-8' },
  { text: Buffer.from("SELECT '\xed\xa0\x80'", 'latin1'), why: 'an encoded surrogate' },
  { text: Buffer.from("SELECT '\xe6\x97'", 'latin1'), why: 'a truncated character' },
  { text: Buffer.from("SELECT '\x83\\'; DROP TABLE canary; --'", 'latin1'), why: 'SJIS 0x83 0x5C' },
  { text: Buffer.from("SELECT '\x81\\'; DROP TABLE canary; --'", 'latin1'), why: 'GBK 0x81 0x5C' },
];
