// Field names whose values are masked whole in JSON and XML responses, and the matcher for them.
// Matching follows src/masking/json-masking.ts: case-insensitive, ignoring `_ - .` and spaces, `*` globs.

import { DEFAULT_SENSITIVE_KEYS } from '../../masking/index.js';

/**
 * AWS response fields that carry secrets, on top of the masking layer's list (which already covers
 * SecretAccessKey, SessionToken, Password, PrivateKey through their snake_case spellings).
 */
export const AWS_SENSITIVE_FIELDS = [
  'SecretAccessKey',
  'SessionToken',
  'Password',
  'PrivateKey',
  'SecretString',
  'SecretBinary',
  'Plaintext',
  'PasswordData',
  'KeyMaterial',
  'AuthorizationToken',
  // sts:GetWebIdentityToken: a JWT that asserts the gateway's AWS identity to other services.
  'WebIdentityToken',
  // Key material under names of its own (class 371): a virtual MFA device's TOTP seed (iam:
  // CreateVirtualMFADevice), as text and as the QR code that draws it; a Cognito user's software
  // token seed (cognito-idp:AssociateSoftwareToken); a KMS data key pair's private key
  // (kms:GenerateDataKeyPair).
  'Base32StringSeed',
  'QRCodePNG',
  'SecretCode',
  'PrivateKeyPlaintext',
] as const;

export const DEFAULT_RESPONSE_FIELDS: readonly string[] = [
  ...DEFAULT_SENSITIVE_KEYS,
  ...AWS_SENSITIVE_FIELDS,
];

function normalize(k: string): string {
  return k.toLowerCase().replace(/[-_. ]/g, '');
}

/** The tag a field masks under (`SecretAccessKey` → `secretaccesskey`). */
export function fieldTag(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '')
      .replace(/^_+|_+$/g, '') || 'field'
  );
}

export type FieldMatcher = (name: string) => string | undefined;

export function fieldMatcher(names: readonly string[]): FieldMatcher {
  const exact = new Map<string, string>();
  const globs: { re: RegExp; tag: string }[] = [];
  for (const name of names) {
    const tag = fieldTag(name);
    if (name.includes('*')) {
      const body = normalize(name)
        .split('*')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      globs.push({ re: new RegExp(`^${body}$`), tag });
    } else exact.set(normalize(name), tag);
  }
  return (name) => {
    const k = normalize(name);
    const hit = exact.get(k);
    if (hit !== undefined) return hit;
    for (const g of globs) if (g.re.test(k)) return g.tag;
    return undefined;
  };
}
