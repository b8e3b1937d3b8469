// SCRAM-SHA-256 client side (RFC 5802, RFC 7677) as PostgreSQL uses it (section 53.3.1): no channel
// binding ("n,,"), empty username in the client-first message. Pure: messages in, messages out.

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function attrs(msg: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) m.set(part[0]!, part.slice(2));
  }
  return m;
}

/** SASLprep is approximated by NFKC normalisation (sufficient for ASCII and common passwords). */
function saslPrep(password: string): string {
  return password.normalize('NFKC');
}

export class ScramSha256Client {
  private readonly clientNonce = randomBytes(18).toString('base64');
  private readonly clientFirstBare = `n=*,r=${this.clientNonce}`;
  private expectedServerSignature: Buffer | undefined;

  constructor(private readonly password: string) {}

  readonly mechanism = 'SCRAM-SHA-256';

  clientFirst(): Buffer {
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  /** Given server-first-message, returns client-final-message. */
  clientFinal(serverFirst: Buffer): Buffer {
    const sf = serverFirst.toString('utf8');
    const a = attrs(sf);
    const nonce = a.get('r');
    const salt = a.get('s');
    const iterations = Number(a.get('i'));
    if (!nonce || !salt || !Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) {
      throw new Error('invalid SCRAM server-first-message');
    }
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      throw new Error('SCRAM server nonce does not extend the client nonce');
    }
    const salted = pbkdf2Sync(saslPrep(this.password), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${sf},${withoutProof}`;
    const proof = xor(clientKey, hmac(storedKey, authMessage));
    this.expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Verifies server-final-message; throws when the server cannot prove it knows the password. */
  verifyServerFinal(serverFinal: Buffer): void {
    const v = attrs(serverFinal.toString('utf8')).get('v');
    const expected = this.expectedServerSignature;
    if (!v || !expected) throw new Error('invalid SCRAM server-final-message');
    const got = Buffer.from(v, 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new Error('SCRAM server signature mismatch');
    }
  }
}

/** PostgreSQL MD5 password response: "md5" + md5(md5(password + user) + salt). */
export function md5PasswordResponse(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5')
    .update(password + user)
    .digest('hex');
  return `md5${createHash('md5')
    .update(Buffer.concat([Buffer.from(inner), salt]))
    .digest('hex')}`;
}
