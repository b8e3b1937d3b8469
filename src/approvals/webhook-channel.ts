// The generic webhook notifier: a JSON body signed with HMAC-SHA-256 so the receiver can check it
// came from this gateway and is fresh. The signing secret is resolved per send and never sent.
//
//   X-Gatehouse-Timestamp: <unix seconds>
//   X-Gatehouse-Signature: sha256=<hex HMAC-SHA-256(secret, "<timestamp>.<raw body>")>

import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { postWithTimeout, type ApprovalNotice, type NotificationChannel } from './approval-notifier.js';

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does (documented in docs/approvals.md): recompute, compare in constant time, check age. */
export function verifyWebhook(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  now = Date.now(),
  maxAgeMs = 5 * 60_000,
): boolean {
  const ts = Number(headers.timestamp);
  if (!headers.signature || !Number.isInteger(ts) || Math.abs(now - ts * 1000) > maxAgeMs) return false;
  const want = Buffer.from(signWebhook(secret, ts, body));
  const got = Buffer.from(headers.signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

export function webhookBody(notice: ApprovalNotice): string {
  return JSON.stringify({
    id: randomUUID(),
    type: notice.event,
    at: notice.at.toISOString(),
    approvalUrl: notice.url,
    request: notice.request,
  });
}

export function webhookChannel(url: string, secret: () => Promise<string>): NotificationChannel {
  return {
    name: 'webhook',
    wants: () => true,
    async send(notice) {
      const body = webhookBody(notice);
      const ts = Math.floor(Date.now() / 1000);
      await postWithTimeout(url, body, {
        'content-type': 'application/json',
        'user-agent': 'gatehouse-approvals',
        'x-gatehouse-event': notice.event,
        'x-gatehouse-timestamp': String(ts),
        'x-gatehouse-signature': signWebhook(await secret(), ts, body),
      });
    },
  };
}
