// Password hashes in modular crypt and PHC string formats: bcrypt, argon2, scrypt ($scrypt$, $7$),
// yescrypt, sha-crypt, Django pbkdf2, PostgreSQL SCRAM-SHA-256 verifiers and PostgreSQL's older md5
// verifiers. Offline cracking makes them as sensitive as the password.

import type { Finding } from './finding.js';

const B64 = '[./A-Za-z0-9]';
const PASSWORD_HASH = new RegExp(
  [
    `\\$2[abxy]?\\$\\d{2}\\$${B64}{53}`, // bcrypt
    '\\$argon2(?:id|i|d)\\$(?:v=\\d+\\$)?m=\\d+,t=\\d+,p=\\d+\\$[A-Za-z0-9+/]+(?:\\$[A-Za-z0-9+/]+)?', // PHC argon2
    '\\$scrypt\\$[^\\s$]*\\$[A-Za-z0-9+/.=]+\\$[A-Za-z0-9+/.=]+', // PHC/passlib scrypt
    `\\$7\\$${B64}{11,}\\$${B64}{43}`, // scrypt crypt(3)
    `\\$y\\$${B64}+\\$${B64}+\\$${B64}{43}`, // yescrypt
    `\\$[56]\\$(?:rounds=\\d+\\$)?${B64}{1,16}\\$${B64}{43,86}`, // sha256-crypt, sha512-crypt
    'pbkdf2_sha(?:1|256|512)\\$\\d+\\$[^\\s$]+\\$[A-Za-z0-9+/=]{20,}', // Django
    // PostgreSQL's SCRAM verifier (pg_authid.rolpassword, RFC 5803): iterations:salt$StoredKey:ServerKey
    'SCRAM-SHA-256\\$\\d+:[A-Za-z0-9+/]+={0,2}\\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=',
  ].join('|'),
  'g',
);

export function scanPasswordHashes(text: string, out: Finding[]): void {
  const re = PASSWORD_HASH;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push({ detector: 'password_hash', start: m.index, end: m.index + m[0].length, text: m[0] });
  }
}

/**
 * PostgreSQL's md5 verifier (`md5` and the 32 lowercase hex digits of md5(password || role name)),
 * the default before version 14 and still accepted: unsalted by anything but the role's name, so a
 * dictionary finds the password. Whole word only (no `$` to gate on: the 35-character run does).
 */
const MD5_VERIFIER = /(?<![A-Za-z0-9_+/=])md5[0-9a-f]{32}(?![A-Za-z0-9_+/=])/g;

export function scanMd5Verifiers(text: string, out: Finding[]): void {
  const re = MD5_VERIFIER;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push({ detector: 'password_hash', start: m.index, end: m.index + m[0].length, text: m[0] });
  }
}
