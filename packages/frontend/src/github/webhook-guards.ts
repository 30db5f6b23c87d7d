/**
 * What the webhook route checks before it reads a body, and how it names events in metrics.
 *
 * - `refuseUnsigned`: the body is held in memory until its signature can be checked, so a delivery
 *   that cannot pass (this frontend has no secret, or the request has no well-formed
 *   `X-Hub-Signature-256`) is refused before a byte of it is read: an unauthenticated client can then
 *   make the frontend buffer nothing. (A well-formed but wrong signature still costs one body, at most
 *   `DISTCI_WEBHOOK_BODY_LIMIT`, for at most `DISTCI_REQUEST_TIMEOUT_MS`.)
 * - `eventLabel`: `X-GitHub-Event` is the client's text; as a metrics label every made-up value was a
 *   new time series. Only the events distci acts on keep their name; the rest count as `other`.
 */
import { distciError } from '@distci/common';

/** The events with their own metrics series. */
export const LABELLED_EVENTS: ReadonlySet<string> = new Set(['ping', 'push', 'pull_request']);

export function eventLabel(event: unknown): string {
  return typeof event === 'string' && LABELLED_EVENTS.has(event) ? event : 'other';
}

/** `sha256=` and 64 hex digits: the only form GitHub sends. */
const SIGNATURE = /^sha256=[0-9a-f]{64}$/i;

/** Throws DISTCI_BAD_SIGNATURE when no body could pass the signature check. */
export function refuseUnsigned(secret: string | null, signature: string | string[] | undefined): void {
  if (secret !== null && typeof signature === 'string' && SIGNATURE.test(signature)) return;
  throw distciError('DISTCI_BAD_SIGNATURE', 'the X-Hub-Signature-256 of this delivery is missing or wrong', {
    hint: secret
      ? 'set the same secret in the GitHub webhook and in DISTCI_GITHUB_SECRET'
      : 'this frontend has no DISTCI_GITHUB_SECRET: it accepts no webhook',
  });
}
