/**
 * Finish a claimed ticket: complete, fail or release it. Every claim ends in exactly one of these (or
 * in the death of its session, after which another worker resumes the ticket).
 *
 * Input: the `Claim` and, for complete/fail, the ops that record the step's result and post its
 * successors (from `prepareTicketOps`). Atomicity: one write transaction each:
 * - complete / fail: `multi[ delete own claim (version 0), delete ticket (claimed version), …ops ]`.
 *   Deleting our own claim node is the fence (invariant 4): it exists only while our session lives
 *   and nobody resumed the ticket; the versioned ticket delete catches any other change. Successors
 *   appear in the same transaction as the ticket goes (invariant 1).
 * - release: `multi[ delete own claim, set ticket back to waiting (claimed version) ]`. The attempt
 *   number is not given back, so the next attempt gets a new number.
 * Failure: `DISTCI_CLAIM_LOST` when the fence refuses (the result is not recorded, and must not be);
 * errors of the caller's ops propagate as they are (with `details.opIndex` counted in those ops).
 * A connection loss mid-commit leaves the outcome unknown: we wait for the session to come back and
 * look at our claim node — still there means the transaction did not apply (retry it), gone in the
 * same session means it did (only this transaction deletes it while the session lives). When the
 * session ends instead, the claim is lost at once (`sessionBack`), without waiting for a new session.
 */
import { backoffMs, delay } from '../backoff.js';
import type { CoordinationStore, Op, OpResult } from '../coordination-store.js';
import { distciError, isDistciError } from '../errors.js';
import { assertTxnFits } from '../txn-budget.js';
import type { Claim } from './claim-ticket.js';
import { sessionBack } from './session-wait.js';
import { encodeTicket, MAX_TICKET_ERROR_CHARS, type Ticket, type TicketData } from './ticket.js';

/** How many fenced ops precede the caller's ops in a finishing multi. */
const FENCE_OPS = 2;
/**
 * 8 retries of a finishing multi whose answer was lost and that did not apply, with jittered
 * exponential backoff (0.1 s doubling to 10 s: ~25 s in all, past a ZooKeeper leader election's
 * ~2.5 s). Past that, something other than a blip refuses it: give up (the claim then dies with the
 * session and the ticket is resumed as a lost attempt) rather than spin (issue 13, hole 1).
 */
export const MAX_LOST_ANSWER_RETRIES = 8;

function claimLost(claim: Claim, cause?: unknown) {
  return distciError(
    'DISTCI_CLAIM_LOST',
    `the claim on ticket ${claim.ticket.kind}/${claim.ticket.id} attempt ${claim.attempt} was lost; its result was not recorded`,
    {
      hint: 'the session expired or the ticket was resumed by another worker; drop this attempt',
      details: { ticket: claim.ticket.path, attempt: claim.attempt },
      cause,
    },
  );
}

/**
 * After a finishing multi's answer was lost: true when it applied (our claim node is gone while our
 * session lives on: only this transaction deletes it), false when it did not (the node is still there).
 * Throws `DISTCI_CLAIM_LOST` as soon as the claim's session is over, whatever the multi did.
 */
async function appliedAfterLoss(store: CoordinationStore, claim: Claim, cause: unknown): Promise<boolean> {
  for (;;) {
    if (!(await sessionBack(store, claim.sessionId))) throw claimLost(claim, cause);
    try {
      return (await store.exists(claim.claimPath)) === null;
    } catch (err) {
      if (!isDistciError(err, 'DISTCI_CONNECTION_LOSS') && !isDistciError(err, 'DISTCI_SESSION_EXPIRED')) throw err;
    }
  }
}

