// Kubernetes `Status` objects (meta/v1, k8s.io/apimachinery/pkg/apis/meta/v1/types.go): how the API
// server answers a failed request, and so how Gatehouse refuses one, so kubectl prints
// `Error from server (Forbidden): <message>`. Pure.

/** StatusReason values kubectl maps to its "Error from server (<reason>)" prefix. */
export const STATUS_REASONS = {
  Forbidden: 403,
  Unauthorized: 401,
  BadRequest: 400,
  NotFound: 404,
  MethodNotAllowed: 405,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  TooManyRequests: 429,
  // The client was too slow sending its request (Gatehouse's own bodyTimeout / headersTimeout).
  RequestTimeout: 408,
  ServiceUnavailable: 503,
  InternalError: 500,
  Timeout: 504,
} as const;
export type StatusReason = keyof typeof STATUS_REASONS;

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
}

export interface KubeStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: StatusReason;
  readonly details?: StatusDetails;
  readonly code: number;
}

export function failureStatus(reason: StatusReason, message: string, details?: StatusDetails): KubeStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details && Object.keys(details).length > 0 ? { details } : {}),
    code: STATUS_REASONS[reason],
  };
}

/** The status-channel (3) message of a remote command that ended (remotecommand v4+). */
export interface RemoteCommandStatus {
  readonly status: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: string;
  readonly details?: { readonly causes?: readonly { readonly reason?: string; readonly message?: string }[] };
}

/**
 * The exit code a status-channel message reports: 0 for Success, the `ExitCode` cause of a
 * NonZeroExitCode failure, undefined for other failures (the command did not run to an exit).
 */
export function exitCodeOf(status: RemoteCommandStatus): number | undefined {
  if (status.status === 'Success') return 0;
  if (status.reason !== 'NonZeroExitCode') return undefined;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const n = cause?.message !== undefined ? Number(cause.message) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

/** A status-channel message for a command that exited with `code` (what the kubelet sends). */
export function exitStatus(code: number): RemoteCommandStatus {
  if (code === 0) return { status: 'Success' };
  return {
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** A status-channel failure that is not an exit code (Gatehouse refused or lost the session). */
export function failureChannelStatus(message: string, reason = 'Forbidden'): RemoteCommandStatus {
  return { status: 'Failure', message, reason };
}
