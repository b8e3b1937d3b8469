// Realistic values that are NOT sensitive and must pass every built-in detector unmasked: ids, dates,
// versions, prices, addresses, hashes, pgbench rows, URLs, logs. Test data for benign-corpus.test.ts.

import { createHash } from 'node:crypto';

const handWritten: readonly string[] = [
  // names, words, short cells
  'alice',
  'Bob',
  'Zoë Müller',
  'São Paulo',
  '東京都',
  'Ωmega',
  '',
  ' ',
  'NULL',
  'true',
  'f',
  'N/A',
  'Administratively prohibited',
  'internationalization',
  'pgbench_accounts_pkey',
  'authentication_failed',
  'SELECT * FROM users WHERE id = $1',
  'select aid, abalance from pgbench_accounts where aid = 42;',
  'UPDATE pgbench_accounts SET abalance = abalance + -4212 WHERE aid = 73621;',
  'sk-the-quick-brown-fox-jumps-over',
  'ghp_short',
  'AKIA',
  'xoxb-',
  'eyJ',
  '$5.00',
  '$2',
  'US$1,234.56',
  'sk-learn-classifier-pipeline-v2',
  'gh-pages-deploy-workflow-run',
  'Attention: Accounts Payable Dept',
  // order numbers and references
  'ORD-2024-000123',
  'INV-2024-05-000987',
  'PO#4500012345',
  'TKT-88213',
  'case 00123456',
  'REF/2024/000042',
  'SO-1000234567',
  'ORDER 20240501-0001',
  'invoice 2024-000123-01',
  'CUST-000000123',
  'B2B-2024-0001-XY',
  // dates and times
  '2024-05-01',
  '2024-05-01 12:34:56.789+00',
  '2024-05-01T12:34:56Z',
  '2024-05-01T12:34:56.123456+02:00',
  '01/05/2024',
  '05/01/2024 09:15',
  '1 May 2024',
  'Wed, 01 May 2024 12:34:56 GMT',
  '12:34:56',
  '23:59:59.999999',
  '2024-12-31 23:59:59.999999+05:30',
  '1999-12-31',
  '20240501',
  '20240501123456',
  '2024-W18',
  'P1DT2H',
  '1 day 02:03:04',
  '00:00:00',
  '2038-01-19 03:14:07+00',
  '1970-01-01 00:00:00+00',
  // epoch values
  '1714567890',
  '1714567890123',
  '1714567890123456',
  '-1714567890123',
  '1714567890.123',
  // versions
  '1.2.3',
  'v18.4.0-beta.17',
  '4.1.1',
  '20.19.2',
  '0.28.18',
  '2.0.0-rc.1+build.5',
  'PostgreSQL 18.0 on x86_64-pc-linux-gnu',
  '10.0.19045.4291',
  'node v20.20.2',
  'Chrome/124.0.6367.119',
  '1.2.3.4567',
  'python3.12.3',
  '3.14159265358979',
  // prices, quantities, measurements
  '1234.56',
  '-4212',
  '0.00',
  '99.99',
  '1,234,567.89',
  '1.234.567,89',
  '€ 12.345,67',
  '42',
  '0',
  '-0.000001',
  '3.141592653589793',
  '0.41111111111111111',
  '0.5105105105105100',
  '2.718281828459045',
  '6.02214076e23',
  '1e-9',
  '123456789012.34',
  '98.6°F',
  '1500 kg',
  '12.5%',
  // integers: large, not Luhn or not an issuer range
  '123456789',
  '1234567890',
  '4111111111111112',
  '5555555555554445',
  '9007199254740993',
  '18446744073709551615',
  '9223372036854775807',
  '7992739871300006',
  '1000000000000000',
  '3000000000000000001',
  '12345678901234567890',
  '8000000000000006',
  '0000000000000000',
  '1111111111111117',
  '7777777777777777777',
  // EAN / ISBN / other check-digit codes
  '4006381333931',
  '9783161484100',
  '978-3-16-148410-0',
  'ISBN 0-306-40615-2',
  '5901234123457',
  '4 006381 333931',
  '036000291452',
  '00012345600012',
  'ISSN 0317-8471',
  // UUIDs and ids
  '550e8400-e29b-41d4-a716-446655440000',
  '123e4567-e89b-12d3-a456-426614174000',
  '00000000-0000-0000-0000-000000000000',
  'f47ac10b-58cc-4372-a567-0e02b2c3d479',
  '01890a5d-ac96-774b-bcce-b302099a8057',
  '01HX8Z2Q9V3K7N6M5P4R3S2T1W',
  'c9f0f895fb98ab9159f51fd0297e236d',
  'cus_NffrFeUfNV2Hib',
  'pi_3MtwBwLkdIwHu7ix28a3tqPa',
  'ch_1Mzj2Y2eZvKYlo2C',
  'user_2NNEqL2nrIRdJ194ndJqAHwEfxC',
  'objectid 507f1f77bcf86cd799439011',
  'ksuid 0ujtsYcgvSTl8PAuAdqWYSMnLOv',
  // hashes and digests
  'da39a3ee5e6b4b0d3255bfef95601890afd80709',
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'd41d8cd98f00b204e9800998ecf8427e',
  'commit 9fceb02d0ae598e95dc970b74767f19372d61af8',
  'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709',
  // network
  '192.168.1.10',
  '10.0.0.1',
  '255.255.255.255',
  '127.0.0.1:5432',
  '::1',
  'fe80::1ff:fe23:4567:890a',
  '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
  '2001:db8::8a2e:370:7334',
  '10.100.200.300',
  '00:1A:2B:3C:4D:5E',
  '172.16.254.1/24',
  'host=db.internal port=5432 dbname=app',
  'postgres@localhost',
  'root@db-primary',
  // URLs and paths
  'https://example.com/',
  'https://www.example.com/some/long/path/to/resource?page=2&sort=desc',
  'https://api.github.com/repos/octocat/hello-world/pulls/1347',
  '/usr/local/lib/node_modules/typescript/lib/tsc.js',
  'C:\\Program Files\\PostgreSQL\\18\\bin\\psql.exe',
  's3://my-bucket/2024/05/01/export-000123.csv.gz',
  'https://cdn.example.com/img/icon@2x.png',
  'git@github.com:octocat/hello-world',
  'mailto:',
  '@types/node',
  'lodash@4.17.21',
  'https://example.com/api/v1/users/550e8400-e29b-41d4-a716-446655440000/orders',
  'https://maps.example.com/?q=37.7749,-122.4194&z=12',
  'file:///var/lib/postgresql/18/main/base/16384/2619',
  // phone-ish but not phones
  '123-456-7890',
  '555-0123',
  '1-800-FLOWERS',
  '415 555',
  '(415)',
  '+1',
  '+00',
  '+05:30',
  '911',
  'ext. 1234',
  'x 2024 05 01',
  '12 345 678',
  '0800 123 4567 890 12',
  // SSN-ish but invalid or not SSNs
  '000-12-3456',
  '666-12-3456',
  '900-12-3456',
  '123-00-4567',
  '123-45-0000',
  '123456789',
  'ZIP 94103-1234',
  // IBAN-ish but not IBANs
  'DE89 3704 0044 0532 0130 01',
  'GB82WEST12345698765433',
  'XX12 3456 7890 1234 5678 90',
  'AB12',
  'US12345678',
  'ISO 8601',
  'UTF8 encoded',
  'AES256 GCM',
  'SHA256 digest',
  'HTTP2 stream',
  'RFC7519',
  // email-ish but not emails
  'user@host',
  '@mention',
  'a@b',
  'name at example dot com',
  'price @ 5.00',
  'foo@2x.png',
  'x@y.z',
  // base64 that decodes to nothing sensitive, and binary
  'aGVsbG8gd29ybGQsIHRoaXMgaXMgYSB0ZXN0IHN0cmluZw==',
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==',
  'U29tZSBwbGFpbiB0ZXh0IHdpdGggbm8gc2VjcmV0cyBhdCBhbGw=',
  '\\x48656c6c6f20576f726c6421205468697320697320666e65',
  '\\xdeadbeefcafebabe0123456789abcdef0011223344556677',
  '0x3f9a0b1c2d3e4f5061728394a5b6c7d8e9f00112',
  // JSON and logs
  '{"id":42,"name":"alice","created_at":"2024-05-01T12:34:56Z","tags":["a","b"]}',
  '{"version":"1.2.3","count":1234567890,"ratio":0.4111111111111111}',
  '[{"aid":1,"bid":1,"abalance":0}]',
  '{"max_tokens":4096,"temperature":0.2,"model":"claude-sonnet"}',
  '2024-05-01 12:34:56.789 UTC [12345] LOG:  checkpoint complete: wrote 1234 buffers (7.5%)',
  'ERROR:  duplicate key value violates unique constraint "users_pkey"',
  'DETAIL:  Key (id)=(123456789) already exists.',
  'connection received: host=10.0.0.5 port=51234',
  'GET /api/v1/orders/1000234567 HTTP/1.1 200 1234 0.042',
  'pid=12345 tid=67890 elapsed=1234567us',
  // misc
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.',
  'The quick brown fox jumps over the lazy dog 1234567890 times.',
  'Room 101, Building 7, Floor 3',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  'abcdefghijklmnopqrstuvwxyz0123456789',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'Lat 37.774929 Lon -122.419416',
  'tracking 1Z999AA10123456784',
  'VIN 1HGCM82633A004352',
  'pk_live_51H8aBcDeFgHiJkLmNoPqRsTuV',
  '-----',
  '----- BEGIN NOTES -----',
  '$$ language plpgsql $$',
];

