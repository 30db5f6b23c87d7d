/**
 * Runs one claimed ticket to its end.
 *
 * The rule, enforced here and only here (try/finally): **every claimed ticket ends in exactly one of
 * complete, fail or release** — unless its session was lost, in which case the attempt is *abandoned*:
 * nothing may be recorded (the fence would refuse it anyway), and another worker resumes the ticket
 * as the next attempt once the server has expired the claim.
 *
 * | how the handler ended                    | what the runner does                              |
 * |------------------------------------------|---------------------------------------------------|
 * | returned an outcome                      | complete / fail with its ops and successors       |
 * | any end after the signal said `drain`    | release (not counted as lost): others take it now |
 * | any end after the signal said `session-lost` | abandon                                        |
 * | returned, but its ops conflict (NodeExists, BadVersion, NoNode) | release, not counted as lost |
 * | threw                                    | back off (jittered exponential), release counted as lost, its message kept in the ticket; at `maxAttempts` fail it with the handler's `exhausted` outcome (which sees that message) |
 * | `exhausted` threw (its stores fail too)  | back off, release counted as lost: a later attempt gives up                |
 * | giving up conflicts (the build changed)  | back off, release counted as lost; the third such conflict drops the ticket (what it would record cannot be written) |
 * | finishing failed, not fenced             | release counted as lost; only when that fails too is the claim left to its session |
 */
import {
  backoffMs,
  type Claim,
  type CoordinationStore,
  coerceError,
  delay,
  isDistciError,
  type TicketResult,
  type TicketsService,
} from '@distci/common';
import type { AbortReason, Outcome, TicketHandler } from './ticket-handler.js';
import type { WorkerEventType } from './worker-events.js';

export interface RunTicketInput {
  /** Handed to the handler (the control worker reads the build through it). */
  store: CoordinationStore;
  /** The ticket protocol: every end goes through it. */
  tickets: TicketsService;
  claim: Claim;
  handler: TicketHandler;
  controller: AbortController;
  report: (type: WorkerEventType, message?: string) => void;
}

function resultOf(outcome: Outcome): TicketResult {
  return {
    ...(outcome.ops ? { writes: outcome.ops } : {}),
    ...(outcome.successors ? { successors: outcome.successors } : {}),
  };
}

/**
 * A failed attempt is given back after 0.5-1 s, then 1-2 s, … up to 30 s: long enough for a storage
 * blip or a leader election (~2.5 s) to pass, short enough that 3 attempts end within a minute.
 */
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** Another worker changed the same nodes first (e.g. two control workers advancing one build). */
const CONFLICTS = ['DISTCI_NODE_EXISTS', 'DISTCI_BAD_VERSION', 'DISTCI_NO_NODE'] as const;

export async function runTicket(input: RunTicketInput): Promise<void> {
  const { claim, report } = input;
  try {
    const [type, message] = await endTicket(input);
    report(type, message);
  } catch (err) {
    if (isDistciError(err, 'DISTCI_CLAIM_LOST')) {
      report('fenced', coerceError(err).message);
    } else {
      // Finishing failed for a reason other than fencing (the store is failing). Holding the claim would
      // hold the ticket for as long as this session lives, which may be for ever: give it back once
      // more (counted as lost), and only if that fails too is the claim left to the session's end.
      const cause = coerceError(err).message;
      try {
        await input.tickets.release(claim, { lost: true });
        report('released', `ticket not finished (${cause}); given back`);
      } catch (again) {
        if (isDistciError(again, 'DISTCI_CLAIM_LOST')) report('fenced', coerceError(again).message);
        else report('error', `ticket not finished (${cause}); ${claim.claimPath} is held until this session ends`);
      }
    }
  }
}

