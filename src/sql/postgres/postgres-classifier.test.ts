import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SQL_CATEGORIES, type SqlCategory, type SqlStatement } from '../../core/sql-statement.js';
import { createPostgresClassifier, type PostgresClassifier } from './postgres-classifier.js';

let classifier: PostgresClassifier;

beforeAll(async () => {
  classifier = await createPostgresClassifier();
});

/** The one statement `sql` classifies to (fails the test if there is not exactly one). */
function one(sql: string): SqlStatement {
  const result = classifier.classify(sql);
  expect(result.parseError).toBeUndefined();
  expect(result.statements).toHaveLength(1);
  return result.statements[0]!;
}

function tableNames(statement: SqlStatement): string[] {
  return statement.tables.map((table) =>
    table.schema === undefined ? table.name : `${table.schema}.${table.name}`,
  );
}

interface Case {
  readonly sql: string;
  readonly kind: string;
  readonly categories: readonly SqlCategory[];
  readonly tables?: readonly string[];
  readonly functions?: readonly string[];
}

const c = (
  sql: string,
  kind: string,
  categories: readonly SqlCategory[],
  tables?: readonly string[],
  functions?: readonly string[],
): Case => ({ sql, kind, categories, tables, functions });

/** SQL syntax the parser turns into function calls (or special nodes): never user code. */
const SYNTAX_CALLS = [
  "SELECT extract(year FROM now()), overlay('abc' placing 'x' from 2), position('b' in 'abc')",
  "SELECT substring('abc' from 2 for 1), substring('abc' similar 'a#\"b#\"c' escape '#')",
  "SELECT trim(both 'x' from 'xax'), trim(leading from ' a'), trim(trailing 'a' from 'ba')",
  "SELECT now() AT TIME ZONE 'UTC', now() AT LOCAL, collation for ('a'), 'a' IS NORMALIZED, normalize('a', NFC)",
  "SELECT xmlexists('//a' PASSING '<a/>'), (1, 2) OVERLAPS (3, 4), 'a' SIMILAR TO 'a', 'a' LIKE 'a' ESCAPE '#'",
  'SELECT CURRENT_DATE, LOCALTIME, SYSTEM_USER, CURRENT_ROLE, CURRENT_CATALOG, CURRENT_SCHEMA',
  "SELECT JSON_OBJECT('a': 1), JSON_ARRAY(1, 2), JSON_QUERY('{}'::jsonb, '$'), JSON('{}'), JSON_SCALAR(1)",
  "SELECT * FROM JSON_TABLE('[1]'::jsonb, '$[*]' COLUMNS (a int PATH '$')) jt",
  "SELECT xmlelement(name a, 'x'), xmlforest(1 AS a), xmlparse(document '<a/>'), xmlagg('<a/>'::xml)",
  'SELECT any_value(1), count(*) FILTER (WHERE true), percentile_cont(0.5) WITHIN GROUP (ORDER BY 1)',
  "SELECT gen_random_uuid(), uuidv7(), random(1, 10), casefold('A'), string_to_table('a,b', ',')",
];

