import { beforeAll, describe, expect, it } from 'vitest';
import { createPostgresClassifier, type PostgresClassifier } from './postgres-classifier.js';
import { functionSinceMajor, serverMajor } from './server-versions.js';

let classifier: PostgresClassifier;
beforeAll(async () => {
  classifier = await createPostgresClassifier();
});

const since = (sql: string) => classifier.classify(sql).statements[0]!.sinceMajor;

describe('the release a statement needs to be read as PostgreSQL 18 reads it (class 115)', () => {
  it('SQL/JSON constructors are 16, SQL/JSON query functions and merge_action() 17', () => {
    expect(since('SELECT json_array(1, 2)')).toBe(16);
    expect(since("SELECT json_object('a': 1)")).toBe(16);
    expect(since('SELECT json_arrayagg(id) FROM t')).toBe(16);
    expect(since('SELECT json_objectagg(k: v) FROM t')).toBe(16);
    expect(since('SELECT x IS JSON FROM t')).toBe(16);
    expect(since("SELECT json_value(j, '$.a') FROM t")).toBe(17);
    expect(since("SELECT json_query(j, '$.a') FROM t")).toBe(17);
    expect(since("SELECT json_exists(j, '$.a') FROM t")).toBe(17);
    expect(since("SELECT json('{}')")).toBe(17);
    expect(since('SELECT json_scalar(1)')).toBe(17);
    expect(since('SELECT json_serialize(j) FROM t')).toBe(17);
    expect(since("SELECT * FROM json_table('[]', '$[*]' COLUMNS (a int PATH '$'))")).toBe(17);
    expect(
      since('MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE RETURNING merge_action()'),
    ).toBe(17);
  });

  it('built-ins PostgreSQL 15 lacks, SYSTEM_USER among them, and RETURNING old/new are 18', () => {
    expect(since('SELECT system_user')).toBe(18);
    expect(since('SELECT uuidv7()')).toBe(18);
    expect(since('SELECT pg_catalog.any_value(x) FROM t')).toBe(18);
    expect(since('UPDATE t SET a = 1 RETURNING old.a')).toBe(18);
    expect(since('DELETE FROM t RETURNING NEW.a')).toBe(18);
    expect(since('UPDATE t SET a = 1 RETURNING WITH (OLD AS o) o.a')).toBe(18);
    expect(since('WITH c AS (SELECT json_array(1)) SELECT * FROM c')).toBe(16);
    expect(since("PREPARE p AS SELECT json_value('1', '$')")).toBe(17);
  });

  it('what every release reads alike needs none', () => {
    for (const sql of [
      'SELECT 1',
      'SELECT json_build_array(1, 2), to_json(now()), current_user, session_user',
      'SELECT json_object_agg(k, v) FROM t',
      'UPDATE t SET a = 1 RETURNING t.a, a',
      'SELECT myschema.uuidv7()',
      "SELECT extract(year FROM now()), substring('abc' FROM 2), trim(' x ')",
    ])
      expect(since(sql), sql).toBeUndefined();
  });

  it('reads the major from server_version', () => {
    expect(serverMajor('15.20 (Debian 15.20-0+deb12u1)')).toBe(15);
    expect(serverMajor('18.4')).toBe(18);
    expect(serverMajor('9.6.24')).toBe(9);
    expect(serverMajor('17devel')).toBe(17);
    expect(serverMajor(undefined)).toBe(0);
    expect(serverMajor('x')).toBe(0);
    expect(functionSinceMajor(['public', 'uuidv7'])).toBe(0);
    expect(functionSinceMajor(['UUIDV7'])).toBe(18);
  });
});
