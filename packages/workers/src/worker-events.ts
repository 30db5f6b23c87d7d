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
}

export type WorkerEventListener = (event: WorkerEvent) => void;