// One row per statement family; categories are exact and in SQL_CATEGORIES order.
const CASES: readonly Case[] = [
  // read
  c('SELECT abalance FROM pgbench_accounts WHERE aid = 1', 'select', ['read'], ['pgbench_accounts']),
  c('SELECT 1', 'select', ['read'], []),
  c('VALUES (1), (2)', 'values', ['read']),
  c('TABLE s.t', 'select', ['read'], ['s.t']),
  c('SHOW work_mem', 'show', ['read']),
  // reads of stored settings' values (docs/security.md, class 112)
  c('SHOW app.jwt_secret', 'show', ['read', 'secrets']),
  c('SHOW ALL', 'show', ['read', 'secrets']),
  c('SHOW primary_conninfo', 'show', ['read', 'secrets']),
  c('SHOW TRANSACTION ISOLATION LEVEL', 'show', ['read']),
  c("SELECT current_setting('server_version_num')", 'select', ['read'], []),
  c("SELECT current_setting('App.Jwt_Secret', true)", 'select', ['read', 'secrets'], []),
  c("SELECT current_setting('primary_conninfo_x'::varchar(16))", 'select', ['read', 'secrets'], []),
  c('SELECT current_setting(name) FROM t', 'select', ['read', 'secrets'], ['t']),
  c('SELECT * FROM pg_show_all_settings()', 'select', ['read', 'secrets'], []),
  c(
    'SELECT name, setting FROM pg_catalog.pg_settings',
    'select',
    ['read', 'secrets'],
    ['pg_catalog.pg_settings'],
  ),
  c('SELECT setconfig FROM pg_db_role_setting', 'select', ['read', 'secrets'], ['pg_db_role_setting']),
  c('SELECT sourcefile FROM pg_file_settings', 'select', ['read', 'secrets'], ['pg_file_settings']),
  c('SELECT rolname, rolsuper FROM pg_catalog.pg_roles r', 'select', ['read'], ['pg_catalog.pg_roles']),
  c('SELECT rolconfig FROM pg_roles', 'select', ['read', 'secrets'], ['pg_roles']),
  c('SELECT * FROM pg_roles', 'select', ['read', 'secrets'], ['pg_roles']),
  c('SELECT to_json(r) FROM pg_user r', 'select', ['read', 'secrets'], ['pg_user']),
  c('SELECT (r).rolconfig FROM pg_roles r', 'select', ['read', 'secrets'], ['pg_roles']),
  // …under another name (class 171): an alias list renames by position, functional notation hands
  // the whole row to a function, a COPY of a whole relation copies every column
  c(
    'SELECT c1, c12 FROM pg_roles AS r(c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12) WHERE c12 IS NOT NULL',
    'select',
    ['read', 'secrets'],
    ['pg_roles'],
  ),
  c('SELECT c9 FROM pg_catalog.pg_user u(c1,c2,c3,c4,c5,c6,c7,c8,c9)', 'select', ['read', 'secrets']),
  c('SELECT k29 FROM pg_proc AS p(k1, k2, k3) WHERE k2 = 1', 'select', ['read', 'secrets'], ['pg_proc']),
  c('SELECT j.c12 FROM (pg_roles r CROSS JOIN t) AS j(c1, c2)', 'select', ['read', 'secrets']),
  c('SELECT s.b FROM (SELECT rolname, oid FROM pg_roles) AS s(a, b)', 'select', ['read', 'secrets']),
  c('WITH c(a, b) AS (SELECT rolname, oid FROM pg_shadow) SELECT b FROM c', 'select', ['read', 'secrets']),
  c('SELECT r.to_json FROM pg_roles r', 'select', ['read', 'secrets'], ['pg_roles']),
  c('SELECT pg_catalog.pg_roles.row_to_json FROM pg_catalog.pg_roles', 'select', ['read', 'secrets']),
  c('SELECT j.to_jsonb FROM (pg_roles r CROSS JOIN t) j', 'select', ['read', 'secrets']),
  c('COPY pg_proc TO STDOUT', 'copy', ['read', 'secrets'], ['pg_proc']),
  c('COPY pg_proc (proname, proconfig) TO STDOUT', 'copy', ['read', 'secrets'], ['pg_proc']),
  c('TABLE pg_roles', 'select', ['read', 'secrets'], ['pg_roles']),
  // …and what names no settings column under any name stays a read
  c('SELECT r.rolname, r.oid FROM pg_roles r', 'select', ['read'], ['pg_roles']),
  c('SELECT c.relname, r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner', 'select', ['read']),
  c('SELECT rolname FROM pg_roles, generate_series(1, 2) AS g(n)', 'select', ['read']),
  c('SELECT x FROM (VALUES (1)) v(x) JOIN pg_roles ON true', 'select', ['read']),
  c('COPY pg_proc (proname, prosrc) TO STDOUT', 'copy', ['read'], ['pg_proc']),
  c('SELECT * FROM pg_ident_file_mappings', 'select', ['read', 'secrets'], ['pg_ident_file_mappings']),
  c('SELECT * FROM pg_ident_file_mappings()', 'select', ['read', 'secrets'], []),
  c(
    'SELECT a.x FROM a JOIN s.b ON a.id = b.id WHERE a.id IN (SELECT id FROM c)',
    'select',
    ['read'],
    ['a', 's.b', 'c'],
  ),
  c('SELECT * FROM a UNION ALL SELECT * FROM b', 'select', ['read'], ['a', 'b']),
  c(
    'SELECT lower(name), pg_catalog.upper(name) FROM t',
    'select',
    ['read'],
    ['t'],
    ['lower', 'pg_catalog.upper'],
  ),
  c('SELECT "MixedCase".x FROM "MixedCase"', 'select', ['read'], ['MixedCase']),
  c('FETCH 10 FROM c', 'fetch', ['read']),
  c('MOVE NEXT IN c', 'move', ['read']),
  // write
  c('INSERT INTO t VALUES (1)', 'insert', ['write'], ['t']),
  c('INSERT INTO t SELECT * FROM u', 'insert', ['read', 'write'], ['t', 'u']),
  c('INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = excluded.a', 'insert', ['write'], ['t']),
  c('INSERT INTO t VALUES (1) RETURNING id', 'insert', ['read', 'write'], ['t']),
  c('UPDATE t SET a = 1 WHERE id = 1', 'update', ['write'], ['t']),
  c('UPDATE t SET a = u.a FROM u WHERE t.id = u.id', 'update', ['read', 'write'], ['t', 'u']),
  c('DELETE FROM t WHERE id = 1', 'delete', ['write'], ['t']),
  c('DELETE FROM t USING u WHERE t.id = u.id', 'delete', ['read', 'write'], ['t', 'u']),
  c('DELETE FROM t WHERE CURRENT OF c', 'delete', ['write'], ['t']),
  c(
    'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a',
    'merge',
    ['read', 'write'],
    ['t', 's'],
  ),
  c('COPY t FROM STDIN', 'copy', ['write'], ['t']),
  c('COPY t TO STDOUT', 'copy', ['read'], ['t']),
  c("SELECT nextval('s')", 'select', ['read', 'write'], [], ['nextval']),
  c('SELECT lo_unlink(1)', 'select', ['read', 'write'], [], ['lo_unlink']),
  c('VACUUM t', 'vacuum', ['write'], ['t']),
  c('ANALYZE t', 'analyze', ['write'], ['t']),
  c('REFRESH MATERIALIZED VIEW mv', 'refresh materialized view', ['write'], ['mv']),
  // write-unbounded
  c('DELETE FROM t', 'delete', ['write', 'write-unbounded'], ['t']),
  c('DELETE FROM t WHERE true', 'delete', ['write', 'write-unbounded'], ['t']),
  c('DELETE FROM t WHERE 1=1', 'delete', ['write', 'write-unbounded'], ['t']),
  c("DELETE FROM t WHERE 'a'='a'", 'delete', ['write', 'write-unbounded'], ['t']),
  c('DELETE FROM t WHERE NOT false', 'delete', ['write', 'write-unbounded'], ['t']),
  c('DELETE FROM t WHERE id = 1 OR 1 = 1', 'delete', ['write', 'write-unbounded'], ['t']),
  c('DELETE FROM t WHERE $1', 'delete', ['write', 'write-unbounded'], ['t']),
  c('DELETE FROM t WHERE id = 1 AND true', 'delete', ['write'], ['t']),
  c('UPDATE t SET a = 1', 'update', ['write', 'write-unbounded'], ['t']),
  c('UPDATE t SET a = 1 WHERE true', 'update', ['write', 'write-unbounded'], ['t']),
  c('UPDATE t SET a = 1 WHERE 1 = 1', 'update', ['write', 'write-unbounded'], ['t']),
  c("UPDATE t SET a = 1 WHERE 'a' = 'a'", 'update', ['write', 'write-unbounded'], ['t']),
  c('UPDATE t SET a = 1 WHERE id = 1', 'update', ['write'], ['t']),
  c(
    'MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE',
    'merge',
    ['read', 'write', 'write-unbounded'],
    ['t', 's'],
  ),
  c(
    'MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE',
    'merge',
    ['read', 'write', 'write-unbounded'],
    ['t', 's'],
  ),
  // ddl-create
  c(
    'CREATE TABLE t (id int PRIMARY KEY, n text CHECK (lower(n) <> n))',
    'create table',
    ['ddl-create'],
    ['t'],
    ['lower'],
  ),
  c('CREATE INDEX i ON s.t (lower(name))', 'create index', ['ddl-create'], ['s.t'], ['lower']),
  c('CREATE VIEW v AS SELECT * FROM t', 'create view', ['read', 'ddl-create'], ['v', 't']),
  c(
    'CREATE OR REPLACE VIEW v AS SELECT * FROM t',
    'create view',
    ['read', 'ddl-create', 'ddl-alter'],
    ['v', 't'],
  ),
  c('CREATE TABLE x AS SELECT * FROM t', 'create table as', ['read', 'write', 'ddl-create'], ['t', 'x']),
  c(
    'CREATE MATERIALIZED VIEW mv AS SELECT * FROM t',
    'create materialized view',
    ['read', 'write', 'ddl-create'],
    ['t', 'mv'],
  ),
  c('SELECT * INTO x FROM t', 'select into', ['read', 'write', 'ddl-create'], ['x', 't']),
  c('CREATE SCHEMA s', 'create schema', ['ddl-create']),
  c('CREATE SEQUENCE s', 'create sequence', ['ddl-create'], ['s']),
  c("CREATE TYPE e AS ENUM ('a')", 'create type', ['ddl-create']),
  c('CREATE DOMAIN d AS int CHECK (VALUE > 0)', 'create domain', ['ddl-create']),
  c('CREATE EXTENSION pg_trgm', 'create extension', ['ddl-create']),
  c('CREATE DATABASE d', 'create database', ['ddl-create', 'admin']),
  // ddl-alter
  c('ALTER TABLE t ADD COLUMN c int DEFAULT now()', 'alter table', ['ddl-alter'], ['t'], ['now']),
  c('ALTER TABLE t RENAME TO u', 'alter table', ['ddl-alter'], ['t', 'u']),
  c('ALTER TABLE s.t RENAME TO u', 'alter table', ['ddl-alter'], ['s.t', 's.u']),
  c('ALTER TABLE s.t RENAME COLUMN a TO b', 'alter table', ['ddl-alter'], ['s.t']),
  c('ALTER INDEX i RENAME TO j', 'alter index', ['ddl-alter'], ['i', 'j']),
  c('ALTER TABLE t SET SCHEMA s', 'alter table', ['ddl-alter'], ['t']),
  c('ALTER SCHEMA s RENAME TO r', 'alter schema', ['ddl-alter']),
  c('ALTER SEQUENCE s RESTART', 'alter sequence', ['ddl-alter'], ['s']),
  c("COMMENT ON TABLE s.t IS 'x'", 'comment', ['ddl-alter'], ['s.t']),
  c("COMMENT ON COLUMN s.t.c IS 'x'", 'comment', ['ddl-alter'], ['s.t']),
  // ddl-drop
  c('DROP TABLE t', 'drop table', ['ddl-drop'], ['t']),
  c('DROP TABLE IF EXISTS a, s.b CASCADE', 'drop table', ['ddl-drop'], ['a', 's.b']),
  c('DROP INDEX i', 'drop index', ['ddl-drop'], ['i']),
  c('DROP VIEW v', 'drop view', ['ddl-drop'], ['v']),
  c('DROP SCHEMA s CASCADE', 'drop schema', ['ddl-drop'], []),
  c('DROP FUNCTION f(int)', 'drop function', ['ddl-drop']),
  c('DROP TRIGGER tr ON s.t', 'drop trigger', ['ddl-drop'], ['s.t']),
  c('ALTER TABLE t DROP COLUMN c', 'alter table', ['ddl-alter', 'ddl-drop'], ['t']),
  c('ALTER TABLE t DROP CONSTRAINT c', 'alter table', ['ddl-alter', 'ddl-drop'], ['t']),
  c('ALTER DOMAIN d DROP CONSTRAINT c', 'alter domain', ['ddl-alter', 'ddl-drop']),
  // truncate
  c('TRUNCATE a, s.b', 'truncate', ['truncate'], ['a', 's.b']),
  c('TRUNCATE TABLE t RESTART IDENTITY CASCADE', 'truncate', ['truncate'], ['t']),
  // drop-database
  c('DROP DATABASE d', 'drop database', ['drop-database', 'admin']),
  c('DROP DATABASE IF EXISTS d WITH (FORCE)', 'drop database', ['drop-database', 'admin']),
  // privilege
  c('GRANT SELECT ON t, s.u TO bob', 'grant', ['privilege'], ['t', 's.u']),
  c('REVOKE ALL ON t FROM bob', 'revoke', ['privilege'], ['t']),
  c('GRANT admin TO bob', 'grant role', ['privilege']),
  c('REVOKE admin FROM bob', 'revoke role', ['privilege']),
  c('CREATE ROLE r', 'create role', ['privilege']),
  c("CREATE USER u PASSWORD 'x'", 'create user', ['privilege']),
  c('CREATE GROUP g', 'create group', ['privilege']),
  c('ALTER ROLE r SUPERUSER', 'alter role', ['privilege']),
  c('ALTER ROLE a RENAME TO b', 'alter role', ['privilege']),
  c('ALTER ROLE r SET search_path = x', 'alter role', ['privilege']),
  c('DROP ROLE r', 'drop role', ['ddl-drop', 'privilege']),
  c('SET ROLE admin', 'set role', ['privilege']),
  c('RESET ROLE', 'reset role', ['privilege']),
  c('SET SESSION AUTHORIZATION bob', 'set session authorization', ['privilege']),
  c('ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob', 'alter default privileges', ['privilege']),
  c('REASSIGN OWNED BY a TO b', 'reassign owned', ['privilege']),
  c('DROP OWNED BY a', 'drop owned', ['ddl-drop', 'privilege']),
  c('ALTER TABLE t OWNER TO bob', 'alter table', ['ddl-alter', 'privilege'], ['t']),
  c('ALTER FUNCTION f() OWNER TO bob', 'alter function', ['ddl-alter', 'privilege']),
  c("SECURITY LABEL ON TABLE t IS 'x'", 'security label', ['privilege'], ['t']),
  c('CREATE POLICY p ON t USING (owner = current_user)', 'create policy', ['ddl-create', 'privilege'], ['t']),
  c('DROP POLICY p ON t', 'drop policy', ['ddl-drop', 'privilege'], ['t']),
  c('ALTER TABLE t ENABLE ROW LEVEL SECURITY', 'alter table', ['ddl-alter', 'privilege'], ['t']),
  c("SELECT set_config('role', 'x', false)", 'select', ['read', 'privilege', 'session'], [], ['set_config']),
  // admin
  c("ALTER SYSTEM SET work_mem = '1GB'", 'alter system', ['admin']),
  c('VACUUM FULL t', 'vacuum', ['admin', 'lock'], ['t']),
  c('VACUUM (FULL, ANALYZE) t', 'vacuum', ['admin', 'lock'], ['t']),
  c('VACUUM (FULL false) t', 'vacuum', ['write'], ['t']),
  c('CLUSTER t', 'cluster', ['admin', 'lock'], ['t']),
  c('CHECKPOINT', 'checkpoint', ['admin']),
  c('REINDEX TABLE t', 'reindex', ['admin'], ['t']),
  c("CREATE TABLESPACE ts LOCATION '/tmp/x'", 'create tablespace', [
    'ddl-create',
    'admin',
    'file-and-program',
  ]),
  c('DROP TABLESPACE ts', 'drop tablespace', ['ddl-drop', 'admin']),
  c('ALTER DATABASE d RENAME TO e', 'alter database', ['ddl-alter', 'admin']),
  c("ALTER DATABASE d SET work_mem = '1MB'", 'alter database', ['ddl-alter', 'admin']),
  c('SELECT pg_terminate_backend(1)', 'select', ['read', 'admin'], [], ['pg_terminate_backend']),
  c('SELECT pg_cancel_backend(pid) FROM pg_stat_activity', 'select', ['read', 'admin'], ['pg_stat_activity']),
  c('SELECT pg_catalog.pg_reload_conf()', 'select', ['read', 'admin'], [], ['pg_catalog.pg_reload_conf']),
  c(
    "SELECT set_config('search_path', 'evil', false)",
    'select',
    ['read', 'admin', 'session'],
    [],
    ['set_config'],
  ),
  c("SELECT set_config($1, 'x', false)", 'select', ['read', 'admin', 'session'], [], ['set_config']),
  c("SELECT set_config('session_replication_role', 'replica', false)", 'select', [
    'read',
    'admin',
    'session',
  ]),
  c('SET session_replication_role = replica', 'set session_replication_role', ['admin']),
  c('SET allow_system_table_mods = on', 'set allow_system_table_mods', ['admin']),
  c("SET app.tenant_id = '42'", 'set app.tenant_id', ['admin']),
  c(
    'UPDATE pg_settings SET setting = 1 WHERE name = $1',
    'update',
    ['write', 'admin', 'secrets'],
    ['pg_settings'],
  ),
  c('ALTER TABLE t DISABLE TRIGGER ALL', 'alter table', ['ddl-alter', 'admin'], ['t']),
  // file-and-program
  c("COPY t TO '/tmp/x'", 'copy', ['read', 'file-and-program'], ['t']),
  c("COPY t FROM '/tmp/x'", 'copy', ['write', 'file-and-program'], ['t']),
  c("COPY t FROM PROGRAM 'id'", 'copy', ['write', 'file-and-program'], ['t']),
  c("COPY (SELECT 1) TO PROGRAM 'cat'", 'copy', ['read', 'file-and-program']),
  c("SELECT pg_read_file('/etc/passwd')", 'select', ['read', 'file-and-program'], [], ['pg_read_file']),
  c("SELECT * FROM pg_ls_dir('.')", 'select', ['read', 'file-and-program'], [], ['pg_ls_dir']),
  c("SELECT lo_import('/etc/passwd')", 'select', ['read', 'write', 'file-and-program'], [], ['lo_import']),
  c(
    "SELECT dblink_exec('dbname=x', 'DROP TABLE t')",
    'select',
    ['read', 'file-and-program', 'procedural'],
    [],
    ['dblink_exec'],
  ),
  c(
    "SELECT * FROM dblink('dbname=x', 'SELECT 1') AS r(x int)",
    'select',
    ['read', 'file-and-program', 'procedural'],
    [],
    ['dblink'],
  ),
  c('CREATE EXTENSION IF NOT EXISTS dblink', 'create extension', ['ddl-create', 'file-and-program']),
  c('CREATE EXTENSION file_fdw', 'create extension', ['ddl-create', 'file-and-program']),
  c('CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw', 'create server', ['ddl-create', 'file-and-program']),
  c('CREATE FOREIGN DATA WRAPPER w', 'create foreign data wrapper', ['ddl-create', 'file-and-program']),
  c(
    'CREATE FOREIGN TABLE ft (a int) SERVER s',
    'create foreign table',
    ['ddl-create', 'file-and-program'],
    ['ft'],
  ),
  c("CREATE USER MAPPING FOR bob SERVER s OPTIONS (password 'x')", 'create user mapping', [
    'ddl-create',
    'file-and-program',
  ]),
  c('IMPORT FOREIGN SCHEMA public FROM SERVER s INTO local', 'import foreign schema', [
    'ddl-create',
    'file-and-program',
  ]),
  c("LOAD 'auto_explain'", 'load', ['admin', 'file-and-program']),
  // procedural
  c("DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", 'do', ['procedural']),
  // a function PostgreSQL does not ship runs code no statement shows (test/differential.test.ts)
  c('SELECT purge_canary()', 'select', ['read', 'procedural'], [], ['purge_canary']),
  c('SELECT * FROM s.report(1)', 'select', ['read', 'procedural'], [], ['s.report']),
  c('SELECT id FROM t WHERE id = f()', 'select', ['read', 'procedural'], ['t'], ['f']),
  c('SELECT public.lower(v) FROM t', 'select', ['read', 'procedural'], ['t'], ['public.lower']),
  c('SELECT "Lower"(v) FROM t', 'select', ['read', 'procedural'], ['t'], ['lower']),
  c('SELECT crypt($1, gen_salt($2))', 'select', ['read', 'procedural'], [], ['crypt', 'gen_salt']),
  c(
    'SELECT information_schema._pg_expandarray(ARRAY[1])',
    'select',
    ['read'],
    [],
    ['information_schema._pg_expandarray'],
  ),
  c('SELECT pg_catalog.pg_catalog.lower($1)', 'select', ['read'], [], ['pg_catalog.pg_catalog.lower']),
  c("DO LANGUAGE plpython3u 'import os'", 'do', ['file-and-program', 'procedural']),
  c('CALL p()', 'call', ['procedural'], [], ['p']),
  c('CALL s.p(lower($1))', 'call', ['procedural'], [], ['s.p', 'lower']),
  c("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'", 'create function', [
    'ddl-create',
    'procedural',
  ]),
  c(
    "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'select 1'",
    'create function',
    ['ddl-create', 'ddl-alter', 'privilege', 'procedural'],
  ),
  c("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'sym'", 'create function', [
    'ddl-create',
    'file-and-program',
    'procedural',
  ]),
  c(
    'CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC DELETE FROM t WHERE id = 1; END',
    'create procedure',
    ['write', 'ddl-create', 'procedural'],
    ['t'],
  ),
  c(
    'CREATE TRIGGER tr BEFORE INSERT ON s.t FOR EACH ROW EXECUTE FUNCTION trf()',
    'create trigger',
    ['ddl-create', 'procedural'],
    ['s.t'],
    ['trf'],
  ),
  c('CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING', 'create rule', ['ddl-create', 'procedural'], ['t']),
  c(
    'CREATE RULE r AS ON INSERT TO t DO ALSO DELETE FROM u WHERE u.id = new.id',
    'create rule',
    ['write', 'ddl-create', 'procedural'],
    ['t', 'u'],
  ),
  c(
    'CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION ef()',
    'create event trigger',
    ['ddl-create', 'procedural'],
    [],
    ['ef'],
  ),
  c("SELECT query_to_xml('select * from secrets', true, true, '')", 'select', ['read', 'procedural']),
  // transaction
  c('BEGIN', 'begin', ['transaction']),
  c('START TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'start transaction', ['transaction']),
  c('COMMIT', 'commit', ['transaction']),
  c('END', 'commit', ['transaction']),
  c('ROLLBACK', 'rollback', ['transaction']),
  c('SAVEPOINT a', 'savepoint', ['transaction']),
  c('RELEASE SAVEPOINT a', 'release savepoint', ['transaction']),
  c('ROLLBACK TO SAVEPOINT a', 'rollback to savepoint', ['transaction']),
  c("COMMIT PREPARED 'x'", 'commit prepared', ['admin']),
  c("ROLLBACK PREPARED 'x'", 'rollback prepared', ['admin']),
  c("PREPARE TRANSACTION 'x'", 'prepare transaction', ['admin']),
  c('SET TRANSACTION READ ONLY', 'set transaction', ['transaction']),
  c('SET CONSTRAINTS ALL DEFERRED', 'set constraints', ['transaction']),
  // session
  c('SET search_path TO evil, public', 'set search_path', ['session']),
  c("SET SCHEMA 'x'", 'set search_path', ['session']),
  c("SET LOCAL statement_timeout = '5s'", 'set statement_timeout', ['session']),
  c("SET TIME ZONE 'UTC'", 'set timezone', ['session']),
  c("SET NAMES 'UTF8'", 'set client_encoding', ['session']),
  c('SET "Work_Mem" TO DEFAULT', 'set work_mem', ['session']),
  c('RESET work_mem', 'reset work_mem', ['session']),
  c('RESET ALL', 'reset all', ['session']),
  c('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY', 'set session characteristics', ['session']),
  c("SELECT set_config('application_name', 'x', false)", 'select', ['read', 'session'], [], ['set_config']),
  c('DISCARD ALL', 'discard', ['session']),
  c('LISTEN ch', 'listen', ['session']),
  c('UNLISTEN *', 'unlisten', ['session']),
  c("NOTIFY ch, 'x'", 'notify', ['write']),
  c("SELECT pg_notify('ch', 'x')", 'select', ['read', 'write'], [], ['pg_notify']),
  c('PREPARE p AS SELECT * FROM t WHERE id = $1', 'prepare', ['read', 'session'], ['t']),
  c('PREPARE p (int) AS DELETE FROM t', 'prepare', ['write', 'write-unbounded', 'session'], ['t']),
  c('EXECUTE p(1)', 'execute', ['session']),
  c('EXECUTE p(pg_terminate_backend(1))', 'execute', ['admin', 'session'], [], ['pg_terminate_backend']),
  c('DEALLOCATE p', 'deallocate', ['session']),
  c('DEALLOCATE ALL', 'deallocate', ['session']),
  c('DECLARE c CURSOR FOR SELECT * FROM t', 'declare cursor', ['read'], ['t']),
  c('CLOSE c', 'close', ['session']),
  // lock
  c('SELECT * FROM t FOR UPDATE', 'select', ['read', 'lock'], ['t']),
  c('SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED', 'select', ['read', 'lock'], ['t']),
  c('SELECT * FROM t FOR SHARE OF t', 'select', ['read', 'lock'], ['t']),
  c('SELECT * FROM t FOR KEY SHARE', 'select', ['read', 'lock'], ['t']),
  c('SELECT * FROM (SELECT * FROM t FOR UPDATE) x', 'select', ['read', 'lock'], ['t']),
  c('DECLARE c CURSOR FOR SELECT * FROM t FOR UPDATE', 'declare cursor', ['read', 'lock'], ['t']),
  c('LOCK TABLE t IN ACCESS EXCLUSIVE MODE', 'lock', ['lock'], ['t']),
  c('SELECT pg_advisory_lock(1)', 'select', ['read', 'lock'], [], ['pg_advisory_lock']),
  // PostgreSQL 11–15 still ship adminpack's old names in pg_catalog (18 does not: also procedural)
  c("SELECT pg_read_file_old('/etc/passwd', 0, 100)", 'select', ['read', 'file-and-program', 'procedural']),
  c('SELECT pg_rotate_logfile_old()', 'select', ['read', 'admin', 'procedural']),
  // index maintenance writes the index, and runs in a read-only transaction
  c("SELECT brin_desummarize_range('i', 0)", 'select', ['read', 'write'], [], ['brin_desummarize_range']),
  c("SELECT gin_clean_pending_list('i')", 'select', ['read', 'write'], [], ['gin_clean_pending_list']),
  // explain
  c('EXPLAIN SELECT * FROM t', 'explain', ['read'], ['t']),
  c('EXPLAIN DELETE FROM t', 'explain', ['read'], ['t']),
  c('EXPLAIN (ANALYZE false) DELETE FROM t', 'explain', ['read'], ['t']),
  c('EXPLAIN ANALYZE DELETE FROM t', 'explain analyze', ['read', 'write', 'write-unbounded'], ['t']),
  c(
    'EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1 WHERE id = 1',
    'explain analyze',
    ['read', 'write'],
    ['t'],
  ),
  c('EXPLAIN ANALYZE SELECT pg_terminate_backend(1)', 'explain analyze', ['read', 'admin']),
  // what a call adds counts without ANALYZE too: the planner runs what it can fold or estimate with
  // (class 170), and which ones it runs depends on volatility the classifier does not read
  c('EXPLAIN SELECT pg_terminate_backend(1)', 'explain', ['read', 'admin'], [], ['pg_terminate_backend']),
  c("EXPLAIN SELECT 1 LIMIT current_setting('app.jwt_secret')::int", 'explain', ['read', 'secrets'], []),
  c("EXPLAIN SELECT 1 LIMIT length(table_to_xml('t', true, false, ''))", 'explain', ['read', 'procedural']),
  c('EXPLAIN SELECT 1 LIMIT length(pg_get_functiondef(1))', 'explain', ['read', 'secrets']),
  c('EXPLAIN SELECT * FROM t FOR UPDATE', 'explain', ['read'], ['t']),
  c('EXPLAIN INSERT INTO t VALUES (nextval(1))', 'explain', ['read', 'write'], ['t']),
  // the planner runs a function it folds (IMMUTABLE with constant arguments) or estimates (STABLE)
  c('EXPLAIN SELECT app.touch(1)', 'explain', ['read', 'procedural'], [], ['app.touch']),
  c('EXPLAIN DELETE FROM t WHERE id = my_fn()', 'explain', ['read', 'procedural'], ['t'], ['my_fn']),
  // unknown: nested EXECUTE hides what runs
  c('CREATE TABLE x AS EXECUTE p', 'create table as', ['write', 'ddl-create', 'session', 'unknown'], ['x']),
  c('EXPLAIN ANALYZE EXECUTE p', 'explain analyze', ['read', 'session', 'unknown']),
];

describe('PostgreSQL classifier: one statement per family', () => {
  it.each(CASES.map((row) => [row.sql, row] as const))('%s', (_sql, row) => {
    const statement = one(row.sql);
    expect(statement.kind).toBe(row.kind);
    expect(statement.categories).toEqual(row.categories);
    if (row.tables !== undefined) expect(tableNames(statement)).toEqual(row.tables);
    if (row.functions !== undefined) expect(statement.functions).toEqual(row.functions);
    expect(statement.text).toBe(row.sql);
  });

  it.each(SYNTAX_CALLS.map((sql) => [sql]))('SQL syntax that becomes built-in calls: %s', (sql) => {
    expect(one(sql).categories).toEqual(['read']);
  });

  it('covers every category at least once', () => {
    const seen = new Set(CASES.flatMap((row) => row.categories));
    expect([...SQL_CATEGORIES].filter((category) => !seen.has(category))).toEqual([]);
  });
});

describe('PostgreSQL classifier: bypass attempts', () => {
  it('splits `SELECT 1; DROP TABLE t` into two statements', () => {
    const { statements, parseError } = classifier.classify('SELECT 1; DROP TABLE t');
    expect(parseError).toBeUndefined();
    expect(statements.map((s) => [s.kind, s.categories, s.text])).toEqual([
      ['select', ['read'], 'SELECT 1'],
      ['drop table', ['ddl-drop'], 'DROP TABLE t'],
    ]);
  });

  it.each([
    'DROP/**/TABLE t',
    'DrOp   TaBlE t',
    'drop\n\ttable\r\n  t',
    'DROP /* a /* nested */ comment */ TABLE t',
    'DROP -- line comment\nTABLE t',
    '  \n DROP TABLE "t"  ;  ',
  ])('sees the DROP in %j', (sql) => {
    const statement = one(sql);
    expect(statement.kind).toBe('drop table');
    expect(statement.categories).toEqual(['ddl-drop']);
    expect(statement.tables).toEqual([{ name: 't' }]);
  });

  it('keeps quoted identifier case and folds unquoted ones', () => {
    expect(one('DROP TABLE "T"').tables).toEqual([{ name: 'T' }]);
    expect(one('DROP TABLE Public.T').tables).toEqual([{ schema: 'public', name: 't' }]);
  });

  it('slices statements by UTF-8 byte offsets with non-ASCII text before them', () => {
    const sql = 'SELECT \'héllo wörld 🎉\' AS "名前"; DROP TABLE "tä😀ble"; SELECT \'ü\'';
    const { statements } = classifier.classify(sql);
    expect(statements.map((s) => s.text)).toEqual([
      'SELECT \'héllo wörld 🎉\' AS "名前"',
      'DROP TABLE "tä😀ble"',
      "SELECT 'ü'",
    ]);
    expect(statements[1]!.tables).toEqual([{ name: 'tä😀ble' }]);
    expect(statements[1]!.categories).toEqual(['ddl-drop']);
  });

  it.each([
    ['SELECT $$DROP TABLE t$$', 'select'],
    ['SELECT $tag$; DROP TABLE t; $tag$', 'select'],
    ["SELECT E'\\'; DROP TABLE t; --'", 'select'],
    ["SELECT 'it''s; DROP TABLE t'", 'select'],
    ['SELECT 1 -- ; DROP TABLE t', 'select'],
    ['SELECT 1 /* ; DROP TABLE t */', 'select'],
    ['SELECT "; DROP TABLE t" FROM x', 'select'],
  ])('does not see a statement inside a literal or comment: %j', (sql, kind) => {
    const statement = one(sql);
    expect(statement.kind).toBe(kind);
    expect(statement.categories).toEqual(['read']);
  });

  it('names the prepared statement of PREPARE, EXECUTE and DEALLOCATE', () => {
    const names = (sql: string) => classifier.classify(sql).statements.map((s) => [s.kind, s.preparedName]);
    expect(names('PREPARE p AS SELECT 1; EXECUTE p; DEALLOCATE p; DEALLOCATE ALL')).toEqual([
      ['prepare', 'p'],
      ['execute', 'p'],
      ['deallocate', 'p'],
      ['deallocate', '*'],
    ]);
    // Unquoted names fold to lower case, as PostgreSQL stores them; quoted names keep their case.
    expect(names('PREPARE Foo AS SELECT 1; EXECUTE "Foo"(1); DEALLOCATE PREPARE foo')).toEqual([
      ['prepare', 'foo'],
      ['execute', 'Foo'],
      ['deallocate', 'foo'],
    ]);
    expect(names('CREATE TABLE x AS EXECUTE p')).toEqual([['create table as', undefined]]);
    expect(one('SELECT 1').preparedName).toBeUndefined();
  });

  it('names the savepoint of SAVEPOINT, RELEASE and ROLLBACK TO, and marks AND CHAIN', () => {
    const control = (sql: string) =>
      classifier.classify(sql).statements.map((s) => [s.kind, s.savepoint, s.chain]);
    expect(
      control(
        'SAVEPOINT A; SAVEPOINT "B c"; RELEASE a; ROLLBACK TO SAVEPOINT "B c"; ROLLBACK TRANSACTION TO x',
      ),
    ).toEqual([
      ['savepoint', 'a', undefined],
      ['savepoint', 'B c', undefined],
      ['release savepoint', 'a', undefined],
      ['rollback to savepoint', 'B c', undefined],
      ['rollback to savepoint', 'x', undefined],
    ]);
    expect(control('COMMIT AND CHAIN; ABORT AND CHAIN; COMMIT AND NO CHAIN; END; ROLLBACK')).toEqual([
      ['commit', undefined, true],
      ['rollback', undefined, true],
      ['commit', undefined, undefined],
      ['commit', undefined, undefined],
      ['rollback', undefined, undefined],
    ]);
  });

  it('counts the writable CTE inside a SELECT', () => {
    const statement = one('WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d');
    expect(statement.kind).toBe('select');
    expect(statement.categories).toEqual(['read', 'write', 'write-unbounded']);
    expect(tableNames(statement)).toEqual(['t']);
  });

  it('counts a bounded writable CTE as a bounded write', () => {
    const statement = one('WITH u AS (UPDATE t SET a = 1 WHERE id = 2 RETURNING *) SELECT * FROM u');
    expect(statement.categories).toEqual(['read', 'write']);
  });

  it('finds writes nested deep inside subqueries and CTEs', () => {
    const statement = one(
      'SELECT * FROM (WITH x AS (WITH y AS (INSERT INTO audit VALUES (1) RETURNING *) SELECT * FROM y) SELECT * FROM x) z',
    );
    expect(statement.categories).toEqual(['read', 'write']);
    expect(tableNames(statement)).toEqual(['audit']);
  });

  it('treats COPY of a DELETE … RETURNING as a write', () => {
    const statement = one('COPY (DELETE FROM t RETURNING *) TO STDOUT');
    expect(statement.kind).toBe('copy');
    expect(statement.categories).toEqual(['read', 'write', 'write-unbounded']);
  });

  it('resolves CTE names without hiding real tables', () => {
    // Non-recursive: the body's `t` is the real table t; the outer `t` is the CTE.
    expect(tableNames(one('WITH t AS (SELECT * FROM t) SELECT * FROM t'))).toEqual(['t']);
    expect(
      tableNames(one('WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT * FROM r) SELECT * FROM r')),
    ).toEqual([]);
    expect(
      tableNames(one('WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b JOIN s.a ON true')),
    ).toEqual(['s.a']);
    expect(tableNames(one('WITH b AS (SELECT * FROM a), a AS (SELECT 1) SELECT * FROM b'))).toEqual(['a']);
    // A DML target is always a real table, even when a CTE has its name.
    expect(
      tableNames(one('WITH t AS (SELECT 1 AS id) DELETE FROM t USING t AS x WHERE t.id = x.id')),
    ).toEqual(['t']);
    expect(tableNames(one('SELECT * FROM (WITH c AS (SELECT 1) SELECT * FROM c) q, c'))).toEqual(['c']);
  });

  it('treats a parse error as one unparsed, unknown statement', () => {
    const result = classifier.classify('SELEC 1');
    expect(result.parseError).toMatch(/syntax error/);
    expect(result.statements).toEqual([
      {
        text: 'SELEC 1',
        kind: 'unparsed',
        categories: ['unknown'],
        tables: [],
        functions: [],
        parseError: result.parseError,
        parseErrorPosition: 0,
      },
    ]);
  });

  it('fails the whole text when any statement in it fails to parse', () => {
    const result = classifier.classify('SELECT 1; DROP TABLE t; SELEC 1');
    expect(result.parseError).toBeDefined();
    expect(result.statements).toHaveLength(1);
    expect(result.statements[0]!.categories).toEqual(['unknown']);
  });

  it.each([
    '',
    '   ',
    '\n\t ',
    '/* only a comment */',
    '-- only a comment',
    ';',
    ';;;',
    ' ; /* x */ ; -- y\n;',
  ])('gives zero statements and no error for empty text %j', (sql) => {
    expect(classifier.classify(sql)).toEqual({ statements: [] });
  });

  it('rejects NUL characters (no PostgreSQL query can hold one)', () => {
    for (const sql of ['SELECT 1\u0000; DROP TABLE t', '\u0000', 'DROP TABLE t\u0000']) {
      const result = classifier.classify(sql);
      expect(result.parseError).toMatch(/NUL/);
      expect(result.statements[0]!.categories).toEqual(['unknown']);
    }
  });

  it('rejects lone UTF-16 surrogates', () => {
    const result = classifier.classify("SELECT '\uD800'; DROP TABLE t");
    expect(result.parseError).toMatch(/Unicode/);
    expect(result.statements[0]!.kind).toBe('unparsed');
  });

  it('classifies a 1 MB statement', () => {
    const values = Array.from({ length: 60_000 }, (_, i) => `(${i}, 'välue ${i}')`).join(', ');
    const sql = `INSERT INTO big VALUES ${values}; DELETE FROM big`;
    expect(sql.length).toBeGreaterThan(1_000_000);
    const { statements, parseError } = classifier.classify(sql);
    expect(parseError).toBeUndefined();
    expect(statements.map((s) => s.kind)).toEqual(['insert', 'delete']);
    expect(statements[1]!.text).toBe('DELETE FROM big');
    expect(statements[1]!.categories).toEqual(['write', 'write-unbounded']);
  });

  it('denies pathologically deep nesting without crashing, and keeps working afterwards', async () => {
    const deep = [
      'SELECT ' + '('.repeat(2000) + '1' + ')'.repeat(2000),
      'SELECT ' + '('.repeat(20_000) + '1' + ')'.repeat(20_000),
      'SELECT ' + '(SELECT '.repeat(2000) + '1' + ')'.repeat(2000),
      'SELECT ' + Array(20_000).fill('a').join(' + '), // overflows the parser's own stack in WebAssembly
      'SELECT ' + 'NOT '.repeat(5000) + 'true',
    ];
    for (const sql of deep) {
      const result = classifier.classify(sql);
      // Either classified (the parser collapsed it) or denied; never a throw, never silently empty.
      expect(result.statements.length).toBe(1);
      expect(result.statements[0]!.categories.length).toBeGreaterThan(0);
      if (result.parseError === undefined) expect(result.statements[0]!.categories).toEqual(['read']);
      else expect(result.statements[0]!.categories).toEqual(['unknown']);
    }
    expect(classifier.classify('SELECT ' + Array(20_000).fill('a').join(' + ')).parseError).toBeDefined();
    // Each parser crash retires an instance; give the runtime a moment to build replacements.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = classifier.classify('SELECT 1; DROP TABLE t');
    expect(after.statements.map((s) => s.kind)).toEqual(['select', 'drop table']);
  });

  it('recovers from repeated parser stack overflows without misparsing', async () => {
    const fresh = await createPostgresClassifier({ cacheSize: 0 });
    for (let i = 0; i < 12; i++) {
      expect(fresh.classify(`SELECT ${i} + ` + Array(20_000).fill('a').join(' + ')).parseError).toBeDefined();
      // Let the runtime build its replacement instance.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const ok = fresh.classify(`DELETE FROM t${i} WHERE id = 1`);
      if (ok.parseError === undefined) {
        expect(ok.statements[0]!.tables).toEqual([{ name: `t${i}` }]);
        expect(ok.statements[0]!.categories).toEqual(['write']);
      } else {
        expect(ok.parseError).toMatch(/restarting/);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fresh.classify('DELETE FROM t WHERE id = 1').statements[0]!.categories).toEqual(['write']);
  });
});

describe('PostgreSQL classifier: data read outside the named tables (class 103)', () => {
  it.each([
    ["SELECT pg_sequence_last_value('invoice_no')", 'invoice_no'],
    ["SELECT (pg_get_sequence_data('invoice_no')).last_value", 'invoice_no'],
  ])('%s reads a sequence it names by argument', (sql, relation) => {
    const statement = one(sql);
    expect(statement.readsElsewhere).toBe(true);
    expect(statement.relationArgs).toEqual([relation]);
  });
});

describe('PostgreSQL classifier: comments and statement text', () => {
  it('reads sqlcommenter key/values from the statement they belong to', () => {
    const sql =
      "SELECT * FROM t /*prompt_id='p%2D42',agent='claude%20code',note='it\\'s'*/; DELETE FROM t WHERE id = 1 /*prompt_id='p43'*/";
    const { statements } = classifier.classify(sql);
    expect(statements[0]!.comments).toEqual({ prompt_id: 'p-42', agent: 'claude code', note: "it's" });
    expect(statements[1]!.comments).toEqual({ prompt_id: 'p43' });
    expect(statements[1]!.categories).toEqual(['write']);
  });

  it('ignores comment-like text inside string literals and non-sqlcommenter comments', () => {
    const statement = one("SELECT '/*a=''b''*/' /* just a note */");
    expect(statement.comments).toBeUndefined();
  });

  it('does not let comments change the decision', () => {
    const statement = one("DROP TABLE t /*kind='select',categories='read'*/");
    expect(statement.kind).toBe('drop table');
    expect(statement.categories).toEqual(['ddl-drop']);
    expect(statement.comments).toEqual({ kind: 'select', categories: 'read' });
  });

  it('trims each statement text; a comment before a statement is not part of it (PostgreSQL 18 stmt_location)', () => {
    const { statements } = classifier.classify(
      "  /*k='lead'*/ SELECT 1 /*k='one'*/;\n\n  SELECT 2  /*k='v'*/  ",
    );
    expect(statements.map((s) => s.text)).toEqual(["SELECT 1 /*k='one'*/", "SELECT 2  /*k='v'*/"]);
    expect(statements.map((s) => s.comments)).toEqual([{ k: 'one' }, { k: 'v' }]);
  });
});

describe('PostgreSQL classifier: results and cache', () => {
  it('returns frozen results', () => {
    const result = classifier.classify('SELECT * FROM t');
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result.statements)).toBe(true);
    expect(Object.isFrozen(result.statements[0])).toBe(true);
    expect(Object.isFrozen(result.statements[0]!.categories)).toBe(true);
    expect(Object.isFrozen(result.statements[0]!.tables)).toBe(true);
    expect(Object.isFrozen(result.statements[0]!.tables[0])).toBe(true);
    expect(Object.isFrozen(result.statements[0]!.functions)).toBe(true);
  });

  it('caches a repeated text and returns the same result object', () => {
    const sql = 'SELECT cached_column FROM cached_table WHERE id = 7';
    classifier.classify(sql);
    const second = classifier.classify(sql);
    expect(classifier.classify(sql)).toBe(second);
  });

  it('can run without a cache', async () => {
    const uncached = await createPostgresClassifier({ cacheSize: 0 });
    const a = uncached.classify('SELECT 1');
    uncached.classify('SELECT 1');
    expect(uncached.classify('SELECT 1')).not.toBe(a);
    expect(uncached.classify('SELECT 1')).toEqual(a);
  });

  it('denies text above maxTextLength', async () => {
    const small = await createPostgresClassifier({ maxTextLength: 10 });
    expect(small.classify('SELECT 1').parseError).toBeUndefined();
    expect(small.classify('SELECT 12345678').parseError).toMatch(/too long/);
  });

  it('fingerprints statements that differ only in constants alike', () => {
    const a = classifier.fingerprint('SELECT * FROM t WHERE id = 1');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(classifier.fingerprint('SELECT * FROM t WHERE id = 2')).toBe(a);
    expect(classifier.fingerprint('SELECT * FROM u WHERE id = 2')).not.toBe(a);
    expect(classifier.fingerprint('SELEC 1')).toBeUndefined();
  });
});

