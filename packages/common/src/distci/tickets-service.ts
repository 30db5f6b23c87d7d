/**
 * `distci.tickets`: the ticket protocol in the glossary's words — post, claim, complete, fail,
 * release — for callers that must not compose coordination ops. A result's writes (`TicketResult`)
 * are made by domain functions (`builds.stepResult`, …) and only passed through here.
 */
import type { CoordinationStore, Op, Watcher } from '../coordination-store.js';
import type { DomainCaches } from '../domain-caches.js';
import { zpaths } from '../keys.js';
import { type Claim, type ClaimResult, claimTicket, type WorkerIdentity } from '../tickets/claim-ticket.js';
import { failExhaustedTicket, finishTicket, releaseTicket } from '../tickets/finish-ticket.js';
import { listClaimableTickets, listDueTickets } from '../tickets/list-tickets.js';
import { postTickets, prepareTicketOps } from '../tickets/post-ticket.js';
import { listWorkers, type WorkerPresence } from '../tickets/presence.js';
import { type QueueView, queueView } from '../tickets/queue-view.js';
import type { Ticket, TicketRef, TicketSpec } from '../tickets/ticket.js';
import type { WorkerKind } from '../types.js';

/**
 * Writes recorded with a ticket's end (e.g. a step's result), made by the domain: callers carry them
 * from the function that made them to `complete`/`fail`, never build them.
 */
export type TicketWrites = readonly Op[];

/** What a ticket's end records: writes, and tickets posted in the same transaction. */
export interface TicketResult {
  writes?: TicketWrites;
  successors?: readonly TicketSpec[];
}

export interface TicketsService {
  /** Posts tickets in one transaction. */
  post(specs: readonly TicketSpec[]): Promise<TicketRef[]>;
  /** Unclaimed tickets a worker with `labels` could claim, in claim order (see `listTickets`). */
  claimable(kind: WorkerKind, labels: readonly string[], watcher?: Watcher): Promise<TicketRef[]>;
  /** The same, and when the earliest delayed ticket (`notBefore`) falls due (null: none waits). */
  due(
    kind: WorkerKind,
    labels: readonly string[],
    watcher?: Watcher,
  ): Promise<{ refs: TicketRef[]; nextDueAt: number | null }>;
  claim(ref: TicketRef, worker: WorkerIdentity): Promise<ClaimResult>;
  /** The attempt succeeded: its writes and successors, fenced by the claim, in one transaction. */
  complete(claim: Claim, result?: TicketResult): Promise<void>;
  /** The attempt failed (exit code, timeout, cancelled): recorded like `complete`, the writes say how. */
  fail(claim: Claim, result?: TicketResult): Promise<void>;
  /** Gives the ticket back at once (`lost`: counted as a vanished attempt). */
  release(claim: Claim, options?: { lost?: boolean; error?: string }): Promise<void>;
  /** Ends a ticket whose claims vanished `maxAttempts` times; false when someone else ended it. */
  failExhausted(ticket: Ticket, result?: TicketResult): Promise<boolean>;
  /** Ensures the kind's queue and claim parents exist (a worker starting: its watches need them). */
  ensureKind(kind: WorkerKind): Promise<void>;
  /** The queue view (`GET /api/v1/queue`). */
  queue(): Promise<QueueView>;
  /** Live workers (of one kind, or all). */
  workers(kind?: WorkerKind): Promise<WorkerPresence[]>;
}

export function openTickets(store: CoordinationStore, caches?: DomainCaches): TicketsService {
  const opsOf = async (result: TicketResult = {}): Promise<Op[]> => [
    ...(result.writes ?? []),
    ...(result.successors?.length ? await prepareTicketOps(store, result.successors, caches) : []),
  ];
  const finish = async (claim: Claim, result?: TicketResult) => {
    await finishTicket(store, claim, await opsOf(result));
  };
  return {
    post: (specs) => postTickets(store, specs, caches),
    claimable: (kind, labels, watcher) => listClaimableTickets(store, kind, labels, watcher),
    due: (kind, labels, watcher) => listDueTickets(store, kind, labels, watcher),
    claim: (ref, worker) => claimTicket(store, ref, worker),
    complete: finish,
    fail: finish,
    release: (claim, options) => releaseTicket(store, claim, options),
    failExhausted: async (ticket, result) => failExhaustedTicket(store, ticket, await opsOf(result)),
    ensureKind: async (kind) => {
      await Promise.all([store.ensurePath(zpaths.ticketKind(kind)), store.ensurePath(zpaths.claimKind(kind))]);
    },
    queue: () => queueView(store),
    workers: (kind) => listWorkers(store, kind),
  };
}
