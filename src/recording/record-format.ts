// The recording format (docs/recording.md): event objects, their SHA-256 chain, seal messages and the
// JSON Lines an export is made of. Pure and dependency-free so a verifier needs nothing else.
// It must not change meaning between versions: bump RECORD_FORMAT_VERSION instead.

import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

export const RECORD_FORMAT_VERSION = 1;

/** `prev` of a session's first event: SHA-256 of the empty string. */
export const GENESIS_PREV = sha256Hex('');

/** One chained event, exactly as hashed (docs/recording.md §Events). */
export interface ChainedEvent {
  readonly v: number;
  readonly session: string;
  /** 1-based position in the session's chain. */
  readonly seq: number;
  readonly type: string;
  /** ISO-8601 UTC with milliseconds. */
  readonly at: string;
  readonly statement?: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** Lower-case hex SHA-256 of the previous event's canonical JSON (GENESIS_PREV for seq 1). */
  readonly prev: string;
}

// crypto.hash hashes in one call, without a Hash object: about half the time of createHash() on an
// event's canonical JSON, and the chain hashes two events per statement (Node ≥ 20.12; package.json
// asks for ≥ 20.19). Strings are hashed as UTF-8.
export function sha256Hex(text: string | Uint8Array): string {
  return hash('sha256', text, 'hex');
}

/** The hash the next event carries as `prev`: SHA-256 over the UTF-8 canonical JSON of this event. */
export function eventHash(event: ChainedEvent): string {
  return sha256Hex(canonicalJson(event));
}

/** What a seal signs: every field of its line except the signature (docs/recording.md §Seals). */
export interface SealFields {
  readonly session: string;
  readonly seq: number;
  readonly hash: string;
  readonly alg: 'Ed25519';
  readonly key: string;
  readonly at: string;
}

/**
 * The bytes an Ed25519 seal signs: a domain-separation prefix and the canonical JSON of the seal's
 * fields. `hash` is the hash of event `seq`, which holds the session id and commits to every earlier
 * event, so the signature covers the whole chain up to it.
 */
export function sealMessage(fields: SealFields): Buffer {
  const { session, seq, hash, alg, key, at } = fields;
  return Buffer.from(
    `gatehouse-recording-seal-v1\n${canonicalJson({ alg, at, hash, key, seq, session })}`,
    'utf8',
  );
}

/** A signature over the hash of event `seq` (at session end, and again after later events). */
export interface SealLine {
  readonly record: 'seal';
  readonly session: string;
  readonly seq: number;
  readonly hash: string;
  readonly alg: 'Ed25519';
  /** Fingerprint of the signing key: `sha256:` + hex SHA-256 of its SubjectPublicKeyInfo DER. */
  readonly key: string;
  /** base64url Ed25519 signature over sealMessage(this line's other fields). */
  readonly signature: string;
  readonly at: string;
}

export interface HeaderLine {
  readonly record: 'header';
  readonly format: 'gatehouse-recording';
  readonly version: number;
  readonly session: string;
  readonly exportedAt: string;
  /** The gateway's record-signing public key, as base64 SPKI DER, and its fingerprint. */
  readonly publicKey?: { readonly alg: 'Ed25519'; readonly spki: string; readonly fingerprint: string };
}

export interface EventLine {
  readonly record: 'event';
  readonly event: ChainedEvent;
  /** eventHash(event), for locating a change; the verifier recomputes it. */
  readonly hash: string;
}

/** A payload kept outside the chain (a large result sample), covered by the SHA-256 its event holds. */
export interface BlobLine {
  readonly record: 'blob';
  readonly key: string;
  readonly sha256: string;
  /** The blob's JSON value; sha256 is over its canonical JSON. */
  readonly content: unknown;
}

export type RecordingLine = HeaderLine | EventLine | SealLine | BlobLine;

/** `sha256:<hex>` fingerprint of a public key's SubjectPublicKeyInfo DER. */
export function keyFingerprint(spkiDer: Uint8Array): string {
  return `sha256:${sha256Hex(spkiDer)}`;
}