async function fencedMulti(
  store: CoordinationStore,
  claim: Claim,
  fence: Op[],
  ops: readonly Op[],
): Promise<OpResult[]> {
  const all = [...fence, ...ops];
  assertTxnFits(all); // an oversized multi is answered by a dropped connection, not by an error
  for (let retry = 0; ; retry++) {
    // Another session (or none, after an expiry): the claim died with its own. Fail fast, without a write.
    if (store.sessionId !== claim.sessionId) throw claimLost(claim);
    try {
      const results = await store.multi(all);
      return results.slice(FENCE_OPS);
    } catch (err) {
      if (isDistciError(err, 'DISTCI_CONNECTION_LOSS')) {
        if (await appliedAfterLoss(store, claim, err)) return []; // applied before the connection dropped
        if (retry >= MAX_LOST_ANSWER_RETRIES) {
          throw distciError(
            'DISTCI_STORE_RETRIES_EXHAUSTED',
            `finishing ticket ${claim.ticket.kind}/${claim.ticket.id} lost its answer ${retry + 1} times without applying`,
            { hint: 'check the coordination store; the ticket is resumed once this claim ends', cause: err },
          );
        }
        await delay(backoffMs(retry));
        continue; // did not apply: retry after a backoff
      }
      if (isDistciError(err, 'DISTCI_SESSION_EXPIRED')) throw claimLost(claim, err);
      const index = (err as { details?: { opIndex?: unknown } }).details?.opIndex;
      if (typeof index === 'number' && index < FENCE_OPS) throw claimLost(claim, err);
      if (typeof index === 'number' && isDistciError(err)) {
        // Renumber so the caller sees indexes into its own ops.
        (err.details as { opIndex: number }).opIndex = index - FENCE_OPS;
      }
      throw err;
    }
  }
}

/** Completes (or fails: the ops say which) a claimed ticket; returns the results of `ops`. */
export function finishTicket(store: CoordinationStore, claim: Claim, ops: readonly Op[] = []): Promise<OpResult[]> {
  return fencedMulti(
    store,
    claim,
    [
      { type: 'delete', path: claim.claimPath, version: 0 },
      { type: 'delete', path: claim.ticket.path, version: claim.ticket.version },
    ],
    ops,
  );
}

/**
 * Gives the ticket back at once, so another worker can claim it without waiting for a session timeout
 * (drain on SIGTERM). `lost: true` counts the attempt as lost; with `error` (the handler threw), as a
 * handler failure whose message is kept in the ticket for the `exhausted` outcome.
 */
export async function releaseTicket(
  store: CoordinationStore,
  claim: Claim,
  options: { lost?: boolean; error?: string } = {},
): Promise<void> {
  const data: TicketData = {
    ...claim.ticket.data,
    state: 'waiting',
    lost: claim.ticket.data.lost + (options.lost ? 1 : 0),
    ...(options.lost && options.error !== undefined
      ? { failures: (claim.ticket.data.failures ?? 0) + 1, error: options.error.slice(0, MAX_TICKET_ERROR_CHARS) }
      : {}),
  };
  await fencedMulti(
    store,
    claim,
    [
      { type: 'delete', path: claim.claimPath, version: 0 },
      { type: 'set', path: claim.ticket.path, data: encodeTicket(data), version: claim.ticket.version },
    ],
    [],
  );
}

/**
 * Fails a ticket whose claims vanished `maxAttempts` times (reason `infrastructure`): deletes it at the
 * version read and applies `ops` (the failure's result and successors) in one transaction. Returns
 * false when another worker changed the ticket first (it then handles it).
 */
export async function failExhaustedTicket(
  store: CoordinationStore,
  ticket: Ticket,
  ops: readonly Op[] = [],
): Promise<boolean> {
  try {
    await store.multi([{ type: 'delete', path: ticket.path, version: ticket.version }, ...ops]);
    return true;
  } catch (err) {
    const index = (err as { details?: { opIndex?: unknown } }).details?.opIndex;
    if (index === 0 && (isDistciError(err, 'DISTCI_BAD_VERSION') || isDistciError(err, 'DISTCI_NO_NODE'))) return false;
    throw err;
  }
}
