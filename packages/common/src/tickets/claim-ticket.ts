/**
 * Claim a ticket.
 *
 * Input: a ticket ref and the claiming worker. Output: a `Claim`, or why not (`taken`, `gone`), or
 * `exhausted` when the ticket's claims vanished `maxAttempts` times (the caller then fails it with
 * reason `infrastructure`, see `failExhaustedTicket`).
 * Atomicity: one write transaction — a `multi` that sets the ticket's data (attempt + 1, `claimed`)
 * at the version just read, and creates the attempt's ephemeral claim node. Two workers racing for a
 * ticket: one multi wins; the other fails on the version (or the claim node) and changes nothing
 * (invariant 2: at most one live claim per ticket; every attempt has a distinct number).
 * Reads: a `get` of the ticket and, when it is `claimed`, an `exists` of the current attempt's claim,
 * issued *after* the get, so a claim made between a queue listing and this call is always seen.
 * Connection loss during the claim multi (its outcome unknown): we wait for the session and look at the
 * attempt's claim node. If it is there and owned by our session, the claim applied and is returned —
 * otherwise it would hold the ticket, with nobody running it, for as long as our session lives. If it is
 * not there, the claim did not apply or died with an older session; either way the ticket is not ours
 * (`taken`), and others (or we) claim it as a waiting or stale ticket.
 * Failure: other store errors propagate.
 */
import type { CoordinationStore, OpResult } from '../coordination-store.js';
import { isDistciError } from '../errors.js';
import { FORMAT_VERSION } from '../format-version.js';
import { zpaths } from '../keys.js';
import { sessionBack } from './session-wait.js';
import { decodeTicket, encodeTicket, type Ticket, type TicketData, type TicketRef } from './ticket.js';

export interface WorkerIdentity {
  id: string;
  host: string;
}

/** A held ticket: the worker may start it, and must finish it (complete, fail or release). */
export interface Claim {
  /** The ticket as it is after the claim (its `version` is what finishing checks). */
  ticket: Ticket;
  attempt: number;
  claimPath: string;
  /** The session the claim lives in: when it ends, the claim is gone. */
  sessionId: string | null;
  claimedAt: number;
}

export type ClaimResult =
  | { outcome: 'claimed'; claim: Claim }
  | { outcome: 'taken' | 'gone' }
  | { outcome: 'exhausted'; ticket: Ticket };

/** The claim node path of a ticket's attempt. */
export function claimPath(ref: TicketRef, attempt: number): string {
  return zpaths.claim(ref.kind, ref.id, attempt);
}

const RACE_CODES = ['DISTCI_BAD_VERSION', 'DISTCI_NODE_EXISTS', 'DISTCI_NO_NODE'] as const;

export async function claimTicket(
  store: CoordinationStore,
  ref: TicketRef,
  worker: WorkerIdentity,
): Promise<ClaimResult> {
  let read: Awaited<ReturnType<CoordinationStore['get']>>;
  try {
    read = await store.get(ref.path);
  } catch (err) {
    if (isDistciError(err, 'DISTCI_NO_NODE')) return { outcome: 'gone' };
    throw err;
  }
  const data = decodeTicket(read.data, ref.path);
  let lost = data.lost;
  if (data.state === 'claimed') {
    if ((await store.exists(claimPath(ref, data.attempt))) !== null) return { outcome: 'taken' };
    // The claim vanished with its worker's session: the ticket is stale, and that attempt is lost.
    lost += 1;
    if (lost >= data.maxAttempts) {
      return { outcome: 'exhausted', ticket: { ...ref, data: { ...data, lost }, version: read.stat.version } };
    }
  }
  const attempt = data.attempt + 1;
  const next: TicketData = { ...data, attempt, lost, state: 'claimed', worker: worker.id };
  const path = claimPath(ref, attempt);
  const claimedAt = Date.now();
  let results: OpResult[];
  try {
    results = await store.multi([
      { type: 'set', path: ref.path, data: encodeTicket(next), version: read.stat.version },
      {
        type: 'create',
        path,
        // The payload rides along (it is small: see MAX_TICKET_BYTES) so views can tell what runs where.
        data: Buffer.from(
          JSON.stringify({
            v: FORMAT_VERSION,
            worker: worker.id,
            host: worker.host,
            startedAt: claimedAt,
            attempt,
            payload: data.payload,
          }),
        ),
        mode: 'ephemeral',
      },
    ]);
  } catch (err) {
    if (RACE_CODES.some((code) => isDistciError(err, code))) return { outcome: 'taken' };
    if (isDistciError(err, 'DISTCI_CONNECTION_LOSS')) {
      return claimAfterConnectionLoss(store, { ...ref, data: next, version: read.stat.version + 1 }, path, claimedAt);
    }
    throw err;
  }
  // The session the claim lives in, read as the answer arrives (no I/O event can run in between): not the
  // one before the multi, because a multi issued while disconnected waits and may run in a *new* session.
  // A claim recorded under the wrong session would be refused by its own fence while its node lived on.
  const sessionId = store.sessionId;
  const set = results[0];
  const version = set?.type === 'set' ? set.stat.version : read.stat.version + 1;
  return {
    outcome: 'claimed',
    claim: { ticket: { ...ref, data: next, version }, attempt, claimPath: path, sessionId, claimedAt },
  };
}

/** Did a claim multi whose answer was lost apply, in the session we have now? (See the header.) */
async function claimAfterConnectionLoss(
  store: CoordinationStore,
  ticket: Ticket,
  path: string,
  claimedAt: number,
): Promise<ClaimResult> {
  // The multi was in flight in this session, or never sent (then nothing applied, and the look says so).
  const sessionId = store.sessionId;
  for (;;) {
    // Once that session is over, so is any claim it made.
    if (!(await sessionBack(store, sessionId))) return { outcome: 'taken' };
    try {
      const stat = await store.exists(path);
      if (stat === null || stat.ephemeralOwner !== sessionId) return { outcome: 'taken' };
      // Ours: hold the ticket at the version our set made, unless it changed since (then the fence
      // refuses the finish, as it should).
      const read = await store.get(ticket.path);
      return {
        outcome: 'claimed',
        claim: {
          ticket: { ...ticket, version: read.stat.version },
          attempt: ticket.data.attempt,
          claimPath: path,
          sessionId,
          claimedAt,
        },
      };
    } catch (err) {
      if (isDistciError(err, 'DISTCI_NO_NODE')) return { outcome: 'taken' };
      if (!isDistciError(err, 'DISTCI_CONNECTION_LOSS') && !isDistciError(err, 'DISTCI_SESSION_EXPIRED')) throw err;
    }
  }
}
