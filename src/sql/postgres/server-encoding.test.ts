import { describe, expect, it } from 'vitest';
import { sharedParserRuntime } from './postgres-classifier.js';
import { identifierReadOtherwise, readsIdentifiersAsParser } from './server-encoding.js';

async function check(text: string, encoding: string | undefined): Promise<string | undefined> {
  const runtime = await sharedParserRuntime();
  const bytes = Buffer.from(text, 'utf8');
  const scan = runtime.scan(bytes);
  if (!scan.ok) throw new Error(scan.message);
  return identifierReadOtherwise(bytes, scan.tokens, encoding);
}

describe('identifiers a database encoding other than UTF-8 may read otherwise (class 180)', () => {
  it('a UTF-8 database reads them as the parser does', async () => {
    expect(readsIdentifiersAsParser('UTF8')).toBe(true);
    expect(readsIdentifiersAsParser('LATIN1')).toBe(false);
    expect(readsIdentifiersAsParser(undefined)).toBe(false);
    expect(await check(`PREPARE "${'é'.repeat(40)}" AS SELECT 1`, 'UTF8')).toBeUndefined();
  });

  it('a name that may be cut at another character is refused', async () => {
    const long = `"${'é'.repeat(32)}"`;
    expect(await check(`EXECUTE ${long}`, 'LATIN1')).toMatch(/longer than 63 bytes/);
    expect(await check(`EXECUTE ${long}`, 'SQL_ASCII')).toMatch(/longer than 63 bytes/);
    // 16 characters of up to 4 bytes in EUC_TW: 64 bytes upstream, 48 in UTF-8.
    expect(await check(`SELECT 1 AS "${'中'.repeat(16)}"`, 'EUC_TW')).toMatch(/longer than 63 bytes/);
    expect(await check(`SELECT 1 AS "${'中'.repeat(15)}"`, 'EUC_TW')).toBeUndefined();
    expect(await check(`SELECT 1 AS "${'é'.repeat(31)}"`, 'LATIN1')).toBeUndefined();
    expect(await check(`SELECT 1 AS "${'é'.repeat(31)}"`, 'SQL_ASCII')).toBeUndefined();
    expect(await check(`SELECT 1 AS U&"${'\\00e9'.repeat(32)}"`, 'LATIN1')).toMatch(/longer than 63/);
    expect(await check(`SELECT 1 AS u&"${'\\00e9'.repeat(32)}"`, 'WIN1252')).toMatch(/longer than 63/);
  });

  it('an unquoted capital a single-byte locale may fold is refused; strings and comments are not names', async () => {
    expect(await check('SELECT 1 AS Äpfel', 'LATIN1')).toMatch(/fold to lower case/);
    expect(await check('SELECT 1 AS größe', 'LATIN1')).toBeUndefined();
    expect(await check('SELECT 1 AS größe', 'SQL_ASCII')).toMatch(/fold to lower case/);
    expect(await check('SELECT 1 AS größe', 'SOME_NEW_ENCODING')).toMatch(/fold to lower case/);
    expect(await check('SELECT 1 AS Äpfel', 'EUC_JP')).toBeUndefined();
    expect(await check(`SELECT '${'é'.repeat(80)}' /* ${'É'.repeat(80)} */ -- Ä`, 'LATIN1')).toBeUndefined();
  });
});
