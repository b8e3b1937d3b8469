// The list of upstream addresses an agent may dial, signed by the gateway. The gateway builds it
// from the connections whose `via` names the agent; the agent refuses any dial to an address not on
// the latest list it verified. The signature covers the exact payload bytes (no re-serialisation),
// the agent's id (a list for one agent is useless to another) and an issue time (no rollback).

import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import net from 'node:net';
import { z } from 'zod';
import type { DialTarget } from '../core/ports.js';

export interface TargetList {
  readonly agentId: string;
  readonly agent: string;
  /** Epoch ms; an agent never accepts a list older than the one it has. */
  readonly issuedAt: number;
  /** `host:port` keys (see targetKey), sorted. */
  readonly targets: readonly string[];
}

export interface SignedTargetList {
  /** base64url of the UTF-8 JSON of a TargetList: the bytes that were signed. */
  readonly payload: string;
  /** Ed25519 signature over those bytes, base64url. */
  readonly signature: string;
}

const MAX_TARGETS = 4096;

const targetListSchema = z.strictObject({
  agentId: z.string().min(1).max(128),
  agent: z.string().min(1).max(128),
  issuedAt: z.number().int().nonnegative(),
  targets: z.array(z.string().min(3).max(300)).max(MAX_TARGETS),
});

const signedSchema = z.strictObject({
  payload: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/)
    .max(2 * 1024 * 1024),
  signature: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .max(256),
});

/**
 * The canonical key of a target: lower-case host (IPv6 in brackets, IPv4-mapped kept as written)
 * and decimal port. Both sides compare keys, never raw strings.
 */
export function targetKey(t: DialTarget): string {
  const host = t.host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  return net.isIPv6(host) ? `[${host}]:${t.port}` : `${host}:${t.port}`;
}

/** Parses an HTTP/2 CONNECT :authority (RFC 9113 §8.5: host:port, IPv6 in brackets). */
export function parseAuthority(authority: string): DialTarget | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(authority);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function signTargetList(list: TargetList, key: KeyObject): SignedTargetList {
  const bytes = Buffer.from(JSON.stringify({ ...list, targets: [...list.targets].sort() }), 'utf8');
  return { payload: bytes.toString('base64url'), signature: sign(null, bytes, key).toString('base64url') };
}

export class TargetListError extends Error {
  override readonly name = 'TargetListError';
}

/** Verifies a signed list for this agent; throws TargetListError when anything is off. */
export function verifyTargetList(
  signed: unknown,
  signingKey: KeyObject | string,
  expectAgentId: string,
): TargetList {
  const s = signedSchema.safeParse(signed);
  if (!s.success) throw new TargetListError('malformed target list');
  const key =
    typeof signingKey === 'string'
      ? createPublicKey({ key: Buffer.from(signingKey, 'base64url'), format: 'der', type: 'spki' })
      : signingKey;
  const bytes = Buffer.from(s.data.payload, 'base64url');
  if (!verify(null, bytes, key, Buffer.from(s.data.signature, 'base64url')))
    throw new TargetListError('target list signature does not verify');
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TargetListError('target list is not JSON');
  }
  const list = targetListSchema.safeParse(parsed);
  if (!list.success) throw new TargetListError('malformed target list');
  if (list.data.agentId !== expectAgentId) throw new TargetListError('target list is for another agent');
  return list.data;
}
