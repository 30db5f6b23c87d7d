/**
 * The workers and queue views (`listWorkers`, `queueView`; `GET /api/v1/workers`, `GET /api/v1/queue`).
 * `WorkerPresence` is also what a worker writes in its presence node.
 */
import { type Static, Type } from 'typebox';
import { WORKER_KINDS } from '../types.js';
import { nullable, stringEnum } from './schema-helpers.js';

export const WorkerSchema = Type.Object({
  id: Type.String(),
  kind: stringEnum(WORKER_KINDS),
  labels: Type.Array(Type.String()),
  host: Type.String(),
  pid: Type.Integer(),
  version: Type.String(),
  capacity: Type.Integer({ description: 'how many tickets it runs at once' }),
  running: Type.Array(Type.Object({ ticket: Type.String(), attempt: Type.Integer(), since: Type.Number() }), {
    description: 'what it runs now: ticket ids and attempts',
  }),
  startedAt: Type.Number(),
  state: stringEnum(['running', 'paused', 'draining'], { description: '`draining` after SIGTERM: no new claims' }),
});

export const WorkerListSchema = Type.Object({ workers: Type.Array(WorkerSchema) });

export const QueueEntrySchema = Type.Object({
  kind: stringEnum(WORKER_KINDS),
  labels: Type.Array(Type.String()),
  waiting: Type.Integer(),
  claimed: Type.Integer(),
  oldestWaitMs: nullable(Type.Number({ description: 'how long the oldest waiting ticket has waited' })),
  workers: Type.Integer({ description: 'live workers that may claim these tickets' }),
  freeSlots: Type.Integer({ description: 'free slots among those workers' }),
  servable: Type.Boolean(),
  reason: nullable(Type.String({ description: 'why tickets wait, e.g. "no live exec-shell worker has labels gpu"' })),
});

export const QueueViewSchema = Type.Object({
  at: Type.Number(),
  queues: Type.Array(QueueEntrySchema),
  workers: Type.Array(WorkerSchema),
});

export type WorkerPresence = Static<typeof WorkerSchema>;
export type WorkerList = Static<typeof WorkerListSchema>;
export type QueueEntry = Static<typeof QueueEntrySchema>;
export type QueueView = Static<typeof QueueViewSchema>;
