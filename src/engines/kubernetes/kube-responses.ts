// Answers in Kubernetes' own terms: a meta/v1 Status with the reason kubectl prints
// ("Error from server (Forbidden): … refused by rule …"), from a GatewayError or a refusal.

import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERROR_CODES, type ErrorCode } from '../../core/errors.js';
import { failureStatus, type KubeStatus, type StatusReason } from '../../wire/kubernetes/status.js';

export function reasonFor(code: ErrorCode): StatusReason {
  switch (code) {
    case ERROR_CODES.DENIED:
    case ERROR_CODES.REVIEW_REQUIRED:
    case ERROR_CODES.CONNECTION_FORBIDDEN:
    case ERROR_CODES.CONNECTION_UNKNOWN:
    case ERROR_CODES.SESSION_ENDED:
      return 'Forbidden';
    case ERROR_CODES.AUTH_FAILED:
      return 'Unauthorized';
    case ERROR_CODES.LIMIT_EXCEEDED:
      return 'TooManyRequests';
    case ERROR_CODES.PROTOCOL_VIOLATION:
      return 'BadRequest';
    case ERROR_CODES.UPSTREAM_UNAVAILABLE:
    case ERROR_CODES.RECORD_FAILED:
      return 'ServiceUnavailable';
    default:
      return 'InternalError';
  }
}

function body(status: KubeStatus): string {
  return JSON.stringify(status);
}

/** Writes a Status response (and closes the connection when an unread body would follow). */
export function sendStatus(
  res: ServerResponse,
  status: KubeStatus,
  closeConnection = false,
  extraHeaders: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const text = body(status);
  res.writeHead(status.code, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(status.code === 401 ? { 'www-authenticate': 'Bearer realm="gatehouse"' } : {}),
    ...(closeConnection ? { connection: 'close' } : {}),
    ...extraHeaders,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** The same Status on a socket whose upgrade is refused (no HTTP response object exists there). */
export function refuseUpgrade(
  socket: Duplex,
  status: KubeStatus,
  extraHeaders: Readonly<Record<string, string>> = {},
): void {
  if (socket.destroyed) return;
  socket.end(rawStatus(status, extraHeaders));
}

/** A Status as a whole raw HTTP/1.1 response that closes the connection. */
export function rawStatus(status: KubeStatus, extraHeaders: Readonly<Record<string, string>> = {}): string {
  const text = body(status);
  let extra = '';
  for (const [k, v] of Object.entries(extraHeaders)) extra += `${k}: ${v}\r\n`;
  return (
    `HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? ''}\r\ncontent-type: application/json\r\n` +
    `${extra}content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`
  );
}

export function statusFor(reason: StatusReason, message: string): KubeStatus {
  return failureStatus(reason, message);
}
