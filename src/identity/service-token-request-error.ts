// The issuer's refusal of a token request, in its own module so the CLI can recognise it without
// loading the issuer (and jose) to start.

/** A request the issuer refuses (bad subject, group, ttl…); the message is meant for the operator. */
export class ServiceTokenRequestError extends Error {
  override readonly name = 'ServiceTokenRequestError';
}
