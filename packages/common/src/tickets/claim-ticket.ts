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
 * Failure: store errors propagate (the claim may or may not exist; if it does, it dies with the session).
 */
import type { CoordinationStore } from '../coordination-store.js';
import { isDistciError } from '../errors.js';
import { zpaths } from '../keys.js';
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
  const sessionId = store.sessionId;
  try {
    const [set] = await store.multi([
      { type: 'set', path: ref.path, data: encodeTicket(next), version: read.stat.version },
      {
        type: 'create',
        path,
        // The payload rides along (it is small: see MAX_TICKET_BYTES) so views can tell what runs where.
        data: Buffer.from(
          JSON.stringify({
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
    const version = set?.type === 'set' ? set.stat.version : read.stat.version + 1;
    return {
      outcome: 'claimed',
      claim: { ticket: { ...ref, data: next, version }, attempt, claimPath: path, sessionId, claimedAt },
    };
  } catch (err) {
    if (RACE_CODES.some((code) => isDistciError(err, code))) return { outcome: 'taken' };
    throw err;
  }
}
