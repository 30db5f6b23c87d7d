/**
 * GitHub's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with
 * the webhook secret>`. Checked over the exact bytes received (before any parsing) and compared with
 * `crypto.timingSafeEqual`, so the time taken says nothing about how much of a forged signature was
 * right. The older SHA-1 `X-Hub-Signature` is never accepted.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header value GitHub would send for `body` (for tests and for clients that replay deliveries). */
export function signPayload(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** True only when a secret is configured and `header` is the signature of exactly `body`. */
export function verifySignature(secret: string | null, body: Buffer, header: string | string[] | undefined): boolean {
  if (!secret || typeof header !== 'string') return false;
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, 'hex'));
}
