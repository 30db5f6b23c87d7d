/**
 * What a worker kind plugs into the runtime: a handler that does the work of one claimed ticket and
 * says how it ended. The runtime owns the claim; the handler never finishes a ticket itself.
 */
import type { Claim, CoordinationStore, Ticket, TicketSpec, TicketWrites } from '@distci/common';

export interface TicketContext {
  claim: Claim;
  /**
   * The worker's coordination session. Only the control worker still reads it directly (until it
   * becomes read → advance → write on the domain); step kinds get everything from `distci`.
   */
  store: CoordinationStore;
  /**
   * Aborted when the attempt must stop: the session was lost (its result can no longer be recorded),
   * the worker drains past its grace period, or the step is cancelled. `signal.reason` says which.
   */
  signal: AbortSignal;
}

/**
 * How an attempt ended: `complete` or `fail` the ticket, applying `ops` (result writes made by the
 * domain, e.g. `distci.builds.stepResult`) and posting `successors`, all in the ticket's finishing
 * transaction.
 */
export interface Outcome {
  status: 'complete' | 'fail';
  ops?: TicketWrites;
  successors?: TicketSpec[];
}

export interface TicketHandler {
  run(ctx: TicketContext): Promise<Outcome>;
  /**
   * The outcome of a ticket given up on: its claims vanished, or its handler failed, `maxAttempts`
   * times (`cause` says what failed last, when known). Any worker of the kind may be the one to find
   * it, so it depends on the ticket (and what the store holds) alone. It must end what the ticket was
   * for (a step fails `infrastructure`; a build ends `error`), so nothing waits on a ticket that is gone.
   */
  exhausted?(ticket: Ticket, store: CoordinationStore, cause?: string): Outcome | Promise<Outcome>;
}

/** Why an attempt's signal was aborted. */
export type AbortReason = 'session-lost' | 'drain' | 'cancelled';
