/** The workers and queue views (`listWorkers`, `queueView`). */
import { Type } from 'typebox';
import { nullable } from './common.js';

export const WorkerSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  labels: Type.Array(Type.String()),
  host: Type.String(),
  pid: Type.Integer(),
  version: Type.String(),
  capacity: Type.Integer(),
  running: Type.Array(Type.Object({ ticket: Type.String(), attempt: Type.Integer(), since: Type.Number() })),
  startedAt: Type.Number(),
  state: Type.String({ description: 'running | paused | draining' }),
});

export const WorkerListSchema = Type.Object({ workers: Type.Array(WorkerSchema) });

export const QueueEntrySchema = Type.Object({
  kind: Type.String(),
  labels: Type.Array(Type.String()),
  waiting: Type.Integer(),
  claimed: Type.Integer(),
  oldestWaitMs: nullable(Type.Number()),
  workers: Type.Integer({ description: 'live workers that may claim these tickets' }),
  freeSlots: Type.Integer(),
  servable: Type.Boolean(),
  reason: nullable(Type.String({ description: 'why tickets wait, e.g. "no live exec-shell worker has labels gpu"' })),
});

export const QueueViewSchema = Type.Object({
  at: Type.Number(),
  queues: Type.Array(QueueEntrySchema),
  workers: Type.Array(WorkerSchema),
});
