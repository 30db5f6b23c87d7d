/** What a worker reports about its tickets: for logs, metrics and tests. */
export type WorkerEventType =
  | 'claimed'
  | 'completed'
  | 'failed'
  | 'released'
  | 'abandoned'
  | 'fenced'
  | 'exhausted'
  | 'error'
  | 'paused'
  | 'resumed'
  | 'session-lost'
  | 'draining'
  | 'stopped';

export interface WorkerEvent {
  type: WorkerEventType;
  worker: string;
  at: number;
  /** `<kind>/<ticket id>` when the event is about a ticket. */
  ticket?: string;
  attempt?: number;
  message?: string;
  /** On `claimed`: how long the ticket waited in its queue, from posting to this claim. */
  queueWaitMs?: number;
  /** From the ticket's payload when it names them: control tickets a job and build, step tickets a step too. */
  job?: string;
  build?: number;
  step?: string;
}

export type WorkerEventListener = (event: WorkerEvent) => void;

/** The log level of an event (pino's names). */
export type WorkerEventLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * How loud an event is: `error` when a ticket or the worker is in trouble (fenced, exhausted, session
 * lost, an error), `warn` when work is held back or given back after a failure (paused, abandoned, a
 * release counted as lost), `info` for a ticket's ordinary life (claimed, completed, failed, released
 * after a drain or a conflict) and `resumed` (so a `paused` at the default level is seen to end),
 * `debug` for the rest (draining, stopped: the daemon logs its own shutdown at info).
 *
 * A release is "after a failure" unless `ticket-runner.ts` said `drained` or `conflict…`, the two
 * releases it does not count as lost (test: worker-event-level.test.ts runs the runner to pin them).
 */
export function eventLevel(event: Pick<WorkerEvent, 'type' | 'message'>): WorkerEventLevel {
  switch (event.type) {
    case 'error':
    case 'fenced':
    case 'exhausted':
    case 'session-lost':
      return 'error';
    case 'paused':
    case 'abandoned':
      return 'warn';
    case 'released':
      return event.message === 'drained' || event.message?.startsWith('conflict') ? 'info' : 'warn';
    case 'claimed':
    case 'completed':
    case 'failed':
    case 'resumed':
      return 'info';
    default:
      return 'debug';
  }
}

/** The glossary's names of a ticket's payload, when it has them (`StepPayload`, `ControlPayload`). */
export function payloadFields(payload: unknown): Pick<WorkerEvent, 'job' | 'build' | 'step'> {
  if (!payload || typeof payload !== 'object') return {};
  const p = payload as Record<string, unknown>;
  return {
    ...(typeof p.job === 'string' ? { job: p.job } : {}),
    ...(typeof p.build === 'number' ? { build: p.build } : {}),
    ...(typeof p.step === 'string' ? { step: p.step } : {}),
  };
}
