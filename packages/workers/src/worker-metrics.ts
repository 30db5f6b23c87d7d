/**
 * A worker process's Prometheus metrics, fed by the worker events every worker already reports
 * (`worker-events.ts`): no code in the claim loop or the ticket runner knows metrics exist.
 *
 * Labels are bounded: `kind` (5 values) and `outcome` (the event types that end a ticket); never a
 * ticket id, a job or a message (a series per build would grow without end).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkerEvent, WorkerEventType } from './worker-events.js';

/** The events that end an attempt (the ticket runner's table), the `outcome` label's values. */
const ENDS: ReadonlySet<WorkerEventType> = new Set([
  'completed',
  'failed',
  'released',
  'abandoned',
  'fenced',
  'exhausted',
]);

export interface WorkerMetrics {
  readonly registry: Registry;
  /** Feeds one worker's events (of kind `kind`); chain it after the event log. */
  observe(kind: string, event: WorkerEvent): void;
  /** Null while every worker's session is usable; otherwise which are suspended, and since when. */
  unhealthy(): string | null;
}

export function createWorkerMetrics(registry = new Registry()): WorkerMetrics {
  const claims = new Counter({
    name: 'distci_worker_claims_total',
    help: 'Tickets claimed, by worker kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const ended = new Counter({
    name: 'distci_worker_tickets_ended_total',
    help: 'Attempts ended, by worker kind and outcome (completed, failed, released, abandoned, fenced, exhausted).',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'distci_worker_errors_total',
    help: 'Errors a worker reported (a ticket it could not finish, a presence write that failed).',
    labelNames: ['kind'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'distci_worker_ticket_duration_seconds',
    help: 'Claim to end of an attempt (for step kinds: the step run, its workspace and log), by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    // 10 ms to 1 h: a control turn takes milliseconds, a build step minutes.
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'distci_worker_queue_wait_seconds',
    help: 'Posting to claim of a ticket, by the kind that claimed it.',
    labelNames: ['kind'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'distci_worker_tickets_in_flight',
    help: 'Tickets this process holds now, by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const session = new Gauge({
    name: 'distci_worker_session_connected',
    help: '1 while the coordination session is connected and the worker claims; 0 while it is suspended.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const expiries = new Counter({
    name: 'distci_worker_session_losses_total',
    help: 'Coordination sessions lost (expired or replaced) with attempts in flight, by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  /** `<worker>/<ticket>/<attempt>` → claim time, for the duration of the attempt. */
  const started = new Map<string, number>();
  /** Worker id → when its session was suspended (no claims until it resumes). */
  const suspended = new Map<string, number>();

  return {
    registry,
    observe(kind, event) {
      const key = `${event.worker}/${event.ticket}/${event.attempt}`;
      if (event.type === 'claimed') {
        claims.inc({ kind });
        inFlight.inc({ kind });
        started.set(key, event.at);
        if (event.queueWaitMs !== undefined) queueWait.observe({ kind }, event.queueWaitMs / 1000);
      } else if (ENDS.has(event.type) && event.ticket) {
        ended.inc({ kind, outcome: event.type });
        const at = started.get(key);
        if (at !== undefined) {
          started.delete(key);
          inFlight.dec({ kind });
          duration.observe({ kind, outcome: event.type }, (event.at - at) / 1000);
        }
      } else if (event.type === 'error') {
        errors.inc({ kind });
      } else if (event.type === 'paused') {
        session.set({ kind }, 0);
        suspended.set(event.worker, event.at);
      } else if (event.type === 'resumed') {
        session.set({ kind }, 1);
        suspended.delete(event.worker);
      } else if (event.type === 'session-lost') {
        expiries.inc({ kind });
      }
    },
    unhealthy() {
      if (suspended.size === 0) return null;
      const since = Math.min(...suspended.values());
      return `coordination session suspended for ${[...suspended.keys()].join(', ')} since ${new Date(since).toISOString()}`;
    },
  };
}
