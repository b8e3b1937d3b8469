// Console sign-in with SAML 2.0 (Web Browser SSO profile: HTTP-Redirect AuthnRequest, HTTP-POST
// Response), on @node-saml/node-saml ≥ 5.1, which verifies signatures over the signed bytes only
// (no signature wrapping, CVE-2025-54369/54419). On top of it, this module refuses what the library
// leaves to its caller: an unsigned assertion (always required), an unsolicited response (InResponseTo
// must name a request this gateway made), a bearer confirmation whose Recipient is not our ACS URL,
// a Destination elsewhere, another IdP's Issuer, and an assertion ID already used (replay).

import { inflateRawSync } from 'node:zlib';
import { SAML, ValidateInResponseTo, type CacheProvider } from '@node-saml/node-saml';
import type { AssertionReplayCache } from './saml-caches.js';
import { normalisePerson } from '../identity/claim-mapping.js';

export interface SamlLoginConfig {
  /** IdP single sign-on URL (HTTP-Redirect binding). */
  readonly entryPoint: string;
  /** IdP entity ID: the assertion's Issuer must equal it. */
  readonly idpIssuer: string;
  /** PEM certificate(s) of the IdP's signing key. */
  readonly idpCert: string | readonly string[];
  /** Our entity ID (the AuthnRequest's Issuer). */
  readonly spEntityId: string;
  /** The Audience the assertion must be restricted to (default: spEntityId). */
  readonly audience: string;
  /** Our assertion consumer service URL: the Recipient (and Destination) the IdP must name. */
  readonly acsUrl: string;
  readonly groupsAttribute: string;
  /** Attribute holding the subject; default the NameID. */
  readonly subjectAttribute?: string;
  /** Attribute naming the person (an e-mail address); default the NameID when its format is emailAddress. */
  readonly personAttribute?: string;
  readonly clockSkewMs: number;
  readonly maxAssertionAgeMs: number;
  /** Also require the Response element itself to be signed. */
  readonly wantResponseSigned: boolean;
}

export interface SamlPrincipal {
  readonly subject: string;
  readonly groups: readonly string[];
  readonly assertionId: string;
  /**
   * The ID of our AuthnRequest that the signed assertion answers (its bearer confirmation's
   * InResponseTo): the caller checks it was made for this browser.
   */
  readonly requestId: string;
  /** The person behind the sign-in (lower-cased e-mail address), when the assertion names one. */
  readonly person?: string;
  /** SessionNotOnOrAfter of the AuthnStatement, when the IdP bounds the session. */
  readonly sessionNotOnOrAfter?: Date;
}

export class SamlLoginError extends Error {
  override readonly name = 'SamlLoginError';
}

type XmlNode = { $?: Record<string, string>; _?: string } & Record<string, unknown>;

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const EMAIL_NAME_ID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
/** At most this much SAMLResponse (base64) is read: assertions are a few KiB. */
export const MAX_SAML_RESPONSE_CHARS = 256 * 1024;

function nodes(v: unknown): XmlNode[] {
  return Array.isArray(v) ? (v.filter((x) => x && typeof x === 'object') as XmlNode[]) : [];
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as XmlNode)._ === 'string') return (v as XmlNode)._;
  return undefined;
}

function values(v: unknown): string[] {
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map(text).filter((s): s is string => s !== undefined && s !== '');
}

export class SamlLogin {
  readonly #saml: SAML;
  readonly #cfg: SamlLoginConfig;
  readonly #replay: AssertionReplayCache;

