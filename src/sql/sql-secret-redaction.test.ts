import { describe, expect, test } from 'vitest';
import { redactSqlSecrets, REDACTED } from './sql-secret-redaction.js';

const R = `'${REDACTED}'`;

describe('redactSqlSecrets', () => {
  test.each([
    ["CREATE ROLE app LOGIN PASSWORD 'hunter2'", `CREATE ROLE app LOGIN PASSWORD ${R}`],
    [
      "create user bob with encrypted password 'it''s secret' valid until 'infinity'",
      `create user bob with encrypted password ${R} valid until 'infinity'`,
    ],
    ["ALTER USER bob PASSWORD E'se\\'cret'", `ALTER USER bob PASSWORD ${R}`],
    ['ALTER ROLE bob PASSWORD $pw$dollar secret$pw$', `ALTER ROLE bob PASSWORD ${R}`],
    ["ALTER ROLE bob /* c */ PASSWORD\n  'x'", `ALTER ROLE bob /* c */ PASSWORD\n  ${R}`],
    [
      "CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'remote', password 'pw1')",
      `CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'remote', password ${R})`,
    ],
    [
      "ALTER USER MAPPING FOR bob SERVER s OPTIONS (SET password 'pw2')",
      `ALTER USER MAPPING FOR bob SERVER s OPTIONS (SET password ${R})`,
    ],
    [
      "CREATE SUBSCRIPTION sub CONNECTION 'host=db dbname=x password=topsecret user=r' PUBLICATION p",
      `CREATE SUBSCRIPTION sub CONNECTION 'host=db dbname=x password=${REDACTED} user=r' PUBLICATION p`,
    ],
    [
      "SELECT dblink_connect('postgresql://app:s3cr3t@db/x')",
      `SELECT dblink_connect('postgresql://app:${REDACTED}@db/x')`,
    ],
    [
      "SELECT dblink_connect('host=db password=''quoted pw'' user=r')",
      `SELECT dblink_connect('host=db password=${REDACTED}')`,
    ],
    // Forms PostgreSQL reads as the same password (docs/security.md class 46).
    ["ALTER ROLE bob PASSWORD U&'s\\0065cret'", `ALTER ROLE bob PASSWORD '${REDACTED}'`],
    ["ALTER ROLE bob PASSWORD 'sec'\n'ret'", `ALTER ROLE bob PASSWORD '${REDACTED}'\n'${REDACTED}'`],
    [
      "CREATE USER MAPPING FOR bob SERVER s OPTIONS (sslpassword 'k')",
      `CREATE USER MAPPING FOR bob SERVER s OPTIONS (sslpassword '${REDACTED}')`,
    ],
    [
      "CREATE USER MAPPING FOR bob SERVER s OPTIONS (U&\"p!0061ssword\" UESCAPE '!' 'k')",
      `CREATE USER MAPPING FOR bob SERVER s OPTIONS (U&"p!0061ssword" UESCAPE '!' '${REDACTED}')`,
    ],
    ["ALTER ROLE bob PASSWORD U&'s!0065cret' UESCAPE '!'", `ALTER ROLE bob PASSWORD '${REDACTED}'`],
    ["SELECT dblink_connect(U&'host=db p\\0061ssword=pw')", `SELECT dblink_connect('${REDACTED}')`],
  ])('%s', (input, expected) => {
    const r = redactSqlSecrets(input);
    expect(r.text).toBe(expected);
    expect(r.changed).toBe(true);
  });

  test('leaves data comparisons, identifiers and unrelated text alone', () => {
    for (const sql of [
      "SELECT * FROM users WHERE password = 'abc'",
      'UPDATE users SET password_hash = $1',
      'SELECT 1',
      "SELECT '-- password ''x''' AS s",
      "-- PASSWORD 'x'\nSELECT 1",
    ]) {
      expect(redactSqlSecrets(sql)).toEqual({ text: sql, params: [], changed: false });
    }
  });

  test('names bind parameters that carry a password', () => {
    expect(redactSqlSecrets('ALTER ROLE bob PASSWORD $2')).toEqual({
      text: 'ALTER ROLE bob PASSWORD $2',
      params: [1],
      changed: true,
    });
  });
});
