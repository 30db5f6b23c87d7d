/**
 * List the tickets a worker could claim.
 *
 * Input: a worker kind and the worker's labels; an optional watcher, armed on every node read (the
 * kind's queue list, each servable queue, the kind's claims), so a worker wakes on a new queue, a new
 * ticket, or a claim that vanished (a stale ticket to resume) — and on nothing else.
 * Output: refs of unclaimed tickets (waiting, or stale: their claim is gone), in claim order: priority,
 * then posting time, then sequence (ticket names sort that way).
 * Reads only: 2 + (servable queues) `children` calls; no ticket data is read.
 */

import { childrenOrEmpty } from '../children-or-empty.js';
import type { CoordinationStore, Watcher } from '../coordination-store.js';
import { parseLabelSetName, zpaths } from '../keys.js';
import type { WorkerKind } from '../types.js';
import { type TicketRef, ticketRef } from './ticket.js';

/** True when a worker with `workerLabels` may serve a queue asking for `queueLabels` (a subset). */
export function canServe(workerLabels: readonly string[], queueLabels: readonly string[]): boolean {
  return queueLabels.every((l) => workerLabels.includes(l));
}

/** Ticket ids with a live claim in `kind` (claim names are `<ticket id>-<attempt>`). */
export async function claimedTicketIds(
  store: CoordinationStore,
  kind: WorkerKind,
  watcher?: Watcher,
): Promise<Set<string>> {
  const names = await childrenOrEmpty(store, zpaths.claimKind(kind), watcher);
  return new Set(names.map((n) => n.slice(0, n.lastIndexOf('-'))));
}

export async function listClaimableTickets(
  store: CoordinationStore,
  kind: WorkerKind,
  workerLabels: readonly string[],
  watcher?: Watcher,
): Promise<TicketRef[]> {
  return (await listDueTickets(store, kind, workerLabels, watcher)).refs;
}

/**
 * `listClaimableTickets`, and when the earliest delayed ticket (posted with `notBefore`: its name's
 * posting time is in the future) falls due — a claim loop sleeps no longer than that.
 */
export async function listDueTickets(
  store: CoordinationStore,
  kind: WorkerKind,
  workerLabels: readonly string[],
  watcher?: Watcher,
  now = Date.now(),
): Promise<{ refs: TicketRef[]; nextDueAt: number | null }> {
  const queues = (await childrenOrEmpty(store, zpaths.ticketKind(kind), watcher)).filter((q) =>
    canServe(workerLabels, parseLabelSetName(q)),
  );
  const [claimed, ...perQueue] = await Promise.all([
    claimedTicketIds(store, kind, watcher),
    ...queues.map((q) => childrenOrEmpty(store, zpaths.queueNamed(kind, q), watcher)),
  ]);
  const refs: TicketRef[] = [];
  let nextDueAt: number | null = null;
  queues.forEach((queue, i) => {
    for (const name of perQueue[i] ?? []) {
      const ref = ticketRef(kind, queue, name);
      if (!ref || claimed.has(ref.id)) continue;
      if (ref.postedAt > now) nextDueAt = Math.min(nextDueAt ?? ref.postedAt, ref.postedAt);
      else refs.push(ref);
    }
  });
  refs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.queue < b.queue ? -1 : 1));
  return { refs, nextDueAt };
}
