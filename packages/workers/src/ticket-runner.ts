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
 * | threw                                    | release counted as lost; at `maxAttempts` fail it with the handler's `exhausted` outcome |
 */
import {
  type Claim,
  type CoordinationStore,
  coerceError,
  finishTicket,
  isDistciError,
  type Op,
  prepareTicketOps,
  releaseTicket,
} from '@distci/common';
import type { AbortReason, Outcome, TicketHandler } from './ticket-handler.js';
import type { WorkerEventType } from './worker-events.js';

export interface RunTicketInput {
  store: CoordinationStore;
  claim: Claim;
  handler: TicketHandler;
  controller: AbortController;
  report: (type: WorkerEventType, message?: string) => void;
}

async function opsOf(store: CoordinationStore, outcome: Outcome): Promise<Op[]> {
  const successors = outcome.successors?.length ? await prepareTicketOps(store, outcome.successors) : [];
  return [...(outcome.ops ?? []), ...successors];
}

export async function runTicket({ store, claim, handler, controller, report }: RunTicketInput): Promise<void> {
  let outcome: Outcome | undefined;
  let failure: Error | undefined;
  let ended = false;
  try {
    try {
      outcome = await handler.run({ claim, store, signal: controller.signal });
    } catch (err) {
      failure = coerceError(err);
    }
    const reason = controller.signal.aborted ? (controller.signal.reason as AbortReason) : undefined;
    if (reason === 'session-lost') {
      ended = true;
      report('abandoned', 'the session was lost; another worker resumes the ticket');
      return;
    }
    if (reason === 'drain') {
      await releaseTicket(store, claim);
      ended = true;
      report('released', 'drained');
      return;
    }
    if (outcome) {
      try {
        await finishTicket(store, claim, await opsOf(store, outcome));
        ended = true;
        report(outcome.status === 'complete' ? 'completed' : 'failed');
        return;
      } catch (err) {
        if (isDistciError(err, 'DISTCI_CLAIM_LOST')) throw err;
        // The outcome's own ops were refused (a bug in the handler): count the attempt as lost.
        failure = coerceError(err);
      }
    }
    const lostNow = claim.ticket.data.lost + 1;
    if (lostNow >= claim.ticket.data.maxAttempts) {
      const exhausted: Outcome = (await handler.exhausted?.(claim.ticket)) ?? { status: 'fail' };
      await finishTicket(store, claim, await opsOf(store, exhausted));
      ended = true;
      report('exhausted', failure?.message);
    } else {
      await releaseTicket(store, claim, { lost: true });
      ended = true;
      report('released', `handler failed: ${failure?.message}`);
    }
  } catch (err) {
    if (isDistciError(err, 'DISTCI_CLAIM_LOST')) {
      ended = true;
      report('fenced', coerceError(err).message);
      return;
    }
    report('error', coerceError(err).message);
  } finally {
    if (!ended) {
      // Finishing failed for a reason other than fencing (the store is failing). The claim lives on
      // with this session; the next sweep sees the ticket still claimed by us. Say so loudly.
      report('error', `ticket not finished: claim ${claim.claimPath} is held until this session ends`);
    }
  }
}
