// Refusals in the client's own terms: AWS error documents per protocol (so an SDK surfaces the code and
// the message, which names the rule), or an RFC 9457 problem document for generic HTTP clients.
//
// S3: <Error><Code/><Message/><RequestId/></Error>; query protocols: <ErrorResponse><Error><Type/><Code/>
// <Message/></Error><RequestId/></ErrorResponse>; JSON protocols: {"__type", "message"} with
// x-amzn-ErrorType; REST-JSON (Lambda): {"message"} with x-amzn-ErrorType.

import { ERROR_CODES, type ErrorCode } from '../../core/errors.js';
import type { AwsProtocol } from './aws/aws-request.js';
import { encodeXmlText } from './xml-text.js';

export interface ErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What went wrong, in terms every protocol can render. */
export type Failure =
  | 'denied'
  | 'no-credentials'
  | 'unknown-key'
  | 'bad-signature'
  | 'clock-skew'
  | 'too-large'
  | 'throttled'
  | 'timeout'
  | 'malformed'
  | 'withheld'
  | 'unavailable'
  | 'upstream-unreachable'
  | 'internal';

export function failureFor(code: ErrorCode): Failure {
  switch (code) {
    case ERROR_CODES.DENIED:
    case ERROR_CODES.REVIEW_REQUIRED:
    case ERROR_CODES.CONNECTION_FORBIDDEN:
    case ERROR_CODES.CONNECTION_UNKNOWN:
      return 'denied';
    case ERROR_CODES.AUTH_FAILED:
    case ERROR_CODES.SESSION_ENDED:
      return 'unknown-key';
    case ERROR_CODES.LIMIT_EXCEEDED:
      return 'throttled';
    case ERROR_CODES.PROTOCOL_VIOLATION:
      return 'malformed';
    case ERROR_CODES.MASK_FAILED:
      return 'withheld';
    case ERROR_CODES.UPSTREAM_UNAVAILABLE:
      return 'upstream-unreachable';
    case ERROR_CODES.RECORD_FAILED:
      return 'unavailable';
    default:
      return 'internal';
  }
}

interface AwsCode {
  readonly status: number;
  readonly s3: string;
  readonly query: string;
  readonly json: string;
}

/** AWS error codes per failure; the signature ones make SDKs correct their clock and retry once. */
const AWS_CODES: Readonly<Record<Failure, AwsCode>> = {
  denied: { status: 403, s3: 'AccessDenied', query: 'AccessDenied', json: 'AccessDeniedException' },
  'no-credentials': {
    status: 403,
    s3: 'AccessDenied',
    query: 'MissingAuthenticationToken',
    json: 'MissingAuthenticationTokenException',
  },
  'unknown-key': {
    status: 403,
    s3: 'InvalidAccessKeyId',
    query: 'InvalidClientTokenId',
    json: 'UnrecognizedClientException',
  },
  'bad-signature': {
    status: 403,
    s3: 'SignatureDoesNotMatch',
    query: 'SignatureDoesNotMatch',
    json: 'InvalidSignatureException',
  },
  'clock-skew': {
    status: 403,
    s3: 'RequestTimeTooSkewed',
    query: 'SignatureDoesNotMatch',
    json: 'InvalidSignatureException',
  },
  'too-large': {
    status: 413,
    s3: 'EntityTooLarge',
    query: 'RequestEntityTooLarge',
    json: 'RequestEntityTooLargeException',
  },
  throttled: { status: 503, s3: 'SlowDown', query: 'Throttling', json: 'ThrottlingException' },
  // The client was too slow sending its request (client-limits.ts); SDKs retry these codes.
  timeout: {
    status: 408,
    s3: 'RequestTimeout',
    query: 'RequestTimeout',
    json: 'RequestTimeoutException',
  },
  malformed: { status: 400, s3: 'InvalidRequest', query: 'MalformedInput', json: 'SerializationException' },
  // Not retryable on purpose: the same response would be withheld again.
  withheld: {
    status: 400,
    s3: 'ResponseWithheld',
    query: 'ResponseWithheld',
    json: 'ResponseWithheldException',
  },
  unavailable: {
    status: 503,
    s3: 'ServiceUnavailable',
    query: 'ServiceUnavailable',
    json: 'ServiceUnavailableException',
  },
  // AWS SDKs retry ServiceUnavailable: the same code as a busy service, so clients back off and retry.
  'upstream-unreachable': {
    status: 503,
    s3: 'ServiceUnavailable',
    query: 'ServiceUnavailable',
    json: 'ServiceUnavailableException',
  },
  internal: { status: 500, s3: 'InternalError', query: 'InternalFailure', json: 'InternalFailure' },
};

export function awsErrorResponse(
  protocol: AwsProtocol,
  failure: Failure,
  message: string,
  requestId: string,
): ErrorResponse {
  const c = AWS_CODES[failure];
  switch (protocol) {
    case 's3':
      return {
        status: c.status,
        headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
        body:
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${c.s3}</Code><Message>${encodeXmlText(message)}</Message>` +
          `<RequestId>${encodeXmlText(requestId)}</RequestId></Error>`,
      };
    case 'query':
      return {
        status: c.status,
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body:
          `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${c.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
          `<Code>${c.query}</Code><Message>${encodeXmlText(message)}</Message></Error>` +
          `<RequestId>${encodeXmlText(requestId)}</RequestId></ErrorResponse>`,
      };
    case 'json':
      return {
        // DynamoDB and the other JSON services answer client errors with 400.
        status: c.status === 403 ? 400 : c.status,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-errortype': c.json,
          'x-amzn-requestid': requestId,
        },
        body: JSON.stringify({ __type: c.json, message }),
      };
    case 'rest-json':
      return {
        status: c.status,
        headers: {
          'content-type': 'application/json',
          'x-amzn-errortype': c.json,
          'x-amzn-requestid': requestId,
        },
        body: JSON.stringify({ Type: c.status >= 500 ? 'Service' : 'User', message }),
      };
  }
}

const HTTP_STATUS: Readonly<Record<Failure, number>> = {
  denied: 403,
  'no-credentials': 401,
  'unknown-key': 401,
  'bad-signature': 401,
  'clock-skew': 401,
  'too-large': 413,
  throttled: 429,
  timeout: 408,
  malformed: 400,
  withheld: 502,
  unavailable: 503,
  // RFC 9110 §15.6.3: the gateway could not get a response from the upstream (or the agent carrying it).
  'upstream-unreachable': 502,
  internal: 500,
};

/** RFC 9457 problem details for generic HTTP clients; `rule` and `requestId` are Gatehouse extensions. */
export function problemResponse(
  failure: Failure,
  message: string,
  requestId: string,
  ruleId?: string,
): ErrorResponse {
  const status = HTTP_STATUS[failure];
  return {
    status,
    headers: {
      'content-type': 'application/problem+json',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="gatehouse"' } : {}),
    },
    body: JSON.stringify({
      type: `https://gatehouse.dev/problems/${failure}`,
      title: failure === 'denied' ? 'Refused by Gatehouse' : `Gatehouse: ${failure}`,
      status,
      detail: message,
      requestId,
      ...(ruleId !== undefined ? { rule: ruleId } : {}),
    }),
  };
}
