/**
 * Post tickets.
 *
 * Input: ticket specs. Output: `create` ops for a `multi` (the usual way: successors are posted in the
 * same transaction that completes their predecessor — invariant 1), or the created tickets.
 * Atomicity: a queue node (`/tickets/<kind>/<labelset>`) must exist before a multi can create a ticket
 * in it, so `prepareTicketOps` first ensures every queue (idempotent, outside the transaction; queue
 * nodes are never deleted: there are O(kinds × label sets) of them).
 * Failure: a store error propagates; nothing half-posted is possible (one create or one multi).
 */
import type { CoordinationStore, Op } from '../coordination-store.js';
import type { DomainCaches } from '../domain-caches.js';
import { zpaths } from '../keys.js';
import {
  encodeTicket,
  normaliseSpec,
  type TicketData,
  type TicketRef,
  type TicketSpec,
  ticketRefFromPath,
} from './ticket.js';

/** A create op for one ticket. The queue must exist (see `prepareTicketOps`). */
export function ticketCreateOp(spec: TicketSpec, now = Date.now()): Op {
  const { priority, maxAttempts } = normaliseSpec(spec);
  const data: TicketData = { v: 1, payload: spec.payload, maxAttempts, attempt: 0, lost: 0, state: 'waiting' };
  return {
    type: 'create',
    path: zpaths.ticketPrefix(spec.kind, spec.labels ?? [], priority, Math.max(now, spec.notBefore ?? 0)),
    data: encodeTicket(data),
    mode: 'persistent-sequential',
  };
}

/**
 * Ensures parent nodes exist. Queue and claim parents are never deleted, so with the domain's caches
 * (`DomainCaches.ensured`) each is ensured once per process instead of on every post.
 */
export async function ensureOnce(
  store: CoordinationStore,
  paths: Iterable<string>,
  caches?: DomainCaches,
): Promise<void> {
  const missing = [...new Set(paths)].filter((p) => !caches?.ensured.has(p));
  await Promise.all(missing.map((p) => store.ensurePath(p)));
  for (const p of missing) caches?.ensured.add(p);
}

/** Ensures the queues of `specs` and their kinds' claim parents exist, then returns the create ops. */
export async function prepareTicketOps(
  store: CoordinationStore,
  specs: readonly TicketSpec[],
  caches?: DomainCaches,
): Promise<Op[]> {
  await ensureOnce(
    store,
    specs.flatMap((s) => [zpaths.ticketQueue(s.kind, s.labels ?? []), zpaths.claimKind(s.kind)]),
    caches,
  );
  const now = Date.now();
  return specs.map((s) => ticketCreateOp(s, now));
}

/** Posts tickets in one transaction; returns where they landed. */
export async function postTickets(
  store: CoordinationStore,
  specs: readonly TicketSpec[],
  caches?: DomainCaches,
): Promise<TicketRef[]> {
  if (specs.length === 0) return [];
  const results = await store.multi(await prepareTicketOps(store, specs, caches));
  return results.map((r, i) => ticketRefFromPath(specs[i]!.kind, r.type === 'create' ? r.path : ''));
}