  constructor(
    cfg: SamlLoginConfig,
    deps: {
      replay: AssertionReplayCache;
      requests: CacheProvider;
      /** The AuthnRequest IDs to use (default node-saml's random ones). */
      newRequestId?: () => string;
      now?: () => Date;
    },
  ) {
    this.#cfg = cfg;
    this.#replay = deps.replay;
    this.#saml = new SAML({
      entryPoint: cfg.entryPoint,
      issuer: cfg.spEntityId,
      callbackUrl: cfg.acsUrl,
      idpCert: typeof cfg.idpCert === 'string' ? cfg.idpCert : [...cfg.idpCert],
      idpIssuer: cfg.idpIssuer,
      audience: cfg.audience,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: cfg.wantResponseSigned,
      acceptedClockSkewMs: cfg.clockSkewMs,
      maxAssertionAgeMs: cfg.maxAssertionAgeMs,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: 10 * 60_000,
      cacheProvider: deps.requests,
      ...(deps.newRequestId ? { generateUniqueId: deps.newRequestId } : {}),
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256',
    });
  }

  /**
   * The IdP URL carrying a new AuthnRequest (its ID is remembered for the InResponseTo check), and
   * that ID, which the caller binds to the browser that asked (the response must come back to it).
   */
  async loginUrl(relayState: string): Promise<{ url: string; requestId: string }> {
    const url = await this.#saml.getAuthorizeUrlAsync(relayState, undefined, {});
    const request = new URL(url).searchParams.get('SAMLRequest') ?? '';
    const xml = inflateRawSync(Buffer.from(request, 'base64')).toString('utf8');
    const requestId = /<(?:\w+:)?AuthnRequest\b[^>]*\sID="([^"]+)"/.exec(xml)?.[1];
    if (!requestId) throw new SamlLoginError('the AuthnRequest has no ID');
    return { url, requestId };
  }

  metadata(): string {
    return this.#saml.generateServiceProviderMetadata(null, null);
  }

  /** Validates a posted SAMLResponse and returns who signed in, or throws SamlLoginError. */
  async complete(samlResponse: string): Promise<SamlPrincipal> {
    if (samlResponse.length === 0 || samlResponse.length > MAX_SAML_RESPONSE_CHARS)
      throw new SamlLoginError('the SAML response is missing or too large');
    let profile;
    try {
      ({ profile } = await this.#saml.validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (e) {
      throw new SamlLoginError(
        `the SAML response was refused: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (!profile) throw new SamlLoginError('the SAML response carries no assertion');
    const cfg = this.#cfg;
    // Everything below reads the assertion node-saml verified (its signed bytes), not the envelope.
    const parsed = (profile.getAssertion?.() ?? {}) as { Assertion?: XmlNode };
    const assertion = parsed.Assertion;
    if (!assertion) throw new SamlLoginError('the SAML response carries no signed assertion');
    if (profile.issuer !== cfg.idpIssuer)
      throw new SamlLoginError('the assertion was issued by another identity provider');
    const id = assertion.$?.ID;
    if (!id || id.length > 256) throw new SamlLoginError('the assertion has no ID');

    // Bearer confirmation addressed to us (SAML 2.0 profiles §4.1.4.2): Recipient = our ACS URL.
    const now = Date.now();
    const skew = cfg.clockSkewMs;
    // Its InResponseTo, inside the signature, names the request it answers (the Response's own
    // InResponseTo is outside it when only the assertion is signed).
    let confirmedUntil: number | undefined;
    const answers = new Set<string>();
    for (const subject of nodes(assertion.Subject)) {
      for (const sc of nodes(subject.SubjectConfirmation)) {
        if (sc.$?.Method !== BEARER) continue;
        for (const data of nodes(sc.SubjectConfirmationData)) {
          const a = data.$ ?? {};
          if (a.Recipient !== cfg.acsUrl) continue;
          const until = a.NotOnOrAfter ? Date.parse(a.NotOnOrAfter) : NaN;
          if (!Number.isFinite(until) || now - skew >= until) continue;
          if (a.NotBefore && now + skew < Date.parse(a.NotBefore)) continue;
          confirmedUntil = Math.max(confirmedUntil ?? 0, until);
          answers.add(a.InResponseTo ?? '');
        }
      }
    }
    if (confirmedUntil === undefined)
      throw new SamlLoginError('the assertion is not confirmed for this service (Recipient or time)');
    const requestId = answers.size === 1 ? [...answers][0]! : '';
    if (!requestId || requestId.length > 256)
      throw new SamlLoginError('the signed assertion does not name the request it answers (InResponseTo)');

    const responseXml = profile.getSamlResponseXml?.() ?? '';
    const destination = /<(?:\w+:)?Response\b[^>]*\sDestination="([^"]*)"/.exec(responseXml)?.[1];
    if (destination !== undefined && destination !== cfg.acsUrl)
      throw new SamlLoginError('the SAML response was sent to another service (Destination)');

    // Conditions/NotOnOrAfter and the confirmation bound how long the assertion could be replayed.
    const conditions = nodes(assertion.Conditions)[0]?.$ ?? {};
    const condUntil = conditions.NotOnOrAfter ? Date.parse(conditions.NotOnOrAfter) : confirmedUntil;
    const keepUntil = Math.max(confirmedUntil, Number.isFinite(condUntil) ? condUntil : 0) + skew;
    if (!this.#replay.remember(`${cfg.idpIssuer}\u0000${id}`, new Date(keepUntil)))
      throw new SamlLoginError('this assertion was already used (replay)');

    const attrs = (profile.attributes ?? {}) as Record<string, unknown>;
    const subject = cfg.subjectAttribute ? values(attrs[cfg.subjectAttribute])[0] : profile.nameID;
    if (!subject || subject.length > 200 || /[\s\p{Cc}]/u.test(subject))
      throw new SamlLoginError('the assertion names no usable subject');
    const groups = values(attrs[cfg.groupsAttribute]).filter((g) => g.length <= 200 && !/\p{Cc}/u.test(g));
    let sessionNotOnOrAfter: Date | undefined;
    for (const st of nodes(assertion.AuthnStatement)) {
      const t = st.$?.SessionNotOnOrAfter ? Date.parse(st.$.SessionNotOnOrAfter) : NaN;
      if (Number.isFinite(t)) sessionNotOnOrAfter = new Date(t);
    }
    const person = normalisePerson(
      cfg.personAttribute
        ? values(attrs[cfg.personAttribute])[0]
        : profile.nameIDFormat === EMAIL_NAME_ID
          ? profile.nameID
          : undefined,
    );
    return {
      subject,
      groups: [...new Set(groups)].slice(0, 200),
      ...(person !== undefined ? { person } : {}),
      assertionId: id,
      requestId,
      ...(sessionNotOnOrAfter ? { sessionNotOnOrAfter } : {}),
    };
  }
}