describe('PostgreSQL classifier: properties', () => {
  it('never throws, and every statement has at least one category', () => {
    const sqlish = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc
        .array(
          fc.constantFrom(
            'SELECT',
            'DROP',
            'TABLE',
            't',
            ';',
            '(',
            ')',
            "'",
            '"',
            '$$',
            '$a$',
            '/*',
            '*/',
            '--',
            '\n',
            ' ',
            "E'",
            '\\',
            'WITH',
            'AS',
            'DELETE',
            'FROM',
            'WHERE',
            '1',
            '=',
            'é',
            '😀',
            'COPY',
            'TO',
            'STDOUT',
            'EXPLAIN',
            'ANALYZE',
            'INSERT',
            'INTO',
            'VALUES',
            ',',
            'UPDATE',
            'SET',
            'DO',
            'BEGIN',
            'END',
            'CALL',
            'p',
            '\u0000',
          ),
          { maxLength: 30 },
        )
        .map((tokens) => tokens.join(' ')),
    );
    fc.assert(
      fc.property(sqlish, (text) => {
        const result = classifier.classify(text);
        for (const statement of result.statements) {
          expect(statement.categories.length).toBeGreaterThanOrEqual(1);
          expect(typeof statement.kind).toBe('string');
          expect(statement.categories).toEqual(
            SQL_CATEGORIES.filter((cat) => statement.categories.includes(cat)),
          );
        }
        if (result.parseError !== undefined) {
          expect(result.statements).toHaveLength(1);
          expect(result.statements[0]!.categories).toEqual(['unknown']);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('splits into texts that each classify alone to the same kind and categories', () => {
    const pieces = [
      'SELECT 1',
      'DROP TABLE t',
      "SELECT 'a;b'",
      'DELETE FROM t WHERE id = 1',
      'INSERT INTO "tä" VALUES (\'ö\')',
      'BEGIN',
      'SET search_path TO x',
      'SELECT $$;$$',
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 6 }), (chosen) => {
        const whole = classifier.classify(chosen.join(';\n'));
        expect(whole.statements.map((s) => s.text)).toEqual(chosen);
        for (const statement of whole.statements) {
          const alone = one(statement.text);
          expect([alone.kind, alone.categories]).toEqual([statement.kind, statement.categories]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