/** Ends the ticket one way; returns the event to report. Throws when the store refuses to end it. */
async function endTicket({
  store,
  tickets,
  claim,
  handler,
  controller,
}: RunTicketInput): Promise<[WorkerEventType, string?]> {
  let outcome: Outcome | undefined;
  let failure: Error | undefined;
  try {
    outcome = await handler.run({ claim, store, signal: controller.signal });
  } catch (err) {
    failure = coerceError(err);
  }
  const reason = controller.signal.aborted ? (controller.signal.reason as AbortReason) : undefined;
  if (reason === 'session-lost') return ['abandoned', 'the session was lost; another worker resumes the ticket'];
  if (reason === 'drain') {
    await tickets.release(claim);
    return ['released', 'drained'];
  }
  if (outcome) {
    try {
      if (outcome.status === 'complete') await tickets.complete(claim, resultOf(outcome));
      else await tickets.fail(claim, resultOf(outcome));
      return [outcome.status === 'complete' ? 'completed' : 'failed'];
    } catch (err) {
      if (isDistciError(err, 'DISTCI_CLAIM_LOST')) throw err;
      if (CONFLICTS.some((code) => isDistciError(err, code))) {
        // Not a crash: someone changed the same nodes first. Give the ticket back as it was; the next
        // attempt sees the new state (e.g. the step already posted) and decides again.
        await tickets.release(claim);
        return ['released', `conflict: ${coerceError(err).message}`];
      }
      failure = coerceError(err);
    }
  }
  const error = failure?.message ?? 'the handler failed';
  if (claim.ticket.data.lost + 1 >= claim.ticket.data.maxAttempts) {
    // The ticket as it would be had this attempt been released: counted, with the error that ended it.
    const data = claim.ticket.data;
    const last = { ...claim.ticket, data: { ...data, lost: data.lost + 1, failures: (data.failures ?? 0) + 1, error } };
    let exhausted: Outcome;
    try {
      exhausted = (await handler.exhausted?.(last, store, failure?.message)) ?? { status: 'fail' };
    } catch (err) {
      // Giving up needs the stores too (the control worker ends the build and archives it): when they
      // fail, back off and give the ticket back, so that a later attempt gives up (or succeeds) instead.
      await delay(backoffMs(claim.ticket.data.lost, RETRY_BASE_MS, RETRY_MAX_MS), controller.signal);
      if (controller.signal.reason === 'session-lost') return ['abandoned', 'the session was lost while backing off'];
      await tickets.release(claim, { lost: true, error });
      return ['released', `could not give up (${coerceError(err).message}); a later attempt will`];
    }
    try {
      await tickets.fail(claim, resultOf(exhausted));
    } catch (err) {
      if (!CONFLICTS.some((code) => isDistciError(err, code))) throw err;
      const conflict = coerceError(err).message;
      if (claim.ticket.data.lost > claim.ticket.data.maxAttempts) {
        // The give-up turn conflicted on two attempts already: what it records can no longer be
        // written (the build is gone, the step has its result). Drop the ticket rather than loop.
        await tickets.fail(claim);
        return ['exhausted', `dropped: giving up conflicted again (${conflict})`];
      }
      // The build changed under the give-up turn (e.g. a step reported): back off, then look again.
      await delay(backoffMs(claim.ticket.data.lost, RETRY_BASE_MS, RETRY_MAX_MS), controller.signal);
      if (controller.signal.reason === 'session-lost') return ['abandoned', 'the session was lost while backing off'];
      await tickets.release(claim, { lost: true, error });
      return ['released', `conflict while giving up: ${conflict}`];
    }
    return ['exhausted', failure?.message];
  }
  // Back off before giving the ticket back (jittered exponential in its lost attempts), holding the
  // claim meanwhile: a released ticket is claimable at once, and a handler that fails fast would
  // otherwise burn its attempts in milliseconds. A drain or session loss ends the wait early.
  await delay(backoffMs(claim.ticket.data.lost, RETRY_BASE_MS, RETRY_MAX_MS), controller.signal);
  if (controller.signal.reason === 'session-lost') return ['abandoned', 'the session was lost while backing off'];
  await tickets.release(claim, { lost: true, error });
  return ['released', `handler failed: ${failure?.message}`];
}
