/**
 * The queue view: what waits, for how long, and why. Served by the frontend (`GET /api/v1/queue`).
 *
 * For each worker kind and label set: tickets waiting and claimed, the oldest wait (from ticket names:
 * no ticket data is read), the live workers that could serve it, and — when none can — the reason in
 * words ("no live worker has labels gpu,arm64").
 */

import { childrenOrEmpty } from '../children-or-empty.js';
import type { CoordinationStore } from '../coordination-store.js';
import { parseLabelSetName, zpaths } from '../keys.js';
import type { QueueEntry, QueueView } from '../schemas/worker-views.js';
import { WORKER_KINDS, type WorkerKind } from '../types.js';
import { canServe, claimedTicketIds } from './list-tickets.js';
import { listWorkers, type WorkerPresence } from './presence.js';
import { ticketRef } from './ticket.js';

export type { QueueEntry, QueueView } from '../schemas/worker-views.js';

function describe(
  kind: WorkerKind,
  labels: string[],
  all: WorkerPresence[],
  able: WorkerPresence[],
  free: number,
): string {
  if (able.length === 0) {
    const ofKind = all.filter((w) => w.kind === kind);
    if (ofKind.length === 0) return `no live ${kind} worker`;
    return `no live ${kind} worker has labels ${labels.join(',')}`;
  }
  if (able.every((w) => w.state !== 'running')) return `every ${kind} worker that can serve it is paused or draining`;
  if (free === 0) return `all ${able.length} ${kind} worker(s) that can serve it are busy`;
  return 'being claimed';
}

/**
 * Why a ticket of `kind` with `labels` waits, given the live workers (`listWorkers`): the same words as
 * the queue view's `reason` (a build view's queued step, `readLiveBuild`).
 */
export function whyWaiting(kind: WorkerKind, labels: string[], workers: WorkerPresence[]): string {
  const able = workers.filter((w) => w.kind === kind && canServe(w.labels, labels));
  const freeSlots = able
    .filter((w) => w.state === 'running')
    .reduce((n, w) => n + Math.max(0, w.capacity - w.running.length), 0);
  return describe(kind, labels, workers, able, freeSlots);
}

export async function queueView(store: CoordinationStore, now = Date.now()): Promise<QueueView> {
  const workers = await listWorkers(store);
  const queues: QueueEntry[] = [];
  await Promise.all(
    WORKER_KINDS.map(async (kind) => {
      const names = await childrenOrEmpty(store, zpaths.ticketKind(kind));
      const claimed = await claimedTicketIds(store, kind);
      await Promise.all(
        names.map(async (queue) => {
          const labels = parseLabelSetName(queue);
          const tickets = await childrenOrEmpty(store, zpaths.queueNamed(kind, queue));
          if (tickets.length === 0) return;
          let waiting = 0;
          // Delayed tickets (a build's deadline wake-up: posted with a future time) are not work yet.
          let delayed = 0;
          let oldest: number | null = null;
          for (const name of tickets) {
            const ref = ticketRef(kind, queue, name);
            if (!ref || claimed.has(ref.id)) continue;
            if (ref.postedAt > now) {
              delayed++;
              continue;
            }
            waiting++;
            oldest = oldest === null ? ref.postedAt : Math.min(oldest, ref.postedAt);
          }
          if (tickets.length === delayed) return;
          const able = workers.filter((w) => w.kind === kind && canServe(w.labels, labels));
          const freeSlots = able
            .filter((w) => w.state === 'running')
            .reduce((n, w) => n + Math.max(0, w.capacity - w.running.length), 0);
          queues.push({
            kind,
            labels,
            waiting,
            claimed: tickets.length - waiting - delayed,
            oldestWaitMs: oldest === null ? null : Math.max(0, now - oldest),
            workers: able.length,
            freeSlots,
            servable: able.length > 0,
            reason: waiting === 0 ? null : describe(kind, labels, workers, able, freeSlots),
          });
        }),
      );
    }),
  );
  queues.sort((a, b) => (a.kind + a.labels.join(',') < b.kind + b.labels.join(',') ? -1 : 1));
  return { at: now, queues, workers };
}
