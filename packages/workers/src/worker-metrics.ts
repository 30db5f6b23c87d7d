/**
 * A worker process's Prometheus metrics, fed by the worker events every worker already reports
 * (`worker-events.ts`): no code in the claim loop or the ticket runner knows metrics exist.
 *
 * Labels are bounded: `kind` (5 values) and `outcome` (the event types that end a ticket); never a
 * ticket id, a job or a message (a series per build would grow without end).
 *
 * | metric | type | labels | what |
 * |---|---|---|---|
 * | `distci_worker_claims_total` | counter | kind | tickets claimed |
 * | `distci_worker_tickets_ended_total` | counter | kind, outcome | attempts ended: completed, failed, released, abandoned, fenced, exhausted |
 * | `distci_worker_errors_total` | counter | kind | errors reported (a ticket it could not finish, a presence write that failed) |
 * | `distci_worker_ticket_duration_seconds` | histogram | kind, outcome | claim to end of an attempt (step kinds: the step run, its workspace and log); 10 ms to 1 h |
 * | `distci_worker_queue_wait_seconds` | histogram | kind | posting to claim of a ticket |
 * | `distci_worker_tickets_in_flight` | gauge | kind | tickets this process holds now |
 * | `distci_worker_session_connected` | gauge | kind | 1 while the coordination session is connected and the worker claims; 0 while suspended |
 * | `distci_worker_session_losses_total` | counter | kind | sessions lost (expired or replaced) with attempts in flight |
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

/** Seconds: 10 ms to 1 h (a control turn takes milliseconds, a build step minutes); queue waits. */
const TICKET_S = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];
const WAIT_S = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600];

/** prom-client's constructors on one registry, a line a metric. */
function metricsOn(registry: Registry) {
  const registers = [registry];
  return {
    counter: <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers }),
    gauge: <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Gauge<L>({ name, help, labelNames, registers }),
    histogram: <L extends string>(name: string, help: string, labelNames: L[], buckets: number[]) =>
      new Histogram<L>({ name, help, labelNames, buckets, registers }),
  };
}

export function createWorkerMetrics(registry = new Registry()): WorkerMetrics {
  const { counter, gauge, histogram } = metricsOn(registry);
  const claims = counter('distci_worker_claims_total', 'Tickets claimed, by worker kind.', ['kind']);
  const ended = counter('distci_worker_tickets_ended_total', 'Attempts ended, by outcome.', ['kind', 'outcome']);
  const errors = counter('distci_worker_errors_total', 'Errors a worker reported.', ['kind']);
  const duration = histogram('distci_worker_ticket_duration_seconds', 'Claim to end.', ['kind', 'outcome'], TICKET_S);
  const queueWait = histogram('distci_worker_queue_wait_seconds', 'Posting to claim.', ['kind'], WAIT_S);
  const inFlight = gauge('distci_worker_tickets_in_flight', 'Tickets this process holds now.', ['kind']);
  const session = gauge('distci_worker_session_connected', '1: the session is connected; 0: suspended.', ['kind']);
  const expiries = counter('distci_worker_session_losses_total', 'Sessions lost with attempts in flight.', ['kind']);
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
