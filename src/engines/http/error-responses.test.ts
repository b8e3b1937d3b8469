import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../core/errors.js';
import { awsErrorResponse, failureFor, problemResponse } from './error-responses.js';

describe('refusals in the client protocol', () => {
  const message = 's3:DeleteBucket is refused by rule no-<delete> & co';

  it('renders each AWS protocol the way its SDK parses errors', () => {
    const s3 = awsErrorResponse('s3', 'denied', message, 'rid-1');
    expect(s3.status).toBe(403);
    expect(s3.body).toContain(
      '<Error><Code>AccessDenied</Code><Message>s3:DeleteBucket is refused by rule no-&lt;delete&gt; &amp; co</Message><RequestId>rid-1</RequestId></Error>',
    );
    const query = awsErrorResponse('query', 'unknown-key', message, 'rid-2');
    expect(query.body).toMatch(
      /^<\?xml[^>]*>\n<ErrorResponse><Error><Type>Sender<\/Type><Code>InvalidClientTokenId<\/Code>/,
    );
    const json = awsErrorResponse('json', 'denied', message, 'rid-3');
    expect(json.status).toBe(400);
    expect(json.headers['x-amzn-errortype']).toBe('AccessDeniedException');
    expect(JSON.parse(json.body)).toEqual({ __type: 'AccessDeniedException', message });
    const rest = awsErrorResponse('rest-json', 'bad-signature', message, 'rid-4');
    expect(rest.status).toBe(403);
    expect(rest.headers['x-amzn-errortype']).toBe('InvalidSignatureException');
    expect(awsErrorResponse('s3', 'unavailable', 'x', 'r').status).toBe(503);
    expect(awsErrorResponse('s3', 'withheld', 'x', 'r').status).toBe(400);
  });

  it('renders generic refusals as RFC 9457 problems, 401 with a challenge for credentials', () => {
    const p = problemResponse('denied', message, 'rid', 'rule-x');
    expect(p.status).toBe(403);
    expect(p.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(p.body)).toMatchObject({
      status: 403,
      detail: message,
      rule: 'rule-x',
      requestId: 'rid',
    });
    const a = problemResponse('no-credentials', 'need a token', 'rid');
    expect(a.status).toBe(401);
    expect(a.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
  });

  it('maps gateway error codes to failures', () => {
    expect(failureFor(ERROR_CODES.DENIED)).toBe('denied');
    expect(failureFor(ERROR_CODES.REVIEW_REQUIRED)).toBe('denied');
    expect(failureFor(ERROR_CODES.AUTH_FAILED)).toBe('unknown-key');
    expect(failureFor(ERROR_CODES.RECORD_FAILED)).toBe('unavailable');
    expect(failureFor(ERROR_CODES.MASK_FAILED)).toBe('withheld');
  });
});
