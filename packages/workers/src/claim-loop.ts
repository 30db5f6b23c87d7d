/**
 * The claim loop: the one loop that takes tickets off the queues.
 *
 * It sleeps on a `Wakeup`, woken by a watch (a new queue or ticket, a claim that vanished), by freed
 * capacity, by a session change, or by the jittered safety sweep. Each pass lists the claimable
 * tickets (arming the watches again) and claims up to the free capacity.
 * Herd avoidance: every idle worker wakes on the same new ticket, so each tries a *shuffled* window of
 * the oldest tickets of the top priority (at most 2 × free capacity), and claims at most its free
 * capacity per pass. Losing a race costs one failed multi and changes nothing.
 * Errors never end the loop: they are reported and retried after a jittered exponential backoff.
 */
import {
  type Claim,
  type CoordinationStore,
  claimTicket,
  coerceError,
  failExhaustedTicket,
  listClaimableTickets,
  prepareTicketOps,
  type Ticket,
  type TicketRef,
  type WorkerIdentity,
} from '@distci/common';
import { backoffMs, delay, jitter, shuffle } from './backoff.js';
import type { TicketHandler } from './ticket-handler.js';
import type { Wakeup } from './wakeup.js';
import type { WorkerOptions } from './worker-options.js';

export interface ClaimLoopInput {
  store: CoordinationStore;
  options: WorkerOptions;
  handler: TicketHandler;
  wakeup: Wakeup;
  /** How many more tickets may start now (0 while paused or full). */
  freeSlots: () => number;
  /** Starts running a claimed ticket (does not wait for it). */
  start: (claim: Claim) => void;
  report: (type: 'exhausted' | 'error', message: string, ticket?: Ticket) => void;
  signal: AbortSignal;
}

/** The window of refs to try: the oldest of the most urgent priority, shuffled. */
export function pickWindow(refs: TicketRef[], free: number): TicketRef[] {
  if (refs.length === 0) return [];
  const top = refs[0]!.priority;
  const same = refs.filter((r) => r.priority === top);
  return shuffle(same.slice(0, Math.max(2 * free, 2)));
}

export async function claimLoop(input: ClaimLoopInput): Promise<void> {
  const { store, options, handler, wakeup, freeSlots, start, report, signal } = input;
  const me: WorkerIdentity = { id: options.id, host: options.host };
  const watcher = () => wakeup.notify();
  let errors = 0;
  while (!signal.aborted) {
    let again = false;
    const free = freeSlots();
    if (free > 0) {
      try {
        const refs = await listClaimableTickets(store, options.kind, options.labels, watcher);
        let claimed = 0;
        for (const ref of pickWindow(refs, free)) {
          if (signal.aborted || claimed >= freeSlots()) break;
          const result = await claimTicket(store, ref, me);
          if (result.outcome === 'claimed') {
            claimed++;
            start(result.claim);
          } else if (result.outcome === 'exhausted') {
            const outcome = (await handler.exhausted?.(result.ticket)) ?? { status: 'fail' as const };
            const ops = [...(outcome.ops ?? []), ...(await prepareTicketOps(store, outcome.successors ?? []))];
            if (await failExhaustedTicket(store, result.ticket, ops)) {
              report('exhausted', `claims vanished ${result.ticket.data.lost} times`, result.ticket);
            }
          }
        }
        // More tickets than we tried, and room left: look again at once rather than at the next watch.
        again = refs.length > 0 && freeSlots() > 0 && claimed > 0;
        errors = 0;
      } catch (err) {
        report('error', `claim pass failed: ${coerceError(err).message}`);
        await delay(backoffMs(errors++), signal);
        again = true;
      }
    }
    if (!again) await wakeup.wait(jitter(options.sweepMs), signal);
  }
}