/** pgbench_accounts (aid, bid, abalance, filler) and pgbench_history rows, as text cells. */
function pgbenchCells(): string[] {
  const cells: string[] = [];
  for (const aid of [1, 42, 73621, 99999, 100000, 4999999]) {
    cells.push(
      String(aid),
      String(Math.ceil(aid / 100000)),
      String(((aid * 37) % 5000) - 2500),
      ' '.repeat(84),
    );
  }
  cells.push('2024-05-01 12:34:56.123456', ' '.repeat(22), '1|1|73621|-4212|2024-05-01 12:34:56.123456|');
  cells.push('1\t1\t0\t' + ' '.repeat(84));
  return cells;
}

/** Deterministic generated values: git SHAs, epoch ms, floats, Luhn-valid numbers outside issuer ranges. */
function generated(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 20; i++) out.push(createHash('sha1').update(`commit ${i}`).digest('hex'));
  for (let i = 0; i < 10; i++) out.push(createHash('sha256').update(`blob ${i}`).digest('hex'));
  for (let i = 0; i < 10; i++) out.push(String(1714567890123 + i * 7919));
  let seed = 12345;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 20; i++) out.push(String(rand()));
  // Luhn-valid 16-digit numbers with a prefix no card network uses (0, 1, 7, 8x except 81/82, 9x except 9792).
  for (const prefix of ['0', '1', '7', '80', '83', '90', '99']) {
    const body = (prefix + '123456789012345').slice(0, 15);
    out.push(body + luhnDigit(body));
  }
  for (let i = 0; i < 10; i++)
    out.push(
      createHash('md5')
        .update(`u${i}`)
        .digest('hex')
        .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'),
    );
  return out;
}

function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = body.charCodeAt(body.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export const BENIGN_CORPUS: readonly string[] = [...handWritten, ...pgbenchCells(), ...generated()];
