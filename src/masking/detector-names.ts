// Names of the built-in detectors, the form every detector name takes, and where each is documented.
// Data only: shared by the detector set, the config schema and the docs.

export const BUILTIN_DETECTORS = [
  'credit_card',
  'email',
  'phone',
  'ssn',
  'iban',
  'aws_access_key_id',
  'aws_secret_access_key',
  'gcp_api_key',
  'azure_key',
  'azure_sas_signature',
  'github_token',
  'gitlab_token',
  'slack_token',
  'slack_webhook',
  'stripe_key',
  'openai_key',
  'anthropic_key',
  'jwt',
  'private_key',
  'password_hash',
  'url_password',
] as const;

export type BuiltinDetectorName = (typeof BUILTIN_DETECTORS)[number];

/**
 * A detector name: lowercase letters, digits and `_`, starting with a letter. It appears in
 * `[REDACTED:<name>]` and in recorded counts, so it must be safe to show and to use as a key.
 */
export const DETECTOR_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** Prefix of the name given to a base64/hex run that decodes to something a detector flags. */
export const ENCODED_PREFIX = 'encoded:';

export function isBuiltinDetector(name: string): name is BuiltinDetectorName {
  return (BUILTIN_DETECTORS as readonly string[]).includes(name);
}
